package io.faultline.gc;

import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.OffsetVector;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BooleanSupplier;

/**
 * Compressor planning: after marking, builds the {@link OffsetVector} (where every live object
 * goes) and the {@link FirstObjectTable} (where the page compactor starts for each to-space page).
 * Live objects keep their order, so to-space is the live objects packed from offset 0.
 *
 * <p>Planning can be done in one go ({@link #plan}, stop-the-world marking) or in two steps
 * (concurrent marking): {@link #begin} and {@link #extend} up to the top at the remark, outside
 * any pause, then {@link #extend} again in the flip pause over the objects allocated since. The
 * walk keeps its position between the steps: the next to-space address and the first to-space
 * page whose entry is not yet written.
 *
 * <p><b>Assumptions and Guarantees:</b> one thread at a time. The marks below the range being
 * planned are final. Each range starts at an object boundary (the used top after the TLABs were
 * retired) and every object in it is complete (its header written). Only headers are read, which
 * mutators never change, so mutators may run during {@link #extend}.
 */
final class Planner {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    /** How many objects the walk visits between checks of its stop condition. */
    private static final int CHECK_EVERY = 4096;

    private final MarkBitmap bitmap;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final int pageShift;
    private long toBase;
    private long newAddr;
    private long nextPage;
    private long plannedTop;

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
        begin(toBase);
        return extend(view, used, () -> false);
    }

    /** Starts planning a cycle whose live data lands from {@code toBase} (a page boundary) on. */
    void begin(long toBase) {
        this.toBase = toBase;
        this.newAddr = toBase;
        this.nextPage = toBase >>> pageShift;
        this.plannedTop = -1;
    }

    /**
     * Extends the plan from where the last call stopped (0 after {@link #begin}) to {@code used}
     * (at or above it):
     * the offset vector over the new chunks, then a walk of the marked objects that fills the
     * first-object entries of the to-space pages they land in. Returns the post-compact top, or
     * -1 if {@code stop} became true (checked every few thousand objects; the plan is then
     * unusable until the next {@link #begin}).
     */
    long extend(MemorySegment view, long used, BooleanSupplier stop) {
        long from = Math.max(plannedTop, 0);
        long newTop = plannedTop < 0 ? offsets.build(used, toBase) : offsets.extend(from, used);
        long obj = from < used && bitmap.isMarked(from) ? from : bitmap.nextMarked(from, used);
        int sinceCheck = 0;
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
            if (++sinceCheck == CHECK_EVERY) {
                sinceCheck = 0;
                if (stop.getAsBoolean()) {
                    return -1;
                }
            }
        }
        if (newAddr != newTop) {
            throw new IllegalStateException("planning: objects walked end at 0x" + Long.toHexString(newAddr)
                    + " but the bitmap puts the post-compact top at 0x" + Long.toHexString(newTop)
                    + " (a marked range does not match its header)");
        }
        plannedTop = used;
        return newTop;
    }

    /** The page after the last to-space page of a cycle whose post-compact top is {@code newTop}. */
    long endPage(long newTop) {
        return (newTop + (1L << pageShift) - 1) >>> pageShift;
    }
}
