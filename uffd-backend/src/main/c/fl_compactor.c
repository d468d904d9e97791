/*
 * The page compactor: a line-by-line mirror of io.faultline.gc.compact.PageCompactor, which
 * documents the algorithm; DifferentialCompactionTest checks both build identical pages.
 */
#include "fl_compactor.h"
#include "layout.h"

#include <errno.h>
#include <string.h>

static inline uint64_t ld64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t ld32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void st64(char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline void st32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static inline int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static inline int64_t forward(const struct fl_compactor *c, int64_t offset)
{
	uint64_t chunk = (uint64_t)offset >> FL_LOG_CHUNK_BYTES;
	unsigned bit = (unsigned)(((uint64_t)offset >> 3) & 63);
	uint64_t below = c->bitmap[chunk] & ((1ULL << bit) - 1);
	return (int64_t)c->offsets[chunk] + ((int64_t)__builtin_popcountll(below) << 3);
}

static inline int is_marked(const struct fl_compactor *c, int64_t offset)
{
	uint64_t w = (uint64_t)offset >> 3;
	return (c->bitmap[w >> 6] & (1ULL << (w & 63))) != 0;
}

static int64_t next_marked(const struct fl_compactor *c, int64_t offset, int64_t limit)
{
	uint64_t w = (uint64_t)offset >> 3;
	uint64_t end_w = (uint64_t)limit >> 3;
	if (w >= end_w)
		return limit;
	uint64_t idx = w >> 6;
	uint64_t word = c->bitmap[idx] & (~0ULL << (w & 63));
	uint64_t last_idx = (end_w - 1) >> 6;
	for (;;) {
		if (word != 0) {
			uint64_t found = (idx << 6) + (uint64_t)__builtin_ctzll(word);
			return found < end_w ? (int64_t)(found << 3) : limit;
		}
		if (++idx > last_idx)
			return limit;
		word = c->bitmap[idx];
	}
}

static void write_header(char *at, uint64_t words, uint64_t refs, uint64_t type, uint64_t length)
{
	st64(at, fl_header_word(words, refs));
	st64(at + FL_WORD_BYTES, fl_class_word(type, length));
}

static void write_filler(char *at, int64_t bytes)
{
	int64_t words = bytes >> FL_LOG_WORD_BYTES;
	if (words == 1)
		st64(at, FL_ONE_WORD_FILLER);
	else if (words >= FL_MIN_OBJECT_WORDS)
		write_header(at, (uint64_t)words, 0, FL_TYPE_FILLER, 0);
}

int compact_page(const struct fl_compactor *c, int64_t page, char *dst, int64_t *bad_offset)
{
	const int64_t page_size = c->page_size;
	const int64_t from_top = c->from_top;
	const char *from = c->from;
	int64_t p_begin = page * page_size;
	int64_t p_end = min64(p_begin + page_size, c->new_top);
	int64_t filled = max64(0, p_end - p_begin);
	if (filled < page_size) {
		memset(dst + filled, 0, (size_t)(page_size - filled));
		write_filler(dst + filled, page_size - filled);
	}
	int64_t obj = c->first[page];
	if (obj == FL_NO_OBJECT)
		return 0;
	while (obj < from_top) {
		const char *src = obj < c->from_split ? c->from_low : from; /* no object crosses the split */
		uint64_t header = obj == 0 ? fl_header_word(FL_MIN_OBJECT_WORDS, 0) : ld64(src + obj);
		int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
		if (size == 0 || obj + size > from_top || !is_marked(c, obj + size - FL_WORD_BYTES)) {
			*bad_offset = obj;
			return -EUCLEAN; /* damaged from-space: without this the walk could spin forever */
		}
		int64_t new_addr = forward(c, obj);
		if (new_addr >= p_end)
			break;
		int64_t s = max64(new_addr, p_begin);
		int64_t e = min64(new_addr + size, p_end);
		if (obj == 0) {
			write_header(dst + (new_addr - p_begin), FL_MIN_OBJECT_WORDS, 0, FL_TYPE_NULL_GUARD, 0);
		} else {
			memcpy(dst + (s - p_begin), src + obj + (s - new_addr), (size_t)(e - s));
			int64_t refs_begin = new_addr + FL_HEADER_BYTES;
			int64_t refs_end = refs_begin + (int64_t)fl_ref_count(header) * FL_REF_BYTES;
			int64_t rs = max64(refs_begin, s);
			int64_t re = min64(refs_end, e);
			for (int64_t a = rs; a < re; a += FL_REF_BYTES) {
				uint32_t old = ld32(src + obj + (a - new_addr));
				if (old != 0) {
					int64_t moved = forward(c, (int64_t)((uint64_t)old << FL_LOG_WORD_BYTES));
					st32(dst + (a - p_begin), (uint32_t)((uint64_t)moved >> FL_LOG_WORD_BYTES));
				}
			}
		}
		int64_t next = obj + size;
		if (next >= from_top)
			break;
		obj = is_marked(c, next) ? next : next_marked(c, next, from_top);
	}
	return 0;
}
