package io.faultline.heap;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Our own cooperative safepoints (HotSpot's are a different thing and never involved). A pause
 * sets {@link #pauseRequested}; every attached mutator notices it at its next allocation or
 * {@link Mutator#poll()} and parks until the pause ends. A mutator that is about to block on
 * something else enters a <i>safe region</i> first, so a pause never waits for it.
 *
 * <pre>
 *            attach                poll sees pause
 *  (none) ----------> RUNNING ---------------------> PARKED ---+
 *                      |  ^                                      | pause ends
 *         enterSafe    |  | leaveSafe (waits while a pause is on)|
 *                      v  |                                      |
 *                      SAFE  &lt;------------------------------------+ (back to where it was)
 * </pre>
 *
 * <p><b>Assumptions and Guarantees:</b> the fast path is one volatile load of
 * {@link #pauseRequested}. All state changes happen under {@link #lock}, so a pause that has
 * observed every other mutator PARKED or SAFE knows none of them touches the heap until
 * {@link #resumeTheWorld} (which is a happens-before edge for everything the pause wrote).
 * At most one pause runs at a time; a second requester parks like any mutator and returns
 * {@code false} from {@link #stopTheWorld} so it can retry its allocation after the first pause.
 */
public final class Safepoints {
    static final int RUNNING = 0;
    static final int PARKED = 1;
    static final int SAFE = 2;

    /** Volatile: read by every mutator's poll. */
    volatile boolean pauseRequested;

    private final ReentrantLock lock = new ReentrantLock();
    private boolean shutdown;
    private final Condition changed = lock.newCondition();
    private final List<Mutator> mutators = new ArrayList<>();
    private long pauses;

    void register(Mutator m) {
        lock.lock();
        try {
            while (pauseRequested) {
                changed.awaitUninterruptibly();
            }
            m.state = RUNNING;
            mutators.add(m);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Removes {@code m}. {@code lastWords} runs first, under the lock with no pause in progress
     * (none can start until we return), so it may still touch the heap: the mutator's TLAB is
     * retired there. Retiring after leaving the list would race with a pause that no longer
     * waits for us, and write a filler at a pre-pause offset into the compacted heap.
     */
    void deregister(Mutator m, Runnable lastWords) {
        lock.lock();
        try {
            if (m.state == RUNNING && pauseRequested) {
                park(m); // a pause is waiting for us: let it finish first
            }
            while (pauseRequested) {
                changed.awaitUninterruptibly(); // never leave the list while a pause scans it
            }
            lastWords.run();
            mutators.remove(m);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The mutator attached on the calling thread, or null. */
    Mutator current() {
        Thread t = Thread.currentThread();
        lock.lock();
        try {
            for (Mutator m : mutators) {
                if (m.owner == t) {
                    return m;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Attached mutators; stable only inside a pause. */
    List<Mutator> mutators() {
        return mutators;
    }

    /** Slow path of a poll: park until the current pause ends. */
    void parkForPause(Mutator m) {
        lock.lock();
        try {
            park(m);
        } finally {
            lock.unlock();
        }
    }

    /** Parks {@code m} until the current pause ends; {@code m} returns to the state it had. */
    private void park(Mutator m) {
        m.state = PARKED;
        changed.signalAll();
        while (pauseRequested) {
            changed.awaitUninterruptibly();
        }
        m.state = unparked(m);
    }

    /**
     * The state of {@code m} when no pause holds it: SAFE inside a safe region (a thread may
     * collect or verify from one), else RUNNING.
     */
    private static int unparked(Mutator m) {
        return m.safeDepth > 0 ? SAFE : RUNNING;
    }

    /** Safe regions nest: only the outermost enter and leave change the state. */
    void enterSafeRegion(Mutator m) {
        lock.lock();
        try {
            if (m.safeDepth++ == 0) {
                m.state = SAFE;
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
                throw new IllegalStateException("leaveSafeRegion without enterSafeRegion on " + m.owner.getName());
            }
            if (--m.safeDepth > 0) {
                return;
            }
            while (pauseRequested) {
                changed.awaitUninterruptibly();
            }
            m.state = RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops every attached mutator except {@code self} (which may be null for a non-mutator
     * thread). Returns true when the world is stopped and the caller owns the pause; false if
     * another pause was running (a mutator has then parked for it and it is over; a non-mutator
     * returns at once) or the heap is closing. On false, re-check whatever made you ask.
     */
    public boolean stopTheWorld(Mutator self) {
        lock.lock();
        try {
            if (pauseRequested) {
                if (self != null) {
                    park(self); // a mutator must take part in the other pause
                }
                return false;
            }
            if (shutdown) {
                return false;
            }
            pauseRequested = true;
            if (self != null) {
                self.state = PARKED;
            }
            while (!allStopped() && !shutdown) {
                changed.awaitUninterruptibly();
            }
            if (shutdown) {
                pauseRequested = false;
                if (self != null) {
                    self.state = unparked(self);
                }
                changed.signalAll();
                return false;
            }
            pauses++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private boolean allStopped() {
        for (Mutator m : mutators) {
            if (m.state == RUNNING) {
                return false;
            }
        }
        return true;
    }

    /** Ends the pause begun by a successful {@link #stopTheWorld}. */
    public void resumeTheWorld(Mutator self) {
        lock.lock();
        try {
            pauseRequested = false;
            if (self != null) {
                self.state = unparked(self);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The heap is closing: a pause still waiting for mutators gives up (its
     * {@link #stopTheWorld} returns false) and no new pause starts.
     */
    public void shutdown() {
        lock.lock();
        try {
            shutdown = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isPauseRequested() {
        return pauseRequested;
    }

    public long pauses() {
        return pauses;
    }
}
