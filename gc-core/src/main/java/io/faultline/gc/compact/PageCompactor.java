package io.faultline.gc.compact;

import io.faultline.backend.PageBuildException;
import io.faultline.backend.PageBuilder;
import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.OffsetVector;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Builds one to-space page from from-space: copies the live bytes that land in the page and
 * rewrites every reference among them to its post-compact value. Objects that straddle the page
 * boundary, and objects many pages long, contribute only their bytes inside the page, so every
 * page can be built independently, in any order, by any thread. The native compactor
 * ({@code compact_page} in {@code uffd-backend/src/main/c/fl_compactor.c}) is a line-by-line
 * mirror and must produce identical bytes ({@code DifferentialCompactionTest}).
 *
 * <pre>
 *  from-space   | A |  dead  |  B  | dead |      C       |       (bitmap marks A, B, C)
 *  to-space     | A |  B  |      C       |
 *               ^page p begins inside B: first[p] = B; copy the tail of B, then C's head
 * </pre>
 *
 * <p>Two passes. The first checks each header and copies: live objects keep their order and are
 * packed, so each lands right after the last (one {@link OffsetVector#forward} per page), and a
 * stretch of objects adjacent in from-space is one copy, not one per object. The second, only if
 * an object in the page has references, walks the packed objects in the page and rewrites each
 * reference slot in place.
 *
 * <p>The dense path. Where every word from the page's first object to the source of its last
 * byte is marked live ({@link MarkBitmap#allMarked}, a few bitmap words per page), live words keep
 * their distances, so the page is one stretch of from-space: one copy, then one walk that checks
 * each header as pass 1 does and rewrites the references as pass 2 does. The pages of a heap whose
 * live data is already packed (what the last compaction built and still lives, everything
 * allocated black) take it; it skips pass 1's per-object bitmap tests and copy bookkeeping, and
 * builds the same bytes and the same errors.
 *
 * <p>The verbatim path. A page that ends at or below the cycle's verbatim end (a young cycle's
 * old page that no dirty card touches, {@code gc.OldGeneration}) holds the same bytes in to-space
 * as in from-space: old objects keep their offsets and none of them references an object that
 * moves. It is one copy, with no header read and nothing to rewrite.
 *
 * <p>The null guard (the two-word object at offset 0) is never copied: when it is live (to-space
 * starts at 0) the builder of page 0 writes its header. A from-space object whose header is
 * damaged (size zero, past the used top, or a size whose last word is not marked live) stops the build with a
 * {@link PageBuildException} naming the page and the object; without the check the walk could
 * spin forever or copy garbage.
 *
 * <p><b>Assumptions and Guarantees:</b> the metadata and from-space are read-only during
 * compaction; the routine writes only {@code [dstOffset, dstOffset + pageSize)} of {@code dst};
 * the bytes of the last page past the post-compact top are zeroed and covered by one filler
 * object. Allocation-free.
 */
public final class PageCompactor implements PageBuilder {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private final MarkBitmap bitmap;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final int pageSize;
    private final boolean densePath;
    private volatile long fromTop;
    private volatile long newTop;
    private volatile long verbatimEnd;
    private long densePages;

    public PageCompactor(MarkBitmap bitmap, OffsetVector offsets, FirstObjectTable firstObjects, int pageSize) {
        this(bitmap, offsets, firstObjects, pageSize, true);
    }

    /**
     * @param densePath false: every page takes the two-pass path, for tests and measurements
     *     that compare the two paths
     */
    public PageCompactor(MarkBitmap bitmap, OffsetVector offsets, FirstObjectTable firstObjects, int pageSize, boolean densePath) {
        this.bitmap = bitmap;
        this.offsets = offsets;
        this.firstObjects = firstObjects;
        this.pageSize = pageSize;
        this.densePath = densePath;
    }

    /**
     * Pages this instance built by the dense path. A plain counter: exact when one thread builds
     * (a test's rebuild), a lower bound when several do.
     */
    public long densePages() {
        return densePages;
    }

    /** In the pause: the cycle's bounds, the pre-compact used top and the post-compact top; no verbatim pages. */
    public void setCycle(long fromTop, long newTop) {
        setCycle(fromTop, newTop, 0);
    }

    /**
     * In the pause: the cycle's bounds, and the end of the pages that are copies of their
     * from-space pages (a page boundary, 0: none).
     */
    public void setCycle(long fromTop, long newTop, long verbatimEnd) {
        this.fromTop = fromTop;
        this.newTop = newTop;
        this.verbatimEnd = verbatimEnd;
    }

    @Override
    public void build(MemorySegment from, long page, MemorySegment dst, long dstOffset) {
        long fromTop = this.fromTop;
        long pBegin = page * pageSize;
        if (pBegin + pageSize <= verbatimEnd) {
            MemorySegment.copy(from, pBegin, dst, dstOffset, pageSize);
            if (page == 0) {
                ObjectLayout.writeHeader(dst, dstOffset, ObjectLayout.MIN_OBJECT_WORDS, 0, ObjectLayout.TYPE_NULL_GUARD, 0);
            }
            return;
        }
        long pEnd = Math.min(pBegin + pageSize, newTop);
        long filled = Math.max(0, pEnd - pBegin);
        if (filled < pageSize) {
            // The last to-space page: its tail becomes one filler, so the heap stays parsable and
            // allocation resumes at the next page boundary without touching an unmapped page.
            for (long a = filled; a < pageSize; a += ObjectLayout.WORD_BYTES) {
                dst.set(LONG, dstOffset + a, 0L);
            }
            ObjectLayout.writeFiller(dst, dstOffset + filled, pageSize - filled);
        }
        long obj = firstObjects.get(page);
        if (obj == MetadataDescriptor.NO_OBJECT) {
            return;
        }
        long newAddr = offsets.forward(obj);
        // Dense path: if every word from the first object to the source of the page's last byte
        // is live, the page is one stretch of from-space (live words keep their distance), copied
        // at once; one walk then checks the headers and rewrites the references.
        if (densePath && obj != 0 && newAddr <= pBegin && filled > 0) {
            long sBegin = obj + (pBegin - newAddr);
            long sEnd = sBegin + filled;
            if (sEnd <= fromTop && bitmap.allMarked(obj, sEnd)) {
                MemorySegment.copy(from, sBegin, dst, dstOffset, filled);
                walkDense(from, page, dst, dstOffset, pBegin, pEnd, obj, newAddr, from.get(LONG, obj), fromTop);
                densePages++;
                return;
            }
        }
        // Pass 1: check every header and copy. Live objects are packed in order, so each lands
        // right after the last (one forward() per page), and objects adjacent in from-space are
        // copied with one copy.
        long firstNew = newAddr;
        long firstHeader = 0;
        boolean anyRefs = false;
        long runSrc = -1;
        long runDst = 0;
        long runLen = 0;
        while (obj < fromTop) {
            long header = obj == 0 ? ObjectLayout.headerWord(ObjectLayout.MIN_OBJECT_WORDS, 0) : from.get(LONG, obj);
            long size = ObjectLayout.sizeWords(header) << ObjectLayout.LOG_WORD_BYTES;
            checkHeader(page, obj, size, fromTop);
            if (newAddr >= pEnd) {
                break;
            }
            if (newAddr == firstNew) {
                firstHeader = header;
            }
            long s = Math.max(newAddr, pBegin);
            long e = Math.min(newAddr + size, pEnd);
            if (obj == 0) {
                ObjectLayout.writeHeader(dst, dstOffset + (newAddr - pBegin), ObjectLayout.MIN_OBJECT_WORDS, 0,
                        ObjectLayout.TYPE_NULL_GUARD, 0);
            } else {
                long at = obj + (s - newAddr);
                if (runLen > 0 && runSrc + runLen == at) {
                    runLen += e - s; // the destination is contiguous too: objects are packed
                } else {
                    if (runLen > 0) {
                        MemorySegment.copy(from, runSrc, dst, dstOffset + runDst, runLen);
                    }
                    runSrc = at;
                    runDst = s - pBegin;
                    runLen = e - s;
                }
                anyRefs |= ObjectLayout.refCount(header) != 0;
            }
            newAddr += size;
            long next = obj + size;
            if (next >= fromTop) {
                break;
            }
            obj = bitmap.isMarked(next) ? next : bitmap.nextMarked(next, fromTop);
        }
        if (runLen > 0) {
            MemorySegment.copy(from, runSrc, dst, dstOffset + runDst, runLen);
        }
        // Pass 2: the references, in the copied bytes (the same old values from-space holds).
        if (anyRefs) {
            relocateRefs(dst, dstOffset, pBegin, pEnd, firstNew, firstHeader);
        }
    }

    /**
     * The dense path of {@link #build}: the page's bytes are one stretch of from-space (every word
     * of it live), already copied. Walks the objects in it from {@code obj} (new address
     * {@code newAddr}, header {@code header}), checking each header as pass 1 does and rewriting
     * its references as {@link #relocateRefs} does; then checks the header of the object after
     * the page, which pass 1 reads before it sees that the object lies past the page.
     */
    private void walkDense(MemorySegment from, long page, MemorySegment dst, long dstOffset, long pBegin, long pEnd,
            long obj, long newAddr, long header, long fromTop) {
        for (;;) {
            long size = ObjectLayout.sizeWords(header) << ObjectLayout.LOG_WORD_BYTES;
            checkHeader(page, obj, size, fromTop);
            relocateObject(dst, dstOffset, pBegin, pEnd, newAddr, header);
            newAddr += size;
            obj += size;
            if (obj >= fromTop) {
                return;
            }
            if (newAddr >= pEnd) {
                break;
            }
            header = dst.get(LONG, dstOffset + (newAddr - pBegin));
        }
        if (!bitmap.isMarked(obj)) {
            obj = bitmap.nextMarked(obj, fromTop);
        }
        if (obj < fromTop) {
            checkHeader(page, obj, ObjectLayout.sizeWords(from.get(LONG, obj)) << ObjectLayout.LOG_WORD_BYTES, fromTop);
        }
    }

    /** Rewrites the reference slots, inside {@code [pBegin, pEnd)}, of the object copied to {@code newAddr}. */
    private void relocateObject(MemorySegment dst, long dstOffset, long pBegin, long pEnd, long newAddr, long header) {
        long refsBegin = Math.max(newAddr + ObjectLayout.HEADER_BYTES, pBegin);
        long refsEnd = Math.min(newAddr + ObjectLayout.HEADER_BYTES + ObjectLayout.refCount(header) * ObjectLayout.REF_BYTES, pEnd);
        for (long a = refsBegin; a < refsEnd; a += ObjectLayout.REF_BYTES) {
            int old = dst.get(INT, dstOffset + (a - pBegin));
            if (old != 0) {
                long moved = offsets.forward(ObjectLayout.refToOffset(old));
                dst.set(INT, dstOffset + (a - pBegin), ObjectLayout.offsetToRef(moved));
            }
        }
    }

    private void checkHeader(long page, long obj, long size, long fromTop) {
        if (size == 0 || obj + size > fromTop || !bitmap.isMarked(obj + size - ObjectLayout.WORD_BYTES)) {
            throw new PageBuildException(page, obj, "from-space object at offset 0x" + Long.toHexString(obj)
                    + " has a damaged header (" + (size >>> 3) + " words) while building to-space page " + page);
        }
    }

    /**
     * Rewrites the references of the objects packed in {@code [pBegin, pEnd)} of the page at
     * {@code dstOffset}, already copied: the first starts at {@code newAddr} (perhaps before
     * {@code pBegin}) with header {@code firstHeader}, each next one right after the last, its
     * header read from the page.
     */
    private void relocateRefs(MemorySegment dst, long dstOffset, long pBegin, long pEnd, long newAddr, long firstHeader) {
        long header = firstHeader;
        for (;;) {
            long size = ObjectLayout.sizeWords(header) << ObjectLayout.LOG_WORD_BYTES;
            relocateObject(dst, dstOffset, pBegin, pEnd, newAddr, header);
            newAddr += size;
            if (newAddr >= pEnd) {
                return;
            }
            header = dst.get(LONG, dstOffset + (newAddr - pBegin));
        }
    }
}
