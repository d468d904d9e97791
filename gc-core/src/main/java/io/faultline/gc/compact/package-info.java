/**
 * The per-page compaction routine.
 *
 * <p>{@link io.faultline.gc.compact.PageCompactor#compactPage} builds one to-space page from
 * from-space. It starts at the page's first-object entry, copies the bytes of each live object
 * that land in the page (objects straddling the page contribute only those bytes), and rewrites
 * every non-null reference slot among them to its post-compact value. The tail of the last page
 * becomes one filler object. Since a page depends only on from-space and the read-only side
 * tables, pages can be built in any order, by any thread. The C function {@code compact_page}
 * in {@code uffd-backend/src/main/c/fl_backend.c} mirrors it line by line, and a differential test
 * requires byte-identical pages.
 *
 * <p><b>Threading:</b> the routine is allocation-free and writes only the destination page.
 * Callers must own the page (state PROCESSING), or build it inside the pause. See
 * {@code docs/metadata-and-planning.md}.
 */
package io.faultline.gc.compact;
