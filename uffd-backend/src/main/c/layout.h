/*
 * Object and side-table layouts shared with gc-core. Mirrors io.faultline.model.ObjectLayout,
 * io.faultline.gc.meta.GcMetadataDescriptor, PageStates and CompactionControl; a change there
 * must be made here too (the differential test in uffd-backend catches a mismatch).
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
#define FL_TYPE_FILLER 1ULL
#define FL_ONE_WORD_FILLER 1ULL /* headerWord(1, 0) */

static inline uint64_t fl_size_words(uint64_t header) { return header & 0xFFFFFFFFULL; }
static inline uint64_t fl_ref_count(uint64_t header) { return header >> 32; }
static inline uint64_t fl_header_word(uint64_t words, uint64_t refs) { return (words & 0xFFFFFFFFULL) | (refs << 32); }
static inline uint64_t fl_class_word(uint64_t type, uint64_t length)
{
	return (length & 0xFFFFFFFFULL) | ((type & 0xFFFF) << 32) | (FL_MAGIC << 48);
}

/* GcMetadataDescriptor */
#define FL_LOG_CHUNK_BYTES 9
#define FL_NO_OBJECT (-1LL)

/* PageStates (int32 per page) */
#define FL_PAGE_MAPPED 0
#define FL_PAGE_UNPROCESSED 1
#define FL_PAGE_PROCESSING 2
#define FL_PAGE_PROCESSED 3

/* CompactionControl: 128 bytes of naturally aligned 64-bit words, accessed SEQ_CST. */
struct fl_control {
	int64_t next_page;         /* 0 */
	int64_t pages_left;        /* 8 */
	int64_t to_space_pages;    /* 16 */
	int64_t from_top;          /* 24 */
	int64_t new_top;           /* 32 */
	int64_t faults;            /* 40 */
	int64_t fault_built_pages; /* 48 */
	int64_t page_size;         /* 56 */
	int64_t abandon;           /* 64 */
	int64_t reserved[7];       /* 72..127 */
};

_Static_assert(sizeof(struct fl_control) == 128, "CompactionControl.BYTES");
_Static_assert(__builtin_offsetof(struct fl_control, abandon) == 64, "CompactionControl.ABANDON");

#endif /* FL_LAYOUT_H */
