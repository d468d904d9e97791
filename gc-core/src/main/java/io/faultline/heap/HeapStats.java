package io.faultline.heap;

import java.util.Locale;

/**
 * A snapshot of a heap's counters. Sizes in bytes, times in nanoseconds.
 *
 * @param capacity        heap capacity
 * @param used            bytes below the allocation top (live, garbage and TLAB slack)
 * @param liveAfterLastGc bytes the last collection kept (0 before the first): the live objects,
 *                        plus, after a concurrent cycle, what was allocated during it and what
 *                        died during its marking (floating garbage, reclaimed by the next one);
 *                        after a young cycle also every old object, dead or not
 *                        ({@link HeapConfig.Builder#youngCycles})
 * @param blackAfterLastGc of {@code liveAfterLastGc}, the bytes allocated while that collection ran
 *                        (kept without marking: allocated black, TLAB slack included); 0 after a
 *                        full pause. After a full cycle {@code liveAfterLastGc - blackAfterLastGc}
 *                        is what marking found
 * @param gcCycles        completed collections (flipped cycles)
 * @param pagesCompacted  to-space pages built, over all collections whose compaction has completed (a
 *                        concurrent compaction still in flight is counted when it completes; after
 *                        {@link Heap#awaitCompaction()} every cycle in {@code gcCycles} is counted)
 * @param faults          page faults served to mutators, over all collections
 * @param pauseMaxNanos   longest pause of any kind, from the stop request to the resume
 *                        (time-to-safepoint included; heap verification, a test aid, excluded)
 * @param pauseTotalNanos sum of all pauses
 * @param compactionNanos sum of the compaction phases (inside or after the pause)
 * @param compactionMaxNanos longest compaction phase
 * @param verifiedCycles  cycles whose result the verifier checked and found intact (equals
 *                        {@code gcCycles} after {@link Heap#verify()} when every check passed)
 * @param initialMarkPauses the initial-mark pauses of concurrent cycles
 * @param remarkPauses    the remark pauses of concurrent cycles
 * @param flipPauses      the flip pauses of concurrent cycles
 * @param fullPauses      full pauses: stop-the-world marking, or an allocation that did not fit
 * @param concurrentCycles cycles that marked concurrently and flipped
 * @param abandonedCycles concurrent cycles abandoned for a full pause (an allocation did not fit first)
 * @param youngCycles     concurrent cycles that left the old objects alone ({@link HeapConfig.Builder#youngCycles})
 * @param concurrentMarkNanos sum of the concurrent marking phases
 * @param concurrentPlanNanos sum of the concurrent planning phases
 * @param blackBytes      bytes allocated during concurrent cycles (kept live by them: allocated black)
 * @param satbEntries     values the write barrier logged and marking processed, over all concurrent cycles
 * @param allocationStalls allocations that waited for a concurrent cycle's flip because they did not
 *                        fit (not pauses: only the allocating thread waited, other mutators ran on)
 * @param faultLatency    how long serving each fault took ({@code faults} of them, by the backend's
 *                        measure: java, the faulting mutator's whole wait; uffd thread delivery,
 *                        from reading the fault message to serving it; SIGBUS, the handler)
 */
