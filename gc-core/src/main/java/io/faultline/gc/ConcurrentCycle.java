package io.faultline.gc;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * A concurrent cycle, phase by phase (the timeline is drawn in the package documentation). Three
 * short pauses; marking and most of the planning run while mutators run.
 *
 * <ol>
 *   <li><b>Start</b>: waits for the previous compaction (and its verification), then clears the
 *       mark and object-start bitmaps while no pause runs.</li>
 *   <li><b>Initial-mark pause</b>: retires the TLABs, records the mark-start top, snapshots the
 *       roots and turns the barrier on ({@link ConcurrentMarking#begin}).</li>
 *   <li><b>Concurrent marking</b> ({@link ConcurrentMarking#markConcurrently}).</li>
 *   <li><b>Remark pause</b>: drains the barrier's buffers, finishes marking, turns the barrier off
 *       ({@link ConcurrentMarking#remark}); retires the TLABs and records the remark top.</li>
 *   <li><b>Concurrent planning</b>: marks every word of {@code [mark-start top, remark top)} live
 *       (everything allocated during marking is black; {@link BlackAllocation} recorded where its
 *       objects start), then plans {@code [0, remark top)}.</li>
 *   <li><b>Flip pause</b>: retires the TLABs, marks and plans what was allocated since the remark
 *       ({@link Planner#extend}: O(its chunks and pages), no object walk), then {@link Flip}.</li>
 * </ol>
 *
 * <p>Each pause is first offered to the mutators ({@link PauseOffer}): the first one that polls
 * (every allocation polls) within {@link PauseOffer#HANDOFF_MILLIS} runs it on the spot, so the
 * world stops while that mutator is at a safepoint anyway instead of waiting for it to get to one.
 * With no mutator running the driving thread runs it at once.
 *
 * <p>A cycle runs on the thread that asks for it with {@link #collect} (a mutator does the work
 * inside a safe region), or on the background thread of its {@link CycleScheduler}.
 *
 * <p><b>Assumptions and Guarantees:</b>
 * <ul>
 *   <li>One thread drives a cycle at a time ({@link #driving}). A cycle's phase changes only in
 *       its own pauses and inside its {@link AbortableWork}, so a full pause (an allocation that
 *       did not fit) that abandons it ({@link #abandonInPause}) sees a consistent phase and, once
 *       the work has been left, owns the side tables.</li>
 *   <li>Nothing changes an object's address until the flip, so markers and the planner read the
 *       view without page checks (no compaction is in flight: the start waits for it, and a
 *       cycle that flips meanwhile abandons this one).</li>
 *   <li>The plan covers every object the compactors will move, and the live-words bitmap is
 *       exact for each: objects below the mark-start top are marked word for word by marking;
 *       the words of {@code [mark-start top, flip top)} are all marked, and after the TLABs were
 *       retired that range holds only complete objects and fillers, each with its start bit; bits
 *       above the flip top in its chunk are cleared. The object-start bitmap is clear above the
 *       mark-start top when the cycle begins (cleared up to the highest top any cycle planned).</li>
 *   <li>Every reference the flip and the compactors rewrite points at a marked object: marking
 *       leaves every root and every slot of every marked object pointing at a marked or black
 *       object (see {@link ConcurrentMarking}); after the remark mutators can only store such
 *       values, because an object unmarked at the remark was unreachable then and stays so.</li>
 *   <li>A remark or flip pause that cannot stop the world in time ({@code
 *       failOnSafepointTimeout}) leaves the cycle in its phase; the next attempt resumes it.</li>
 * </ul>
 */
final class ConcurrentCycle implements CycleScheduler.Cycle, AutoCloseable {
    /** Where a cycle is: changed by its own pauses, its concurrent steps, or an abandoning pause. */
    private enum Phase { IDLE, MARKING, MARKED, REMARKED, PLANNED }

    private final Collector collector;
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final MarkBitmap bitmap;
    private final ObjectStartBitmap starts;
    private final BlackAllocation black;
    /** The step of the concurrent plan's calls to {@link Planner#extend} ({@link #planConcurrently}). */
    static final long PLAN_STEP_BYTES = 64 << 10;
    private final Planner planner;
    private final Flip flip;
    private final GcStats stats;
    private final GcLog log;
    private final HeapFailure failure;
    private final MarkingHooks hooks;
    private final ControlBlock control;
    private final AbortableWork work = new AbortableWork();
    private final ConcurrentMarking marking;
    private final OldGeneration old;
    private final ReentrantLock driving = new ReentrantLock();
    private final PauseOffer offer;
    private final CycleScheduler scheduler;
    /** Object-start bits may be set below this offset (the highest top a cycle has planned). */
    private long startsDirtyTo;

    private volatile Phase phase = Phase.IDLE;
    private long cycle;
    private GcCause cause;
    private long snapshot;
    private long markStartTop;
    private long topAtRemark;
    private long toBase;
    private long markNanos;
    private long planNanos;

    ConcurrentCycle(Collector collector, HeapBinding heap, GcMetadata metadata, Planner planner, Flip flip, GcStats stats,
                    GcLog log, HeapFailure failure, CollectorSettings settings) {
        this.collector = collector;
        this.heap = heap;
        this.metadata = metadata;
        this.bitmap = metadata.bitmap();
        this.starts = metadata.objectStarts();
        this.black = new BlackAllocation(heap, starts);
        this.planner = planner;
        this.flip = flip;
        this.stats = stats;
        this.log = log;
        this.failure = failure;
        this.hooks = settings.markingHooks();
        this.control = metadata.control();
        this.offer = new PauseOffer(collector, heap, control, failure);
        this.marking = new ConcurrentMarking(heap, bitmap, starts, work, hooks, failure, settings.markingThreads());
        this.scheduler = new CycleScheduler(this, collector, heap, stats, log, failure, settings.markingHeadroomPercent());
        this.old = collector.oldGeneration();
        this.marking.setOldGeneration(old);
        rearm(ObjectLayout.HEADER_BYTES, flip.allocationLimit(0), 0, 0);
    }

    SatbQueue satbQueue() {
        return marking.satbQueue();
    }

    BlackAllocation blackAllocation() {
        return black;
    }

    /** When cycles start: the trigger, the background thread, stalled allocations. */
    CycleScheduler scheduler() {
        return scheduler;
    }

    /** After every flip of a cycle whose from-space ended at {@code fromTop}: see {@link CycleScheduler#rearm}. */
    void rearm(long top, long limit, long allocatedDuringCycle, long fromTop) {
        startsDirtyTo = Math.max(startsDirtyTo, fromTop);
        scheduler.rearm(top, limit, allocatedDuringCycle);
    }

    @Override
    public boolean inProgress() {
        return phase != Phase.IDLE;
    }

    @Override
    public void runLocked(GcCause cause, BooleanSupplier wanted) {
        driving.lock();
        try {
            if (wanted.getAsBoolean()) {
                run(cause);
            }
        } finally {
            driving.unlock();
        }
    }

    /**
     * An explicit collection: runs a cycle whose snapshot is taken after this call, on the calling
     * thread (inside a safe region if it is a mutator), unless another thread's cycle with such a
     * snapshot flips first. Returns after the flip pause.
     */
    void collect(GcCause cause) {
        long after = collector.snapshots();
        heap.inSafeRegion(() -> {
            driving.lock();
            try {
                while (collector.flippedSnapshot() <= after && !collector.isClosing()) {
                    run(cause);
                }
            } finally {
                scheduler.handOverIfUnfinished();
                driving.unlock();
            }
        });
    }

    /** Runs the cycle from its current phase to the flip; returns early if abandoned or closing. */
    private void run(GcCause requested) {
        if (phase == Phase.IDLE) {
            if (!start(requested)) {
                return;
            }
            hooks.initialMarkDone(cycle);
            long m0 = System.nanoTime();
            boolean marked = concurrently("concurrent mark", marking::markConcurrently, Phase.MARKED);
            markNanos = System.nanoTime() - m0;
            log.concurrentMark(cycle, marking.rounds(), marking.objectsMarked(), marking.satbEntries(),
                    old.youngEnd() > 0 ? old.dirtyCards() : -1, markNanos);
            if (!marked) {
                return;
            }
        }
        if (phase == Phase.MARKED) {
            hooks.beforeRemark(cycle);
            if (!offer.run(() -> phase == Phase.MARKED, this::remarkPause)) {
                return;
            }
        }
        if (phase == Phase.REMARKED) {
            long p0 = System.nanoTime();
            if (!concurrently("concurrent plan", this::planConcurrently, Phase.PLANNED)) {
                return;
            }
            planNanos = System.nanoTime() - p0;
            log.concurrentPlan(cycle, topAtRemark, topAtRemark - markStartTop, planNanos);
        }
        if (phase == Phase.PLANNED) {
            hooks.beforeFlip(cycle);
            if (offer.run(() -> phase == Phase.PLANNED, this::flipPause)) {
                collector.startCompactors();
            }
        }
    }

    /** Waits for the previous compaction, clears the bitmap and runs the initial-mark pause. */
    private boolean start(GcCause requested) {
        while (!collector.isClosing()) {
            collector.awaitCompactionAndVerification();
            long[] cleared = new long[2];
            boolean clear = collector.pauses().whileNoCompaction(() -> {
                cleared[0] = heap.top();
                cleared[1] = collector.cycles();
                bitmap.clear(cleared[0]);
                starts.clear(Math.max(cleared[0], startsDirtyTo));
            });
            if (!clear) {
                continue; // a cycle flipped since we waited: wait for its compaction too
            }
            boolean[] started = {false};
            // offered like the other pauses: a mutator in a long read-only walk would otherwise
            // keep the world stopping (and every other mutator parked) until it reaches a poll
            offer.run(() -> !collector.compactionActive() && collector.cycles() == cleared[1],
                (t0, safepointNanos) -> started[0] = initialMarkPause(requested, t0, safepointNanos, cleared[0], cleared[1]));
            if (started[0]) {
                return true;
            }
        }
        return false;
    }

    private boolean initialMarkPause(GcCause requested, long t0, long safepointNanos, long clearedTo, long clearedAtCycle) {
        if (collector.compactionActive() || collector.cycles() != clearedAtCycle) {
            return false; // another cycle flipped since the clear: start over
        }
        t0 = collector.pauses().verifyPending(t0);
        cycle = collector.cycles() + 1;
        cause = requested;
        snapshot = collector.takeSnapshot();
        heap.retireTlabs();
        long base = heap.base();
        markStartTop = heap.top();
        toBase = flip.toBase(base);
        bitmap.clearRange(clearedTo, markStartTop);
        if (toBase == 0) {
            Collector.keepNullGuard(metadata);
        }
        long youngEnd = old.beginCycle(requested, toBase, markStartTop);
        planner.setOld(youngEnd, old);
        black.begin(markStartTop);
        work.reset();
        marking.begin(heap.view(), heap.collectorReadView(), base, markStartTop);
        phase = Phase.MARKING;
        long nanos = System.nanoTime() - t0;
        stats.pause(PauseKind.INITIAL_MARK, nanos);
        log.initialMark(cycle, cause, old.describeCycle(), marking.rootCount(), nanos, safepointNanos);
        return true;
    }

    private void remarkPause(long t0, long safepointNanos) {
        marking.remark();
        heap.retireTlabs();
        topAtRemark = heap.top();
        phase = Phase.REMARKED;
        long nanos = System.nanoTime() - t0;
        stats.pause(PauseKind.REMARK, nanos);
        log.remark(cycle, marking.remarkEntries(), nanos, safepointNanos);
    }

    /**
     * Black allocation up to the remark top, then the plan of {@code [0, remark top)}; false if
     * abandoned. The plan goes in steps of {@link #PLAN_STEP_BYTES} (the same result as one call):
     * the flip pause extends it over what was allocated since the remark, and a method HotSpot
     * has seen called once is still interpreted then. In binary-trees' first cycle, with one call
     * here, the flip pause spent 13 to 43 ms planning 53 to 75 MiB, against 4.6 ms for 68 MiB in
     * the second cycle. (Marking the black range needs no steps: {@link MarkBitmap#markRange}
     * fills whole entries in bulk.)
     */
    private boolean planConcurrently() {
        if (topAtRemark > markStartTop) {
            bitmap.markRange(markStartTop, (topAtRemark - markStartTop) >>> ObjectLayout.LOG_WORD_BYTES);
        }
        bitmap.clearToChunkEnd(topAtRemark);
        planner.begin(toBase, heap.collectorReadView());
        MemorySegment view = heap.view();
        for (long to = Math.min(topAtRemark, PLAN_STEP_BYTES); ; to = Math.min(topAtRemark, to + PLAN_STEP_BYTES)) {
            planner.extend(view, to);
            if (to == topAtRemark) {
                break;
            }
        }
        old.forwardPlanned(markStartTop, topAtRemark, planner.plannedPages());
        return true;
    }

    private void flipPause(long t0, long safepointNanos) {
        control.set(ControlBlock.EPOCH, cycle); // first: claims of threads still in the last cycle become stale
        long e0 = System.nanoTime();
        heap.retireTlabs();
        long used = heap.top();
        if (used > topAtRemark) {
            bitmap.markRange(topAtRemark, (used - topAtRemark) >>> ObjectLayout.LOG_WORD_BYTES);
        }
        bitmap.clearToChunkEnd(used);
        long newTop = planner.extend(heap.view(), used);
        // what was allocated while the cycle ran stays young: it lands from where the initial mark's top does
        old.promote(used > markStartTop ? metadata.offsets().forward(markStartTop) : newTop, used, newTop);
        long r0 = System.nanoTime();
        flip.flipRoots();
        long p0 = System.nanoTime();
        long backendNanos = flip.publish(cycle, used, newTop, toBase, old.verbatimEnd());
        black.end();
        long since = scheduler.flipped(); // wakes stalled allocations
        collector.published(cycle, snapshot, used - Math.min(markStartTop, since), used);
        phase = Phase.IDLE;
        long end = System.nanoTime();
        stats.pause(PauseKind.FLIP, end - t0);
        stats.concurrentCycle(markNanos, planNanos, used - markStartTop, marking.satbEntries() + marking.remarkEntries(),
                old.youngEnd() > 0);
        log.pause(cycle, "Flip", cause, used, newTop, metadata.capacity(), end - t0);
        log.flipPhases(cycle, safepointNanos, r0 - e0, p0 - r0, backendNanos, end - p0 - backendNanos);
        collector.verifyStopTheWorldCompaction(cycle);
    }

    /** A mutator at a poll: runs the pause on offer, if any ({@link PauseOffer#atPoll}). */
    void atPoll() {
        offer.atPoll();
    }

    /**
     * Runs a concurrent step inside the cycle's abortable work and moves to {@code next} if it
     * finished; false if the cycle was abandoned. An exception fails the heap.
     */
    private boolean concurrently(String what, BooleanSupplier step, Phase next) {
        try {
            return work.runToEnd(step, () -> phase = next); // the phase changes inside the work
        } catch (RuntimeException | Error e) {
            failure.record(HeapCorruptedException.collectorFailure("GC(" + cycle + ") " + what, e));
            throw failure.exception().rethrown();
        }
    }

    /**
     * In a full pause (after its EPOCH store): abandons the cycle in progress, if any. Waits for
     * the markers and the planner to leave, turns the barrier off and drops the logged values.
     */
    void abandonInPause(long fullCycle, GcCause why) {
        if (phase == Phase.IDLE) {
            return;
        }
        work.abortAndWait();
        marking.abandonInPause();
        black.end();
        phase = Phase.IDLE;
        stats.abandoned();
        log.abandoned(fullCycle, "a full pause (" + why.label() + ") replaces it");
    }

    /** Abandons a cycle in progress and stops the background and marking threads. */
    @Override
    public void close() {
        offer.close();
        work.abortAndWait();
        scheduler.close(ConcurrentMarking.JOIN_REPORT_MILLIS);
        marking.close();
    }
}
