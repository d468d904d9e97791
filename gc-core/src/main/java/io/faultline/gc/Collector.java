package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.OffsetVector;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectLayout;
import io.faultline.verify.VerifyReport;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The mark-compact collector (the Compressor, as in ART's userfaultfd collector): the cycle
 * driver. One cycle:
 *
 * <ol>
 *   <li><b>Pause</b> (every mutator parked at a safepoint), in named phases: {@link #mark},
 *       {@link #plan}, {@link #flipRoots} (every root now holds its post-compact reference) and
 *       {@link #publishCycle} (the backend keeps the old contents as from-space and unmaps
 *       to-space; every to-space page becomes UNPROCESSED). With stop-the-world compaction the
 *       pause then runs the whole compaction itself.</li>
 *   <li><b>Concurrent compaction</b> ({@link Compaction}): mutators resume; {@link CompactorPool}
 *       threads and faulting mutators build the pages by the page protocol.</li>
 *   <li><b>Completion</b>: the thread that finds every page MAPPED drops from-space; with
 *       {@code verifyAfterGc} compactor 0 then verifies the heap in a short pause.</li>
 * </ol>
 *
 * <p><b>Assumptions and Guarantees:</b> at most one pause at a time ({@link #pauseLock}, held for
 * the whole pause); a new cycle never starts before the previous compaction has finished (the
 * requester helps and waits). A failure anywhere (a page that cannot be built or installed, an
 * exception in a pause or a compactor, damage found by the verifier) fails the heap
 * ({@link HeapFailure}): every later operation throws {@link HeapCorruptedException}.
 * {@link #close()} abandons an in-flight compaction, stops the compactor threads, waits for a
 * pause in progress and never waits for a mutator.
 */
public final class Collector implements AutoCloseable {
    private final HeapBinding heap;
    private final HeapBackend backend;
    private final GcMetadata metadata;
    private final ControlBlock control;
    private final CollectorSettings settings;
    private final int pageShift;
    private final Marker marker;
    private final Planner planner;
    private final PageCompactor compactor;
    private final Compaction compaction;
    private final CompactorPool pool;
    private final Verification verification;
    private final GcStats stats = new GcStats();
    private final GcLog log;
    private final HeapFailure failure;
    /** Held for the whole pause; close() takes it to wait out an in-flight pause. */
    private final ReentrantLock pauseLock = new ReentrantLock();
    private volatile long cycles;
    private volatile boolean closed;

    public Collector(HeapBinding heap, HeapBackend backend, GcMetadata metadata, CollectorSettings settings, GcLog log) {
        this.heap = heap;
        this.backend = backend;
        this.metadata = metadata;
        this.control = metadata.control();
        this.settings = settings;
        this.log = log;
        this.pageShift = Integer.numberOfTrailingZeros(metadata.pageSize());
        this.marker = new Marker(metadata.bitmap());
        this.planner = new Planner(metadata.bitmap(), metadata.offsets(), metadata.firstObjects(), metadata.pageSize());
        this.compactor = new PageCompactor(metadata.bitmap(), metadata.offsets(), metadata.firstObjects(), metadata.pageSize());
        this.failure = new HeapFailure(control, metadata.pageSize());
        this.verification = new Verification(settings.verifyAfterGc());
        this.compaction = new Compaction(backend, control, stats, log, failure, settings.compactionStepPages());
        control.set(ControlBlock.RUN_PAGES, settings.runPages());
        control.set(ControlBlock.FAULT_AROUND, settings.faultAroundPages());
        control.set(ControlBlock.RELEASE_BATCH, settings.releaseBatchBytes());
        backend.attach(metadata, compactor);
        this.pool = settings.concurrentCompaction() ? new CompactorPool(this, compaction, failure, settings.compactorThreads()) : null;
    }

    /**
     * Runs one collection. If the previous cycle's compaction is still running, helps finish it
     * first. If the cause is an allocation failure and another thread completed a cycle while this
     * one waited, returns without a new one (the caller retries its allocation). Any thread.
     */
    public void collect(GcCause cause) {
        long seen = cycles;
        boolean allocationFailure = cause == GcCause.ALLOCATION_FAILURE;
        while (true) {
            failure.throwIfFailed();
            if (closed || (allocationFailure && cycles != seen)) {
                return;
            }
            compaction.await(heap);
            long t0 = System.nanoTime();
            if (!heap.stopTheWorld()) {
                continue; // another pause ran, or the heap is closing: re-check
            }
            long safepointNanos = System.nanoTime() - t0;
            pauseLock.lock();
            try {
                if (closed || (allocationFailure && cycles != seen)) {
                    return;
                }
                failure.throwIfFailed();
                compaction.finishInPause();
                if (verification.pending()) {
                    long v0 = System.nanoTime();
                    verification.check(heap, cycles);
                    t0 += System.nanoTime() - v0; // verification is not part of the GC pause
                }
                pause(cause, t0, safepointNanos);
            } catch (HeapCorruptedException e) {
                failure.record(e);
                throw e;
            } catch (RuntimeException | Error e) {
                failure.record(HeapCorruptedException.collectorFailure("GC(" + (cycles + 1) + ") pause", e));
                throw failure.exception().rethrown();
            } finally {
                pauseLock.unlock();
                heap.resumeTheWorld();
            }
            if (pool != null) {
                pool.startCycle();
            }
            return;
        }
    }

    private void pause(GcCause cause, long t0, long safepointNanos) {
        long cycle = cycles + 1;
        control.set(ControlBlock.EPOCH, cycle); // first: claims of threads still in the last cycle become stale
        heap.retireTlabs();
        long fromBase = heap.base();
        long used = heap.top();
        long toBase = settings.relocateEveryObject() && fromBase == 0 ? relocationHalf() : 0;
        long tMark = System.nanoTime();
        mark(fromBase, used, toBase);
        long tPlan = System.nanoTime();
        long newTop = plan(used, toBase);
        long tRoots = System.nanoTime();
        flipRoots();
        long tSetup = System.nanoTime();
        long firstPage = toBase >>> pageShift;
        long endPage = planner.endPage(newTop);
        publishCycle(cycle, used, newTop, firstPage, endPage);
        if (!settings.concurrentCompaction()) {
            compaction.finishInPause();
            failure.throwIfFailed();
        }
        long end = System.nanoTime();
        stats.pause(end - t0);
        log.pause(cycle, settings.concurrentCompaction() ? "Compact Roots" : "Compact", cause, used, newTop,
                metadata.capacity(), end - t0);
        log.phases(cycle, safepointNanos, tPlan - tMark, tRoots - tPlan, tSetup - tRoots, end - tSetup);
        if (!settings.concurrentCompaction() && verification.afterEveryCycle()) {
            verification.check(heap, cycle); // inside the pause but not counted in it
        }
    }

    /** Pause phase 1: marks every object reachable from the roots. */
    private void mark(long fromBase, long used, long toBase) {
        marker.begin(heap.view(), fromBase, used, toBase == 0);
        heap.updateRoots(marker::markRoot);
        marker.end();
    }

    /** Pause phase 2: the offset vector and first-object table; returns the post-compact top. */
    private long plan(long used, long toBase) {
        long newTop = planner.plan(heap.view(), used, toBase);
        compactor.setCycle(used, newTop);
        return newTop;
    }

    /** Pause phase 3: every root now holds its object's post-compact reference. */
    private void flipRoots() {
        OffsetVector offsets = metadata.offsets();
        heap.updateRoots(ref -> ObjectLayout.offsetToRef(offsets.forward(ObjectLayout.refToOffset(ref))));
    }

    /**
     * Pause phase 4: the cycle's bounds into the control block, from-space and unmapped to-space
     * from the backend, every to-space page UNPROCESSED, allocation above the new top, and last
     * ACTIVE_EPOCH, which opens the cycle to claimers.
     */
    private void publishCycle(long cycle, long used, long newTop, long firstPage, long endPage) {
        control.set(ControlBlock.FROM_TOP, used);
        control.set(ControlBlock.NEW_TOP, newTop);
        control.set(ControlBlock.FIRST_PAGE, firstPage);
        control.set(ControlBlock.END_PAGE, endPage);
        control.set(ControlBlock.NEXT_PAGE, firstPage);
        control.set(ControlBlock.FRONTIER_PAGE, firstPage);
        control.set(ControlBlock.CONSUMED, 0);
        control.set(ControlBlock.RELEASED, 0);
        control.set(ControlBlock.RECYCLE_NEXT, 0);
        backend.beginCompaction(used, firstPage, endPage);
        PageStates states = metadata.pageStates();
        for (long p = firstPage; p < endPage; p++) {
            states.publish(p, PageStates.UNPROCESSED);
        }
        control.set(ControlBlock.PAGES_LEFT, endPage - firstPage);
        long toBase = firstPage << pageShift;
        heap.setView(backend.view());
        heap.resetAllocation(toBase, endPage << pageShift, allocationLimit(toBase));
        stats.afterPlan(newTop - Math.max(toBase, ObjectLayout.HEADER_BYTES), endPage << pageShift);
        verification.cycleStarted();
        cycles = cycle;
        compaction.begin(cycle, endPage - firstPage);
        control.set(ControlBlock.ACTIVE_EPOCH, cycle);
    }

    /** With {@code relocateEveryObject}: the base of the upper half of the heap. */
    private long relocationHalf() {
        return (metadata.capacity() >>> 1) >>> pageShift << pageShift;
    }

    /** Where allocation must stop for objects based at {@code base}. */
    public long allocationLimit(long base) {
        return settings.relocateEveryObject() ? (base == 0 ? relocationHalf() : metadata.capacity()) : metadata.capacity();
    }

    /**
     * Compactor 0, after a cycle completed: verifies the heap in a short pause. Gives up if
     * another pause ran meanwhile (that pause verifies the heap before it starts a new cycle).
     */
    void verifyAfterCompaction() {
        if (!verification.pending() || closed || compaction.active() || failure.failed()) {
            return;
        }
        if (!heap.stopTheWorld()) {
            return;
        }
        pauseLock.lock();
        try {
            if (!closed && !compaction.active() && verification.pending()) {
                verification.check(heap, cycles);
            }
        } catch (HeapCorruptedException e) {
            failure.record(e);
            log.error(e.getMessage());
        } finally {
            pauseLock.unlock();
            heap.resumeTheWorld();
        }
    }

    /**
     * Returns once no compaction is in flight and, with {@code verifyAfterGc}, the last cycle is
     * verified: helps build the remaining pages, then waits (in a safe region if the caller is a
     * mutator) and runs a pending verification itself. Throws {@link HeapCorruptedException} if the
     * heap has failed. Any thread.
     */
    public void awaitCompaction() {
        compaction.await(heap);
        while (verification.pending() && !closed) {
            verifyAfterCompaction();
            failure.throwIfFailed();
            compaction.await(heap);
        }
    }

    /**
     * Stops the world (after any in-flight compaction) and verifies the heap. A failed heap is
     * reported, not walked: the report's problem is the failure. Any thread.
     */
    public VerifyReport verify() {
        HeapCorruptedException failed = failure.exception();
        if (failed != null) {
            return failedReport(failed);
        }
        compaction.await(heap);
        while (!heap.stopTheWorld()) {
            if (closed) {
                throw new IllegalStateException("heap is closed");
            }
            compaction.await(heap);
        }
        pauseLock.lock();
        try {
            compaction.finishInPause();
            failed = failure.exception();
            return failed != null ? failedReport(failed) : verification.run(heap, cycles);
        } finally {
            pauseLock.unlock();
            heap.resumeTheWorld();
        }
    }

    private VerifyReport failedReport(HeapCorruptedException e) {
        return e.report() != null ? e.report() : new VerifyReport(0, heap.top(), e.getMessage(), e.fromOffset());
    }

    /** Throws the heap's failure, if any, on the calling thread. */
    public void throwIfFailed() {
        failure.throwIfFailed();
    }

    // ---- statistics ---------------------------------------------------------------------------

    /** Cycles started so far. */
    public long cycles() {
        return cycles;
    }

    public long verifiedCycles() {
        return verification.verifiedCycles();
    }

    /** True while a concurrent compaction is in flight. */
    public boolean isCompacting() {
        return compaction.active();
    }

    /** Pauses, compactions, pages and live bytes. */
    public GcStats stats() {
        return stats;
    }

    // ---- shutdown ------------------------------------------------------------------------------

    /**
     * Abandons an in-flight compaction, stops the compactor threads and waits for a pause in
     * progress. The backend and the metadata are closed afterwards by the heap. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        compaction.abandon();
        if (pool != null) {
            pool.shutdown();
        }
        pauseLock.lock();
        pauseLock.unlock();
    }
}
