package io.faultline.gc;

import io.faultline.meta.LatencyBuckets;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * The collector's counters: pauses (overall and by {@link PauseKind}, with a histogram of each
 * kind's durations), concurrent phases, compactions, pages and live bytes. Written by the thread that runs a pause, a concurrent phase
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
    /** Pause durations per kind (HdrHistogram: recording allocates nothing). */
    private final Histogram[] kindHistogram = new Histogram[KINDS];
    private final Histogram stallHistogram = LatencyBuckets.newHistogram();
    private long compactions;
    private long compactionNanos;
    private long compactionMaxNanos;
    private long concurrentCycles;
    private long youngCycles;
    private long abandonedCycles;
    private long concurrentMarkNanos;
    private long concurrentPlanNanos;
    private long blackBytes;
    private long satbEntries;
    private long stalls;
    private long stallMaxNanos;
    private long stallTotalNanos;
    private volatile long liveAfterLastGc;
    private volatile long blackAfterLastGc;
    private volatile long topAfterLastGc;
    private volatile long topAfterLastFullPause;
    private volatile long lastFullPauseCycle = -1;

    public GcStats() {
        for (int k = 0; k < KINDS; k++) {
            kindHistogram[k] = LatencyBuckets.newHistogram();
        }
    }

    synchronized void pause(PauseKind kind, long nanos) {
        pauses++;
        pauseTotalNanos += nanos;
        pauseMaxNanos = Math.max(pauseMaxNanos, nanos);
        int k = kind.ordinal();
        kindCount[k]++;
        kindTotalNanos[k] += nanos;
        kindMaxNanos[k] = Math.max(kindMaxNanos[k], nanos);
        kindHistogram[k].recordValue(LatencyBuckets.clamp(nanos));
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
    synchronized void concurrentCycle(long markNanos, long planNanos, long black, long satb, boolean young) {
        concurrentCycles++;
        if (young) {
            youngCycles++;
        }
        concurrentMarkNanos += markNanos;
        concurrentPlanNanos += planNanos;
        blackBytes += black;
        satbEntries += satb;
        blackAfterLastGc = black;
    }

    /** An allocation waited {@code nanos} for a concurrent cycle's flip. */
    synchronized void stall(long nanos) {
        stalls++;
        stallTotalNanos += nanos;
        stallMaxNanos = Math.max(stallMaxNanos, nanos);
        stallHistogram.recordValue(LatencyBuckets.clamp(nanos));
    }

    /**
     * The p50, p90, p99 and p99.9 of the pauses of {@code kind} in nanoseconds (HdrHistogram, two
     * significant digits; none above the exact maximum), zeros if there were none.
     */
    public synchronized long[] pausePercentiles(PauseKind kind) {
        return percentiles(kindHistogram[kind.ordinal()], kindMaxNanos[kind.ordinal()]);
    }

    /** As {@link #pausePercentiles}, for the allocation stalls. */
    public synchronized long[] stallPercentiles() {
        return percentiles(stallHistogram, stallMaxNanos);
    }

    /** The percentiles every latency in {@code HeapStats} reports. */
    public static final double[] PERCENTILES = {50, 90, 99, 99.9};

    /** {@link #PERCENTILES} of {@code h}, none above {@code max}. */
    public static long[] percentiles(Histogram h, long max) {
        long[] p = new long[PERCENTILES.length];
        if (h.getTotalCount() == 0) {
            return p;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.min(h.getValueAtPercentile(PERCENTILES[i]), max);
        }
        return p;
    }

    /** Pauses of {@code kind} the histogram holds (equal to {@link #pauseCount(PauseKind)}). */
    public synchronized long pauseHistogramCount(PauseKind kind) {
        return kindHistogram[kind.ordinal()].getTotalCount();
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

    /** In the pause that publishes a plan, before a concurrent cycle's {@link #concurrentCycle}. */
    void afterPlan(long liveBytes, long top) {
        liveAfterLastGc = liveBytes;
        blackAfterLastGc = 0;
        topAfterLastGc = top;
    }

    public long liveAfterLastGc() {
        return liveAfterLastGc;
    }

    /** Of the bytes the last collection kept, those allocated while it ran (0 after a full pause). */
    public long blackAfterLastGc() {
        return blackAfterLastGc;
    }

    /**
     * In a full pause, after {@link #afterPlan}: cycle {@code cycle} reclaimed everything that was
     * unreachable when it stopped the world, so its top is what an allocation that fails can
     * count on (a concurrent cycle keeps what was allocated while it ran).
     */
    void fullPause(long cycle) {
        topAfterLastFullPause = topAfterLastGc;
        lastFullPauseCycle = cycle; // after the top: a reader that sees this cycle sees its top
    }

    /** The cycle number of the last full pause, or -1 if none ran. */
    public long lastFullPauseCycle() {
        return lastFullPauseCycle;
    }

    /** Top of the used region right after the last full pause (read after {@link #lastFullPauseCycle}). */
    public long topAfterLastFullPause() {
        return topAfterLastFullPause;
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

    /** Concurrent cycles that were young (left the old objects alone) and flipped. */
    public synchronized long youngCycles() {
        return youngCycles;
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
