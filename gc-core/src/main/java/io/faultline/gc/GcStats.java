package io.faultline.gc;

import java.util.concurrent.atomic.LongAdder;

/**
 * The collector's counters: pauses, compactions, pages and live bytes. Written by the thread that
 * runs a pause or completes a compaction; read by any thread ({@code Heap.stats()}).
 */
final class GcStats {
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

    long liveAfterLastGc() {
        return liveAfterLastGc;
    }

    /** Top of the used region right after the last pause: its to-space, in whole pages. */
    long topAfterLastGc() {
        return topAfterLastGc;
    }

    long pagesCompacted() {
        return pagesCompacted.sum();
    }

    synchronized long pauseMaxNanos() {
        return pauseMaxNanos;
    }

    synchronized long pauseTotalNanos() {
        return pauseTotalNanos;
    }

    synchronized long compactionNanos() {
        return compactionNanos;
    }

    synchronized long compactionMaxNanos() {
        return compactionMaxNanos;
    }
}
