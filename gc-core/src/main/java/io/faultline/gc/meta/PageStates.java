package io.faultline.gc.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One 32-bit state per heap page, shared by mutators, compactor threads and the native fault
 * path, changed only by compare-and-set so that each page has exactly one owner while it is
 * built.
 *
 * <pre>
 *                 pause (collector)            claim (CAS, compactor or faulting mutator)
 *   MAPPED ------------------------> UNPROCESSED ------------------------> PROCESSING
 *     ^                                   ^   revert (a late claimer: a pause  |
 *     |                                   +---- started since it read the cycle)
 *     |                                                                       |
 *     |  publish (owner; java backend: release store)                         | built through the
 *     +-----------------------------------------------------------------------+ alias / buffer
 *     |                                                                       v
 *     +------------------------ map (owner: ioctl CONTINUE/COPY/MOVE) ---- PROCESSED
 * </pre>
 *
 * <ul>
 *   <li>{@link #MAPPED} (0): the mutator may read and write the page. Every page outside a
 *       compaction is MAPPED, so the java backend's access check is "state == 0".</li>
 *   <li>{@link #UNPROCESSED}: set by the collector, inside the pause, for every to-space page
 *       that receives live data. Nobody may read it in the mutator view.</li>
 *   <li>{@link #PROCESSING}: exactly one thread (compactor or mutator) won the CAS from
 *       UNPROCESSED and is building the page. Others wait and re-check. A claimer that finds,
 *       right after its CAS, that a pause started since it read the cycle number reverts the
 *       page to UNPROCESSED without writing it ({@code Collector.claimFor}, {@code claim()} in
 *       fl_backend.c).</li>
 *   <li>{@link #PROCESSED}: contents complete in the GC alias, not yet visible to mutators
 *       (uffd backends, between the copy and the ioctl). The java backend skips this state.</li>
 * </ul>
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #claim} is a volatile CAS; {@link #publish} is a
 * release store, so a thread that observes MAPPED with {@link #stateAcquire} also observes every
 * byte the owner wrote into the page. Accessors use {@link #stateAcquire} on their fast path: on
 * x86 it is a plain load that the compiler may not reorder with the data loads after it.
 */
public final class PageStates {
    public static final int MAPPED = 0;
    public static final int UNPROCESSED = 1;
    public static final int PROCESSING = 2;
    public static final int PROCESSED = 3;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final VarHandle STATE = I32.varHandle();

    private final MemorySegment states;
    private final long pages;

    public PageStates(Arena arena, long pages) {
        this.pages = pages;
        this.states = arena.allocate(pages * GcMetadataDescriptor.PAGE_STATE_ENTRY_BYTES, 64);
    }

    public MemorySegment segment() {
        return states;
    }

    public long pages() {
        return pages;
    }

    /** Plain read: the accessor fast path. */
    public int statePlain(long page) {
        return states.getAtIndex(I32, page);
    }

    public int stateAcquire(long page) {
        return (int) STATE.getAcquire(states, page * 4);
    }

    /** Volatile CAS; true if the caller now owns the page in state {@code to}. */
    public boolean claim(long page, int from, int to) {
        return STATE.compareAndSet(states, page * 4, from, to);
    }

    /** Release store by the page's owner (or by the collector inside a pause). */
    public void publish(long page, int state) {
        STATE.setRelease(states, page * 4, state);
    }

    public static String name(int state) {
        return switch (state) {
            case MAPPED -> "MAPPED";
            case UNPROCESSED -> "UNPROCESSED";
            case PROCESSING -> "PROCESSING";
            case PROCESSED -> "PROCESSED";
            default -> "INVALID(" + state + ")";
        };
    }
}
