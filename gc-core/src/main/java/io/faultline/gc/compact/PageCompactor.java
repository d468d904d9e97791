package io.faultline.gc.compact;

import io.faultline.gc.meta.FirstObjectTable;
import io.faultline.gc.meta.GcMetadataDescriptor;
import io.faultline.gc.meta.MarkBitmap;
import io.faultline.gc.meta.OffsetVector;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Builds one to-space page from from-space: copies the live bytes that land in the page and
 * rewrites every reference among them to its post-compact value. Objects that straddle the page
 * boundary, and objects many pages long, contribute only their bytes inside the page, so every
 * page can be built independently, in any order, by any thread. The native compactor
 * ({@code uffd-backend/src/main/c}) is a line-by-line mirror and must produce identical bytes.
 *
 * <pre>
 *  from-space   | A |  dead  |  B  | dead |      C       |       (bitmap marks A, B, C)
 *  to-space     | A |  B  |      C       |
 *               ^page p begins inside B: first[p] = B; copy the tail of B, then C's head
 * </pre>
 *
 * <p><b>Assumptions and Guarantees:</b> the metadata and from-space are read-only during
 * compaction; the routine writes only {@code [dstOffset, dstOffset + pageSize)} of {@code dst};
 * the bytes of the last page past the post-compact top are zeroed and covered by one filler
 * object. Allocation-free.
 */
public final class PageCompactor {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private final MarkBitmap bitmap;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final int pageSize;
    private long fromTop;
    private long newTop;

    public PageCompactor(MarkBitmap bitmap, OffsetVector offsets, FirstObjectTable firstObjects, int pageSize) {
        this.bitmap = bitmap;
        this.offsets = offsets;
        this.firstObjects = firstObjects;
        this.pageSize = pageSize;
    }

    /** Sets the cycle's bounds: the pre-compact used top and the post-compact top. */
    public void setCycle(long fromTop, long newTop) {
        this.fromTop = fromTop;
        this.newTop = newTop;
    }

    public long fromTop() {
        return fromTop;
    }

    public long newTop() {
        return newTop;
    }

    public int pageSize() {
        return pageSize;
    }

    /** Builds to-space page {@code page} into {@code dst} at {@code dstOffset}. */
    public void compactPage(MemorySegment from, long page, MemorySegment dst, long dstOffset) {
        long pBegin = page * pageSize;
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
        if (obj == GcMetadataDescriptor.NO_OBJECT) {
            return;
        }
        while (obj < fromTop) {
            long header = from.get(LONG, obj);
            long size = ObjectLayout.sizeWords(header) << ObjectLayout.LOG_WORD_BYTES;
            if (size == 0) {
                // Only a damaged from-space (released too early, or overwritten) gets here; without
                // this check the walk would spin on the same object forever.
                throw new IllegalStateException("from-space object at offset 0x" + Long.toHexString(obj)
                        + " has a zero size header while building to-space page " + page);
            }
            long newAddr = offsets.forward(obj);
            if (newAddr >= pEnd) {
                break;
            }
            long s = Math.max(newAddr, pBegin);
            long e = Math.min(newAddr + size, pEnd);
            MemorySegment.copy(from, obj + (s - newAddr), dst, dstOffset + (s - pBegin), e - s);
            long refsBegin = newAddr + ObjectLayout.HEADER_BYTES;
            long refsEnd = refsBegin + ObjectLayout.refCount(header) * ObjectLayout.REF_BYTES;
            long rs = Math.max(refsBegin, s);
            long re = Math.min(refsEnd, e);
            for (long a = rs; a < re; a += ObjectLayout.REF_BYTES) {
                int old = from.get(INT, obj + (a - newAddr));
                if (old != 0) {
                    long moved = offsets.forward(ObjectLayout.refToOffset(old));
                    dst.set(INT, dstOffset + (a - pBegin), ObjectLayout.offsetToRef(moved));
                }
            }
            long next = obj + size;
            if (next >= fromTop) {
                break;
            }
            obj = bitmap.isMarked(next) ? next : bitmap.nextMarked(next, fromTop);
        }
    }
}
