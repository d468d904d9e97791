package io.faultline.heap;

import java.util.Locale;

/**
 * A snapshot of a heap's counters. Sizes in bytes, times in nanoseconds.
 *
 * @param capacity        heap capacity
 * @param used            bytes below the allocation top (live, garbage and TLAB slack)
 * @param liveAfterLastGc bytes the last collection kept (0 before the first): the live objects,
 *                        plus, after a concurrent cycle, what was allocated during it and what
 *                        died during its marking (floating garbage, reclaimed by the next one)
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
 * @param concurrentMarkNanos sum of the concurrent marking phases
 * @param concurrentPlanNanos sum of the concurrent planning phases
 * @param blackBytes      bytes allocated during concurrent cycles (kept live by them: allocated black)
 * @param satbEntries     values the write barrier logged and marking processed, over all concurrent cycles
 * @param allocationStalls allocations that waited for a concurrent cycle's flip because they did not
 *                        fit (not pauses: only the allocating thread waited, other mutators ran on)
 */
public record HeapStats(long capacity, long used, long liveAfterLastGc, long gcCycles, long pagesCompacted,
                        long faults, long pauseMaxNanos, long pauseTotalNanos, long compactionNanos,
                        long compactionMaxNanos, long verifiedCycles, Pauses initialMarkPauses, Pauses remarkPauses,
                        Pauses flipPauses, Pauses fullPauses, long concurrentCycles, long abandonedCycles,
                        long concurrentMarkNanos, long concurrentPlanNanos, long blackBytes, long satbEntries,
                        Pauses allocationStalls) {

    /** The pauses (or stalls) of one kind: how many, the longest, the sum (nanoseconds). */
    public record Pauses(long count, long maxNanos, long totalNanos) {
        public static final Pauses NONE = new Pauses(0, 0, 0);
    }

    /**
     * Every counter as {@code name=value}, under the names and units that {@code faultline run --json}
     * uses for them: sizes in bytes, times in milliseconds with three decimals.
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "heapBytes=%d usedBytes=%d liveBytesAfterLastGc=%d gcCycles=%d pagesCompacted=%d "
                        + "faults=%d pauseMaxMs=%.3f pauseTotalMs=%.3f compactionMs=%.3f compactionMaxMs=%.3f verifiedCycles=%d"
                        + "%s%s%s%s concurrentCycles=%d abandonedCycles=%d concurrentMarkMs=%.3f concurrentPlanMs=%.3f blackBytes=%d satbEntries=%d"
                        + " allocationStallCount=%d allocationStallMaxMs=%.3f allocationStallTotalMs=%.3f",
                capacity, used, liveAfterLastGc, gcCycles, pagesCompacted, faults, pauseMaxNanos / 1e6,
                pauseTotalNanos / 1e6, compactionNanos / 1e6, compactionMaxNanos / 1e6, verifiedCycles,
                kind("InitialMark", initialMarkPauses), kind("Remark", remarkPauses), kind("Flip", flipPauses),
                kind("Full", fullPauses), concurrentCycles, abandonedCycles, concurrentMarkNanos / 1e6,
                concurrentPlanNanos / 1e6, blackBytes, satbEntries, allocationStalls.count(),
                allocationStalls.maxNanos() / 1e6, allocationStalls.totalNanos() / 1e6);
    }

    private static String kind(String name, Pauses p) {
        return String.format(Locale.ROOT, " pause%sCount=%d pause%sMaxMs=%.3f pause%sTotalMs=%.3f",
                name, p.count(), name, p.maxNanos() / 1e6, name, p.totalNanos() / 1e6);
    }
}
