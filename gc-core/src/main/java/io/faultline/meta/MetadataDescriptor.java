package io.faultline.meta;

/**
 * Layouts of the collector's side tables. They live in native memory because the native fault
 * path of {@code uffd-backend} reads exactly these bytes ({@code src/main/c/layout.h} mirrors the
 * constants below, and {@code LayoutAbiTest} checks both sides agree). All entries are little
 * endian.
 *
 * <pre>
 *  heap (capacity C bytes, page size P)      side tables
 *  +-------- chunk 0 (512 B = 64 words) ---+  mark bitmap   : u64[C/512]  bit w%64 of entry w/64 is
 *  | w0 w1 ... w63                          |                  set iff word w belongs to a live object
 *  +-------- chunk 1 -----------------------+  offset vector : u64[C/512]  post-compact offset of the
 *  | ...                                    |                  chunk's first live word: to-space base
 *  +----------------------------------------+                  + live bytes in chunks &lt; k
 *  page 0 = chunks 0..P/512-1, page 1 = ...  first objects : i64[C/P]    per to-space page: from-space
 *                                                             offset of the live object that covers the
 *                                                             page's first byte after compaction, -1 none
 *                                             page states   : i32[C/P]    see PageStates
 *                                             control block : 256 bytes   see ControlBlock
 *
 *  post-compact offset of a live object at from-space offset a:
 *      forward(a) = offsets[a / 512] + 8 * popcount(bitmap[a / 512] &amp; ((1 &lt;&lt; ((a / 8) % 64)) - 1))
 * </pre>
 *
 * One bitmap entry covers exactly one offset-vector chunk, which is what makes {@code forward} a
 * load, a mask and a popcount. Page-indexed tables are indexed by absolute page number
 * ({@code offset / P}); a cycle's to-space is the page range {@code [firstPage, endPage)} of the
 * {@link ControlBlock}.
 */
public final class MetadataDescriptor {
    private MetadataDescriptor() {}

    public static final int CHUNK_BYTES = 512;
    public static final int LOG_CHUNK_BYTES = 9;
    public static final int WORDS_PER_CHUNK = 64;
    public static final int BITMAP_ENTRY_BYTES = 8;
    public static final int OFFSET_ENTRY_BYTES = 8;
    public static final int FIRST_OBJECT_ENTRY_BYTES = 8;
    public static final int PAGE_STATE_ENTRY_BYTES = 4;
    /** First-object entry for a page that holds no live data. */
    public static final long NO_OBJECT = -1L;
}
