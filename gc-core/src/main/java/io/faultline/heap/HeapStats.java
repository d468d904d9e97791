package io.faultline.heap;

/**
 * A snapshot of a heap's counters. Sizes in bytes, times in nanoseconds.
 *
 * @param capacity        heap capacity
 * @param used            bytes below the allocation top (live, garbage and TLAB slack)
 * @param liveAfterLastGc live bytes found by the last collection (0 before the first)
 * @param gcCycles        completed collections
 * @param pagesCompacted  to-space pages built, over all collections
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
    @Override
    public String toString() {
        return String.format("capacity=%d used=%d liveAfterLastGc=%d gcCycles=%d pagesCompacted=%d faults=%d "
                        + "pauseMax=%.3fms pauseTotal=%.3fms verifiedCycles=%d",
                capacity, used, liveAfterLastGc, gcCycles, pagesCompacted, faults,
                pauseMaxNanos / 1e6, pauseTotalNanos / 1e6, verifiedCycles);
    }
}
