package io.faultline.gc;

import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.OffsetVector;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Compressor planning: after marking, builds the {@link OffsetVector} (where every live object
 * goes) and the {@link FirstObjectTable} (where the page compactor starts for each to-space page).
 * Live objects keep their order, so to-space is the live objects packed from offset 0.
 *
 * <p><b>Assumptions and Guarantees:</b> runs inside a pause, on one thread, after marking.
 */
final class Planner {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MarkBitmap bitmap;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final int pageShift;

    Planner(MarkBitmap bitmap, OffsetVector offsets, FirstObjectTable firstObjects, int pageSize) {
        this.bitmap = bitmap;
        this.offsets = offsets;
        this.firstObjects = firstObjects;
        this.pageShift = Integer.numberOfTrailingZeros(pageSize);
    }

    /**
     * Plans the cycle over the marked objects below {@code used}, packing them from {@code toBase}
     * (a page boundary); returns the post-compact top ({@code toBase} + live bytes).
     */
    long plan(MemorySegment view, long used, long toBase) {
        long newTop = offsets.build(used, toBase);
        long firstPage = toBase >>> pageShift;
        long endPage = endPage(newTop);
        for (long p = firstPage; p < endPage; p++) {
            firstObjects.set(p, MetadataDescriptor.NO_OBJECT);
        }
        long nextPage = firstPage; // first page whose entry is still unset
        long newAddr = toBase;
        long obj = bitmap.nextMarked(0, used);
        while (obj < used) {
            // The null guard (offset 0) is two words; its from-space header is never read.
            long size = obj == 0 ? ObjectLayout.HEADER_BYTES
                    : ObjectLayout.sizeWords(view.get(LONG, obj)) << ObjectLayout.LOG_WORD_BYTES;
            long lastPage = (newAddr + size - 1) >>> pageShift;
            for (; nextPage <= lastPage; nextPage++) {
                firstObjects.set(nextPage, obj);
            }
            newAddr += size;
            long next = obj + size;
            obj = next < used && bitmap.isMarked(next) ? next : bitmap.nextMarked(next, used);
        }
        if (newAddr != newTop) {
            throw new IllegalStateException("planning: objects walked end at 0x" + Long.toHexString(newAddr)
                    + " but the bitmap puts the post-compact top at 0x" + Long.toHexString(newTop)
                    + " (a marked range does not match its header)");
        }
        return newTop;
    }

    /** The page after the last to-space page of a cycle whose post-compact top is {@code newTop}. */
    long endPage(long newTop) {
        return (newTop + (1L << pageShift) - 1) >>> pageShift;
    }
}
