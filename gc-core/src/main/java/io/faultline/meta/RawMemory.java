package io.faultline.meta;

import java.lang.foreign.MemorySegment;

/**
 * The process's whole address space as one segment of the global arena, for the heap's hottest
 * paths (the marker's loop, the mutators' field accesses, the walk of a retired TLAB's black
 * objects): an access through {@link #ALL} at an absolute address compiles to a plain load or
 * store, where an access through a heap segment also checks the segment's class, its bounds, that
 * it is writable and that its arena is open (about 15 instructions each, measured in the marker's
 * compiled code). Those checks are what makes a stale segment throw instead of touching memory
 * that was unmapped; code that uses {@link #ALL} gives that protection up and must establish both
 * facts itself.
 *
 * <p><b>Assumptions and Guarantees:</b> nothing is checked. A caller passes addresses it has
 * bounded (within a segment it holds, below a limit it has checked) and uses them only while the
 * memory is guaranteed to stay mapped. The marker: between {@code AbortableWork.enter} and
 * {@code leave}, or inside a pause, since neither a full pause nor {@code close()} takes the
 * heap's memory or side tables back before every such thread has left. A mutator: each access
 * checked against the heap's view size, which {@code close()} sets to 0 first, and the view is
 * unmapped only once no mutator of another thread is attached ({@code Heap.close()}); its poll
 * reads the control block's POLL word, which is freed at the same moment, or after close a word
 * that is never freed. The black TLAB walk ({@code BlackAllocation.tlabRetired}): a retired TLAB
 * checked to end inside the view, walked by its attached mutator or inside a pause.
 */
public final class RawMemory {
    /** Every address, from 0: {@code ALL.get(layout, address)}. */
    public static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private RawMemory() {
    }
}
