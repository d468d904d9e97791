package io.faultline.gc;

/**
 * The collector's part of a heap's configuration ({@code HeapConfig} builds it; see there for
 * what each setting does and its default).
 *
 * @param concurrentCompaction  false: the pause compacts every page itself
 * @param compactorThreads      compactor threads for concurrent compaction
 * @param compactionStepPages   pages per protocol step between checks for completion and failure
 * @param runPages              pages a compactor claims, builds and installs at once
 * @param faultAroundPages      pages a fault builds after the faulting page (0: off)
 * @param releaseBatchBytes     consumed from-space is released in steps of at least this many bytes
 * @param verifyAfterGc         run the heap verifier after every cycle
 * @param relocateEveryObject   debug: every cycle moves every object to the other half of the heap
 * @param concurrentMarking     mark and plan outside the pauses (false: inside one pause)
 * @param markingThreads        threads that mark concurrently
 * @param markingHeadroomPercent free space, in percent of what the last collection freed, below which a cycle starts
 * @param youngCycles           cycles that start by themselves may leave the old objects alone (kept by two young cycles in a row, or by a full one)
 * @param markingHooks          callbacks at the points of a concurrent cycle
 */
public record CollectorSettings(boolean concurrentCompaction, int compactorThreads, long compactionStepPages,
                                long runPages, long faultAroundPages, long releaseBatchBytes, boolean verifyAfterGc,
                                boolean relocateEveryObject, boolean concurrentMarking, int markingThreads,
                                int markingHeadroomPercent, boolean youngCycles, MarkingHooks markingHooks) {
}
