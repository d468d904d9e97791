package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.model.ObjectLayout;
import io.faultline.verify.VerifyReport;

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
 * <p><b>Assumptions and Guarantees:</b> at most one pause at a time ({@link Pauses}); a new cycle never starts before the previous compaction has finished (the
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
    private final CollectorSettings settings;
    private final Marker marker;
    private final Planner planner;
    private final OldGeneration old;
    private final Compaction compaction;
    private final CompactorPool pool;
    private final Verification verification;
    private final Flip flip;
    private final ConcurrentCycle concurrent;
    private final MutatorEvents events;
    private final Pauses pauses;
    private final GcStats stats = new GcStats();
    private final GcLog log;
    private final HeapFailure failure;
    private volatile long cycles;
    /** Marking snapshots taken (initial marks and full pauses), and the one the last flip used. */
    private volatile long snapshots;
    private volatile long flippedSnapshot;
    private volatile boolean closed;

    public Collector(HeapBinding heap, HeapBackend backend, GcMetadata metadata, CollectorSettings settings, GcLog log) {
        this.heap = heap;
        this.metadata = metadata;
        ControlBlock control = metadata.control();
        this.settings = settings;
        this.log = log;
        this.marker = new Marker(metadata.bitmap(), metadata.objectStarts(), false, null);
        this.planner = new Planner(metadata.bitmap(), metadata.objectStarts(), metadata.offsets(), metadata.firstObjects(),
                metadata.pageSize());
        this.old = new OldGeneration(settings.youngCycles() && heap.cards() != null, heap, metadata);
        PageCompactor compactor = new PageCompactor(metadata.bitmap(), metadata.offsets(), metadata.firstObjects(), metadata.pageSize());
        this.failure = new HeapFailure(control, metadata.pageSize());
        this.verification = new Verification(settings.verifyAfterGc(), old);
        this.compaction = new Compaction(heap, backend, control, stats, log, failure, settings.compactionStepPages());
        this.flip = new Flip(heap, backend, metadata, compactor, compaction, verification, stats, settings, log.events());
        this.pauses = new Pauses(heap, compaction, verification, failure, log, () -> cycles, () -> closed);
        control.set(ControlBlock.RUN_PAGES, settings.runPages());
        control.set(ControlBlock.FAULT_AROUND, settings.faultAroundPages());
        control.set(ControlBlock.RELEASE_BATCH, settings.releaseBatchBytes());
        backend.attach(metadata, compactor);
        this.pool = settings.concurrentCompaction() ? new CompactorPool(this, compaction, failure, settings.compactorThreads()) : null;
        this.concurrent = settings.concurrentMarking()
                ? new ConcurrentCycle(this, heap, metadata, planner, flip, stats, log, failure, settings) : null;
        this.events = new MutatorEvents(concurrent);
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
            boolean ran = pauses.run((t0, safepointNanos) -> {
                if (allocationFailure && cycles != seen) {
                    return;
                }
                compaction.finishInPause();
                fullPause(cause, pauses.verifyPending(t0), safepointNanos);
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

    /**
     * An allocation of {@code bytes} did not fit. With a concurrent cycle in progress, the
     * allocating thread first waits for that cycle's flip (an allocation stall: only this thread
     * waits, the cycle goes on), and returns if the space after it fits the request; otherwise,
     * or if the cycle does not flip within {@link CycleScheduler#STALL_LIMIT_MILLIS}, a full
     * pause ({@link GcCause#ALLOCATION_FAILURE}), which reclaims everything unreachable now. The
     * caller retries its allocation either way.
     */
    public void collectForAllocation(long bytes) {
        if (concurrent != null && concurrent.scheduler().stallUntilFlip() && flip.allocationLimit(heap.base()) - heap.top() >= bytes) {
            return;
        }
        collect(GcCause.ALLOCATION_FAILURE);
    }

    /** Young cycles' state, shared with {@link ConcurrentCycle}. */
    OldGeneration oldGeneration() {
        return old;
    }

    /** The pause machinery, shared with {@link ConcurrentCycle}. */
    Pauses pauses() {
        return pauses;
    }

    /** A full pause: mark, plan and flip with the world stopped. */
    private void fullPause(GcCause cause, long t0, long safepointNanos) {
        long cycle = cycles + 1;
        metadata.control().set(ControlBlock.EPOCH, cycle); // first: claims of threads still in the last cycle become stale
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
        planner.setOld(0, old);
        long newTop = planner.plan(heap.view(), heap.collectorReadView(), used, toBase);
        old.promoteAll(used, newTop);
        long tRoots = System.nanoTime();
        flip.flipRoots();
        long tSetup = System.nanoTime();
        flip.publish(cycle, used, newTop, toBase, 0);
        stats.fullPause(cycle);
        published(cycle, snapshot, 0, used);
        long end = System.nanoTime();
        stats.pause(PauseKind.FULL, end - t0);
        log.pause(cycle, settings.concurrentCompaction() ? "Compact Roots" : "Compact", cause, used, newTop,
                metadata.capacity(), end - t0);
        log.phases(cycle, safepointNanos, tPlan - tMark, tRoots - tPlan, tSetup - tRoots, end - tSetup);
        verifyStopTheWorldCompaction(cycle);
    }

    /** Full-pause phase 1: marks every object reachable from the roots. */
    private void mark(long fromBase, long used, long toBase) {
        metadata.bitmap().clear(used);
        metadata.objectStarts().clear(used);
        if (toBase == 0) {
            keepNullGuard(metadata);
        }
        marker.begin(heap.view(), heap.collectorReadView(), fromBase, used, false, MarkingHooks.NONE);
        heap.updateRoots(marker::markRoot);
        marker.end();
    }

    /**
     * To-space starts at offset 0: the null guard's two words stay live and keep offset 0 (the
     * page compactors write its header; its from-space bytes are never read).
     */
    static void keepNullGuard(GcMetadata metadata) {
        metadata.bitmap().markRange(0, ObjectLayout.MIN_OBJECT_WORDS);
        metadata.objectStarts().orPlain(0, 1);
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
     * {@code snapshot}, {@code allocatedDuringCycle} bytes allocated while it ran, from-space up to
     * {@code fromTop}) is the latest; with stop-the-world compaction it is compacted here.
     */
    void published(long cycle, long snapshot, long allocatedDuringCycle, long fromTop) {
        cycles = cycle;
        flippedSnapshot = snapshot;
        if (concurrent != null) {
            concurrent.rearm(heap.top(), flip.allocationLimit(heap.base()), allocatedDuringCycle, fromTop);
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

    /** What mutators and the allocator tell the collector for concurrent marking. */
    public MutatorEvents events() {
        return events;
    }

    /** Starts a concurrent cycle in the background now unless one is in progress; does not wait. */
    public void requestCollection() {
        if (concurrent != null) {
            concurrent.scheduler().requestNow();
        }
    }

    // ---- verification and waiting --------------------------------------------------------------

    /** Compactor 0, after a cycle completed: verifies the heap in a short pause (see {@link Pauses}). */
    void verifyAfterCompaction() {
        pauses.verifyAfterCompaction();
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
            concurrent.scheduler().awaitIdle();
        }
        awaitCompactionAndVerification();
    }

    /** Waits for the compaction in flight without building pages: {@code Heap.awaitCompactors}. */
    public void awaitCompactors() {
        compaction.awaitWithoutHelping(heap);
    }

    /** {@link #awaitCompaction} without waiting for a concurrent cycle (the thread driving one calls it). */
    void awaitCompactionAndVerification() {
        compaction.await(heap);
        while (verification.pending() && !closed) {
            pauses.verifyAfterCompaction();
            failure.throwIfFailed();
            compaction.await(heap);
        }
    }

    /**
     * Stops the world (after any in-flight compaction) and verifies the heap. A failed heap is
     * reported, not walked: the report's problem is the failure. Any thread.
     */
    public VerifyReport verify() {
        return pauses.verify();
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
        pauses.awaitPauseInProgress();
    }
}
