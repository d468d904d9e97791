package io.faultline.gc;

import io.faultline.meta.ControlBlock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Runs a concurrent cycle's pauses, offering each to the mutators first. The driving thread puts
 * the pause on offer (the {@link MutatorEvents#POLL_OFFER} bit of the poll word); the first mutator
 * that polls (every allocation polls) runs it on its own thread ({@link #atPoll}), so the world
 * stops while that mutator is at a safepoint anyway instead of waiting for it to reach one. If
 * nobody takes the offer within {@link #HANDOFF_MILLIS}, or no mutator is running, the driving
 * thread stops the world itself.
 *
 * <p><b>Assumptions and Guarantees:</b> one driving thread at a time calls {@link #run} (the
 * cycle's driving lock); any mutator may call {@link #atPoll}. At most one offer is out at a
 * time, and it is taken at most once ({@code compareAndSet} on {@link #offered}). A pause body
 * runs only while the world is stopped and only if the cycle is still where the offer found it
 * (its {@code still} condition, checked inside the pause). An exception from a pause run by a
 * mutator goes back to the driving thread, except a {@link HeapCorruptedException}, which every
 * mutator sees anyway. {@link #close} withdraws an offer and releases a driving thread that waits.
 */
final class PauseOffer {
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
    /** How often a driving thread that waits for an offer looks at closing and failure. */
    private static final long LOOK_MILLIS = 1;

    private final Collector collector;
    private final HeapBinding heap;
    private final ControlBlock control;
    private final HeapFailure failure;
    private final AtomicReference<Offered> offered = new AtomicReference<>();
    private volatile boolean closed;

    PauseOffer(Collector collector, HeapBinding heap, ControlBlock control, HeapFailure failure) {
        this.collector = collector;
        this.heap = heap;
        this.control = control;
        this.failure = failure;
    }

    /** A pause on offer: the first mutator that takes it runs it. */
    private static final class Offered {
        final BooleanSupplier still;
        final Pauses.Body body;
        private boolean done;
        boolean ran;
        RuntimeException error;

        Offered(BooleanSupplier still, Pauses.Body body) {
            this.still = still;
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

    private boolean closing() {
        return closed || collector.isClosing();
    }

    /**
     * Runs {@code body} in a pause if {@code still} holds once the world is stopped; offers it to
     * the mutators first. Returns true if it ran, false if {@code still} stopped holding (the
     * cycle was abandoned) or the heap is closing. Called by the thread driving the cycle.
     */
    boolean run(BooleanSupplier still, Pauses.Body body) {
        if (heap.runningMutators() > 0) {
            Offered o = new Offered(still, body);
            offered.set(o);
            control.setPollBits(MutatorEvents.POLL_OFFER);
            long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HANDOFF_MILLIS);
            boolean done = false;
            while (!done && System.nanoTime() < giveUp && !closing() && heap.runningMutators() > 0) {
                done = o.await(TimeUnit.MILLISECONDS.toNanos(LOOK_MILLIS));
            }
            if (!done && offered.compareAndSet(o, null)) {
                control.clearPollBits(MutatorEvents.POLL_OFFER); // nobody took it: stop the world ourselves
            } else {
                while (!o.await(TimeUnit.MILLISECONDS.toNanos(LOOK_MILLIS)) && !closing()) {
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
        while (!closing() && still.getAsBoolean()) {
            if (runIfStill(still, body)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A mutator at a poll (it holds no raw reference there): if a pause is on offer, runs it. A
     * pause that cannot stop the world in time is the collector's problem, not this mutator's:
     * its exception goes back to the thread driving the cycle.
     */
    void atPoll() {
        Offered o = offered.get();
        if (o == null || !offered.compareAndSet(o, null)) {
            return;
        }
        control.clearPollBits(MutatorEvents.POLL_OFFER);
        try {
            o.ran = runIfStill(o.still, o.body);
        } catch (HeapCorruptedException e) {
            throw e;
        } catch (RuntimeException e) {
            o.error = e;
        } finally {
            o.finish();
        }
    }

    /** One attempt: true if the pause ran (the world was stopped and {@code still} held). */
    private boolean runIfStill(BooleanSupplier still, Pauses.Body body) {
        boolean[] ran = {false};
        collector.pauses().run((t0, safepointNanos) -> {
            if (still.getAsBoolean()) {
                body.run(t0, safepointNanos);
                ran[0] = true;
            }
        });
        return ran[0];
    }

    /** Withdraws an offer on the table and releases a driving thread waiting for it. */
    void close() {
        closed = true;
        Offered o = offered.getAndSet(null);
        if (o != null) {
            control.clearPollBits(MutatorEvents.POLL_OFFER);
            o.finish();
        }
    }
}
