package io.faultline.gc;

import io.faultline.verify.VerifyReport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * One pause at a time: stopping the world and holding the pause lock around a pause's work,
 * turning an exception in a pause into a heap failure, and the pauses that are not part of a
 * cycle (heap verification).
 *
 * <p><b>Assumptions and Guarantees:</b> the pause lock is held for the whole pause, so at most
 * one pause's work runs at a time and {@link #close} can wait one out. Work that must not overlap
 * a pause but does not stop the world ({@link #whileNoCompaction}) takes the same lock; a pause
 * that starts meanwhile waits for it with the world stopped, so such work must be short.
 */
final class Pauses {
    /** What a pause does once the world is stopped: {@code t0} is when the stop was requested. */
    interface Body {
        void run(long t0, long safepointNanos);
    }

    private final HeapBinding heap;
    private final Compaction compaction;
    private final Verification verification;
    private final HeapFailure failure;
    private final GcLog log;
    private final LongSupplier cycles;
    private final BooleanSupplier closing;
    private final ReentrantLock lock = new ReentrantLock();

    /** {@code cycles}: the collector's cycle count; {@code closing}: true once the collector closes. */
    Pauses(HeapBinding heap, Compaction compaction, Verification verification, HeapFailure failure, GcLog log,
           LongSupplier cycles, BooleanSupplier closing) {
        this.heap = heap;
        this.compaction = compaction;
        this.verification = verification;
        this.failure = failure;
        this.log = log;
        this.cycles = cycles;
        this.closing = closing;
    }

    /**
     * Stops the world and runs {@code body} in it, under the pause lock. Returns false, without
     * running it, if another pause ran while this one waited or the heap is closing: re-check why
     * you asked, then retry. An exception in {@code body} fails the heap.
     */
    boolean run(Body body) {
        long t0 = System.nanoTime();
        if (!heap.stopTheWorld()) {
            return false;
        }
        long safepointNanos = System.nanoTime() - t0;
        lock.lock();
        try {
            if (closing.getAsBoolean()) {
                return false;
            }
            failure.throwIfFailed();
            body.run(t0, safepointNanos);
            return true;
        } catch (HeapCorruptedException e) {
            failure.record(e);
            throw e;
        } catch (RuntimeException | Error e) {
            failure.record(HeapCorruptedException.collectorFailure("GC(" + (cycles.getAsLong() + 1) + ") pause", e));
            throw failure.exception().rethrown();
        } finally {
            lock.unlock();
            heap.resumeTheWorld();
        }
    }

    /**
     * Outside pauses, with no pause running: runs {@code task} unless a compaction is in flight
     * or the heap is closing (returns false).
     */
    boolean whileNoCompaction(Runnable task) {
        lock.lock();
        try {
            if (closing.getAsBoolean() || compaction.active()) {
                return false;
            }
            task.run();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** In a pause: runs a pending verification of the last cycle; returns {@code t0} moved past it (not GC time). */
    long verifyPending(long t0) {
        if (verification.pending()) {
            long v0 = System.nanoTime();
            verification.check(heap, cycles.getAsLong());
            t0 += System.nanoTime() - v0;
        }
        return t0;
    }

    /**
     * Compactor 0, after a cycle completed: verifies the heap in a short pause. Gives up if
     * another pause ran meanwhile (that pause verifies the heap before it starts a new cycle).
     */
    void verifyAfterCompaction() {
        if (!verification.pending() || closing.getAsBoolean() || compaction.active() || failure.failed()) {
            return;
        }
        if (!heap.stopTheWorld()) {
            return;
        }
        lock.lock();
        try {
            if (!closing.getAsBoolean() && !compaction.active() && verification.pending()) {
                verification.check(heap, cycles.getAsLong());
            }
        } catch (HeapCorruptedException e) {
            failure.record(e);
            log.error(e.getMessage());
        } finally {
            lock.unlock();
            heap.resumeTheWorld();
        }
    }

    /**
     * Stops the world (after any in-flight compaction) and verifies the heap. A failed heap is
     * reported, not walked: the report's problem is the failure. Any thread.
     */
    VerifyReport verify() {
        HeapCorruptedException failed = failure.exception();
        if (failed != null) {
            return failedReport(failed);
        }
        compaction.await(heap);
        while (!heap.stopTheWorld()) {
            if (closing.getAsBoolean()) {
                throw new IllegalStateException("heap is closed");
            }
            compaction.await(heap);
        }
        lock.lock();
        try {
            compaction.finishInPause();
            failed = failure.exception();
            return failed != null ? failedReport(failed) : verification.run(heap, cycles.getAsLong());
        } finally {
            lock.unlock();
            heap.resumeTheWorld();
        }
    }

    private VerifyReport failedReport(HeapCorruptedException e) {
        return e.report() != null ? e.report() : new VerifyReport(0, heap.top(), e.getMessage(), e.fromOffset());
    }

    /** The collector is closing: waits out a pause in progress (later ones do nothing). */
    void awaitPauseInProgress() {
        lock.lock();
        lock.unlock();
    }
}
