package io.faultline.heap;

import io.faultline.gc.GcLog;
import io.faultline.meta.ControlBlock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Our own cooperative safepoints (HotSpot's are a different thing and never involved). A pause
 * sets the PAUSE bit of the control block's POLL word; every attached mutator notices it at its
 * next allocation or {@link Mutator#poll()} and parks until the pause ends. A mutator that is
 * about to block on something else enters a <i>safe region</i> first, so a pause never waits for
 * it.
 *
 * <pre>
 *            attach                poll sees pause
 *  (none) ----------&gt; RUNNING ---------------------&gt; PARKED ---+
 *                      |  ^                                      | pause ends
 *         enterSafe    |  | leaveSafe (waits while a pause is on)|
 *                      v  |                                      |
 *                      SAFE  &lt;------------------------------------+ (back to where it was)
 * </pre>
 *
 * <p>A pause never waits silently. While it waits it re-checks every {@link #CHECK_MILLIS}: a
 * mutator whose thread has ended while attached is detached on the spot (its TLAB retired, its
 * handles no longer roots, its write-barrier log handed over, one line logged); a mutator that has not reached a safepoint after the
 * heap's safepoint timeout is named in the GC log (thread name, state and stack), then again at
 * doubling intervals, and with {@code failOnSafepointTimeout} the pause gives up with a
 * {@link SafepointTimeoutException}.
 *
 * <p><b>Assumptions and Guarantees:</b> the fast path is one acquire load of the POLL word. All
 * state changes happen under {@link #lock}, so a pause that has observed every other mutator
 * PARKED or SAFE knows none of them touches the heap until {@link #resumeTheWorld} (which is a
 * happens-before edge for everything the pause wrote). At most one pause runs at a time; a second
 * requester takes part in the first (a mutator parks, another thread waits) and gets
 * {@code false} from {@link #stopTheWorld} so it can re-check why it asked. A thread attaches at
 * most once per heap.
 */
final class Safepoints {
    static final int RUNNING = 0;
    static final int PARKED = 1;
    static final int SAFE = 2;
    /** How often a waiting pause re-checks for ended threads and the timeout. */
    static final long CHECK_MILLIS = 10;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<Thread, Mutator> byThread = new IdentityHashMap<>();
    private final ControlBlock control;
    private final long timeoutNanos;
    private final boolean failOnTimeout;
    private final GcLog log;
    private final Consumer<Mutator> lastWords;
    private boolean pauseRequested;
    private boolean shutdown;

    /** {@code lastWords}: what a mutator detached by a pause leaves behind (its TLAB, its barrier log). */
    Safepoints(ControlBlock control, Duration timeout, boolean failOnTimeout, GcLog log, Consumer<Mutator> lastWords) {
        this.control = control;
        this.timeoutNanos = timeout.toNanos();
        this.failOnTimeout = failOnTimeout;
        this.log = log;
        this.lastWords = lastWords;
    }

    /** Attaches {@code m} for the calling thread; waits while a pause is in progress. */
    void register(Mutator m) {
        lock.lock();
        try {
            Mutator existing = byThread.get(m.owner);
            if (existing != null) {
                throw new IllegalStateException("thread '" + m.owner.getName() + "' is already attached to this heap;"
                        + " use its mutator or close() it before attaching again");
            }
            while (pauseRequested) {
                changed.awaitUninterruptibly();
            }
            if (shutdown) {
                throw new IllegalStateException("heap is closed");
            }
            m.safepointState = RUNNING;
            m.syncSatbBarrier(); // no pause in progress: the barrier state is the last pause's
            byThread.put(m.owner, m);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes {@code m}. {@code lastWords} runs first, under the lock with no pause in progress
     * (none can start until we return), so it may still touch the heap: the mutator's TLAB is
     * retired there.
     */
    void deregister(Mutator m, Runnable lastWords) {
        lock.lock();
        try {
            if (m.safepointState == RUNNING && pauseRequested) {
                park(m); // a pause is waiting for us: let it finish first
            }
            while (pauseRequested) {
                changed.awaitUninterruptibly(); // never leave while a pause scans the mutators
            }
            if (byThread.get(m.owner) == m) {
                lastWords.run();
                byThread.remove(m.owner);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The mutator attached on the calling thread, or null. */
    Mutator current() {
        lock.lock();
        try {
            return byThread.get(Thread.currentThread());
        } finally {
            lock.unlock();
        }
    }

    /** Mutators running now, other than the calling thread's (not parked, not in a safe region). */
    int running() {
        lock.lock();
        try {
            int n = 0;
            for (Mutator m : byThread.values()) {
                if (m.safepointState == RUNNING && m.owner != Thread.currentThread()) {
                    n++;
                }
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Attached mutators; stable only inside a pause. */
    Collection<Mutator> mutators() {
        return byThread.values();
    }

    /** Slow path of a poll: park until the current pause ends. */
    void parkForPause(Mutator m) {
        lock.lock();
        try {
            if (pauseRequested && m.safepointState == RUNNING) {
                park(m);
            }
        } finally {
            lock.unlock();
        }
    }

    private void park(Mutator m) {
        m.safepointState = PARKED;
        changed.signalAll();
        while (pauseRequested) {
            changed.awaitUninterruptibly();
        }
        m.safepointState = unparked(m);
    }

    /** SAFE inside a safe region (a thread may collect or verify from one), else RUNNING. */
    private static int unparked(Mutator m) {
        return m.safeDepth > 0 ? SAFE : RUNNING;
    }

    /** Safe regions nest: only the outermost enter and leave change the state. */
    void enterSafeRegion(Mutator m) {
        lock.lock();
        try {
            if (m.safeDepth++ == 0) {
                m.safepointState = SAFE;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    void leaveSafeRegion(Mutator m) {
        lock.lock();
        try {
            if (m.safeDepth == 0) {
                throw new IllegalStateException("leaveSafeRegion without enterSafeRegion on thread '" + m.owner.getName() + "'");
            }
            if (--m.safeDepth > 0) {
                return;
            }
            while (pauseRequested) {
                changed.awaitUninterruptibly();
            }
            m.safepointState = RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops every attached mutator except {@code self} (null for a thread that is not a mutator).
     * Returns true when the world is stopped and the caller owns the pause; false if another
     * pause was running (the caller took part in it, or waited for it) or the heap is closing.
     */
    boolean stopTheWorld(Mutator self) {
        lock.lock();
        try {
            if (pauseRequested) {
                if (self != null) {
                    park(self);
                } else {
                    while (pauseRequested && !shutdown) {
                        changed.awaitUninterruptibly();
                    }
                }
                return false;
            }
            if (shutdown) {
                return false;
            }
            pauseRequested = true;
            control.setPollBits(ControlBlock.POLL_PAUSE);
            if (self != null) {
                self.safepointState = PARKED;
            }
            long start = System.nanoTime();
            long reportAt = start + timeoutNanos;
            while (!allStopped()) {
                if (shutdown) {
                    endPause(self);
                    return false;
                }
                changed.await(CHECK_MILLIS, TimeUnit.MILLISECONDS);
                detachEndedThreads();
                long now = System.nanoTime();
                if (now >= reportAt && !allStopped()) {
                    String laggards = describeLaggards(now - start);
                    if (failOnTimeout) {
                        endPause(self);
                        throw new SafepointTimeoutException(laggards);
                    }
                    log.warning(laggards);
                    reportAt = now + 2 * (now - start);
                }
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            endPause(self);
            throw new IllegalStateException("interrupted while stopping the mutators for a pause", e);
        } finally {
            lock.unlock();
        }
    }

    private boolean allStopped() {
        for (Mutator m : byThread.values()) {
            if (m.safepointState == RUNNING) {
                return false;
            }
        }
        return true;
    }

    /** A thread that ended while attached can never reach a safepoint: detach its mutator. */
    private void detachEndedThreads() {
        List<Mutator> ended = null;
        for (Mutator m : byThread.values()) {
            if (m.safepointState == RUNNING && !m.owner.isAlive()) {
                (ended == null ? ended = new ArrayList<>() : ended).add(m);
            }
        }
        if (ended != null) {
            for (Mutator m : ended) {
                lastWords.accept(m);
                byThread.remove(m.owner);
                m.detachedBecauseThreadEnded();
                log.warning("thread '" + m.owner.getName() + "' ended while attached to the heap: its mutator was detached"
                        + " at a GC pause (its handles are no longer roots); close() a mutator before its thread ends");
            }
        }
    }

    private String describeLaggards(long waitedNanos) {
        StringBuilder b = new StringBuilder("GC pause has waited ").append(TimeUnit.NANOSECONDS.toMillis(waitedNanos))
                .append(" ms for mutators that have not reached a safepoint (a poll, an allocation or a safe region):");
        for (Mutator m : byThread.values()) {
            if (m.safepointState == RUNNING) {
                b.append("\n  thread '").append(m.owner.getName()).append("' (").append(m.owner.getState()).append(')');
                for (StackTraceElement e : m.owner.getStackTrace()) {
                    b.append("\n    at ").append(e);
                }
            }
        }
        return b.toString();
    }

    /** Ends the pause begun by a successful {@link #stopTheWorld}. */
    void resumeTheWorld(Mutator self) {
        lock.lock();
        try {
            endPause(self);
        } finally {
            lock.unlock();
        }
    }

    private void endPause(Mutator self) {
        pauseRequested = false;
        control.clearPollBits(ControlBlock.POLL_PAUSE);
        if (self != null) {
            self.safepointState = unparked(self);
        }
        changed.signalAll();
    }

    /**
     * The names of the threads other than the caller's whose mutators are attached and alive: after
     * {@link #shutdown}, the ones that may still be inside an access to the view.
     */
    List<String> otherLiveThreads() {
        lock.lock();
        try {
            List<String> names = new ArrayList<>();
            for (Mutator m : byThread.values()) {
                if (m.owner != Thread.currentThread() && m.owner.isAlive()) {
                    names.add(m.owner.getName());
                }
            }
            return names;
        } finally {
            lock.unlock();
        }
    }

    /** The heap is closing: a pause still waiting for mutators gives up, no new pause starts, no mutator attaches. */
    void shutdown() {
        lock.lock();
        try {
            shutdown = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
