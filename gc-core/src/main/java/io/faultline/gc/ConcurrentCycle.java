package io.faultline.gc;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.model.ObjectLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * A concurrent cycle, phase by phase, and when one starts. Three short pauses; marking and most
 * of the planning run while mutators run:
 *
 * <pre>
 *  mutators  --run--|init|-- run, barrier on --|remark|-- run --------|flip|-- run, may fault --
 *  collector        |mark| concurrent marking  |      | concurrent    |    | concurrent compaction
 *                   |    | (rounds over SATB)  |      | plan          |    | (Compaction)
 *  pause work:  O(roots)                 O(SATB entries)  O(allocated since remark + roots)
 * </pre>
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
 * <p>Each pause is first offered to the mutators ({@link #atPoll}, through a bit of the poll
 * word): the first one that polls (every allocation polls) within {@link #HANDOFF_MILLIS} runs it
 * on the spot, so the world stops while that mutator is at a safepoint anyway instead of waiting
 * for it to get to one. With no mutator running the driving thread runs it at once.
 *
 * <p>A cycle runs on the thread that asks for it with {@link #collect} (a mutator does the work
 * inside a safe region), or, when allocation crosses the {@link #trigger}, on the daemon thread
 * {@code faultline-concurrent-gc}.
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
final class ConcurrentCycle implements AutoCloseable {
    /** Where a cycle is: changed by its own pauses, its concurrent steps, or an abandoning pause. */
    private enum Phase { IDLE, MARKING, MARKED, REMARKED, PLANNED }

    /** How long an allocation that does not fit waits for the cycle in progress before a full pause takes over. */
    static final long STALL_LIMIT_MILLIS = 1000;
    /** How long the background thread waits before it retries a pause that timed out. */
    private static final long RETRY_MILLIS = 100;
    /**
     * How long a pause is offered to the mutators before the driving thread stops the world
     * itself. A mutator that polls or allocates takes it at once; one that runs long without a
     * safepoint (a read-only traversal) would otherwise be waited for inside the pause, and while
     * nobody polls nobody allocates either, so waiting costs no memory. The offer is withdrawn
     * at once when no mutator is running any more; the bound is for a mutator that never polls
     * again (blocked outside a safe region: the pause then waits for it and names it after the
     * safepoint timeout).
     */
    static final long HANDOFF_MILLIS = 1000;

    private final Collector collector;
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final MarkBitmap bitmap;
    private final ObjectStartBitmap starts;
    private final BlackAllocation black;
    private final Planner planner;
    private final Flip flip;
    private final GcStats stats;
    private final GcLog log;
    private final HeapFailure failure;
    private final MarkingHooks hooks;
    private final ControlBlock control;
    private final int headroomPercent;
    private final AbortableWork work = new AbortableWork();
    private final ConcurrentMarking marking;
    private final ReentrantLock driving = new ReentrantLock();
    private final AtomicLong trigger = new AtomicLong(Long.MAX_VALUE);
    private final AtomicReference<OfferedPause> offered = new AtomicReference<>();
    /** Object-start bits may be set below this offset (the highest top a cycle has planned). */
    private long startsDirtyTo;
    private final Thread background;
    private volatile boolean requested;
    private volatile boolean closing;
    /** The used top when the background cycle was asked for (its allocation then counts from there). */
    private volatile long triggeredAt = Long.MAX_VALUE;
    /** Guards {@link #backgroundBusy}; notified when the background thread goes idle. */
    private final Object idle = new Object();
    private boolean backgroundBusy;

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
        this.headroomPercent = settings.markingHeadroomPercent();
        this.marking = new ConcurrentMarking(heap, bitmap, starts, work, hooks, failure, settings.markingThreads());
        rearm(ObjectLayout.HEADER_BYTES, flip.allocationLimit(0), 0, 0);
        this.background = Thread.ofPlatform().daemon().name("faultline-concurrent-gc").start(this::backgroundLoop);
    }

    SatbQueue satbQueue() {
        return marking.satbQueue();
    }

    BlackAllocation blackAllocation() {
        return black;
    }

    /** Allocation at or above this offset asks for a cycle ({@link Long#MAX_VALUE}: one is on its way). */
    long trigger() {
        return trigger.get();
    }

    /**
     * After every flip (concurrent or full) of a cycle whose from-space ended at {@code fromTop}:
     * the next cycle starts when allocation reaches the limit minus the headroom, the larger of
     * {@code headroomPercent} of the free space and 1.5 times what mutators allocated between the
     * last concurrent cycle's request and its flip ({@code allocatedDuringCycle}: waiting for the
     * previous compaction, marking, planning), at most 90% of it.
     */
    void rearm(long top, long limit, long allocatedDuringCycle, long fromTop) {
        startsDirtyTo = Math.max(startsDirtyTo, fromTop);
        long space = Math.max(0, limit - top);
        long headroom = Math.max(space / 100 * headroomPercent, allocatedDuringCycle + allocatedDuringCycle / 2);
        trigger.set(limit - Math.min(headroom, space / 10 * 9));
    }

    /** An allocation crossed the trigger: wakes the background thread once. */
    void request() {
        long t = trigger.get();
        if (t != Long.MAX_VALUE && trigger.compareAndSet(t, Long.MAX_VALUE)) {
            triggeredAt = t;
            requested = true;
            LockSupport.unpark(background);
        }
    }

    /**
     * An allocation did not fit: if a cycle is in progress, waits (in a safe region if the caller
     * is a mutator) until it flips, at most {@link #STALL_LIMIT_MILLIS}, and logs the stall.
     * Returns true if a cycle flipped meanwhile (this one, or a full pause that replaced it).
     */
    boolean stallUntilFlip() {
        if (phase == Phase.IDLE) {
            return false;
        }
        long flippedBefore = collector.cycles();
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.MILLISECONDS.toNanos(STALL_LIMIT_MILLIS);
        heap.inSafeRegion(() -> {
            synchronized (idle) {
                while (collector.cycles() == flippedBefore && phase != Phase.IDLE && System.nanoTime() < end
                        && !closing && !failure.failed()) {
                    try {
                        idle.wait(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        });
        long nanos = System.nanoTime() - t0;
        boolean flipped = collector.cycles() != flippedBefore;
        stats.stall(nanos);
        log.stall(flippedBefore + 1, nanos, flipped);
        return flipped;
    }

    /** Wakes the background thread for a cycle now, whatever the trigger says (it skips if one is in progress). */
    void requestNow() {
        trigger.set(Long.MAX_VALUE);
        triggeredAt = heap.top();
        requested = true;
        LockSupport.unpark(background);
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
                handOverIfUnfinished();
                driving.unlock();
            }
        });
    }

    /**
     * Returns once no cycle is in progress or requested from the background thread (in a safe
     * region if the caller is a mutator). Not for the thread driving a cycle.
     */
    void awaitIdle() {
        heap.inSafeRegion(() -> {
            synchronized (idle) {
                while ((requested || backgroundBusy || phase != Phase.IDLE) && !closing && !failure.failed()) {
                    try {
                        idle.wait(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while waiting for a concurrent cycle", e);
                    }
                }
            }
        });
    }

    private void backgroundLoop() {
        while (!closing) {
            if (!requested) {
                LockSupport.park(this);
                continue;
            }
            synchronized (idle) {
                backgroundBusy = true;
                requested = false;
            }
            driving.lock();
            try {
                long t = trigger.get();
                if (!closing && (t == Long.MAX_VALUE || heap.top() >= t || phase != Phase.IDLE)) {
                    trigger.set(Long.MAX_VALUE);
                    run(GcCause.HEAP_OCCUPANCY);
                }
            } catch (HeapCorruptedException e) {
                log.error("concurrent cycle: " + e.getMessage()); // the heap has failed; every mutator learns it
            } catch (RuntimeException | Error e) {
                if (failure.failed() || closing) {
                    continue;
                }
                log.warning("concurrent cycle GC(" + cycle + ") will retry: " + e);
                LockSupport.parkNanos(RETRY_MILLIS * 1_000_000);
                requested = true;
            } finally {
                handOverIfUnfinished();
                driving.unlock();
                synchronized (idle) {
                    backgroundBusy = false;
                    idle.notifyAll();
                }
            }
        }
    }

    /** A cycle left half done (its pause timed out) is finished by the background thread. */
    private void handOverIfUnfinished() {
        if (phase != Phase.IDLE && !closing && !failure.failed() && Thread.currentThread() != background) {
            requested = true;
            LockSupport.unpark(background);
        }
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
            log.concurrentMark(cycle, marking.rounds(), marking.objectsMarked(), marking.satbEntries(), markNanos);
            if (!marked) {
                return;
            }
        }
        if (phase == Phase.MARKED) {
            hooks.beforeRemark(cycle);
            if (!pause(Phase.MARKED, this::remarkPause)) {
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
            if (pause(Phase.PLANNED, this::flipPause)) {
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
            collector.pauses().run((t0, safepointNanos) -> started[0] = initialMarkPause(requested, t0, safepointNanos, cleared[0], cleared[1]));
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
        black.begin(markStartTop);
        work.reset();
        marking.begin(heap.view(), base, markStartTop);
        phase = Phase.MARKING;
        long nanos = System.nanoTime() - t0;
        stats.pause(PauseKind.INITIAL_MARK, nanos);
        log.initialMark(cycle, cause, marking.rootCount(), nanos, safepointNanos);
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

    /** Black allocation up to the remark top, then the plan of {@code [0, remark top)}; false if abandoned. */
    private boolean planConcurrently() {
        if (topAtRemark > markStartTop) {
            bitmap.markRange(markStartTop, (topAtRemark - markStartTop) >>> ObjectLayout.LOG_WORD_BYTES);
        }
        bitmap.clearToChunkEnd(topAtRemark);
        planner.begin(toBase);
        planner.extend(heap.view(), topAtRemark);
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
        long r0 = System.nanoTime();
        flip.flipRoots();
        long p0 = System.nanoTime();
        long backendNanos = flip.publish(cycle, used, newTop, toBase);
        black.end();
        synchronized (idle) {
            idle.notifyAll(); // stalled allocations
        }
        long since = triggeredAt;
        triggeredAt = Long.MAX_VALUE;
        collector.published(cycle, snapshot, used - Math.min(markStartTop, since), used);
        phase = Phase.IDLE;
        long end = System.nanoTime();
        stats.pause(PauseKind.FLIP, end - t0);
        stats.concurrentCycle(markNanos, planNanos, used - markStartTop, marking.satbEntries() + marking.remarkEntries());
        log.pause(cycle, "Flip", cause, used, newTop, metadata.capacity(), end - t0);
        log.flipPhases(cycle, safepointNanos, r0 - e0, p0 - r0, backendNanos, end - p0 - backendNanos);
        collector.verifyStopTheWorldCompaction(cycle);
    }

    /** A pause offered to the mutators: the first that takes it runs it. */
    private static final class OfferedPause {
        final Phase expected;
        final Pauses.Body body;
        private boolean done;
        boolean ran;
        RuntimeException error;

        OfferedPause(Phase expected, Pauses.Body body) {
            this.expected = expected;
            this.body = body;
        }

        synchronized void finish() {
            done = true;
            notifyAll();
        }

        /** Waits until it is done or {@code nanos} passed; true if done. */
        synchronized boolean await(long nanos) {
            long end = System.nanoTime() + nanos;
            while (!done) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while a mutator ran a pause", e);
                }
            }
            return true;
        }
    }

    /**
     * A mutator at a poll (it holds no raw reference there): if a pause is on offer, runs it. A
     * pause that cannot stop the world in time is the collector's problem, not this mutator's:
     * its exception goes back to the thread driving the cycle.
     */
    void atPoll() {
        OfferedPause o = offered.get();
        if (o == null || !offered.compareAndSet(o, null)) {
            return;
        }
        control.clearPollBits(MutatorEvents.POLL_OFFER);
        try {
            o.ran = runIfStill(o.expected, o.body);
        } catch (HeapCorruptedException e) {
            throw e;
        } catch (RuntimeException e) {
            o.error = e;
        } finally {
            o.finish();
        }
    }

    /** Runs a pause of the cycle if it is still in {@code expected}; false if abandoned or closing. */
    private boolean pause(Phase expected, Pauses.Body body) {
        if (heap.runningMutators() > 0) {
            OfferedPause o = new OfferedPause(expected, body);
            offered.set(o);
            control.setPollBits(MutatorEvents.POLL_OFFER);
            long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HANDOFF_MILLIS);
            boolean done = false;
            while (!done && System.nanoTime() < giveUp && !closing && heap.runningMutators() > 0) {
                done = o.await(TimeUnit.MILLISECONDS.toNanos(1));
            }
            if (!done && offered.compareAndSet(o, null)) {
                control.clearPollBits(MutatorEvents.POLL_OFFER); // nobody took it: stop the world ourselves
            } else {
                while (!o.await(TimeUnit.MILLISECONDS.toNanos(1)) && !closing) {
                    failure.throwIfFailed(); // taken: the mutator is running it
                }
                if (o.error != null) {
                    throw o.error;
                }
                if (o.ran) {
                    return true;
                }
            }
        }
        while (!collector.isClosing() && phase == expected) {
            if (runIfStill(expected, body)) {
                return true;
            }
        }
        return false;
    }

    /** One attempt: true if the pause ran (the world was stopped and the cycle still in {@code expected}). */
    private boolean runIfStill(Phase expected, Pauses.Body body) {
        boolean[] ran = {false};
        collector.pauses().run((t0, safepointNanos) -> {
            if (phase == expected) {
                body.run(t0, safepointNanos);
                ran[0] = true;
            }
        });
        return ran[0];
    }

    /**
     * Runs a concurrent step inside the cycle's abortable work and moves to {@code next} if it
     * finished; false if the cycle was abandoned. An exception fails the heap.
     */
    private boolean concurrently(String what, BooleanSupplier step, Phase next) {
        if (!work.enter()) {
            return false;
        }
        try {
            if (!step.getAsBoolean() || work.aborted()) {
                return false;
            }
            phase = next; // inside the work: an abandoning pause waits for us to leave first
            return true;
        } catch (RuntimeException | Error e) {
            failure.record(HeapCorruptedException.collectorFailure("GC(" + cycle + ") " + what, e));
            throw failure.exception().rethrown();
        } finally {
            work.leave();
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
        closing = true;
        OfferedPause o = offered.getAndSet(null);
        if (o != null) {
            control.clearPollBits(MutatorEvents.POLL_OFFER);
            o.finish();
        }
        work.abortAndWait();
        LockSupport.unpark(background);
        try {
            if (!background.join(java.time.Duration.ofMillis(ConcurrentMarking.JOIN_REPORT_MILLIS))) {
                log.warning("close: " + background.getName() + " did not stop within "
                        + ConcurrentMarking.JOIN_REPORT_MILLIS + " ms; it is a daemon thread, left running");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        marking.close();
    }
}
