package io.faultline.meta;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;

/**
 * A log-linear histogram of latencies in nanoseconds that a fault path can record into with one
 * atomic add: {@code 2^SUB_BITS} buckets per power of two (relative error below 1/32), exact below
 * 32 ns, everything from 2^40 ns (18 minutes) on in the last bucket. The native fault path keeps
 * the same buckets in its stats block ({@code fl_hist_bucket} in {@code layout.h};
 * {@code LayoutAbiTest} checks that both sides bucket alike), and the Java backend's software
 * faults record into a {@link Recorder}. {@link #toHistogram} turns the counts into an
 * HdrHistogram for percentiles.
 *
 * <pre>
 *   v &lt; 32:  bucket v
 *   else:    e = floor(log2 v), bucket (e - 5) * 32 + (v &gt;&gt; (e - 5))     (v &gt;&gt; (e - 5) is in [32, 64))
 * </pre>
 */
public final class LatencyBuckets {
    public static final int SUB_BITS = 5;
    public static final int BUCKETS = 1152;
    private static final long LIMIT = 1L << 40;

    private LatencyBuckets() {
    }

    /** The bucket of {@code nanos} (negative counts as 0). */
    public static int bucket(long nanos) {
        if (nanos < (1 << SUB_BITS)) {
            return nanos < 0 ? 0 : (int) nanos;
        }
        if (nanos >= LIMIT) {
            return BUCKETS - 1;
        }
        int e = 63 - Long.numberOfLeadingZeros(nanos);
        return ((e - SUB_BITS) << SUB_BITS) + (int) (nanos >>> (e - SUB_BITS));
    }

    /** The smallest value in {@code bucket}. */
    public static long lowest(int bucket) {
        if (bucket < 2 << SUB_BITS) {
            return bucket;
        }
        int shift = (bucket >>> SUB_BITS) - 1;
        long mantissa = (bucket & ((1 << SUB_BITS) - 1)) + (1L << SUB_BITS);
        return mantissa << shift;
    }

    /** The largest value in {@code bucket} (the last bucket: every value from 2^40 ns on). */
    public static long highest(int bucket) {
        return bucket == BUCKETS - 1 ? Long.MAX_VALUE : lowest(bucket + 1) - 1;
    }

    /**
     * Counts per bucket as an HdrHistogram: each bucket's count recorded at the bucket's midpoint
     * (the last bucket at its lowest value), so quantiles are off by at most half a bucket (1/64).
     * {@code maxNanos}, the exact maximum if known (else 0), replaces the midpoint of the highest
     * non-empty bucket, so the histogram's max is exact.
     */
    public static Histogram toHistogram(long[] counts, long maxNanos) {
        Histogram h = newHistogram();
        int top = counts.length - 1;
        while (top >= 0 && counts[top] == 0) {
            top--;
        }
        for (int b = 0; b <= top; b++) {
            long n = counts[b];
            if (n == 0) {
                continue;
            }
            long value = b == BUCKETS - 1 ? lowest(b) : (lowest(b) + highest(b)) >>> 1;
            if (b == top && maxNanos > 0) {
                h.recordValueWithCount(clamp(Math.min(value, maxNanos)), n - 1);
                h.recordValue(clamp(maxNanos));
            } else {
                h.recordValueWithCount(clamp(value), n);
            }
        }
        return h;
    }

    /** An empty histogram of nanoseconds up to an hour, two significant digits (what every latency here uses). */
    public static Histogram newHistogram() {
        return new Histogram(HIGHEST_TRACKABLE, 2);
    }

    /** {@code nanos} clamped into the range {@link #newHistogram} tracks. */
    public static long clamp(long nanos) {
        return Math.max(0, Math.min(nanos, HIGHEST_TRACKABLE));
    }

    private static final long HIGHEST_TRACKABLE = 3_600_000_000_000L;

    /**
     * A histogram that several threads record into at once, allocation-free: one atomic add per
     * value, plus a CAS loop that keeps the exact maximum.
     */
    public static final class Recorder {
        private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
        private final AtomicLong max = new AtomicLong();
        private final AtomicLong count = new AtomicLong();

        /** Records one value; returns how many values were recorded before it (a fault's ordinal). */
        public long record(long nanos) {
            counts.getAndIncrement(bucket(nanos));
            long m = max.get();
            while (nanos > m && !max.compareAndSet(m, nanos)) {
                m = max.get();
            }
            return count.getAndIncrement();
        }

        /** The counts per bucket (racy: a concurrent record may be in some counts and not in others). */
        public long[] counts() {
            long[] c = new long[BUCKETS];
            for (int i = 0; i < BUCKETS; i++) {
                c[i] = counts.get(i);
            }
            return c;
        }

        public long max() {
            return max.get();
        }
    }
}
