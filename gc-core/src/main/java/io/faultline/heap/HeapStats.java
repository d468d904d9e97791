package io.faultline.heap;

import java.util.Locale;

/**
 * A snapshot of a heap's counters. Sizes in bytes, times in nanoseconds.
 *
 * @param capacity        heap capacity
 * @param used            bytes below the allocation top (live, garbage and TLAB slack)
 * @param liveAfterLastGc live bytes found by the last collection (0 before the first)
 * @param gcCycles        completed collections
 * @param pagesCompacted  to-space pages built, over all collections whose compaction has completed (a
 *                        concurrent compaction still in flight is counted when it completes; after
 *                        {@link Heap#awaitCompaction()} every cycle in {@code gcCycles} is counted)
 * @param faults          page faults served to mutators, over all collections
 * @param pauseMaxNanos   longest pause, from the stop request to the resume (time-to-safepoint
 *                        included; heap verification, a test aid, excluded)
 * @param pauseTotalNanos sum of all pauses
 * @param compactionNanos sum of the compaction phases (inside or after the pause)
 * @param compactionMaxNanos longest compaction phase
 * @param verifiedCycles  cycles whose result the verifier checked and found intact (equals
 *                        {@code gcCycles} after {@link Heap#verify()} when every check passed)
 */
public record HeapStats(long capacity, long used, long liveAfterLastGc, long gcCycles, long pagesCompacted,
                        long faults, long pauseMaxNanos, long pauseTotalNanos, long compactionNanos,
                        long compactionMaxNanos, long verifiedCycles) {
    /**
     * Every counter as {@code name=value}, under the names and units that {@code faultline run --json}
     * uses for them: sizes in bytes, times in milliseconds with three decimals.
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "heapBytes=%d usedBytes=%d liveBytesAfterLastGc=%d gcCycles=%d pagesCompacted=%d "
                        + "faults=%d pauseMaxMs=%.3f pauseTotalMs=%.3f compactionMs=%.3f compactionMaxMs=%.3f verifiedCycles=%d",
                capacity, used, liveAfterLastGc, gcCycles, pagesCompacted, faults, pauseMaxNanos / 1e6,
                pauseTotalNanos / 1e6, compactionNanos / 1e6, compactionMaxNanos / 1e6, verifiedCycles);
    }
}
