package io.faultline.gc;

import java.util.ArrayDeque;

/**
 * Work sharing between concurrent marking threads, and the end of a marking round. A marker
 * whose stack is deep and sees an idle marker gives away a packet of {@link #PACKET} grey
 * references (marked, not yet scanned); a marker with nothing to do takes a packet, a completed
 * SATB buffer, or waits. The round is over when every marker is idle at once with no packet
 * and no completed SATB buffer left: then no grey object remains anywhere (a marker gives work
 * away only while it is busy, and only busy markers create grey objects).
 *
 * <p><b>Assumptions and Guarantees:</b> one instance per heap, used by the markers of one round
 * at a time; {@link #startRound} runs before any of them starts. A marker gives work away only
 * while another is idle in the current round, so a marker working alone (the remark pause) never
 * does: {@link #reset} before it. Packets circulate (no Java-heap allocation once enough exist).
 */
final class MarkPackets {
    /** References per packet. */
    static final int PACKET = 256;
    /** How long an idle marker waits between looks at the SATB queue (mutators do not notify). */
    private static final long IDLE_WAIT_MILLIS = 1;

    private final int markers;
    private final ArrayDeque<int[]> full = new ArrayDeque<>();
    private final ArrayDeque<int[]> free = new ArrayDeque<>();
    private volatile int idle;
    private volatile int queued;
    private volatile boolean roundOver;

    MarkPackets(int markers) {
        this.markers = markers;
    }

    synchronized void startRound() {
        idle = 0;
        roundOver = false;
    }

    /**
     * A new marking (or a pause that marks on one thread): no marker is idle, so nobody gives
     * work away, and packets left by an abandoned marking are dropped.
     */
    synchronized void reset() {
        idle = 0;
        roundOver = false;
        free.addAll(full);
        full.clear();
        queued = 0;
    }

    /**
     * True if some marker of a running round waits for work and none is queued: worth giving a
     * packet away. False once the round is over, so a marker draining alone afterwards keeps its work.
     */
    boolean hungry() {
        return idle > 0 && queued == 0 && !roundOver;
    }

    /** Queues the {@link #PACKET} references {@code stack[from, from + PACKET)}. */
    synchronized void give(int[] stack, int from) {
        int[] p = free.poll();
        if (p == null) {
            p = new int[PACKET];
        }
        System.arraycopy(stack, from, p, 0, PACKET);
        full.add(p);
        queued = full.size();
        notifyAll();
    }

    /** A queued packet for {@code into}, or false if none. */
    boolean take(Marker into) {
        int[] p;
        synchronized (this) {
            p = full.poll();
            queued = full.size();
        }
        if (p == null) {
            return false;
        }
        into.push(p, PACKET);
        synchronized (this) {
            free.add(p);
        }
        return true;
    }

    /**
     * A marker found nothing to do: waits until a packet or a completed SATB buffer shows up
     * (returns false: go on working) or the round is over (returns true, for every marker).
     * Returns true at once when the work is abandoned.
     */
    synchronized boolean idleUntilWorkOrEnd(SatbQueue satb, AbortableWork work) {
        idle++;
        while (true) {
            if (roundOver || work.aborted()) {
                return true;
            }
            if (!full.isEmpty() || satb.hasCompleted()) {
                idle--;
                return false;
            }
            if (idle == markers) {
                roundOver = true;
                notifyAll();
                return true;
            }
            try {
                wait(IDLE_WAIT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
    }
}