public record HeapStats(long capacity, long used, long liveAfterLastGc, long blackAfterLastGc, long gcCycles, long pagesCompacted,
                        long faults, long pauseMaxNanos, long pauseTotalNanos, long compactionNanos,
                        long compactionMaxNanos, long verifiedCycles, Pauses initialMarkPauses, Pauses remarkPauses,
                        Pauses flipPauses, Pauses fullPauses, long concurrentCycles, long abandonedCycles, long youngCycles,
                        long concurrentMarkNanos, long concurrentPlanNanos, long blackBytes, long satbEntries,
                        Pauses allocationStalls, Latency faultLatency) {

    /**
     * The pauses (or stalls) of one kind: how many, the longest, the sum, and the 50th, 90th, 99th
     * and 99.9th percentiles of their durations (nanoseconds; from an HdrHistogram with two
     * significant digits, never above the exact maximum).
     */
    public record Pauses(long count, long maxNanos, long totalNanos, long p50Nanos, long p90Nanos, long p99Nanos,
                         long p999Nanos) {
        public static final Pauses NONE = new Pauses(0, 0, 0);

        /** Without percentiles (all zero). */
        public Pauses(long count, long maxNanos, long totalNanos) {
            this(count, maxNanos, totalNanos, 0, 0, 0, 0);
        }

        /** With percentiles {@code p} = {p50, p90, p99, p99.9}. */
        public Pauses(long count, long maxNanos, long totalNanos, long[] p) {
            this(count, maxNanos, totalNanos, p[0], p[1], p[2], p[3]);
        }
    }

    /**
     * A latency distribution (nanoseconds): how many, the 50th, 90th, 99th and 99.9th percentiles
     * (HdrHistogram, two significant digits) and the exact maximum.
     *
     * @param delivery how the faults were served ({@code java}, {@code thread}, {@code sigbus}; {@code none})
     */
    public record Latency(String delivery, long count, long p50Nanos, long p90Nanos, long p99Nanos, long p999Nanos,
                          long maxNanos) {
        public static final Latency NONE = new Latency("none", 0, 0, 0, 0, 0, 0);
    }

    /**
     * Every counter as {@code name=value}, under the names and units that {@code faultline run --json}
     * uses for them: sizes in bytes, times in milliseconds with three decimals.
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "heapBytes=%d usedBytes=%d liveBytesAfterLastGc=%d blackBytesAfterLastGc=%d gcCycles=%d pagesCompacted=%d "
                        + "faults=%d pauseMaxMs=%.3f pauseTotalMs=%.3f compactionMs=%.3f compactionMaxMs=%.3f verifiedCycles=%d"
                        + "%s%s%s%s concurrentCycles=%d abandonedCycles=%d youngCycles=%d concurrentMarkMs=%.3f concurrentPlanMs=%.3f blackBytes=%d satbEntries=%d"
                        + " allocationStallCount=%d allocationStallMaxMs=%.3f allocationStallTotalMs=%.3f"
                        + " allocationStallP50Ms=%.3f allocationStallP90Ms=%.3f allocationStallP99Ms=%.3f allocationStallP999Ms=%.3f"
                        + " faultLatencyCount=%d faultLatencyP50Us=%.3f faultLatencyP90Us=%.3f faultLatencyP99Us=%.3f"
                        + " faultLatencyP999Us=%.3f faultLatencyMaxUs=%.3f",
                capacity, used, liveAfterLastGc, blackAfterLastGc, gcCycles, pagesCompacted, faults, pauseMaxNanos / 1e6,
                pauseTotalNanos / 1e6, compactionNanos / 1e6, compactionMaxNanos / 1e6, verifiedCycles,
                kind("InitialMark", initialMarkPauses), kind("Remark", remarkPauses), kind("Flip", flipPauses),
                kind("Full", fullPauses), concurrentCycles, abandonedCycles, youngCycles, concurrentMarkNanos / 1e6,
                concurrentPlanNanos / 1e6, blackBytes, satbEntries, allocationStalls.count(),
                allocationStalls.maxNanos() / 1e6, allocationStalls.totalNanos() / 1e6, allocationStalls.p50Nanos() / 1e6,
                allocationStalls.p90Nanos() / 1e6, allocationStalls.p99Nanos() / 1e6, allocationStalls.p999Nanos() / 1e6,
                faultLatency.count(), faultLatency.p50Nanos() / 1e3, faultLatency.p90Nanos() / 1e3,
                faultLatency.p99Nanos() / 1e3, faultLatency.p999Nanos() / 1e3, faultLatency.maxNanos() / 1e3);
    }

    private static String kind(String name, Pauses p) {
        return String.format(Locale.ROOT, " pause%sCount=%d pause%sMaxMs=%.3f pause%sTotalMs=%.3f pause%sP50Ms=%.3f"
                        + " pause%sP90Ms=%.3f pause%sP99Ms=%.3f pause%sP999Ms=%.3f",
                name, p.count(), name, p.maxNanos() / 1e6, name, p.totalNanos() / 1e6, name, p.p50Nanos() / 1e6,
                name, p.p90Nanos() / 1e6, name, p.p99Nanos() / 1e6, name, p.p999Nanos() / 1e6);
    }
}
