/*
 * The page compactor: a line-by-line mirror of io.faultline.gc.compact.PageCompactor.
 */
#ifndef FL_COMPACTOR_H
#define FL_COMPACTOR_H

#include <stdint.h>

/* The side tables and bounds one cycle's page builds read (all read-only during compaction). */
struct fl_compactor {
	const uint64_t *bitmap;
	const uint64_t *offsets;
	const int64_t *first;
	int64_t page_size;
	const char *from;  /* from-space, offsets as in the view */
	/* Objects below from_split are read at from_low instead (same offsets): CONTINUE's old to-space
	 * through the alias, whose page-table entries the last builds made; NULL, 0 otherwise. */
	const char *from_low;
	int64_t from_split;
	int64_t from_top;
	int64_t new_top;
	/* To-space pages that end at or below it are their from-space pages unchanged (young cycles'
	 * old pages that no dirty card touches): one copy, nothing to rewrite. */
	int64_t verbatim_end;
};

/*
 * Builds to-space page `page` into dst (one page). Returns 0, 1 if it took the dense path (the
 * page one stretch of live from-space: one copy, one walk), 2 if the page was copied as it was
 * (below verbatim_end), or -EUCLEAN with *bad_offset = the
 * from-space offset of an object whose header is damaged (size 0, past from_top, or whose last
 * word is not marked live).
 */
int compact_page(const struct fl_compactor *c, int64_t page, char *dst, int64_t *bad_offset);

#endif /* FL_COMPACTOR_H */
