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

/* True if the from-space object at obj, of size bytes by its header, cannot be live: size 0,
 * past the used top, or its last word not marked (damaged from-space; without the check a walk
 * could spin forever or copy garbage). */
static inline int damaged(const struct fl_compactor *c, int64_t obj, int64_t size)
{
	return size == 0 || obj + size > c->from_top || !is_marked(c, obj + size - FL_WORD_BYTES);
}

/* Rewrites the reference slots, inside [p_begin, p_end), of the object copied to new_addr with header header. */
static inline void relocate_object(const struct fl_compactor *c, char *dst, int64_t p_begin, int64_t p_end, int64_t new_addr,
				   uint64_t header)
{
	int64_t refs_begin = max64(new_addr + FL_HEADER_BYTES, p_begin);
	int64_t refs_end = min64(new_addr + FL_HEADER_BYTES + (int64_t)fl_ref_count(header) * FL_REF_BYTES, p_end);
	for (int64_t a = refs_begin; a < refs_end; a += FL_REF_BYTES) {
		uint32_t old = ld32(dst + (a - p_begin));
		if (old != 0) {
			int64_t moved = forward(c, (int64_t)((uint64_t)old << FL_LOG_WORD_BYTES));
			st32(dst + (a - p_begin), (uint32_t)((uint64_t)moved >> FL_LOG_WORD_BYTES));
		}
	}
}

/* True if every word of [begin, end) (word-aligned offsets, begin < end) is marked live. */
static int all_marked(const struct fl_compactor *c, int64_t begin, int64_t end)
{
	uint64_t w = (uint64_t)begin >> 3;
	uint64_t end_w = (uint64_t)end >> 3;
	uint64_t idx = w >> 6;
	uint64_t last_idx = (end_w - 1) >> 6;
	uint64_t head = ~0ULL << (w & 63);
	uint64_t tail = ~0ULL >> (63 - ((end_w - 1) & 63));
	if (idx == last_idx)
		return (c->bitmap[idx] & head & tail) == (head & tail);
	if ((c->bitmap[idx] & head) != head || (c->bitmap[last_idx] & tail) != tail)
		return 0;
	for (uint64_t i = idx + 1; i < last_idx; i++)
		if (c->bitmap[i] != ~0ULL)
			return 0;
	return 1;
}

/*
 * The dense path of compact_page: the page's bytes are one stretch of from-space (every word of
 * it live), already copied to dst. Walks the objects in it from obj (new address new_addr,
 * header first_header) checking each header as pass 1 does, and rewrites their references as
 * relocate_refs does; then checks the header of the object after the page, as pass 1 does.
 */
static int walk_dense(const struct fl_compactor *c, char *dst, int64_t p_begin, int64_t p_end,
		      int64_t obj, int64_t new_addr, uint64_t first_header, int64_t *bad_offset)
{
	const int64_t from_top = c->from_top;
	uint64_t header = first_header;
	for (;;) {
		int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
		if (damaged(c, obj, size)) {
			*bad_offset = obj;
			return -EUCLEAN;
		}
		relocate_object(c, dst, p_begin, p_end, new_addr, header);
		new_addr += size;
		obj += size;
		if (obj >= from_top)
			return 0;
		if (new_addr >= p_end)
			break;
		header = ld64(dst + (new_addr - p_begin));
	}
	/* the object after the page: pass 1 reads its header before it sees it is past the page */
	if (!is_marked(c, obj))
		obj = next_marked(c, obj, from_top);
	if (obj >= from_top)
		return 0;
	header = ld64((obj < c->from_split ? c->from_low : c->from) + obj);
	int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
	if (damaged(c, obj, size)) {
		*bad_offset = obj;
		return -EUCLEAN;
	}
	return 0;
}

/* Rewrites the references of the objects packed in [p_begin, p_end) of dst, already copied: the
 * first starts at new_addr (perhaps before p_begin) with header first_header, each next one right
 * after the last; the headers after the first are read from dst. */
static void relocate_refs(const struct fl_compactor *c, char *dst, int64_t p_begin, int64_t p_end, int64_t new_addr,
			  uint64_t first_header)
{
	uint64_t header = first_header;
	for (;;) {
		int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
		relocate_object(c, dst, p_begin, p_end, new_addr, header);
		new_addr += size;
		if (new_addr >= p_end)
			return;
		header = ld64(dst + (new_addr - p_begin));
	}
}

