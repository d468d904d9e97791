package io.faultline.backend;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.PageStates;
import io.faultline.meta.TraceRing;

/**
 * The page protocol of a concurrent compaction, in Java: who may build a to-space page, who maps
 * it, how a fault is served, how from-space is released and what a failure does. This class is
 * the Java half; {@code uffd-backend/src/main/c/fl_protocol.c} is the C half, with the same
 * functions under the same names ({@code claim}, {@code claim_run}, {@code build_run},
 * {@code map_run}, {@code compact_step}, {@code sweep}, {@code serve_fault},
 * {@code advance_frontier}, {@code fail_run}), and {@code ProtocolDifferentialTest} drives both
 * through the same seeded schedules. The protocol itself is written down once, in
 * {@code docs/page-protocol.md}; the state machine is drawn in {@link PageStates}.
 *
 * <p>In brief: the pause publishes every to-space page UNPROCESSED and the cycle's
 * bounds in the {@link ControlBlock}, then stores ACTIVE_EPOCH. A compactor claims a <i>run</i> of
 * contiguous UNPROCESSED pages by CAS as it builds them (its first claim validated against the
 * epoch; the further pages claimed in batches of {@link #CLAIM_AHEAD_PAGES} ahead of its build, so
 * a faulting mutator waits for at most that many page builds), publishes each built page PROCESSED,
 * then takes its pages for mapping (CAS PROCESSED to MAPPING), installs each contiguous taken run
 * with one install call, publishes MAPPED, advances the from-space frontier and only then subtracts
 * the pages from PAGES_LEFT (so the cycle cannot end, and the next pause cannot start, while it
 * still touches this cycle's from-space). A fault claims its page and up to FAULT_AROUND following
 * pages at once, or maps the built run it touched, or waits for the page's owner. A page that
 * cannot be built or installed becomes FAILED and the heap fails.
 *
 * <p><b>Assumptions and Guarantees:</b> every page has exactly one builder and one installer per
 * cycle (the winners of its CASes). A stale claimer (it read the epoch of a cycle whose next pause
 * has begun) reverts its claim and builds nothing. No method blocks except {@link #serveFault}
 * with {@code wait}, which spins and yields until the page is MAPPED or FAILED or the compaction
 * is abandoned. Allocation-free.
 */
public final class PageProtocol {
    /** {@link #claim} results, as in C. */
    public static final int CLAIMED = 1;
    public static final int TAKEN = 0;
    public static final int STALE = -1;

    /** {@link #serveFault} results, as in C ({@code FAULT_*}). */
    public static final int FAULT_MAPPED = 0;
    public static final int FAULT_BUILT = 1;
    public static final int FAULT_MAPPED_RUN = 2;
    public static final int FAULT_OWNED = 3;
    public static final int FAULT_STALE = 4;
    public static final int FAULT_FAILED = 5;
    public static final int FAULT_ABANDONED = 6;

    /**
     * How far ahead of its build a builder claims a run (FL_CLAIM_AHEAD in C). Each claim is a CAS,
     * and in C a locked instruction right after a page's copy waits for the copy's stores to drain:
     * claimed page by page, every copy was serialised with the next. A fault on a page claimed but
     * not yet built waits for at most this many builds.
     */
    public static final int CLAIM_AHEAD_PAGES = 16;

    /**
     * A compactor that takes a fault's hint ({@link ControlBlock#FAULT_HINT}) builds this many runs
     * of {@link #HINT_RUN_FAULT_RUNS} fault-around runs each from it, turning to a newer hint as
     * soon as one is pending (FL_HINT_FOLLOW_RUNS in C). A mutator that reads on through to-space
     * after a fault finds the runs ahead of it built by a compactor while it built its own.
     */
    public static final int HINT_FOLLOW_RUNS = 2;

    /**
     * How many fault-around runs one run a compactor builds from a hint spans (one install each;
     * FL_HINT_RUN_FAULT_RUNS in C). Two: the mutator faulted 10 to 20% less often and stalled about
     * 6% less per touch than with runs of one (docs/results.md, "Longer runs behind a fault's
     * hint"); runs of half a fault-around run doubled its faults.
     */
    public static final int HINT_RUN_FAULT_RUNS = 2;

    /** Spins before a waiting thread starts reading the clock (the same constant as FL_SPINS_BEFORE_YIELD in C). */
    public static final int SPINS_BEFORE_YIELD = 64;

