package io.faultline.gc;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The collector work that runs outside pauses between a concurrent cycle's initial mark and its
 * flip (marking, planning), and its abandonment. Threads doing such work {@link #enter} before
 * and {@link #leave} after it and check {@link #aborted} every few thousand objects; a thread
 * that must take the side tables back (a stop-the-world collection after an allocation failure,
 * {@code close()}) calls {@link #abortAndWait}, which returns once nobody is inside.
 *
 * <p><b>Assumptions and Guarantees:</b> after {@link #abortAndWait} returns, no thread is inside
 * and none can enter until {@link #reset} (which runs in the next initial-mark pause, when nobody
 * is inside). Work inside never waits for a mutator or a pause, so the wait is bounded by the
 * time between two checks.
 */
final class AbortableWork {
    private final AtomicInteger inside = new AtomicInteger();
    private volatile boolean aborted;

    /** Returns false (and does not enter) if the work is abandoned. */
    boolean enter() {
        inside.incrementAndGet();
        if (aborted) {
            inside.decrementAndGet();
            return false;
        }
        return true;
    }

    void leave() {
        inside.decrementAndGet();
    }

    boolean aborted() {
        return aborted;
    }

    /**
     * Runs {@code step} inside the work; if it finished (returned true) and the work was not
     * abandoned meanwhile, runs {@code done} before leaving (so an abandoning thread waits for it)
     * and returns true. False if the work was abandoned, before or during the step.
     */
    boolean runToEnd(BooleanSupplier step, Runnable done) {
        if (!enter()) {
            return false;
        }
        try {
            if (!step.getAsBoolean() || aborted()) {
                return false;
            }
            done.run();
            return true;
        } finally {
            leave();
        }
    }

    /** A new cycle: work may be entered again. */
    void reset() {
        aborted = false;
    }

    /** Abandons the work without waiting (a worker that failed; the heap has failed too). */
    void abandon() {
        aborted = true;
    }

    /** Abandons the work and waits until every thread inside has left. */
    void abortAndWait() {
        aborted = true;
        while (inside.get() != 0) {
            LockSupport.parkNanos(20_000);
        }
    }
}
