package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One 32-bit state per heap page, shared by mutators, compactor threads and the native fault
 * path. The transitions are the page protocol ({@code docs/page-protocol.md}); its Java half is
 * {@code io.faultline.backend.PageProtocol}, its C half {@code fl_protocol.c}.
 *
 * <pre>
 *            pause                   claim (CAS)               built (owner)
 *  MAPPED ---------&gt; UNPROCESSED ----------------&gt; PROCESSING ------------&gt; PROCESSED
 *    ^                  ^    revert (stale claimer) |    |                     |
 *    |                  +---------------------------+    | build failed        | take (CAS, any thread)
 *    |                                                   v                     v
 *    |                                                 FAILED &lt;-- ioctl ---- MAPPING
 *    +------------------------------- installed (owner of MAPPING) ------------+
 * </pre>
 *
 * <ul>
 *   <li>{@link #MAPPED} (0): the mutator may read and write the page. Every page outside a
 *       compaction is MAPPED, so the java backend's access check is "state == 0".</li>
 *   <li>{@link #UNPROCESSED}: set by the pause for every page of the cycle's to-space. Nobody may
 *       read it in the mutator view.</li>
 *   <li>{@link #PROCESSING}: one thread won the CAS from UNPROCESSED and is building the page. A
 *       claimer that finds, right after its CAS, that a pause started since it read the cycle
 *       reverts the page to UNPROCESSED without writing it.</li>
 *   <li>{@link #PROCESSED}: contents complete, not yet visible. Any thread may take it for
 *       mapping by CAS (a compactor mapping its run, or a faulting thread mapping the built run
 *       it touched).</li>
 *   <li>{@link #MAPPING}: one thread owns the install of this page (the mode's ioctl).</li>
 *   <li>{@link #FAILED}: the page could not be built or installed. The heap has failed: a
 *       sentinel-filled page was installed so that faulting threads are released, and every
 *       mutator learns of the failure at its next poll or access.</li>
 * </ul>
 *
 * <p><b>Assumptions and Guarantees:</b> every transition out of UNPROCESSED and PROCESSED is a
 * volatile CAS; every other transition is a release store by the page's owner, so a thread that
 * observes MAPPED with {@link #stateAcquire} also observes every byte the owner wrote. Accessors
 * use {@link #stateAcquire} on their fast path: on x86 it is a plain load that the compiler may
 * not reorder with the data loads after it.
 */
public final class PageStates {
    public static final int MAPPED = 0;
    public static final int UNPROCESSED = 1;
    public static final int PROCESSING = 2;
    public static final int PROCESSED = 3;
    public static final int MAPPING = 4;
    public static final int FAILED = 5;

    private static final VarHandle STATE = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment states;
    private final long pages;

    PageStates(Arena arena, long pages) {
        this.pages = pages;
        this.states = arena.allocate(pages * MetadataDescriptor.PAGE_STATE_ENTRY_BYTES, 64);
    }

    public MemorySegment segment() {
        return states;
    }

    public long pages() {
        return pages;
    }

    /** Acquire load: the accessor fast path and every protocol decision. */
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

    /**
     * In a pause, before the cycle is opened to claimers: sets pages {@code [from, to)} to
     * {@code state} with bulk stores, then a release fence. A claimer reads these states only
     * after it has read a control-block word the pause stores later (volatile), so it sees them.
     */
    public void publishRange(long from, long to, int state) {
        long at = from * MetadataDescriptor.PAGE_STATE_ENTRY_BYTES;
        long end = to * MetadataDescriptor.PAGE_STATE_ENTRY_BYTES;
        MemorySegment pattern = PATTERNS[state];
        while (at < end) {
            long n = Math.min(pattern.byteSize(), end - at);
            MemorySegment.copy(pattern, 0, states, at, n);
            at += n;
        }
        VarHandle.releaseFence();
    }

    /** 64 KiB of each state, for {@link #publishRange}. */
    private static final MemorySegment[] PATTERNS = new MemorySegment[FAILED + 1];

    static {
        for (int s = MAPPED; s <= FAILED; s++) {
            MemorySegment p = Arena.global().allocate(64 << 10, 64);
            for (long i = 0; i < p.byteSize(); i += 4) {
                p.set(ValueLayout.JAVA_INT, i, s);
            }
            PATTERNS[s] = p;
        }
    }

    /** True for the states in which the page's from-space sources have been read. */
    public static boolean isBuilt(int state) {
        return state == MAPPED || state == PROCESSED || state == MAPPING;
    }

    public static String name(int state) {
        return switch (state) {
            case MAPPED -> "MAPPED";
            case UNPROCESSED -> "UNPROCESSED";
            case PROCESSING -> "PROCESSING";
            case PROCESSED -> "PROCESSED";
            case MAPPING -> "MAPPING";
            case FAILED -> "FAILED";
            default -> "INVALID(" + state + ")";
        };
    }
}
