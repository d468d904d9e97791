package io.faultline.gc;

import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Objects allocated while a concurrent cycle runs, from its initial mark to its flip, are live by
 * construction ("allocated black"): they are not traced, every word of theirs is marked wholesale
 * by {@link ConcurrentCycle}, and their starts are recorded here for the planner's
 * {@link ObjectStartBitmap}. The allocator reports each TLAB when it is retired (the mutator's
 * refill, a pause, a detach: the TLAB is then parsable, its tail a filler) and each object
 * allocated outside a TLAB; the TLAB is parsed once, while it is still in the cache.
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #begin} and {@link #end} run in pauses; the
 * reports come from mutators outside pauses or from a pausing thread, and concern memory at or
 * above the mark-start top that only the reporting thread writes. Start-bitmap entries a report
 * shares with a neighbour (its first and last) are set with an atomic OR, the others plainly.
 * Allocation-free.
 */
final class BlackAllocation {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final HeapBinding heap;
    private final ObjectStartBitmap starts;
    /** Objects at or above this offset are black; {@link Long#MAX_VALUE} outside a cycle. */
    private volatile long from = Long.MAX_VALUE;

    BlackAllocation(HeapBinding heap, ObjectStartBitmap starts) {
        this.heap = heap;
        this.starts = starts;
    }

    /** In the initial-mark pause, after the TLABs were retired: allocation from {@code markStartTop} on is black. */
    void begin(long markStartTop) {
        from = markStartTop;
    }

    /** In the flip pause (after the last retirement) or an abandoning pause: allocation is no longer black. */
    void end() {
        from = Long.MAX_VALUE;
    }

    /** A TLAB {@code [start, end)} was retired: objects up to its top, then one filler. */
    void tlabRetired(long start, long end) {
        if (start < from || end <= start) {
            return;
        }
        MemorySegment view = heap.view();
        if (end > view.byteSize()) {
            throw new IllegalStateException("black allocation: the retired TLAB [0x" + Long.toHexString(start) + ", 0x"
                    + Long.toHexString(end) + ") ends outside the view (0x" + Long.toHexString(view.byteSize()) + " bytes)");
        }
        // Every header read lies in [start, end), inside the view, which stays mapped while the
        // reporting thread is attached or pausing: read through RawMemory, without the segment's
        // per-access checks (the walk reads every header of every black object).
        //
        // The next header's address is predicted to be this object's size further on (a TLAB
        // mostly holds objects of a few sizes, often of one), and a branch that is rarely taken
        // corrects it: with a += size(header(a)) every header load waits for the last one, a
        // chain of cache latencies. The inner loop covers one bitmap entry, so that it keeps its
        // few variables in registers; the entry is written once, after it.
        long base = view.address();
        long first = ObjectStartBitmap.entryOf(start);
        long predicted = -1;
        for (long a = start; a < end; ) {
            long entry = ObjectStartBitmap.entryOf(a);
            long entryEnd = Math.min((entry + 1) << MetadataDescriptor.LOG_CHUNK_BYTES, end);
            long mask = 0;
            do {
                mask |= ObjectStartBitmap.bitOf(a);
                long bytes = ObjectLayout.sizeWords(RawMemory.ALL.get(LONG, base + a)) << ObjectLayout.LOG_WORD_BYTES;
                long next = a + predicted;
                if (bytes != predicted) {
                    predicted = checkedSize(bytes, a, start, end);
                    next = a + bytes;
                }
                a = next;
            } while (a < entryEnd);
            write(entry, mask, entry == first || a >= end);
        }
    }

    /** {@code bytes}, the size of the object at {@code a} in the TLAB {@code [start, end)}, unless it is 0 (damage). */
    private static long checkedSize(long bytes, long a, long start, long end) {
        if (bytes == 0) {
            throw new IllegalStateException("black allocation: zero header at 0x" + Long.toHexString(a)
                    + " in the retired TLAB [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ")");
        }
        return bytes;
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
