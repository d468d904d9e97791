package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.gc.meta.CompactionControl;
import io.faultline.gc.meta.FirstObjectTable;
import io.faultline.gc.meta.GcMetadata;
import io.faultline.gc.meta.MarkBitmap;
import io.faultline.gc.meta.OffsetVector;
import io.faultline.gc.meta.PageStates;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.heap.Safepoints;
import io.faultline.model.ObjectLayout;
import io.faultline.verify.HeapVerifier;
import io.faultline.verify.VerifyReport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The mark-compact collector (the Compressor, as in ART's userfaultfd collector). One cycle:
 *
 * <ol>
 *   <li><b>Pause</b> (all mutators parked at safepoints): retire TLABs, mark from the roots, plan
 *       (offset vector and first-object table), rewrite every root to its post-compact value, hand
 *       the old contents to the backend as from-space and mark every to-space page UNPROCESSED.
 *       With stop-the-world compaction the pause then builds every page itself.</li>
 *   <li><b>Concurrent compaction</b>: mutators resume. {@link CompactorPool} threads claim pages
 *       in ascending order and build them; a mutator that touches an UNPROCESSED page builds it
 *       itself ({@link #pageFault}), one that touches a page another thread is building waits
 *       for it. From-space is released as a growing prefix as pages finish.</li>
 *   <li><b>Finish</b>: when every page is MAPPED the backend drops from-space; with
 *       {@code verifyAfterGc} a short pause runs the verifier.</li>
 * </ol>
 *
 * <p><b>Assumptions and Guarantees:</b> at most one pause at a time (see {@link Safepoints});
 * a new cycle never starts before the previous compaction has finished (the requester helps
 * compact and waits); each page is built exactly once, by whoever wins its UNPROCESSED to
 * PROCESSING CAS; {@link #close()} waits for an in-flight pause, stops the compactor threads
 * (each finishes at most the page it holds) and never waits for a mutator.
 */
public final class Collector implements AutoCloseable {
    private final Heap heap;
    private final HeapBackend backend;
    private final Safepoints safepoints;
    private final Arena arena = Arena.ofShared();
    private final MarkBitmap bitmap;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final PageStates pageStates;
    private final CompactionControl control;
    private final PageCompactor compactor;
    private final Marker marker;
    private final Planner planner;
    private final GcLog log;
    private final int pageSize;
    private final boolean concurrent;
    private final boolean verify;
    private final CompactorPool pool;
    /** Held for the whole pause; close() takes it to wait out an in-flight pause. */
    private final ReentrantLock pauseLock = new ReentrantLock();

    // ---- state of the current concurrent compaction --------------------------------------
    /** True from the end of a pause with concurrent compaction until every page is mapped. */
    private volatile boolean compacting;
    private volatile long toSpacePages;
    private final AtomicBoolean frontierBusy = new AtomicBoolean();
    /**
     * The last cycle whose compaction was completed, advanced by CAS by the one thread that
     * completes it. A cycle number, not a flag, so that a thread that saw every page of cycle N
     * built but arrives after cycle N+1's pause cannot complete cycle N+1.
     */
    private final AtomicLong completedCycle = new AtomicLong();
    private long frontierPage;
    private long releasedFromSpace;
    private long compactionStartNanos;
    private final Object compactionDone = new Object();
    private volatile boolean closed;
    /** Why a page build failed (its page stays PROCESSING); rethrown to anyone waiting for it. */
    private volatile IllegalStateException compactionFailure;
    /** A verification failure found off a mutator thread (compactor 0), rethrown to mutators. */
    private volatile HeapCorruptedException corruption;
    private volatile boolean lastCycleVerified = true;
    private volatile long lastVerifiedCycle;
    private volatile long verifiedCycles;

    // ---- statistics ------------------------------------------------------------------------
    private volatile long cycles;
    /** Pages per native compaction step ({@link io.faultline.heap.HeapConfig#compactionStepPages()}). */
    private final long stepPages;
    /** Bumped first thing in a pause ({@code cycles} is bumped last); see {@link #claimFor}. */
    private volatile long pausesStarted;
    private final LongAdder pagesCompacted = new LongAdder();
    private volatile long pauseMaxNanos;
    private volatile long pauseTotalNanos;
    private volatile long compactionNanos;
    private volatile long compactionMaxNanos;
    private volatile long liveAfterLastGc;
    private volatile long topAfterLastGc;
    private long cycleFaultsAtStart;
    /** Time-to-safepoint of the current pause (written by the pausing thread, read in the pause). */
    private long safepointNanos;

    public Collector(Heap heap, HeapBackend backend) {
        this.heap = heap;
        this.backend = backend;
        this.safepoints = heap.safepoints();
        this.pageSize = backend.pageSize();
        long capacity = backend.capacity();
        long pages = capacity / pageSize;
        this.bitmap = new MarkBitmap(arena, capacity);
        this.offsets = new OffsetVector(arena, capacity, bitmap);
        this.firstObjects = new FirstObjectTable(arena, pages);
        this.pageStates = new PageStates(arena, pages);
        this.control = new CompactionControl(arena, pageSize);
        this.compactor = new PageCompactor(bitmap, offsets, firstObjects, pageSize);
        this.marker = new Marker(bitmap);
        this.planner = new Planner(bitmap, offsets, firstObjects, pageSize);
        this.log = new GcLog(heap.config().gcLog());
        this.concurrent = heap.config().concurrentCompaction();
        this.verify = heap.config().verifyAfterGc();
        this.stepPages = heap.config().compactionStepPages();
        backend.attachMetadata(new GcMetadata(bitmap, offsets, firstObjects, pageStates, control));
        this.pool = concurrent ? new CompactorPool(this, heap.config().compactorThreads()) : null;
    }

    public CompactionControl control() {
        return control;
    }

    public PageStates pageStates() {
        return pageStates;
    }

    public MarkBitmap bitmap() {
        return bitmap;
    }

    public OffsetVector offsets() {
        return offsets;
    }

    public FirstObjectTable firstObjects() {
        return firstObjects;
    }

    public PageCompactor compactor() {
        return compactor;
    }

    /** True while a concurrent compaction is in flight. */
    public boolean isCompacting() {
        return compacting;
    }

    // ---- a cycle ---------------------------------------------------------------------------

    /**
     * Runs one collection. {@code self} is the calling mutator, or null for another thread.
     * If the previous cycle's compaction is still running, helps finish it first. If the cause
     * is an allocation failure and another thread completed a cycle meanwhile, returns without a
     * new one (the caller retries its allocation).
     */
    public void collect(Mutator self, String cause) {
        long seen = cycles;
        boolean allocationFailure = !"System.gc()".equals(cause);
        while (true) {
            rethrowCorruption();
            // A cycle that ran since the failure freed what it could, and allocation above its
            // post-compact top never waits for its compaction: let the caller retry first.
            if (closed || (allocationFailure && cycles != seen)) {
                return;
            }
            awaitCompaction(self);
            if (closed || (allocationFailure && cycles != seen)) {
                return;
            }
            long t0 = System.nanoTime();
            if (!safepoints.stopTheWorld(self)) {
                // Another thread's pause (a collection or a verification) ran or is running.
                if (self == null) {
                    LockSupport.parkNanos(100_000);
                }
                continue;
            }
            safepointNanos = System.nanoTime() - t0;
            pauseLock.lock();
            try {
                if (closed || (allocationFailure && cycles != seen)) {
                    return;
                }
                finishCompactionInPause();
                if (verify && !lastCycleVerified) {
                    long v0 = System.nanoTime();
                    checkHeap(cycles);
                    t0 += System.nanoTime() - v0; // verification is not part of the GC pause
                }
                pause(cause, t0);
            } finally {
                pauseLock.unlock();
                safepoints.resumeTheWorld(self);
            }
            if (concurrent) {
                pool.startCycle();
            }
            return;
        }
    }

    private void pause(String cause, long t0) {
        lockFrontier(); // a late advanceFrontier must not run against this cycle's planning
        try {
            pauseLocked(cause, t0);
        } finally {
            frontierBusy.set(false);
        }
    }

    private void pauseLocked(String cause, long t0) {
        long cycle = cycles + 1;
        pausesStarted = cycle; // first: invalidates claims by threads still in the last cycle
        heap.retireAllTlabs();
        long used = heap.top();
        MemorySegment view = heap.view();
        long tMark = System.nanoTime();
        marker.begin(view, used);
        heap.updateRoots(marker::markRoot);
        marker.end();
        long tPlan = System.nanoTime();
        long newTop = planner.plan(view, used);
        long tRoots = System.nanoTime();
        heap.updateRoots(ref -> ObjectLayout.offsetToRef(offsets.forward(ObjectLayout.refToOffset(ref))));
        long tSetup = System.nanoTime();
        long pages = planner.toSpacePages(newTop);
        compactor.setCycle(used, newTop);
        backend.beginCompaction(used, pages * pageSize);
        heap.setView(backend.view());
        heap.setTop(pages * pageSize);
        liveAfterLastGc = newTop;
        cycleFaultsAtStart = control.get(CompactionControl.FAULTS);
        toSpacePages = pages;
        control.set(CompactionControl.FROM_TOP, used);
        control.set(CompactionControl.NEW_TOP, newTop);
        control.set(CompactionControl.TO_SPACE_PAGES, pages);
        if (concurrent) {
            for (long p = 0; p < pages; p++) {
                pageStates.publish(p, PageStates.UNPROCESSED);
            }
            control.set(CompactionControl.NEXT_PAGE, 0);
            control.set(CompactionControl.PAGES_LEFT, pages);
            frontierPage = 0;
            releasedFromSpace = 0;
            lastCycleVerified = false;
            compacting = true;
            compactionStartNanos = System.nanoTime();
            topAfterLastGc = pages * pageSize;
            cycles = cycle;
            long end = System.nanoTime();
            recordPause(end - t0);
            log.pause(cycle, "Compact Roots", cause, used, newTop, backend.capacity(), end - t0);
            log.phases(cycle, safepointNanos, tPlan - tMark, tRoots - tPlan, tSetup - tRoots, end - tSetup);
        } else {
            long c0 = System.nanoTime();
            for (long p = 0; p < pages; p++) {
                backend.buildPage(p, compactor);
            }
            pagesCompacted.add(pages);
            backend.endCompaction();
            recordCompaction(System.nanoTime() - c0);
            cycles = cycle;
            topAfterLastGc = pages * pageSize;
            long pauseNanos = System.nanoTime() - t0;
            recordPause(pauseNanos);
            log.pause(cycle, "Compact", cause, used, newTop, backend.capacity(), pauseNanos);
            log.phases(cycle, safepointNanos, tPlan - tMark, tRoots - tPlan, tSetup - tRoots, System.nanoTime() - tSetup);
            if (verify) {
                checkHeap(cycle); // inside the pause but not counted in it: see HeapStats#pauseMaxNanos
            }
        }
    }

    // ---- concurrent compaction -------------------------------------------------------------

    /**
     * The software page fault: {@code self} touched {@code page}, which is not MAPPED. Builds the
     * page if nobody has claimed it, else waits until its owner publishes it. Never blocks a
     * pause: pauses cannot start while pages are unmapped.
     */
    public void pageFault(Mutator self, long page) {
        control.getAndAdd(CompactionControl.FAULTS, 1);
        // A mutator runs only between pauses, so its claims always belong to the current cycle.
        // Re-evaluate rather than wait for MAPPED: a stale compactor may claim and revert the
        // page (see claimFor), leaving it UNPROCESSED again.
        int spins = 0;
        while (true) {
            int st = pageStates.stateAcquire(page);
            if (st == PageStates.MAPPED) {
                return;
            }
            if (st == PageStates.UNPROCESSED && pageStates.claim(page, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
                buildAndPublish(page);
                control.getAndAdd(CompactionControl.FAULT_BUILT_PAGES, 1);
                return;
            }
            if (closed) {
                throw new IllegalStateException("heap closed while waiting for page " + page);
            }
            if (compactionFailure != null) {
                throw new IllegalStateException("page " + page + " will never be mapped", compactionFailure);
            }
            if (++spins < 200) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /**
     * Claims {@code page} for cycle {@code cycle}, which the caller saw compacting. The caller may
     * be late (a compactor preempted, or an unattached thread helping, while the next pause runs):
     * the claim holds only if no pause started since, i.e. {@code pausesStarted} (bumped first
     * thing in a pause, while {@code cycles} is bumped last) still equals {@code cycle} after the
     * CAS. Otherwise the CAS is reverted (we own the page, so nobody else wrote it) and false is
     * returned: building the page now would race with the pause, whose PAGES_LEFT store would
     * then never reach zero. The native claim() in fl_backend.c is the same protocol.
     */
    private boolean claimFor(long cycle, long page) {
        if (!pageStates.claim(page, PageStates.UNPROCESSED, PageStates.PROCESSING)) {
            return false;
        }
        if (pausesStarted != cycle) {
            pageStates.publish(page, PageStates.UNPROCESSED);
            return false;
        }
        return true;
    }

    /**
     * Claims and builds pages of the current cycle until none is left; returns pages built.
     * Pages are claimed in ascending order through the shared cursor (from-space can then be
     * released as a growing prefix), then a sweep claims any page whose cursor slot was consumed
     * by a thread that read a previous cycle's page count (a thread preempted across a pause).
     * The page states are the truth; the cursor is only a hint, so no page is ever skipped.
     */
    long compactSome() {
        if (backend.compactsNatively()) {
            // Bounded native steps, so that from-space is released as the frontier passes it
            // (each step runs in one downcall: no Java between claiming and publishing a page).
            long built = 0;
            while (compacting && !closed) {
                long b = backend.compactPages(stepPages);
                if (b <= 0) {
                    break;
                }
                built += b;
                advanceFrontier();
            }
            return built;
        }
        long cycle = cycles;
        long pages = toSpacePages;
        long built = 0;
        while (!closed && compacting && cycles == cycle) {
            long p = control.getAndAdd(CompactionControl.NEXT_PAGE, 1);
            if (p >= pages) {
                break;
            }
            if (claimFor(cycle, p)) {
                buildAndPublish(p);
                built++;
            }
        }
        for (long p = 0; p < pages && !closed && compacting && cycles == cycle; p++) {
            if (pageStates.stateAcquire(p) == PageStates.UNPROCESSED && claimFor(cycle, p)) {
                buildAndPublish(p);
                built++;
            }
        }
        return built;
    }

    private void buildAndPublish(long page) {
        try {
            backend.buildPage(page, compactor);
        } catch (RuntimeException | Error e) {
            // The page stays PROCESSING forever: record why, so that whoever waits for it (a
            // faulting mutator, a collection) fails with this cause instead of spinning.
            recordCompactionFailure(new IllegalStateException("building to-space page " + page + " failed", e));
            throw e;
        }
        pageStates.publish(page, PageStates.MAPPED);
        advanceFrontier();
        if (control.decrement(CompactionControl.PAGES_LEFT) == 0) {
            tryComplete();
        }
    }

    /** True once every to-space page of the current cycle is MAPPED. */
    boolean allBuilt() {
        return control.get(CompactionControl.PAGES_LEFT) == 0;
    }

    /**
     * Releases from-space below the first object of the lowest page not yet mapped (to-space
     * page p reads from-space only at or above its first object, and first objects ascend).
     * Any thread; one at a time, others skip.
     *
     * <p>The frontier belongs to one cycle. A thread can get here late (it published the last
     * page, another thread completed the cycle and a new pause began), so the frontier lock is
     * also held by the whole pause and by the completion, and the work is done only if the cycle
     * it read on entry is still compacting: otherwise it would release the next cycle's
     * from-space below pages not yet built, or madvise a from-space already unmapped.
     */
    void advanceFrontier() {
        long cycle = cycles;
        if (!compacting || !frontierBusy.compareAndSet(false, true)) {
            return;
        }
        try {
            if (compacting && cycles == cycle) {
                advanceFrontierLocked();
            }
        } finally {
            frontierBusy.set(false);
        }
    }

    private void advanceFrontierLocked() {
        long pages = toSpacePages;
        long f = frontierPage;
        while (f < pages && pageStates.stateAcquire(f) == PageStates.MAPPED) {
            f++;
        }
        frontierPage = f;
        long limit = f < pages ? firstObjects.get(f) & -(long) pageSize : compactor.fromTop() & -(long) pageSize;
        if (limit > releasedFromSpace) {
            backend.releaseFromSpace(releasedFromSpace, limit - releasedFromSpace);
            releasedFromSpace = limit;
        }
    }

    /** Takes the frontier lock (held briefly by {@link #advanceFrontier}, so a short spin). */
    private void lockFrontier() {
        while (!frontierBusy.compareAndSet(false, true)) {
            Thread.onSpinWait();
        }
    }

    /**
     * Completes the cycle if every page is mapped: drops from-space, records the phase and wakes
     * everyone waiting. Any thread may call it (the one that publishes the last page, compactor
     * 0 while it polls, a thread waiting for the compaction); exactly one completes.
     */
    void tryComplete() {
        long cycle = cycles; // read first: compacting and PAGES_LEFT are set before it in the pause
        if (!compacting || !allBuilt()) {
            return;
        }
        long done = completedCycle.get();
        if (done >= cycle || !completedCycle.compareAndSet(done, cycle)) {
            return;
        }
        long nanos = System.nanoTime() - compactionStartNanos;
        lockFrontier();
        try {
            advanceFrontierLocked();
            backend.endCompaction();
            pagesCompacted.add(toSpacePages); // each page was built exactly once, by whichever thread
            recordCompaction(nanos);
            log.concurrent(cycles, toSpacePages, nanos, control.get(CompactionControl.FAULTS) - cycleFaultsAtStart);
            synchronized (compactionDone) {
                compacting = false;
                compactionDone.notifyAll();
            }
        } finally {
            frontierBusy.set(false);
        }
        pool.signalAllBuilt();
    }

    /**
     * Compactor 0, after a cycle completed: verifies the heap in a short pause. Gives up at once
     * if another pause is running (that pause verifies the heap before it starts a new cycle).
     */
    void verifyAfterCompaction() {
        if (!verify || closed || lastCycleVerified || compacting) {
            return;
        }
        if (!safepoints.stopTheWorld(null)) {
            return;
        }
        pauseLock.lock();
        try {
            if (!closed && !compacting && !lastCycleVerified) {
                checkHeap(cycles);
            }
        } catch (HeapCorruptedException e) {
            corruption = e; // rethrown by the next collect, verify or awaitCompaction
            log.error(e.getMessage());
        } finally {
            pauseLock.unlock();
            safepoints.resumeTheWorld(null);
        }
    }

    /** A compactor thread caught {@code e}: keeps the first failure for the threads waiting. */
    void compactorFailed(Throwable e) {
        recordCompactionFailure(e instanceof IllegalStateException ise ? ise
                : new IllegalStateException("compactor thread failed", e));
        log.error("compactor: " + e);
    }

    /** Keeps the first compaction failure (the one that names the page); later ones add nothing. */
    private synchronized void recordCompactionFailure(IllegalStateException failure) {
        if (compactionFailure == null) {
            compactionFailure = failure;
        }
    }

    /** Throws the verification failure compactor 0 recorded, if any. */
    private void rethrowCorruption() {
        HeapCorruptedException e = corruption;
        if (e != null) {
            throw new HeapCorruptedException(e);
        }
        IllegalStateException f = compactionFailure;
        if (f != null) {
            throw new IllegalStateException("the heap is unusable: " + f.getMessage(), f);
        }
    }

    /**
     * Returns once no compaction is in flight: helps build the remaining pages, then waits (in a
     * safe region if {@code self} is a mutator). Any thread. Throws the {@link
     * HeapCorruptedException} of a failed verification after compaction.
     */
    public void awaitCompaction(Mutator self) {
        rethrowCorruption();
        if (!compacting) {
            return;
        }
        compactSome();
        tryComplete();
        if (!compacting) {
            return;
        }
        if (self != null) {
            self.enterSafeRegion();
        }
        try {
            waitForCompaction();
        } finally {
            if (self != null) {
                self.leaveSafeRegion();
            }
        }
    }

    /** Inside a pause: completes a compaction another thread's cycle left in flight. */
    private void finishCompactionInPause() {
        if (compacting) {
            compactSome();
            waitForCompaction();
        }
    }

    private void waitForCompaction() {
        synchronized (compactionDone) {
            while (compacting && !closed) {
                rethrowCorruption();
                tryComplete();
                if (!compacting) {
                    break;
                }
                try {
                    compactionDone.wait(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for compaction", e);
                }
            }
        }
    }

    // ---- verification ------------------------------------------------------------------------

    /** Stops the world (after any in-flight compaction) and verifies. */
    public VerifyReport verifyInPause(Mutator self) {
        if (corruption != null) {
            return corruption.report();
        }
        awaitCompaction(self);
        while (!safepoints.stopTheWorld(self)) {
            if (closed) {
                throw new IllegalStateException("heap is closed");
            }
            if (self == null) {
                LockSupport.parkNanos(100_000);
            }
            awaitCompaction(self);
        }
        pauseLock.lock();
        try {
            finishCompactionInPause();
            heap.retireAllTlabs();
            VerifyReport r = runVerifier();
            if (r.ok()) {
                markVerified(cycles);
            }
            return r;
        } finally {
            pauseLock.unlock();
            safepoints.resumeTheWorld(self);
        }
    }

    private VerifyReport runVerifier() {
        int[][] roots = {new int[64]};
        int[] n = {0};
        heap.updateRoots(r -> {
            if (n[0] == roots[0].length) {
                roots[0] = java.util.Arrays.copyOf(roots[0], n[0] * 2);
            }
            roots[0][n[0]++] = r;
            return r;
        });
        return HeapVerifier.verify(heap.view(), heap.top(), heap.types(), roots[0], n[0]);
    }

    private void checkHeap(long cycle) {
        heap.retireAllTlabs();
        VerifyReport r = runVerifier();
        if (!r.ok()) {
            throw new HeapCorruptedException(cycle, r);
        }
        markVerified(cycle);
    }

    /** Inside a pause, after the verifier passed for the heap as {@code cycle} left it. */
    private void markVerified(long cycle) {
        lastCycleVerified = true;
        if (cycle > lastVerifiedCycle) {
            lastVerifiedCycle = cycle;
            verifiedCycles++;
        }
    }

    // ---- statistics ------------------------------------------------------------------------

    private synchronized void recordPause(long nanos) {
        pauseTotalNanos += nanos;
        if (nanos > pauseMaxNanos) {
            pauseMaxNanos = nanos;
        }
    }

    private synchronized void recordCompaction(long nanos) {
        compactionNanos += nanos;
        if (nanos > compactionMaxNanos) {
            compactionMaxNanos = nanos;
        }
    }

    /** Top of the used region right after the last pause: its to-space, in whole pages. */
    public long topAfterLastGc() {
        return topAfterLastGc;
    }

    /** Cycles started so far. */
    public long cycles() {
        return cycles;
    }

    public HeapStats stats(long used) {
        return new HeapStats(backend.capacity(), used, liveAfterLastGc, cycles, pagesCompacted.sum(),
                control.get(CompactionControl.FAULTS), pauseMaxNanos, pauseTotalNanos, compactionNanos, compactionMaxNanos,
                verifiedCycles);
    }

    /** Pages built by mutators in their own faults (a subset of {@link HeapStats#faults()}). */
    public long mutatorBuiltPages() {
        return control.get(CompactionControl.FAULT_BUILT_PAGES);
    }

    /** True once every cycle so far has been verified (with {@code verifyAfterGc}). */
    public boolean allCyclesVerified() {
        return lastCycleVerified && !compacting;
    }

    // ---- shutdown ----------------------------------------------------------------------------

    public boolean isClosed() {
        return closed;
    }

    /**
     * Abandons an in-flight compaction: waits for a pause in progress, stops the compactor
     * threads, then frees the metadata. Mutators still attached fail on their next fault.
     */
    @Override
    public void close() {
        closed = true;
        control.set(CompactionControl.ABANDON, 1);
        synchronized (compactionDone) {
            compactionDone.notifyAll();
        }
        if (pool != null) {
            pool.shutdown();
        }
        pauseLock.lock();
        try {
            compacting = false;
        } finally {
            pauseLock.unlock();
        }
        closeArena();
    }

    private void closeArena() {
        for (int attempt = 0; ; attempt++) {
            try {
                arena.close();
                return;
            } catch (IllegalStateException busy) {
                if (attempt > 1000) {
                    throw busy;
                }
                LockSupport.parkNanos(1_000_000);
            }
        }
    }
}
