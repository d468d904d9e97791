package io.faultline.gc;

import java.util.concurrent.atomic.LongAdder;

/**
 * The collector's counters: pauses, compactions, pages and live bytes. Written by the thread that
 * runs a pause or completes a compaction; read by any thread ({@code Heap.stats()} assembles them
 * with the control block's fault counters into a {@code HeapStats}).
 */
public final class GcStats {
    private final LongAdder pagesCompacted = new LongAdder();
    private long pauses;
    private long pauseMaxNanos;
    private long pauseTotalNanos;
    private long compactions;
    private long compactionNanos;
    private long compactionMaxNanos;
    private volatile long liveAfterLastGc;
    private volatile long topAfterLastGc;

    synchronized void pause(long nanos) {
        pauses++;
        pauseTotalNanos += nanos;
        pauseMaxNanos = Math.max(pauseMaxNanos, nanos);
    }

    synchronized void compaction(long pages, long nanos) {
        pagesCompacted.add(pages);
        compactions++;
        compactionNanos += nanos;
        compactionMaxNanos = Math.max(compactionMaxNanos, nanos);
    }

    void afterPlan(long liveBytes, long top) {
        liveAfterLastGc = liveBytes;
        topAfterLastGc = top;
    }

    public long liveAfterLastGc() {
        return liveAfterLastGc;
    }

    /** Top of the used region right after the last pause: its to-space, in whole pages. */
    public long topAfterLastGc() {
        return topAfterLastGc;
    }

    public long pagesCompacted() {
        return pagesCompacted.sum();
    }

    public synchronized long pauseMaxNanos() {
        return pauseMaxNanos;
    }

    public synchronized long pauseTotalNanos() {
        return pauseTotalNanos;
    }

    public synchronized long compactionNanos() {
        return compactionNanos;
    }

    public synchronized long compactionMaxNanos() {
        return compactionMaxNanos;
    }
}