    /**
     * How long a fault that waits for a page another thread owns spins before it starts yielding
     * (FL_SPIN_BEFORE_YIELD_NS in C). The owner, running on another CPU, finishes a run in tens of
     * microseconds; a yield hands this CPU to any other runnable thread for up to a scheduler
     * slice (a JIT compiler thread took over a millisecond of a faulting mutator's CPU that way;
     * docs/results.md, "A waiting fault spins before it yields"). The yield is for an owner that
     * is not running.
     */
    public static final long SPIN_BEFORE_YIELD_NANOS = 100_000;

    /** What the protocol needs from the backend: supply, build, install, release, poison. */
    public interface Pages {
        /**
         * The caller claimed {@code [first, first + n)} and is about to build it: provide the pages
         * to build into. java: nothing to do (pages are built in place); uffd: recycled from-space
         * pages, or page cache allocated in one call, depending on the page supply.
         */
        default void supply(long first, long n) {
        }

        /** Builds page {@code page} into its build target. Throws {@link PageBuildException} if it cannot. */
        void build(long page);

        /** Makes pages {@code [first, first + n)} visible; returns 0 or a positive errno. */
        int install(long first, long n);

        /**
         * From-space bytes {@code [offset, offset + bytes)} will not be read again this cycle, nor
         * any below them (the batches run contiguously up from offset 0): gives them back to the
         * kernel (java: in whole granules, {@code madvise}). Returns 0 or a positive errno,
         * which the protocol records as the heap's failure
         * ({@link ControlBlock#FAILED_PAGE_RELEASE}), on whichever thread released.
         */
        int release(long offset, long bytes);

        /** Makes a failed page's bytes harmless (a sentinel pattern) and visible; java: nothing to do. */
        void poison(long page);
    }

    private final PageStates states;
    private final ControlBlock control;
    private final FirstObjectTable firstObjects;
    private final Pages pages;
    private final int pageShift;
    private final TraceRing trace;

    public PageProtocol(GcMetadata metadata, Pages pages) {
        this.states = metadata.pageStates();
        this.control = metadata.control();
        this.trace = metadata.traceRing();
        this.firstObjects = metadata.firstObjects();
        this.pages = pages;
        this.pageShift = Integer.numberOfTrailingZeros(metadata.pageSize());
    }

    /** The epoch whose setup is complete, or -1 while a pause is setting up the next cycle. */
    public long activeEpoch() {
        long active = control.get(ControlBlock.ACTIVE_EPOCH);
        return active == control.get(ControlBlock.EPOCH) ? active : -1;
    }

