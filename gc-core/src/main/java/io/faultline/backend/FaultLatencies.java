package io.faultline.backend;

import io.faultline.meta.LatencyBuckets;
import org.HdrHistogram.Histogram;

/**
 * The latencies of the faults a backend served, as counts per {@link LatencyBuckets} bucket.
 *
 * @param delivery  how the faults were served: {@code java} (software faults), {@code thread} (the
 *                  uffd fault-service thread) or {@code sigbus} (the faulting thread's handler)
 * @param counts    faults per bucket ({@link LatencyBuckets#BUCKETS} entries), or empty
 * @param maxNanos  the longest fault, exactly
 */
public record FaultLatencies(String delivery, long[] counts, long maxNanos) {
    /** No faults recorded. */
    public static final FaultLatencies NONE = new FaultLatencies("none", new long[0], 0);

    /** The counts as an HdrHistogram (quantiles within half a bucket, the max exact). */
    public Histogram histogram() {
        return LatencyBuckets.toHistogram(counts, maxNanos);
    }
}
