/*
 * Object and side-table layouts shared with gc-core. Mirrors io.faultline.model.ObjectLayout,
 * io.faultline.meta.MetadataDescriptor, PageStates, ControlBlock and PoisonPage; a change there
 * must be made here too (LayoutAbiTest compares both sides through fl_layout_constant, and the
 * differential tests compare behaviour).
 */
#ifndef FL_LAYOUT_H
#define FL_LAYOUT_H

#include <stdint.h>

/* ObjectLayout */
#define FL_WORD_BYTES 8
#define FL_LOG_WORD_BYTES 3
#define FL_REF_BYTES 4
#define FL_HEADER_BYTES 16
#define FL_MIN_OBJECT_WORDS 2
#define FL_MAGIC 0xFA17ULL
#define FL_TYPE_NULL_GUARD 0ULL
#define FL_TYPE_FILLER 1ULL
#define FL_ONE_WORD_FILLER 1ULL /* headerWord(1, 0) */

static inline uint64_t fl_size_words(uint64_t header) { return header & 0xFFFFFFFFULL; }
static inline uint64_t fl_ref_count(uint64_t header) { return header >> 32; }
static inline uint64_t fl_header_word(uint64_t words, uint64_t refs) { return (words & 0xFFFFFFFFULL) | (refs << 32); }
static inline uint64_t fl_class_word(uint64_t type, uint64_t length)
{
	return (length & 0xFFFFFFFFULL) | ((type & 0xFFFF) << 32) | (FL_MAGIC << 48);
}

/* MetadataDescriptor */
#define FL_LOG_CHUNK_BYTES 9
#define FL_NO_OBJECT (-1LL)

/* PageStates (int32 per page) */
#define FL_PAGE_MAPPED 0
#define FL_PAGE_UNPROCESSED 1
#define FL_PAGE_PROCESSING 2
#define FL_PAGE_PROCESSED 3
#define FL_PAGE_MAPPING 4
#define FL_PAGE_FAILED 5

/* PoisonPage: the byte a page installed by the failure path is filled with. */
#define FL_POISON_BYTE 0xF1

/* ControlBlock: 256 bytes of naturally aligned 64-bit words, accessed SEQ_CST. */
struct fl_control {
	int64_t epoch;             /* 0 */
	int64_t active_epoch;      /* 8 */
	int64_t next_page;         /* 16 */
	int64_t pages_left;        /* 24 */
	int64_t first_page;        /* 32 */
	int64_t end_page;          /* 40 */
	int64_t from_top;          /* 48 */
	int64_t new_top;           /* 56 */
	int64_t frontier_page;     /* 64 */
	int64_t consumed;          /* 72 */
	int64_t run_pages;         /* 80 */
	int64_t fault_around;      /* 88 */
	int64_t poll;              /* 96 */
	int64_t failed_page;       /* 104 */
	int64_t failed_path;       /* 112 */
	int64_t failed_errno;      /* 120 */
	int64_t failed_offset;     /* 128 */
	int64_t faults;            /* 136 */
	int64_t fault_built_pages; /* 144 */
	int64_t abandon;           /* 152 */
	int64_t recycle_next;      /* 160 */
	int64_t released;          /* 168 */
	int64_t release_batch;     /* 176 */
	int64_t trace;             /* 184: address of the heap's struct fl_trace, 0: no trace ring */
	int64_t verbatim_end;      /* 192: to-space pages ending at or below it are copies of their from-space pages */
	int64_t fault_hint;        /* 200: the page after the last fault's run, for a compactor to build next; 0: none */
	int64_t reserved[6];       /* 208..255 */
};

_Static_assert(sizeof(struct fl_control) == 256, "ControlBlock.BYTES");
_Static_assert(__builtin_offsetof(struct fl_control, poll) == 96, "ControlBlock.POLL");
_Static_assert(__builtin_offsetof(struct fl_control, recycle_next) == 160, "ControlBlock.RECYCLE_NEXT");
_Static_assert(__builtin_offsetof(struct fl_control, trace) == 184, "ControlBlock.TRACE");
_Static_assert(__builtin_offsetof(struct fl_control, verbatim_end) == 192, "ControlBlock.VERBATIM_END");
_Static_assert(__builtin_offsetof(struct fl_control, fault_hint) == 200, "ControlBlock.FAULT_HINT");

/* ControlBlock.POLL bits */
#define FL_POLL_PAUSE 1
#define FL_POLL_FAILED 2
#define FL_POLL_CLOSED 4

/* ControlBlock.FAILED_PAGE_RELEASE: FAILED_PAGE of a failed from-space release (FAILED_OFFSET: where it began) */
#define FL_FAILED_PAGE_RELEASE (-2)

