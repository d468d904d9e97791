package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MarkBitmap;
import io.faultline.model.ObjectLayout;
import io.faultline.verify.VerifyReport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The mark-compact collector (the Compressor, as in ART's userfaultfd collector): the cycle
 * driver. A cycle marks the live objects, plans where each goes, flips (every root takes its
 * post-compact reference, to-space is unmapped) and then compacts concurrently.
 *
 * <ol>
 *   <li><b>Concurrent cycle</b> (default, {@code concurrentMarking}): {@link ConcurrentCycle}
 *       runs an initial-mark pause, concurrent marking with a snapshot-at-the-beginning write
 *       barrier ({@link ConcurrentMarking}), a remark pause, concurrent planning and a flip
 *       pause. It starts when free space falls below the headroom, or on {@link #collect} with
 *       an explicit cause.</li>
 *   <li><b>Full pause</b> (stop-the-world marking, or an allocation that did not fit): one pause
 *       with the phases {@link #mark}, plan, {@link Flip#flipRoots} and {@link Flip#publish}. A
 *       concurrent cycle in progress is abandoned by it.</li>
 *   <li><b>Concurrent compaction</b> ({@link Compaction}): after either flip, mutators resume;
 *       {@link CompactorPool} threads and faulting mutators build the pages by the page protocol.
 *       With stop-the-world compaction the flip pause runs the whole compaction itself.</li>
 *   <li><b>Completion</b>: the thread that finds every page MAPPED drops from-space; with
 *       {@code verifyAfterGc} compactor 0 then verifies the heap in a short pause.</li>
 * </ol>
 *
 * <p><b>Assumptions and Guarantees:</b> at most one pause at a time ({@link #pauseLock}, held for
 * the whole pause); a new cycle never starts before the previous compaction has finished (the
 * requester helps and waits), and at most one concurrent cycle is in progress. A failure anywhere
 * (a page that cannot be built or installed, an exception in a pause, a marker or a compactor,
 * damage found by the verifier) fails the heap ({@link HeapFailure}): every later operation
 * throws {@link HeapCorruptedException}. {@link #close()} abandons an in-flight cycle and
 * compaction, stops the collector's threads, waits for a pause in progress and never waits for a
 * mutator.
 */
public final class Collector implements AutoCloseable {
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final ControlBlock control;
    private final CollectorSettings settings;
    private final Marker marker;
    private final Planner planner;
    private final Compaction compaction;
    private final CompactorPool pool;
    private final Verification verification;
    private final Flip flip;
    private final ConcurrentCycle concurrent;
    private final GcStats stats = new GcStats();
    private final GcLog log;
    private final HeapFailure failure;
    /** Held for the whole pause; close() takes it to wait out an in-flight pause. */
    private final ReentrantLock pauseLock = new ReentrantLock();
    private volatile long cycles;
    /** Marking snapshots taken (initial marks and full pauses), and the one the last flip used. */
    private volatile long snapshots;
    private volatile long flippedSnapshot;
    private volatile boolean closed;

    public Collector(HeapBinding heap, HeapBackend backend, GcMetadata metadata, CollectorSettings settings, GcLog log) {
        this.heap = heap;
        this.metadata = metadata;
        this.control = metadata.control();
        this.settings = settings;
        this.log = log;
        this.marker = new Marker(metadata.bitmap(), false, null);
        this.planner = new Planner(metadata.bitmap(), metadata.offsets(), metadata.firstObjects(), metadata.pageSize());
        PageCompactor compactor = new PageCompactor(metadata.bitmap(), metadata.offsets(), metadata.firstObjects(), metadata.pageSize());
        this.failure = new HeapFailure(control, metadata.pageSize());
        this.verification = new Verification(settings.verifyAfterGc());
        this.compaction = new Compaction(backend, control, stats, log, failure, settings.compactionStepPages());
        this.flip = new Flip(heap, backend, metadata, compactor, compaction, verification, stats, settings);
        control.set(ControlBlock.RUN_PAGES, settings.runPages());
        control.set(ControlBlock.FAULT_AROUND, settings.faultAroundPages());
        control.set(ControlBlock.RELEASE_BATCH, settings.releaseBatchBytes());
        backend.attach(metadata, compactor);
        this.pool = settings.concurrentCompaction() ? new CompactorPool(this, compaction, failure, settings.compactorThreads()) : null;
        this.concurrent = settings.concurrentMarking()
                ? new ConcurrentCycle(this, heap, metadata, planner, flip, stats, log, failure, settings) : null;
    }

    /**
     * Runs one collection. With concurrent marking and a cause other than an allocation failure,
     * a concurrent cycle on the calling thread, returning after its flip pause. Otherwise a full
     * pause: if the previous cycle's compaction is still running, helps finish it first; if the
     * cause is an allocation failure and another thread completed a cycle while this one waited,
     * returns without a new one (the caller retries its allocation). Any thread.
     */
    public void collect(GcCause cause) {
        if (concurrent != null && cause != GcCause.ALLOCATION_FAILURE) {
            concurrent.collect(cause);
            return;
        }
        long seen = cycles;
        boolean allocationFailure = cause == GcCause.ALLOCATION_FAILURE;
        boolean[] flipped = {false};
        while (true) {
            failure.throwIfFailed();
            if (closed || (allocationFailure && cycles != seen)) {
                return;
            }
            compaction.await(heap);
            boolean ran = runPause((t0, safepointNanos) -> {
                if (allocationFailure && cycles != seen) {
                    return;
                }
                compaction.finishInPause();
                fullPause(cause, verifyPending(t0), safepointNanos);
                flipped[0] = true;
            });
            if (ran || closed) {
                if (flipped[0]) {
                    startCompactors();
                }
                return;
            }
        }
    }

    /** What a pause does once the world is stopped: {@code t0} is when the stop was requested. */
    interface PauseBody {
        void run(long t0, long safepointNanos);
    }

    /**
     * Stops the world and runs {@code body} in it, under the pause lock. Returns false, without
     * running it, if another pause ran while this one waited or the heap is closing: re-check why
     * you asked, then retry. An exception in {@code body} fails the heap.
     */
    boolean runPause(PauseBody body) {
        long t0 = System.nanoTime();
        if (!heap.stopTheWorld()) {
            return false;
        }
        long safepointNanos = System.nanoTime() - t0;
        pauseLock.lock();
        try {
            if (closed) {
                return false;
            }
            failure.throwIfFailed();
            body.run(t0, safepointNanos);
            return true;
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
    }

    /** In a pause: runs a pending verification of the last cycle; returns {@code t0} moved past it (not GC time). */
    long verifyPending(long t0) {
        if (verification.pending()) {
            long v0 = System.nanoTime();
            verification.check(heap, cycles);
            t0 += System.nanoTime() - v0;
        }
        return t0;
    }

    /** A full pause: mark, plan and flip with the world stopped. */
    private void fullPause(GcCause cause, long t0, long safepointNanos) {
        long cycle = cycles + 1;
        control.set(ControlBlock.EPOCH, cycle); // first: claims of threads still in the last cycle become stale
        if (concurrent != null) {
            concurrent.abandonInPause(cycle, cause);
        }
        long snapshot = takeSnapshot();
        heap.retireTlabs();
        long fromBase = heap.base();
        long used = heap.top();
        long toBase = flip.toBase(fromBase);
        long tMark = System.nanoTime();
        mark(fromBase, used, toBase);
        long tPlan = System.nanoTime();
        long newTop = planner.plan(heap.view(), used, toBase);
        long tRoots = System.nanoTime();
        flip.flipRoots();
        long tSetup = System.nanoTime();
        flip.publish(cycle, used, newTop, toBase);
        published(cycle, snapshot, 0);
        long end = System.nanoTime();
        stats.pause(PauseKind.FULL, end - t0);
        log.pause(cycle, settings.concurrentCompaction() ? "Compact Roots" : "Compact", cause, used, newTop,
                metadata.capacity(), end - t0);
        log.phases(cycle, safepointNanos, tPlan - tMark, tRoots - tPlan, tSetup - tRoots, end - tSetup);
        verifyStopTheWorldCompaction(cycle);
    }

    /** Full-pause phase 1: marks every object reachable from the roots. */
    private void mark(long fromBase, long used, long toBase) {
        MarkBitmap bitmap = metadata.bitmap();
        bitmap.clear(used);
        if (toBase == 0) {
            // To-space starts at offset 0: the null guard's two words stay live and keep offset 0
            // (the page compactors write its header; its from-space bytes are never read).
            bitmap.markRange(0, ObjectLayout.MIN_OBJECT_WORDS);
        }
        marker.begin(heap.view(), fromBase, used, false, MarkingHooks.NONE);
        heap.updateRoots(marker::markRoot);
        marker.end();
    }

    /** In a pause: a new marking snapshot is taken; returns its number. */
    long takeSnapshot() {
        return ++snapshots;
    }

    /** Snapshots taken so far. */
    long snapshots() {
        return snapshots;
    }

    /** The snapshot number of the last cycle that flipped. */
    long flippedSnapshot() {
        return flippedSnapshot;
    }

    /**
     * In the flip pause, after {@link Flip#publish}: cycle {@code cycle} (marked from snapshot
     * {@code snapshot}, {@code blackBytes} allocated during its marking) is the latest; with
     * stop-the-world compaction it is compacted here.
     */
    void published(long cycle, long snapshot, long blackBytes) {
        cycles = cycle;
        flippedSnapshot = snapshot;
        if (concurrent != null) {
            concurrent.rearm(heap.top(), flip.allocationLimit(heap.base()), blackBytes);
        }
        if (!settings.concurrentCompaction()) {
            compaction.finishInPause();
            failure.throwIfFailed();
        }
    }

    /** At the end of a flip pause: with stop-the-world compaction, verifies the result (not pause time). */
    void verifyStopTheWorldCompaction(long cycle) {
        if (!settings.concurrentCompaction() && verification.afterEveryCycle()) {
            verification.check(heap, cycle);
        }
    }

    /** After a flip pause: wakes the compactor threads. */
    void startCompactors() {
        if (pool != null) {
            pool.startCycle();
        }
    }

    /**
     * Outside pauses, with no pause running: runs {@code task} unless a compaction is in flight
     * (returns false). Pauses wait for it: keep it short.
     */
    boolean whileNoCompaction(Runnable task) {
        pauseLock.lock();
        try {
            if (closed || compaction.active()) {
                return false;
            }
            task.run();
            return true;
        } finally {
            pauseLock.unlock();
        }
    }

    boolean compactionActive() {
        return compaction.active();
    }

    boolean isClosing() {
        return closed;
    }

    /** Where allocation must stop for objects based at {@code base}. */
    public long allocationLimit(long base) {
        return flip.allocationLimit(base);
    }

    // ---- concurrent marking: what mutators use -------------------------------------------------

    /** Where a mutator's write barrier hands its full buffers; null without concurrent marking. */
    public SatbQueue satbQueue() {
        return concurrent == null ? null : concurrent.satbQueue();
    }

    /** An allocation at or above this offset should start a concurrent cycle ({@link Long#MAX_VALUE}: none). */
    public long concurrentCycleTrigger() {
        return concurrent == null ? Long.MAX_VALUE : concurrent.trigger();
    }

    /** Allocation crossed the trigger: starts a concurrent cycle in the background (once per trigger); does not wait. */
    public void requestConcurrentCycle() {
        if (concurrent != null) {
            concurrent.request();
        }
    }

    /** Starts a concurrent cycle in the background now unless one is in progress; does not wait. */
    public void requestCollection() {
        if (concurrent != null) {
            concurrent.requestNow();
        }
    }

    // ---- verification and waiting --------------------------------------------------------------

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
     * Returns once no concurrent cycle runs in the background or is requested, no compaction is in
     * flight and, with {@code verifyAfterGc}, the last cycle is verified: waits for the background
     * cycle, helps build the remaining pages, then waits (in a safe region if the caller is a
     * mutator) and runs a pending verification itself. Throws {@link HeapCorruptedException} if the
     * heap has failed. Any thread.
     */
    public void awaitCompaction() {
        if (concurrent != null) {
            concurrent.awaitIdle();
        }
        awaitCompactionAndVerification();
    }

    /** {@link #awaitCompaction} without waiting for a concurrent cycle (the thread driving one calls it). */
    void awaitCompactionAndVerification() {
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

    /** Cycles flipped so far. */
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

    /** Pauses, concurrent phases, compactions, pages and live bytes. */
    public GcStats stats() {
        return stats;
    }

    // ---- shutdown ------------------------------------------------------------------------------

    /**
     * Abandons an in-flight concurrent cycle and compaction, stops the collector's threads and
     * waits for a pause in progress. The backend and the metadata are closed afterwards by the
     * heap. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        compaction.abandon();
        if (concurrent != null) {
            concurrent.close();
        }
        if (pool != null) {
            pool.shutdown();
        }
        pauseLock.lock();
        pauseLock.unlock();
    }
}
