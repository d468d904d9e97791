package io.faultline.cli;

import io.faultline.bench.Json;
import io.faultline.heap.HeapStats;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code faultline run --json} prints: one JSON object on one line. Times in milliseconds
 * (three decimals; fault latencies in microseconds), sizes in bytes. Every pause kind, the
 * allocation stalls and the fault latencies come with p50, p90, p99 and p99.9 from HdrHistograms. The heap's counters are those of {@link HeapStats}, under the
 * names its {@link HeapStats#toString()} uses, taken after the last compaction completed.
 *
 * @param verified true only if {@code --verify} was given, the run completed, the verifier ran
 *                 after every collection ({@link HeapStats#verifiedCycles()} equals
 *                 {@link HeapStats#gcCycles()}; damage there fails the run) and a final
 *                 verification found nothing
 * @param delivery    the uffd delivery ({@code thread}, {@code sigbus}), null for the java backend
 * @param supply      the uffd page supply ({@code fresh}, ...), null for the java backend
 * @param runPages    pages per compaction run (the heap's setting)
 * @param faultAround pages a fault builds after its own (the heap's setting)
 * @param uffd     the uffd backend's native counters (faults served, ioctls issued by kind,
 *                 EEXIST races, ...) keyed in camel case, or null for the java backend
 * @param injectDamage the run damaged a from-space header on purpose ({@code --inject-damage})
 * @param error    why the run failed, or null
 */
public record RunReport(
        String backend,
        String requestedBackend,
        String mode,
        String delivery,
        String supply,
        long runPages,
        long faultAround,
        String workload,
        int threads,
        int gcThreads,
        boolean concurrent,
        long heapBytes,
        HeapStats stats,
        boolean verified,
        long allocatedBytes,
        double wallMs,
        Map<String, Long> uffd,
        boolean injectDamage,
        String error) {

    /** The JSON line: no newline, keys in a fixed order. A failed run has its error text, and its counters still. */
    public String toJson() {
        StringBuilder b = new StringBuilder(512).append('{');
        field(b, "backend", backend);
        field(b, "requestedBackend", requestedBackend);
        field(b, "mode", mode);
        field(b, "delivery", delivery);
        field(b, "supply", supply);
        field(b, "runPages", runPages);
        field(b, "faultAround", faultAround);
        field(b, "workload", workload);
        field(b, "threads", threads);
        field(b, "gcThreads", gcThreads);
        field(b, "concurrent", concurrent);
        field(b, "heapBytes", heapBytes);
        field(b, "gcCycles", stats.gcCycles());
        field(b, "verified", verified);
        field(b, "verifiedCycles", stats.verifiedCycles());
        field(b, "faults", stats.faults());
        field(b, "pagesCompacted", stats.pagesCompacted());
        field(b, "pauseMaxMs", ms(stats.pauseMaxNanos()));
        field(b, "pauseTotalMs", ms(stats.pauseTotalNanos()));
        field(b, "compactionMs", ms(stats.compactionNanos()));
        field(b, "compactionMaxMs", ms(stats.compactionMaxNanos()));
        pauses(b, "InitialMark", stats.initialMarkPauses());
        pauses(b, "Remark", stats.remarkPauses());
        pauses(b, "Flip", stats.flipPauses());
        pauses(b, "Full", stats.fullPauses());
        field(b, "concurrentCycles", stats.concurrentCycles());
        field(b, "abandonedCycles", stats.abandonedCycles());
        field(b, "youngCycles", stats.youngCycles());
        field(b, "concurrentMarkMs", ms(stats.concurrentMarkNanos()));
        field(b, "concurrentPlanMs", ms(stats.concurrentPlanNanos()));
        field(b, "blackBytes", stats.blackBytes());
        field(b, "satbEntries", stats.satbEntries());
        field(b, "allocationStallCount", stats.allocationStalls().count());
        field(b, "allocationStallMaxMs", ms(stats.allocationStalls().maxNanos()));
        field(b, "allocationStallTotalMs", ms(stats.allocationStalls().totalNanos()));
        field(b, "allocationStallP50Ms", ms(stats.allocationStalls().p50Nanos()));
        field(b, "allocationStallP90Ms", ms(stats.allocationStalls().p90Nanos()));
        field(b, "allocationStallP99Ms", ms(stats.allocationStalls().p99Nanos()));
        field(b, "allocationStallP999Ms", ms(stats.allocationStalls().p999Nanos()));
        HeapStats.Latency f = stats.faultLatency();
        field(b, "faultLatencyDelivery", f.delivery());
        field(b, "faultLatencyCount", f.count());
        field(b, "faultLatencyP50Us", us(f.p50Nanos()));
        field(b, "faultLatencyP90Us", us(f.p90Nanos()));
        field(b, "faultLatencyP99Us", us(f.p99Nanos()));
        field(b, "faultLatencyP999Us", us(f.p999Nanos()));
        field(b, "faultLatencyMaxUs", us(f.maxNanos()));
        field(b, "wallMs", wallMs);
        field(b, "liveBytesAfterLastGc", stats.liveAfterLastGc());
        field(b, "blackBytesAfterLastGc", stats.blackAfterLastGc());
        field(b, "usedBytes", stats.used());
        field(b, "allocatedBytes", allocatedBytes);
        field(b, "uffd", uffd);
        field(b, "injectDamage", injectDamage);
        field(b, "error", error);
        b.setLength(b.length() - 1);
        return b.append('}').toString();
    }

    /** One human-readable line, for runs without {@code --json}. */
    public String summary() {
        return String.format(Locale.ROOT,
                "%s %s: %d GC cycles, %d faults, %d pages compacted, pause max %.3f ms (total %.3f ms), "
                        + "compaction %.3f ms, wall %.0f ms, live after last GC %s, %s",
                mode == null ? backend : backend + "/" + mode + (delivery == null || delivery.equals("thread") ? "" : "/" + delivery)
                        + (supply == null || supply.equals("fresh") ? "" : "/" + supply), workload, stats.gcCycles(), stats.faults(),
                stats.pagesCompacted(), ms(stats.pauseMaxNanos()), ms(stats.pauseTotalNanos()),
                ms(stats.compactionNanos()), wallMs, ByteSize.format(stats.liveAfterLastGc()),
                error != null ? "FAILED" : verified ? "verified" : "not verified");
    }

    /**
     * The pauses of one kind: {@code pause<Kind>Count}, {@code pause<Kind>MaxMs}, {@code pause<Kind>TotalMs}
     * and the percentiles {@code pause<Kind>P50Ms}, {@code P90Ms}, {@code P99Ms}, {@code P999Ms} (p99.9).
     */
    private static void pauses(StringBuilder b, String kind, HeapStats.Pauses p) {
        field(b, "pause" + kind + "Count", p.count());
        field(b, "pause" + kind + "MaxMs", ms(p.maxNanos()));
        field(b, "pause" + kind + "TotalMs", ms(p.totalNanos()));
        field(b, "pause" + kind + "P50Ms", ms(p.p50Nanos()));
        field(b, "pause" + kind + "P90Ms", ms(p.p90Nanos()));
        field(b, "pause" + kind + "P99Ms", ms(p.p99Nanos()));
        field(b, "pause" + kind + "P999Ms", ms(p.p999Nanos()));
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double us(long nanos) {
        return nanos / 1e3;
    }

    private static void field(StringBuilder b, String key, Object value) {
        b.append('"').append(key).append("\":");
        switch (value) {
            case null -> b.append("null");
            case String s -> Json.quote(b, s);
            case Double d -> b.append(String.format(Locale.ROOT, "%.3f", d));
            case Map<?, ?> map -> {
                b.append('{');
                map.forEach((k, v) -> field(b, k.toString(), v));
                if (!map.isEmpty()) {
                    b.setLength(b.length() - 1);
                }
                b.append('}');
            }
            default -> b.append(value);
        }
        b.append(',');
    }
}
