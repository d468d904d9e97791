package io.faultline.gc.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The shared control block of one concurrent compaction, in native memory so that Java
 * compactor threads, faulting Java mutators (java backend) and the native fault path (uffd
 * backend) coordinate through the same atomics. Mirrored by {@code struct fl_control} in
 * {@code uffd-backend/src/main/c/faultline.h}.
 *
 * <pre>
 *  offset  field              who writes                        meaning
 *  0       next_page          claimers, fetch-and-add           claim cursor (ascending order)
 *  8       pages_left         page publishers, decrement        to-space pages not yet MAPPED
 *  16      to_space_pages     collector, in the pause           pages [0, n) are being compacted
 *  24      from_top           collector, in the pause           pre-compact used bytes
 *  32      new_top            collector, in the pause           post-compact live bytes
 *  40      faults             fault servers, increment          faults served this heap's life
 *  48      fault_built_pages  fault servers, increment          pages built by a faulting thread
 *  56      page_size          collector, at creation
 *  64      abandon            close(), store 1                  stop claiming; waiters give up
 *  72..127 reserved
 * </pre>
 *
 * <p><b>Assumptions and Guarantees:</b> every field is a naturally aligned 64-bit word accessed
 * with volatile (sequentially consistent) semantics from Java and {@code __atomic} SEQ_CST from C.
 * The cycle fields (16..32) change only inside a pause, when no compaction is in flight.
 */
public final class CompactionControl {
    public static final long NEXT_PAGE = 0;
    public static final long PAGES_LEFT = 8;
    public static final long TO_SPACE_PAGES = 16;
    public static final long FROM_TOP = 24;
    public static final long NEW_TOP = 32;
    public static final long FAULTS = 40;
    public static final long FAULT_BUILT_PAGES = 48;
    public static final long PAGE_SIZE = 56;
    public static final long ABANDON = 64;
    public static final long BYTES = 128;

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();
    private final MemorySegment block;

    public CompactionControl(Arena arena, int pageSize) {
        this.block = arena.allocate(BYTES, 64);
        set(PAGE_SIZE, pageSize);
    }

    public MemorySegment segment() {
        return block;
    }

    public long get(long field) {
        return (long) WORD.getVolatile(block, field);
    }

    public void set(long field, long value) {
        WORD.setVolatile(block, field, value);
    }

    public long getAndAdd(long field, long delta) {
        return (long) WORD.getAndAdd(block, field, delta);
    }

    /** Decrements and returns the new value. */
    public long decrement(long field) {
        return (long) WORD.getAndAdd(block, field, -1L) - 1;
    }
}