/* ControlBlock.PATH_*: who failed */
#define FL_PATH_NONE 0
#define FL_PATH_COMPACTOR 1
#define FL_PATH_FAULT_THREAD 2
#define FL_PATH_FAULT_SIGBUS 3
#define FL_PATH_FAULT_JAVA 4
#define FL_PATH_BACKSTOP 5
#define FL_PATH_PAUSE 6
#define FL_PATH_COLLECTOR 7

/*
 * TraceRing: the heap's trace ring, a preallocated array of fixed-size records that Java and C
 * write into when tracing is on (io.faultline.meta.TraceRing documents the protocol). A writer
 * claims a slot by CAS of `next` (never past `drained` + capacity: a full ring counts the record in
 * `dropped` and drops it), fills it, and commits it by storing seq = index + 1 (release). The one
 * reader (Java's drain) copies committed records in index order and advances `drained`.
 */
#define FL_TRACE_HEADER_BYTES 128
#define FL_TRACE_RECORD_BYTES 64

/* Kinds of record (TraceRing.KIND_*) and the mask bits that enable them (1 << kind). */
#define FL_TRACE_STATE 1       /* page, a = from state, b = to state */
#define FL_TRACE_STATE_RANGE 2 /* page = first, value = pages, a = from, b = to (the pause's bulk publish) */
#define FL_TRACE_FAULT 3       /* page, value = latency ns, time = fault start, a = delivery, b = FAULT_* result */
#define FL_TRACE_PHASE_BEGIN 4 /* a = phase (TraceRing.PHASE_*), b = cause ordinal or -1 */
#define FL_TRACE_PHASE_END 5   /* a = phase, b = cause, value = bytes */
#define FL_TRACE_RELEASE 6     /* page = from-space page of the first byte released, value = bytes */

/* Record origins (TraceRing.ORIGIN_*): thread is a Java thread id, or pthread_self(). */
#define FL_TRACE_ORIGIN_JAVA 1
#define FL_TRACE_ORIGIN_NATIVE 2

/* FAULT deliveries (TraceRing.DELIVERY_*). */
#define FL_TRACE_DELIVERY_THREAD 0
#define FL_TRACE_DELIVERY_SIGBUS 1
#define FL_TRACE_DELIVERY_JAVA 2

struct fl_trace_record {
	uint64_t seq;   /* 0: index + 1 once committed */
	int64_t time;   /* 8: CLOCK_MONOTONIC ns (System.nanoTime) */
	int64_t page;   /* 16 */
	int64_t value;  /* 24 */
	int64_t thread; /* 32 */
	int64_t epoch;  /* 40: the cycle (ControlBlock.EPOCH when written) */
	int32_t kind;   /* 48 */
	int32_t a;      /* 52 */
	int32_t b;      /* 56 */
	int32_t origin; /* 60 */
};

struct fl_trace {
	uint64_t next;            /* 0: records claimed so far */
	uint64_t capacity;        /* 8: records, a power of two */
	uint64_t mask;            /* 16: bit 1 << kind: record that kind */
	int64_t fault_threshold;  /* 24: faults at least this long (ns) are always recorded */
	int64_t fault_sample;     /* 32: and one in this many of the others (1: all) */
	uint64_t dropped;         /* 40: records dropped because the ring was full */
	int64_t pad0[2];          /* 48..63 */
	uint64_t drained;         /* 64: the reader has copied every record below this index */
	int64_t pad1[7];          /* 72..127 */
	struct fl_trace_record records[];
};

_Static_assert(sizeof(struct fl_trace_record) == FL_TRACE_RECORD_BYTES, "TraceRing.RECORD_BYTES");
_Static_assert(sizeof(struct fl_trace) == FL_TRACE_HEADER_BYTES, "TraceRing.HEADER_BYTES");

/*
 * LatencyBuckets: a log-linear histogram of nanoseconds, 2^FL_HIST_SUB_BITS buckets per power of
 * two (relative error below 1/32); values of 2^40 ns (18 minutes) and more go to the last bucket.
 */
#define FL_HIST_SUB_BITS 5
#define FL_HIST_BUCKETS 1152

static inline int fl_hist_bucket(uint64_t v)
{
	if (v < (1u << FL_HIST_SUB_BITS))
		return (int)v;
	if (v >= (1ULL << 40))
		return FL_HIST_BUCKETS - 1;
	int e = 63 - __builtin_clzll(v);
	return ((e - FL_HIST_SUB_BITS) << FL_HIST_SUB_BITS) + (int)(v >> (e - FL_HIST_SUB_BITS));
}

#endif /* FL_LAYOUT_H */
