package io.faultline.gc;

import io.faultline.gc.meta.FirstObjectTable;
import io.faultline.gc.meta.GcMetadataDescriptor;
import io.faultline.gc.meta.MarkBitmap;
import io.faultline.gc.meta.OffsetVector;
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

    /** Plans the cycle over {@code [0, used)}; returns the post-compact top (= live bytes). */
    long plan(MemorySegment view, long used) {
        long newTop = offsets.build(used);
        long pages = toSpacePages(newTop);
        for (long p = 0; p < pages; p++) {
            firstObjects.set(p, GcMetadataDescriptor.NO_OBJECT);
        }
        long nextPage = 0; // first page whose entry is still unset
        long newAddr = 0;
        long obj = bitmap.nextMarked(0, used);
        while (obj < used) {
            long size = ObjectLayout.sizeWords(view.get(LONG, obj)) << ObjectLayout.LOG_WORD_BYTES;
            long lastPage = (newAddr + size - 1) >>> pageShift;
            for (; nextPage <= lastPage; nextPage++) {
                firstObjects.set(nextPage, obj);
            }
            newAddr += size;
            long next = obj + size;
            obj = next < used && bitmap.isMarked(next) ? next : bitmap.nextMarked(next, used);
        }
        if (newAddr != newTop) {
            throw new IllegalStateException("planning: objects walked add up to " + newAddr
                    + " bytes but the bitmap holds " + newTop + " live bytes (a marked range does not match its header)");
        }
        return newTop;
    }

    long toSpacePages(long newTop) {
        return (newTop + (1L << pageShift) - 1) >>> pageShift;
    }
}
