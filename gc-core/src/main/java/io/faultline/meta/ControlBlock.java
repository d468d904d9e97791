package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The shared control block of one heap, in native memory so that Java mutators, Java compactor
 * threads and the native fault path coordinate through the same atomics. Mirrored by
 * {@code struct fl_control} in {@code uffd-backend/src/main/c/layout.h}.
 *
 * <pre>
 *  offset  field              written by                        meaning
 *  0       EPOCH              pause, first store                cycle number of the latest pause
 *  8       ACTIVE_EPOCH       pause, last store of its setup    = EPOCH once every page state of the cycle is published
 *  16      NEXT_PAGE          claimers, fetch-and-add           claim cursor (absolute page, ascending)
 *  24      PAGES_LEFT         mappers, subtract                 to-space pages not yet MAPPED
 *  32      FIRST_PAGE         pause                             to-space is the pages [FIRST_PAGE, END_PAGE)
 *  40      END_PAGE           pause
 *  48      FROM_TOP           pause                             used top before compaction (from-space extent)
 *  56      NEW_TOP            pause                             used top after compaction
 *  64      FRONTIER_PAGE      mappers, CAS to a larger value    lowest to-space page not yet built
 *  72      CONSUMED           mappers, CAS to a larger value    from-space below this offset is never read again
 *  80      RUN_PAGES          heap setting                      pages a compactor claims and installs at once
 *  88      FAULT_AROUND       heap setting                      pages a fault builds after its own
 *  96      POLL               pause, failure, close, collector  the mutators' poll word: PAUSE | FAILED | CLOSED bits,
 *                                                                and bit 8, Java only: a pause is on offer (gc.MutatorEvents.POLL_OFFER)
 *  104     FAILED_PAGE        first failure only                page that could not be built or installed (-1: none)
 *  112     FAILED_PATH        first failure only (CAS from 0)   who failed: a FailurePath code
 *  120     FAILED_ERRNO       first failure only                errno (EUCLEAN: damaged from-space)
 *  128     FAILED_OFFSET      first failure only                from-space offset of the damaged object, or -1
 *  136     FAULTS             fault servers, increment          faults served over the heap's life
 *  144     FAULT_BUILT_PAGES  fault servers, add                pages built by faulting threads (fault-around included)
 *  152     ABANDON            close(), store 1                  stop claiming; waiters give up
 *  160     RECYCLE_NEXT       builders, fetch-and-add           next consumed from-space offset to build into (MOVE)
 *  168     RELEASED           mappers, CAS                      from-space below this offset has been released
 *  176     RELEASE_BATCH      heap setting                      release consumed from-space in steps of at least this
 *  184     TRACE              tracing, once                     address of the heap's TraceRing, 0: none (see TraceRing)
 *  192     VERBATIM_END       pause                             to-space pages that end at or below it are their from-space
 *                                                                pages unchanged (young cycles' old pages), copied as they are
 *  200     FAULT_HINT         faults, store; compactors, CAS    the page after the last fault's run, for a compactor to build
 *                                                                next (0: none; the pause clears it)
 *  208..255 reserved
 * </pre>
 *
 * <p><b>Assumptions and Guarantees:</b> every field is a naturally aligned 64-bit word accessed
 * with volatile (sequentially consistent) semantics from Java and {@code __atomic} SEQ_CST from C.
 * The cycle fields (FIRST_PAGE to NEW_TOP) change only inside a pause, between the EPOCH and the
 * ACTIVE_EPOCH stores, when no compaction is in flight. The failure fields are written once, by
 * the thread that wins the CAS of FAILED_PATH from 0, before it sets the FAILED poll bit: a thread
 * that sees the bit reads complete failure fields.
 */
public final class ControlBlock {
    public static final long EPOCH = 0;
    public static final long ACTIVE_EPOCH = 8;
    public static final long NEXT_PAGE = 16;
    public static final long PAGES_LEFT = 24;
    public static final long FIRST_PAGE = 32;
    public static final long END_PAGE = 40;
    public static final long FROM_TOP = 48;
    public static final long NEW_TOP = 56;
    public static final long FRONTIER_PAGE = 64;
    public static final long CONSUMED = 72;
    public static final long RUN_PAGES = 80;
    public static final long FAULT_AROUND = 88;
    public static final long POLL = 96;
    public static final long FAILED_PAGE = 104;
    public static final long FAILED_PATH = 112;
    public static final long FAILED_ERRNO = 120;
    public static final long FAILED_OFFSET = 128;
    public static final long FAULTS = 136;
    public static final long FAULT_BUILT_PAGES = 144;
    public static final long ABANDON = 152;
    public static final long RECYCLE_NEXT = 160;
    public static final long RELEASED = 168;
    public static final long RELEASE_BATCH = 176;
    public static final long TRACE = 184;
    public static final long VERBATIM_END = 192;
    public static final long FAULT_HINT = 200;
    public static final long BYTES = 256;

    /** POLL bit: a pause is requested; mutators park at their next poll. */
    public static final long POLL_PAUSE = 1;
    /** POLL bit: the heap has failed; every mutator operation throws. */
    public static final long POLL_FAILED = 2;
    /** POLL bit: the heap is closed. */
    public static final long POLL_CLOSED = 4;

    /**
     * FAILED_PAGE of a failure that was no page's: consumed from-space could not be given back to
     * the kernel (FAILED_OFFSET: the heap offset where the batch began).
     */
    public static final long FAILED_PAGE_RELEASE = -2;

    /** FAILED_PATH codes: who could not build or install a page (mirrored in layout.h). */
    public static final int PATH_NONE = 0;
    public static final int PATH_COMPACTOR = 1;
    public static final int PATH_FAULT_THREAD = 2;
    public static final int PATH_FAULT_SIGBUS = 3;
    public static final int PATH_FAULT_JAVA = 4;
    public static final int PATH_BACKSTOP = 5;
    public static final int PATH_PAUSE = 6;
    public static final int PATH_COLLECTOR = 7;

    /** errno recorded for a page whose from-space sources are damaged (Linux EUCLEAN). */
    public static final int EUCLEAN = 117;

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();
    /** A poll word with only {@link #POLL_CLOSED} set, allocated for the process's life (see {@link #closedPollAddress}). */
    private static final MemorySegment CLOSED_POLL = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        CLOSED_POLL.set(ValueLayout.JAVA_LONG, 0, POLL_CLOSED);
    }

    private final MemorySegment block;

    ControlBlock(Arena arena) {
        this.block = arena.allocate(BYTES, 64);
        set(FAILED_PAGE, -1);
        set(FAILED_OFFSET, -1);
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

    public boolean compareAndSet(long field, long expected, long value) {
        return WORD.compareAndSet(block, field, expected, value);
    }

    /** Raises {@code field} to {@code value} unless it is already at least that; returns the old value. */
    public long raise(long field, long value) {
        while (true) {
            long old = get(field);
            if (old >= value || compareAndSet(field, old, value)) {
                return old;
            }
        }
    }

    /** Sets {@code bits} in the POLL word. */
    public void setPollBits(long bits) {
        WORD.getAndBitwiseOr(block, POLL, bits);
    }

    /** Clears {@code bits} in the POLL word. */
    public void clearPollBits(long bits) {
        WORD.getAndBitwiseAnd(block, POLL, ~bits);
    }

    /** The POLL word (acquire). Mutators read it at {@link #pollAddress()} instead, without the segment's checks. */
    public long poll() {
        return (long) WORD.getAcquire(block, POLL);
    }

    /**
     * The absolute address of the POLL word, for the mutators' poll: one acquire load through
     * {@link RawMemory#ALL}, where a load through this block's segment also checks its class,
     * bounds, alignment and arena (about 20 instructions, a fifth of binary-trees' allocation path
     * in the compiled code). Valid until the block is freed ({@code GcMetadata.closeControl}).
     */
    public long pollAddress() {
        return block.address() + POLL;
    }

    /**
     * The address of a poll word that says "closed" forever: a closed heap points its mutators'
     * raw poll there ({@code Heap.close()}) before its control block is freed, so a poll on the
     * closing thread never reads freed memory. (A method, not a constant: it is not part of the
     * layout that {@code layout.h} mirrors.)
     */
    public static long closedPollAddress() {
        return CLOSED_POLL.address();
    }

    /**
     * Records the first failure of the heap: the first caller wins the CAS of FAILED_PATH, writes
     * the details, then sets the FAILED poll bit. Returns true if this call recorded it.
     */
    public boolean recordFailure(int path, long page, int errno, long fromOffset) {
        if (!compareAndSet(FAILED_PATH, PATH_NONE, path)) {
            return false;
        }
        set(FAILED_PAGE, page);
        set(FAILED_ERRNO, errno);
        set(FAILED_OFFSET, fromOffset);
        setPollBits(POLL_FAILED);
        return true;
    }

    public static String pathName(int path) {
        return switch (path) {
            case PATH_NONE -> "none";
            case PATH_COMPACTOR -> "compaction step (a compactor thread, or a mutator helping)";
            case PATH_FAULT_THREAD -> "fault-service thread";
            case PATH_FAULT_SIGBUS -> "SIGBUS handler of the faulting thread";
            case PATH_FAULT_JAVA -> "software fault of the faulting mutator";
            case PATH_BACKSTOP -> "fault-service backstop";
            case PATH_PAUSE -> "stop-the-world compaction in the pause";
            case PATH_COLLECTOR -> "collector";
            default -> "path " + path;
        };
    }
}