/*
 * Not in the Java mirror (a hint, no effect on the bytes): asks for the first page_size bytes the
 * next page's build reads, while this page is built. The walk below reads from-space through a
 * chain of headers, and the hardware prefetchers stop at each 4 KiB boundary, so without this
 * every page began with a run of cache misses.
 */
static inline void prefetch_next_source(const struct fl_compactor *c, int64_t page, int64_t p_end)
{
	if (p_end >= c->new_top)
		return;
	int64_t next = c->first[page + 1];
	if (next == FL_NO_OBJECT || next >= c->from_top)
		return;
	const char *at = (next < c->from_split ? c->from_low : c->from) + next;
	for (int64_t i = 0; i < c->page_size; i += 64)
		__builtin_prefetch(at + i);
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
	/* Verbatim: an old page of a young cycle that no dirty card touches holds the same bytes in
	 * to-space as in from-space (old objects keep their offsets, and none of them references an
	 * object that moves). */
	if (p_begin + page_size <= c->verbatim_end && (c->from_split == 0 || p_begin + page_size <= c->from_split)) {
		memcpy(dst, (c->from_split > 0 ? c->from_low : from) + p_begin, (size_t)page_size);
		if (page == 0)
			write_header(dst, FL_MIN_OBJECT_WORDS, 0, FL_TYPE_NULL_GUARD, 0);
		return 2;
	}
	int64_t obj = c->first[page];
	if (obj == FL_NO_OBJECT)
		return 0;
	prefetch_next_source(c, page, p_end);
	int64_t new_addr = forward(c, obj);
	/* Dense path: if every word from the first object to the source of the page's last byte is
	 * live, the page is one stretch of from-space (live words keep their distance), copied at once;
	 * one walk then checks the headers and rewrites the references. Most pages of a heap whose live
	 * data is packed (what the last compaction built, what was allocated black) take it. */
	if (obj != 0 && new_addr <= p_begin && filled > 0) {
		int64_t s_begin = obj + (p_begin - new_addr);
		int64_t s_end = s_begin + filled;
		int below = obj < c->from_split;
		if (s_end <= from_top && (below ? s_end <= c->from_split : 1) && all_marked(c, obj, s_end)) {
			const char *src = below ? c->from_low : from;
			memcpy(dst, src + s_begin, (size_t)filled);
			int rc = walk_dense(c, dst, p_begin, p_end, obj, new_addr, ld64(src + obj), bad_offset);
			return rc < 0 ? rc : 1;
		}
	}
	/* Pass 1: check every header and copy; live objects are packed in order, so each lands right
	 * after the last (one forward() per page), and objects adjacent in from-space are copied with
	 * one memcpy. */
	int64_t first_new = new_addr;
	uint64_t first_header = 0;
	int any_refs = 0;
	const char *run_src = NULL;
	int64_t run_dst = 0;
	int64_t run_len = 0;
	while (obj < from_top) {
		const char *src = obj < c->from_split ? c->from_low : from; /* no object crosses the split */
		uint64_t header = obj == 0 ? fl_header_word(FL_MIN_OBJECT_WORDS, 0) : ld64(src + obj);
		int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
		if (damaged(c, obj, size)) {
			*bad_offset = obj;
			return -EUCLEAN; /* damaged from-space: without this the walk could spin forever */
		}
		if (new_addr >= p_end)
			break;
		if (new_addr == first_new)
			first_header = header;
		int64_t s = max64(new_addr, p_begin);
		int64_t e = min64(new_addr + size, p_end);
		if (obj == 0) {
			write_header(dst + (new_addr - p_begin), FL_MIN_OBJECT_WORDS, 0, FL_TYPE_NULL_GUARD, 0);
		} else {
			const char *at = src + obj + (s - new_addr);
			if (run_len > 0 && run_src + run_len == at) {
				run_len += e - s; /* the destination is contiguous too: objects are packed */
			} else {
				if (run_len > 0)
					memcpy(dst + run_dst, run_src, (size_t)run_len);
				run_src = at;
				run_dst = s - p_begin;
				run_len = e - s;
			}
			any_refs |= fl_ref_count(header) != 0;
		}
		new_addr += size;
		int64_t next = obj + size;
		if (next >= from_top)
			break;
		obj = is_marked(c, next) ? next : next_marked(c, next, from_top);
	}
	if (run_len > 0)
		memcpy(dst + run_dst, run_src, (size_t)run_len);
	/* Pass 2: the references, in the copied bytes (the same old values from-space holds). */
	if (any_refs)
		relocate_refs(c, dst, p_begin, p_end, first_new, first_header);
	return 0;
}
