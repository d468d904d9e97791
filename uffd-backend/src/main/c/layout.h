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
	int64_t reserved[9];       /* 184..255 */
};

_Static_assert(sizeof(struct fl_control) == 256, "ControlBlock.BYTES");
_Static_assert(__builtin_offsetof(struct fl_control, poll) == 96, "ControlBlock.POLL");
_Static_assert(__builtin_offsetof(struct fl_control, recycle_next) == 160, "ControlBlock.RECYCLE_NEXT");

/* ControlBlock.POLL bits */
#define FL_POLL_PAUSE 1
#define FL_POLL_FAILED 2
#define FL_POLL_CLOSED 4

/* ControlBlock.PATH_*: who failed */
#define FL_PATH_NONE 0
#define FL_PATH_COMPACTOR 1
#define FL_PATH_FAULT_THREAD 2
#define FL_PATH_FAULT_SIGBUS 3
#define FL_PATH_FAULT_JAVA 4
#define FL_PATH_BACKSTOP 5
#define FL_PATH_PAUSE 6
#define FL_PATH_COLLECTOR 7

#endif /* FL_LAYOUT_H */
