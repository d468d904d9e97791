package io.faultline.gc;

import java.util.concurrent.atomic.LongAdder;

/**
 * The collector's counters: pauses (overall and by {@link PauseKind}), concurrent phases,
 * compactions, pages and live bytes. Written by the thread that runs a pause, a concurrent phase
 * or completes a compaction; read by any thread ({@code Heap.stats()} assembles them with the
 * control block's fault counters into a {@code HeapStats}).
 */
public final class GcStats {
    private static final int KINDS = PauseKind.values().length;

    private final LongAdder pagesCompacted = new LongAdder();
    private long pauses;
    private long pauseMaxNanos;
    private long pauseTotalNanos;
    private final long[] kindCount = new long[KINDS];
    private final long[] kindMaxNanos = new long[KINDS];
    private final long[] kindTotalNanos = new long[KINDS];
    private long compactions;
    private long compactionNanos;
    private long compactionMaxNanos;
    private long concurrentCycles;
    private long abandonedCycles;
    private long concurrentMarkNanos;
    private long concurrentPlanNanos;
    private long blackBytes;
    private long satbEntries;
    private long stalls;
    private long stallMaxNanos;
    private long stallTotalNanos;
    private volatile long liveAfterLastGc;
    private volatile long topAfterLastGc;

    synchronized void pause(PauseKind kind, long nanos) {
        pauses++;
        pauseTotalNanos += nanos;
        pauseMaxNanos = Math.max(pauseMaxNanos, nanos);
        int k = kind.ordinal();
        kindCount[k]++;
        kindTotalNanos[k] += nanos;
        kindMaxNanos[k] = Math.max(kindMaxNanos[k], nanos);
    }

    synchronized void compaction(long pages, long nanos) {
        pagesCompacted.add(pages);
        compactions++;
        compactionNanos += nanos;
        compactionMaxNanos = Math.max(compactionMaxNanos, nanos);
    }

    /**
     * A concurrent cycle flipped: its marking and planning times, the bytes allocated black
     * during it and the logged values its marking processed.
     */
    synchronized void concurrentCycle(long markNanos, long planNanos, long black, long satb) {
        concurrentCycles++;
        concurrentMarkNanos += markNanos;
        concurrentPlanNanos += planNanos;
        blackBytes += black;
        satbEntries += satb;
    }

    /** An allocation waited {@code nanos} for a concurrent cycle's flip. */
    synchronized void stall(long nanos) {
        stalls++;
        stallTotalNanos += nanos;
        stallMaxNanos = Math.max(stallMaxNanos, nanos);
    }

    /** Allocations that waited for a concurrent cycle's flip (not pauses: only the allocating thread waited). */
    public synchronized long stalls() {
        return stalls;
    }

    public synchronized long stallMaxNanos() {
        return stallMaxNanos;
    }

    public synchronized long stallTotalNanos() {
        return stallTotalNanos;
    }

    /** A concurrent cycle was abandoned for a stop-the-world collection. */
    synchronized void abandoned() {
        abandonedCycles++;
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

    public synchronized long pauseCount(PauseKind kind) {
        return kindCount[kind.ordinal()];
    }

    public synchronized long pauseMaxNanos(PauseKind kind) {
        return kindMaxNanos[kind.ordinal()];
    }

    public synchronized long pauseTotalNanos(PauseKind kind) {
        return kindTotalNanos[kind.ordinal()];
    }

    public synchronized long compactionNanos() {
        return compactionNanos;
    }

    public synchronized long compactionMaxNanos() {
        return compactionMaxNanos;
    }

    /** Concurrent cycles that reached their flip. */
    public synchronized long concurrentCycles() {
        return concurrentCycles;
    }

    /** Concurrent cycles abandoned because an allocation failed first (a full pause replaced them). */
    public synchronized long abandonedCycles() {
        return abandonedCycles;
    }

    public synchronized long concurrentMarkNanos() {
        return concurrentMarkNanos;
    }

    public synchronized long concurrentPlanNanos() {
        return concurrentPlanNanos;
    }

    /** Values the write barrier logged and marking processed, over all concurrent cycles that flipped. */
    public synchronized long satbEntries() {
        return satbEntries;
    }

    /** Bytes allocated during concurrent cycles (between initial mark and flip), kept live by those cycles. */
    public synchronized long blackBytes() {
        return blackBytes;
    }
}
