package io.faultline.bench;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** HdrHistogram helpers: a fixed-range histogram of ns latencies and its one-line summary. */
public final class Latencies {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Latencies() {
    }

    /** ns from 1 to 10 s, 3 significant digits: recordValue never resizes (never allocates). */
    public static Histogram newHistogram() {
        return new Histogram(1, 10_000_000_000L, 3);
    }

    /** Clamps into the histogram's range and records. */
    public static void record(Histogram h, long nanos) {
        h.recordValue(Math.min(Math.max(nanos, 1), 10_000_000_000L));
    }

    /** {@code n=... p50=...us p99=... p99.9=... max=... mean=...}. */
    public static String summary(Histogram h) {
        return String.format(Locale.ROOT, "n=%d p50=%.2fus p99=%.2fus p99.9=%.2fus max=%.2fus mean=%.2fus",
                h.getTotalCount(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, h.getMean() / 1e3);
    }

    /** Bytes the calling thread has allocated on the Java heap so far (HotSpot's TLAB counter). */
    public static long threadAllocatedBytes() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }
}
