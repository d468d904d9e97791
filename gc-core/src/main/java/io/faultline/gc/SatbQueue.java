package io.faultline.gc;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Where the snapshot-at-the-beginning barrier's log goes. Each mutator fills a private buffer of
 * {@link #BUFFER_ENTRIES} references (the values its reference stores overwrote while marking was
 * on); a full buffer is handed over here in exchange for an empty one ({@link #exchange}), and
 * the marking threads take the full ones ({@link #poll}) and give them back once processed
 * ({@link #recycle}). Buffers circulate, so in steady state the barrier allocates nothing on the
 * Java heap.
 *
 * <p><b>Assumptions and Guarantees:</b> any thread; every method holds this object's monitor
 * briefly (one deque operation), which mutators pay once per {@link #BUFFER_ENTRIES} logged
 * references. A buffer handed over is complete: every entry is a reference or 0 (ignored). A
 * buffer is owned by exactly one party at a time: the mutator filling it, this queue, or the
 * marking thread processing it.
 */
public final class SatbQueue {
    /** References per buffer. */
    public static final int BUFFER_ENTRIES = 1024;

    private final ArrayDeque<int[]> completed = new ArrayDeque<>();
    private final ArrayDeque<int[]> free = new ArrayDeque<>();
    private long buffersCompleted;

    /**
     * Hands over {@code full} (null on a mutator's first use) and returns an empty buffer. Called
     * by a mutator's barrier when its buffer is full.
     */
    public int[] exchange(int[] full) {
        int[] empty;
        synchronized (this) {
            if (full != null) {
                completed.add(full);
                buffersCompleted++;
            }
            empty = free.poll();
        }
        return empty != null ? empty : new int[BUFFER_ENTRIES];
    }

    /** Hands over a partly filled buffer: entries {@code [0, count)} count, the rest is cleared. */
    public void offerPartial(int[] buffer, int count) {
        Arrays.fill(buffer, count, buffer.length, 0);
        synchronized (this) {
            completed.add(buffer);
            buffersCompleted++;
        }
    }

    /** A completed buffer for a marking thread, or null. */
    synchronized int[] poll() {
        return completed.poll();
    }

    synchronized boolean hasCompleted() {
        return !completed.isEmpty();
    }

    /** A processed buffer goes back to the mutators. */
    synchronized void recycle(int[] buffer) {
        free.add(buffer);
    }

    /** Drops every completed buffer (the cycle was abandoned): they become free buffers again. */
    synchronized void discardCompleted() {
        free.addAll(completed);
        completed.clear();
    }

    /** Buffers handed over since the heap was created. */
    synchronized long buffersCompleted() {
        return buffersCompleted;
    }
}