    /**
     * Claims {@code page} for {@code epoch}: CAS UNPROCESSED to PROCESSING, then checks that no
     * pause started since the caller read the epoch (the pause stores EPOCH before it publishes
     * any page UNPROCESSED, so a CAS that won a page of the next cycle sees the new EPOCH). A stale
     * claim is reverted: nobody else can have written the page while we owned it.
     */
    public int claim(long page, long epoch) {
        if (!cas(page, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
            return TAKEN;
        }
        if (control.get(ControlBlock.EPOCH) != epoch) {
            publish(page, PageStates.UNPROCESSED);
            return STALE;
        }
        return CLAIMED;
    }

    /**
     * Claims {@code first} (validated) and then up to {@code max - 1} following UNPROCESSED pages
     * below {@code limit} (plain CASes: while we own {@code first} the cycle cannot end, so no
     * pause can intervene). Returns the number claimed, 0 if {@code first} was taken, -1 if stale.
     */
    public long claimRun(long first, long max, long limit, long epoch) {
        int r = claim(first, epoch);
        if (r != CLAIMED) {
            return r == STALE ? -1 : 0;
        }
        long n = 1;
        while (n < max && first + n < limit && cas(first + n, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
            n++;
        }
        return n;
    }

    /**
     * Builds the claimed run {@code [first, first + n)}, publishing each page PROCESSED. Returns
     * the pages built: {@code n}, or fewer if a build failed, in which case the failing page and
     * the rest of the run are FAILED (poisoned) and the heap fails. The caller maps the built
     * prefix either way, so that every page it claimed ends MAPPED or FAILED (a waiter never hangs).
     */
    public long buildRun(long first, long n, int path) {
        for (long p = first; p < first + n; p++) {
            try {
                pages.build(p);
            } catch (PageBuildException e) {
                failRun(p, first + n - p, path, ControlBlock.EUCLEAN, e.fromOffset());
                return p - first;
            } catch (RuntimeException | Error e) {
                failRun(p, first + n - p, path, 0, -1); // not the sources: a bug; the caller reports e
                throw e;
            }
            publish(p, PageStates.PROCESSED);
        }
        return n;
    }

    /**
     * Maps the PROCESSED pages among {@code [first, first + n)} that this thread wins (CAS
     * PROCESSED to MAPPING), one install per contiguous run won; pages another thread took are
     * left to it. A run whose install fails becomes FAILED and the next one is still tried, so
     * every page taken ends MAPPED or FAILED. Returns the pages this call mapped.
     */
    public long mapRun(long first, long n, int path) {
        long mapped = 0;
        long p = first;
        long end = first + n;
        while (p < end) {
            if (!cas(p, PageStates.PROCESSED, PageStates.MAPPING)) {
                p++;
                continue;
            }
            long q = p + 1;
            while (q < end && cas(q, PageStates.PROCESSED, PageStates.MAPPING)) {
                q++;
            }
            int errno = pages.install(p, q - p);
            if (errno != 0) {
                failRun(p, q - p, path, errno, -1);
                p = q;
                continue;
            }
            for (long r = p; r < q; r++) {
                publish(r, PageStates.MAPPED);
            }
            advanceFrontier(path);
            control.getAndAdd(ControlBlock.PAGES_LEFT, -(q - p));
            mapped += q - p;
            p = q;
        }
        return mapped;
    }

    /**
     * A compactor's bounded step: claims runs of RUN_PAGES through the shared cursor, builds and
     * maps them, then sweeps for pages whose cursor slot was lost (a stale claimer consumed it),
     * until {@code maxPages} are built or nothing is left. Returns pages built (0: nothing left).
     */
    public long compactStep(long maxPages) {
        long epoch = activeEpoch();
        if (epoch < 0 || control.get(ControlBlock.PAGES_LEFT) == 0) {
            return 0;
        }
        long run = Math.max(1, control.get(ControlBlock.RUN_PAGES));
        long end = control.get(ControlBlock.END_PAGE);
        long built = 0;
        while (built < maxPages && !abandoned() && !failed()) {
            long slot = control.getAndAdd(ControlBlock.NEXT_PAGE, run);
            if (slot >= end || control.get(ControlBlock.EPOCH) != epoch) {
                break;
            }
            while (true) {
                // the slot's run, ended early to build a fault's next runs; then the rest of the slot
                long b = claimBuildMap(slot, Math.min(slot + run, end), epoch, ControlBlock.PATH_COMPACTOR);
                if (b < 0) {
                    return built; // stale: a new cycle began
                }
                built += b;
                long h = serveHint(epoch);
                if (h < 0) {
                    return built;
                }
                built += h;
                if ((h == 0 && !hintPending(ControlBlock.PATH_COMPACTOR)) || abandoned()) {
                    break;
                }
            }
        }
        if (built < maxPages) {
            long b = sweep(maxPages - built, epoch, ControlBlock.PATH_COMPACTOR);
            built += Math.max(0, b);
        }
        return built;
    }

    /** True if {@code path} is a compactor's and a fault's hint is waiting for one. */
    private boolean hintPending(int path) {
        return path == ControlBlock.PATH_COMPACTOR && control.get(ControlBlock.FAULT_HINT) != 0;
    }

    /**
     * Takes the fault hint, if any, and builds a run of {@link #HINT_RUN_FAULT_RUNS} fault-around
     * runs there, then the runs after it ({@link #HINT_FOLLOW_RUNS} in all), turning to a newer
     * hint as soon as one is pending.
     * Returns pages built, 0 if there was no hint to take, -1 on a stale claim.
     */
    long serveHint(long epoch) {
        long h = takeHint();
        if (h == 0) {
            return 0;
        }
        long first = control.get(ControlBlock.FIRST_PAGE);
        long end = control.get(ControlBlock.END_PAGE);
        long n = HINT_RUN_FAULT_RUNS * (1 + control.get(ControlBlock.FAULT_AROUND));
        long built = 0;
        for (int i = 0; i < HINT_FOLLOW_RUNS && h >= first && h < end && !abandoned() && !failed(); i++) {
            long b = claimBuildMap(h, Math.min(h + n, end), epoch, ControlBlock.PATH_COMPACTOR);
            if (b < 0) {
                return -1;
            }
            built += b;
            long newer = takeHint();
            h = newer != 0 ? newer : h + n;
        }
        return built;
    }

    /** The pending fault hint, now taken (CAS to 0); 0 if there is none. */
    private long takeHint() {
        long h = control.get(ControlBlock.FAULT_HINT);
        return h != 0 && control.compareAndSet(ControlBlock.FAULT_HINT, h, 0) ? h : 0;
    }

    /**
     * Claims, builds and maps the UNPROCESSED pages of {@code [from, to)} in runs. A run is claimed
     * as it is built, in batches of up to {@link #CLAIM_AHEAD_PAGES} (claim the first page,
     * validated, and the next ones; build them; claim the next batch; ...), so a mutator that faults
     * on a page this thread has not claimed yet builds it itself instead of waiting for the whole
     * run; the run then ends there and is mapped with one install. A compactor also ends its run
     * at the next batch once a fault's hint is pending. Returns pages built, or -1 on a stale claim.
     */
    long claimBuildMap(long from, long to, long epoch, int path) {
        long built = 0;
        long p = from;
        while (p < to && !failed() && !hintPending(path)) {
            if (states.stateAcquire(p) != PageStates.UNPROCESSED) {
                p++;
                continue;
            }
            int r = claim(p, epoch);
            if (r == STALE) {
                return -1;
            }
            if (r == TAKEN) {
                p++;
                continue;
            }
            long first = p;
            pages.supply(first, to - first);
            long good = 0;
            while (true) {
                // p is ours: claim up to CLAIM_AHEAD_PAGES - 1 more, then build the batch
                long claimed = p + 1;
                while (claimed < to && claimed - p < CLAIM_AHEAD_PAGES && cas(claimed, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
                    claimed++;
                }
                long b = buildRun(p, claimed - p, path);
                good += b;
                boolean ok = p + b == claimed; // else buildRun failed the rest of the batch
                p = claimed;
                // the run ends where a page fails or another thread claimed one
                if (!ok || p >= to || hintPending(path) || !cas(p, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
                    break;
                }
            }
            mapRun(first, good, path);
            built += p - first;
        }
        return built;
    }

    /**
     * Claims and builds UNPROCESSED pages from the frontier up, in runs of RUN_PAGES, until
     * {@code maxPages} are built. Returns pages built, or -1 on a stale claim.
     */
    public long sweep(long maxPages, long epoch, int path) {
        long run = Math.max(1, control.get(ControlBlock.RUN_PAGES));
        long end = control.get(ControlBlock.END_PAGE);
        long built = 0;
        long p = control.get(ControlBlock.FRONTIER_PAGE);
        while (p < end && built < maxPages && !abandoned() && !failed()) {
            if (states.stateAcquire(p) != PageStates.UNPROCESSED) {
                p++;
                continue;
            }
            long to = Math.min(p + run, end);
            long b = claimBuildMap(p, to, epoch, path);
            if (b < 0) {
                return built == 0 ? -1 : built;
            }
            built += b;
            long h = path == ControlBlock.PATH_COMPACTOR ? serveHint(epoch) : 0;
            if (h < 0) {
                return built == 0 ? -1 : built;
            }
            built += h;
            if (h == 0 && !hintPending(path)) {
                p = to; // else the run was ended early for a hint: its rest is scanned again
            }
        }
        return built;
    }

    /**
     * Serves a fault on {@code page}: returns once the page is MAPPED (or at once with
     * {@link #FAULT_OWNED} when {@code wait} is false and another thread owns it: its install
     * wakes the faulting threads). Builds the page and up to FAULT_AROUND following unclaimed
     * pages if it is UNPROCESSED; maps the built run from the page if it is PROCESSED. With
     * {@code wait} and fault-around on (a faulting thread that waits for its page: SIGBUS, java),
     * it also hints the compactors to the run after the pages it claimed
     * ({@link ControlBlock#FAULT_HINT}) and, once per fault, builds the next unclaimed run
     * ({@link #helpAhead}) while another thread builds the page. A service thread ({@code wait}
     * false) does neither: it cannot help, and a hint alone made its mutator wait for the
     * compactor's runs (docs/page-protocol.md). C's {@code serve_fault} has one step more, which
     * has no counterpart here (the java page state is the mapping): a waiting CONTINUE fault maps
     * a page that has been MAPPING for 20 us itself ({@code map_early}).
     */
    public int serveFault(long page, boolean wait, int path) {
        control.getAndAdd(ControlBlock.FAULTS, 1);
        int spins = 0;
        boolean helped = false;
        long spinningSince = 0; // when the spins began to read the clock
        int result = FAULT_MAPPED;
        while (true) {
            int st = states.stateAcquire(page);
            switch (st) {
                case PageStates.MAPPED -> {
                    return result;
                }
                case PageStates.FAILED -> {
                    return FAULT_FAILED;
                }
                case PageStates.UNPROCESSED -> {
                    long epoch = activeEpoch();
                    if (epoch < 0) {
                        return FAULT_STALE; // a message from an earlier cycle, read during a pause
                    }
                    long n = buildFaultRun(page, epoch, wait, path);
                    if (n < 0) {
                        return FAULT_STALE;
                    }
                    if (n > 0) {
                        result = FAULT_BUILT;
                    }
                }
                case PageStates.PROCESSED -> {
                    long end = control.get(ControlBlock.END_PAGE);
                    long q = page + 1;
                    while (q < end && states.stateAcquire(q) == PageStates.PROCESSED) {
                        q++;
                    }
                    if (mapRun(page, q - page, path) > 0 && result == FAULT_MAPPED) {
                        result = FAULT_MAPPED_RUN;
                    }
                }
                default -> { // PROCESSING or MAPPING: its owner finishes it
                    if (!wait) {
                        return FAULT_OWNED;
                    }
                    if (failed()) {
                        return FAULT_FAILED;
                    }
                    if (abandoned()) {
                        return FAULT_ABANDONED;
                    }
                    if (st == PageStates.PROCESSING && !helped && control.get(ControlBlock.FAULT_AROUND) > 0) {
                        helped = true; // once per fault: build what comes next while the page's builder finishes it
                        helpAhead(page, path);
                        continue;
                    }
                    if (++spins < SPINS_BEFORE_YIELD) {
                        Thread.onSpinWait();
                    } else {
                        long now = System.nanoTime();
                        if (spinningSince == 0) {
                            spinningSince = now;
                        }
                        if (now - spinningSince < SPIN_BEFORE_YIELD_NANOS) {
                            Thread.onSpinWait();
                        } else {
                            Thread.yield();
                        }
                    }
                }
            }
        }
    }

    /** The most pages a fault claims: its own and its fault-around. */
    private long faultRunPages() {
        return 1 + Math.max(0, control.get(ControlBlock.FAULT_AROUND));
    }

    /**
     * Claims {@code first} and the UNPROCESSED pages after it, up to {@link #faultRunPages}; with
     * {@code hint} and fault-around on, hints the compactors past them; then supplies, builds, maps
     * and counts them. Returns the pages claimed, 0 if {@code first} was taken, -1 on a stale claim.
     */
    private long buildFaultRun(long first, long epoch, boolean hint, int path) {
        long end = control.get(ControlBlock.END_PAGE);
        long n = claimRun(first, faultRunPages(), end, epoch);
        if (n <= 0) {
            return n;
        }
        if (hint && control.get(ControlBlock.FAULT_AROUND) > 0 && first + n < end) {
            control.set(ControlBlock.FAULT_HINT, first + n); // a compactor builds the next run meanwhile
        }
        pages.supply(first, n);
        mapRun(first, buildRun(first, n, path), path);
        control.getAndAdd(ControlBlock.FAULT_BUILT_PAGES, n);
        return n;
    }

    /**
     * A fault waiting for {@code page}, which another thread is building: builds the first
     * unclaimed run within two fault-around runs after it instead of idling, and hints the
     * compactors past that run. Returns pages built (0 also when a claim found the cycle over).
     * Called by {@link #serveFault}; public for the differential test.
     */
    public long helpAhead(long page, int path) {
        long epoch = activeEpoch();
        if (epoch < 0) {
            return 0;
        }
        long end = control.get(ControlBlock.END_PAGE);
        long max = faultRunPages();
        long limit = Math.min(page + 2 * max, end);
        long q = page + 1;
        while (q < limit && states.stateAcquire(q) != PageStates.UNPROCESSED) {
            q++;
        }
        if (q >= limit) {
            return 0;
        }
        return Math.max(0, buildFaultRun(q, epoch, true, path));
    }

    /**
     * Advances the frontier (lowest page not yet built) and with it CONSUMED, the from-space below
     * the first object of the frontier page: every page below it has read its sources, and a page
     * reads from-space only at or above its first object. A thread that is not serving a fault
     * ({@link #releases}) then releases consumed from-space once at least RELEASE_BATCH bytes of
     * it are unreleased (one release call per batch, not per page: a release costs a TLB flush).
     * The caller still holds pages counted in PAGES_LEFT, so the cycle (and its from-space)
     * outlives this call.
     */
    public void advanceFrontier(int path) {
        long end = control.get(ControlBlock.END_PAGE);
        long f = control.get(ControlBlock.FRONTIER_PAGE);
        long g = f;
        while (g < end && PageStates.isBuilt(states.stateAcquire(g))) {
            g++;
        }
        if (g > f) {
            control.raise(ControlBlock.FRONTIER_PAGE, g);
        }
        long first = g < end ? firstObjects.get(g) : MetadataDescriptor.NO_OBJECT;
        long limit = (first == MetadataDescriptor.NO_OBJECT ? control.get(ControlBlock.FROM_TOP) : first) >>> pageShift << pageShift;
        long old = control.raise(ControlBlock.CONSUMED, limit);
        limit = Math.max(limit, old); // what a fault consumed and left unreleased
        if (releases(path)) {
            long released = control.get(ControlBlock.RELEASED);
            if (limit - released >= control.get(ControlBlock.RELEASE_BATCH)
                    && control.compareAndSet(ControlBlock.RELEASED, released, limit)) {
                if (trace.on(TraceRing.KIND_RELEASE)) {
                    trace.record(TraceRing.KIND_RELEASE, control.get(ControlBlock.EPOCH), released >>> pageShift, limit - released, 0, 0);
                }
                int errno = pages.release(released, limit - released);
                if (errno != 0) {
                    // fail loud; the caller still publishes its pages and counts them, so the
                    // compaction completes and nobody waits for it
                    control.recordFailure(path, ControlBlock.FAILED_PAGE_RELEASE, errno, released);
                }
            }
        }
    }

    /**
     * Whether a thread on {@code path} releases consumed from-space. A fault does not: a release
     * of a batch cost a faulting mutator about 210 us (an madvise or hole punch of 2 MiB and its
     * TLB flush) on top of its page, so it leaves the release to the next compactor or backstop
     * step, or to the end of the compaction, which releases all of from-space.
     */
    static boolean releases(int path) {
        return path != ControlBlock.PATH_FAULT_THREAD && path != ControlBlock.PATH_FAULT_SIGBUS
                && path != ControlBlock.PATH_FAULT_JAVA;
    }

    /**
     * The failure path: pages {@code [first, first + n)}, owned by the caller, become FAILED,
     * are poisoned (made visible with a sentinel pattern, so that a faulting thread is released
     * without reading stale data) and the heap's first failure is recorded.
     */
    public void failRun(long first, long n, int path, int errno, long fromOffset) {
        control.recordFailure(path, first, errno, fromOffset);
        for (long p = first; p < first + n; p++) {
            pages.poison(p);
            publish(p, PageStates.FAILED);
        }
    }

    /** CAS of a page's state, traced on success (C: {@code cas_state}). */
    private boolean cas(long page, int from, int to) {
        if (!states.claim(page, from, to)) {
            return false;
        }
        if (trace.on(TraceRing.KIND_STATE)) {
            trace.record(TraceRing.KIND_STATE, control.get(ControlBlock.EPOCH), page, 0, from, to);
        }
        return true;
    }

    /** The owner's release store, traced with the state it replaces (its own: stable). C: {@code publish}. */
    private void publish(long page, int state) {
        if (trace.on(TraceRing.KIND_STATE)) {
            trace.record(TraceRing.KIND_STATE, control.get(ControlBlock.EPOCH), page, 0, states.stateAcquire(page), state);
        }
        states.publish(page, state);
    }

    private boolean abandoned() {
        return control.get(ControlBlock.ABANDON) != 0;
    }

    private boolean failed() {
        return (control.poll() & ControlBlock.POLL_FAILED) != 0;
    }
}
