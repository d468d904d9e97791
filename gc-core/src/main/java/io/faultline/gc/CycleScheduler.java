package io.faultline.gc;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * When a concurrent cycle starts, and the thread that runs it when nobody asked explicitly. The
 * trigger is a used-heap offset: the allocation that crosses it wakes the background thread
 * {@code faultline-concurrent-gc} ({@link #request}), which runs the cycle to its flip. After each
 * flip the trigger is set again ({@link #rearm}) so that the next cycle has room to finish
 * before allocation reaches the limit. An allocation that does not fit while a cycle runs waits
 * for its flip ({@link #stallUntilFlip}), at most {@link #STALL_LIMIT_MILLIS}.
 *
 * <p><b>Assumptions and Guarantees:</b> any mutator may call {@link #request} (lock-free: one
 * {@code compareAndSet} on the trigger wakes the background thread once per cycle); the
 * background thread runs a cycle only under the cycle's driving lock, through the {@code
 * runCycle} it was given, and a failure there is logged and retried after {@link #RETRY_MILLIS}
 * unless the heap failed or is closing. Waiters ({@link #stallUntilFlip}, {@link #awaitIdle}) are
 * woken by {@link #flipped} and by the background thread going idle, and look at closing and
 * failure at least every millisecond, so none outlives the heap.
 */
final class CycleScheduler {
    /** How long an allocation that does not fit waits for the cycle in progress before a full pause takes over. */
    static final long STALL_LIMIT_MILLIS = 1000;
    /** How long the background thread waits before it retries a cycle that failed (a pause that timed out). */
    private static final long RETRY_MILLIS = 100;
    /** How often a waiter looks at closing and failure. */
    private static final long LOOK_MILLIS = 1;

    /** What the scheduler needs from the cycle it starts. */
    interface Cycle {
        /** True while a cycle is between its start and its flip. */
        boolean inProgress();

        /**
         * Takes the driving lock and, if {@code wanted} still holds then, runs the cycle (from
         * wherever it is) to its flip; returns early if abandoned.
         */
        void runLocked(GcCause cause, BooleanSupplier wanted);
    }

    private final Cycle cycle;
    private final Collector collector;
    private final HeapBinding heap;
    private final GcStats stats;
    private final GcLog log;
    private final HeapFailure failure;
    private final int headroomPercent;
    private final AtomicLong trigger = new AtomicLong(Long.MAX_VALUE);
    /** The used top when the background cycle was asked for (its allocation then counts from there). */
    private volatile long triggeredAt = Long.MAX_VALUE;
    private volatile boolean requested;
    private volatile boolean closing;
    /** Guards {@link #backgroundBusy}; notified when the background thread goes idle and at each flip. */
    private final Object idle = new Object();
    private boolean backgroundBusy;
    private final Thread background;

    CycleScheduler(Cycle cycle, Collector collector, HeapBinding heap, GcStats stats, GcLog log, HeapFailure failure,
                   int headroomPercent) {
        this.cycle = cycle;
        this.collector = collector;
        this.heap = heap;
        this.stats = stats;
        this.log = log;
        this.failure = failure;
        this.headroomPercent = headroomPercent;
        this.background = Thread.ofPlatform().daemon().name("faultline-concurrent-gc").start(this::backgroundLoop);
    }

    /** Allocation at or above this offset asks for a cycle ({@link Long#MAX_VALUE}: one is on its way). */
    long trigger() {
        return trigger.get();
    }

    /**
     * After every flip (concurrent or full): the next cycle starts when allocation reaches the
     * limit minus the headroom, the larger of {@code headroomPercent} of the free space and 1.5
     * times what mutators allocated between the last concurrent cycle's request and its flip
     * ({@code allocatedDuringCycle}: waiting for the previous compaction, marking, planning), at
     * most 90% of it.
     */
    void rearm(long top, long limit, long allocatedDuringCycle) {
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

    /** Wakes the background thread for a cycle now, whatever the trigger says (it skips if one is in progress). */
    void requestNow() {
        trigger.set(Long.MAX_VALUE);
        triggeredAt = heap.top();
        requested = true;
        LockSupport.unpark(background);
    }

    /** In the flip pause: wakes stalled allocations; returns (and forgets) where the cycle was asked for. */
    long flipped() {
        synchronized (idle) {
            idle.notifyAll();
        }
        long since = triggeredAt;
        triggeredAt = Long.MAX_VALUE;
        return since;
    }

    /**
     * An allocation did not fit: if a cycle is in progress, or the background thread is starting
     * one (it waits for the last compaction to end first), waits (in a safe region if the caller
     * is a mutator) until it flips, at most {@link #STALL_LIMIT_MILLIS}, and logs the stall.
     * Returns true if a cycle flipped meanwhile (this one, or a full pause that replaced it).
     * Waiting for a cycle on its way replaces a full pause: in binary-trees the mutators filled
     * the heap while the first compaction ran, in one run of five, and the full pause that
     * followed took 120 to 200 ms.
     */
    boolean stallUntilFlip() {
        if (!cycleUnderWay()) {
            return false;
        }
        long flippedBefore = collector.cycles();
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.MILLISECONDS.toNanos(STALL_LIMIT_MILLIS);
        waitWhile(() -> collector.cycles() == flippedBefore && cycleUnderWay() && System.nanoTime() < end, false);
        long nanos = System.nanoTime() - t0;
        boolean flipped = collector.cycles() != flippedBefore;
        stats.stall(nanos);
        log.stall(flippedBefore + 1, nanos, flipped);
        return flipped;
    }

    /** A cycle is between its start and its flip, or the background thread was asked for one and has not finished it. */
    private boolean cycleUnderWay() {
        synchronized (idle) {
            return requested || backgroundBusy || cycle.inProgress();
        }
    }

    /**
     * Returns once no cycle is in progress or requested from the background thread (in a safe
     * region if the caller is a mutator). Not for the thread driving a cycle.
     */
    void awaitIdle() {
        waitWhile(this::cycleUnderWay, true);
    }

    /** Waits in a safe region while {@code condition} holds and the heap is open and not failed. */
    private void waitWhile(BooleanSupplier condition, boolean interruptIsError) {
        heap.inSafeRegion(() -> {
            synchronized (idle) {
                while (condition.getAsBoolean() && !closing && !failure.failed()) {
                    try {
                        idle.wait(LOOK_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        if (interruptIsError) {
                            throw new IllegalStateException("interrupted while waiting for a concurrent cycle", e);
                        }
                        return;
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
            try {
                cycle.runLocked(GcCause.HEAP_OCCUPANCY, () -> {
                    long t = trigger.get();
                    boolean wanted = !closing && (t == Long.MAX_VALUE || heap.top() >= t || cycle.inProgress());
                    if (wanted) {
                        trigger.set(Long.MAX_VALUE);
                    }
                    return wanted;
                });
            } catch (HeapCorruptedException e) {
                log.error("concurrent cycle: " + e.getMessage()); // the heap has failed; every mutator learns it
            } catch (RuntimeException | Error e) {
                if (failure.failed() || closing) {
                    continue;
                }
                log.warning("concurrent cycle GC(" + (collector.cycles() + 1) + ") will retry: " + e);
                LockSupport.parkNanos(RETRY_MILLIS * 1_000_000);
                requested = true;
            } finally {
                synchronized (idle) {
                    backgroundBusy = false;
                    idle.notifyAll();
                }
            }
        }
    }

    /** A cycle left half done (its pause timed out) by another thread is finished by the background thread. */
    void handOverIfUnfinished() {
        if (cycle.inProgress() && !closing && !failure.failed() && Thread.currentThread() != background) {
            requested = true;
            LockSupport.unpark(background);
        }
    }

    /** Stops the background thread: waits for it at most {@code joinMillis}, then says so. */
    void close(long joinMillis) {
        closing = true;
        LockSupport.unpark(background);
        try {
            if (!background.join(java.time.Duration.ofMillis(joinMillis))) {
                log.warning("close: " + background.getName() + " did not stop within " + joinMillis
                        + " ms; it is a daemon thread, left running");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
