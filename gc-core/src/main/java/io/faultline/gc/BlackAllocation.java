package io.faultline.gc;

import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Objects allocated while a concurrent cycle runs, from its initial mark to its flip, are live by
 * construction ("allocated black"): they are not traced, every word of theirs is marked wholesale
 * by {@link ConcurrentCycle}, and their starts are recorded here for the planner's
 * {@link ObjectStartBitmap}, in two parts:
 *
 * <pre>
 *  markStartTop                topAtRemark                        top at the flip
 *  |  allocated while marking  |  allocated while planning        |
 *  |  walked by the collector  |  each TLAB walked by the mutator |
 *  |  before it plans          |  that retires it                 |
 * </pre>
 *
 * Most black allocation happens while the collector marks: that part is walked once, from start
 * to end, by the collector thread before it plans (the range is parsable: every TLAB in it was
 * retired in the remark pause, its tail a filler), not by the mutators, whose thread binds a
 * program like binary-trees while the collector has time to spare. What is allocated after the
 * remark is walked by the allocating mutator as it retires each TLAB (its refill, a pause, its
 * detach), while the TLAB is still in its cache, and each object allocated outside a TLAB is
 * recorded when allocated; the flip pause retires the last TLABs.
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #begin}, {@link #remarked} and {@link #end} run
 * in pauses; {@link #walkMarked} runs in the collector's planning, inside its abortable work;
 * the reports come from mutators outside pauses or from a pausing thread, and concern memory at
 * or above the remark top that only the reporting thread writes. Start-bitmap entries a walk
 * shares with a neighbour (its first and last) are set with an atomic OR, the others plainly.
 * Allocation-free.
 */
final class BlackAllocation {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final HeapBinding heap;
    private final ObjectStartBitmap starts;
    /** Mutators record the objects they allocate at or above this offset; {@link Long#MAX_VALUE}: none. */
    private volatile long from = Long.MAX_VALUE;

    BlackAllocation(HeapBinding heap, ObjectStartBitmap starts) {
        this.heap = heap;
        this.starts = starts;
    }

    /**
     * In the initial-mark pause, after the TLABs were retired: allocation from the mark-start top
     * on is black, and until the remark the collector, not the mutators, will record its starts.
     */
    void begin() {
        from = Long.MAX_VALUE;
    }

    /**
     * In the remark pause, after the TLABs were retired: mutators record what they allocate from
     * {@code topAtRemark} on; below it the collector walks ({@link #walkMarked}).
     */
    void remarked(long topAtRemark) {
        from = topAtRemark;
    }

    /** In the flip pause (after the last retirement) or an abandoning pause: allocation is no longer black. */
    void end() {
        from = Long.MAX_VALUE;
    }

    /**
     * In the collector's planning, before the plan reads starts there: records the start of every
     * object in {@code [markStartTop, topAtRemark)}, what was allocated while the collector marked
     * (TLABs, their fillers, objects outside TLABs). Mutators write fields there meanwhile, never
     * headers.
     */
    void walkMarked(long markStartTop, long topAtRemark) {
        walk(markStartTop, topAtRemark, "the black allocation while marking");
    }

    /** A TLAB {@code [start, end)} was retired: objects up to its top, then one filler. */
    void tlabRetired(long start, long end) {
        if (start < from || end <= start) {
            return;
        }
        walk(start, end, "the retired TLAB");
    }

    /**
     * Records the start of every object in the parsable range {@code [start, end)} of the view.
     * Every header read lies in the range, checked to end inside the view, which stays mapped
     * while the reporting thread is attached or pausing, or the collector is inside its abortable
     * work: read through RawMemory, without the segment's per-access checks (the walk reads every
     * header of every black object).
     */
    private void walk(long start, long end, String what) {
        if (end <= start) {
            return;
        }
        MemorySegment view = heap.view();
        if (end > view.byteSize()) {
            throw new IllegalStateException("black allocation: " + what + " [0x" + Long.toHexString(start) + ", 0x"
                    + Long.toHexString(end) + ") ends outside the view (0x" + Long.toHexString(view.byteSize()) + " bytes)");
        }
        long base = view.address();
        long first = ObjectStartBitmap.entryOf(start);
        long entry = first;
        long mask = 0;
        for (long a = start; a < end; ) {
            long e = ObjectStartBitmap.entryOf(a);
            if (e != entry) {
                write(entry, mask, entry == first);
                entry = e;
                mask = 0;
            }
            mask |= ObjectStartBitmap.bitOf(a);
            long words = ObjectLayout.sizeWords(RawMemory.ALL.get(LONG, base + a));
            if (words == 0) {
                throw new IllegalStateException("black allocation: zero header at 0x" + Long.toHexString(a)
                        + " in " + what + " [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")");
            }
            a += words << ObjectLayout.LOG_WORD_BYTES;
        }
        write(entry, mask, true);
    }

    /** An object was allocated outside a TLAB at {@code at}. */
    void allocatedDirect(long at) {
        if (at >= from) {
            starts.orAtomic(ObjectStartBitmap.entryOf(at), ObjectStartBitmap.bitOf(at));
        }
    }

    private void write(long entry, long mask, boolean shared) {
        if (shared) {
            starts.orAtomic(entry, mask);
        } else {
            starts.orPlain(entry, mask);
        }
    }
}
