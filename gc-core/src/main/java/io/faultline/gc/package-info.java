/**
 * The mark-compact collector: the Compressor (Kermany and Petrank, PLDI 2006) as ART's
 * userfaultfd collector runs it, with concurrent snapshot-at-the-beginning marking and concurrent
 * page-by-page compaction.
 *
 * <h2>One cycle</h2>
 * <pre>
 *  mutators  --run--|init|-- run, barrier on --|remark|-- run --------|flip|-- run, may fault --
 *  collector        |mark| concurrent marking  |      | concurrent    |    | concurrent compaction,
 *                   |    | (rounds over SATB)  |      | plan          |    | from-space released
 *  pause work:  O(roots)                 O(SATB entries)  O(allocated since remark + roots + used pages*)
 *                                                          * the uffd backend's kernel work
 * </pre>
 * {@link io.faultline.gc.Collector} is the heap's entry point: it owns the metadata and the
 * threads, and runs stop-the-world cycles (an allocation that did not fit, or
 * {@code concurrentMarking(false)}). {@code CycleScheduler} decides when a concurrent cycle
 * starts; {@code ConcurrentCycle} walks it phase by phase; {@code ConcurrentMarking} (with
 * {@code Marker}, {@code MarkPackets}, {@code SatbQueue}) marks while mutators run;
 * {@code Planner} computes where every live object goes; {@code PauseOffer} and {@code Pauses}
 * run the three pauses; {@code Flip} ends the last one by rewriting the roots and handing the
 * old contents to the backend as from-space; {@code Compaction} and {@code CompactorPool} then
 * build every to-space page through the backend's page protocol
 * ({@link io.faultline.backend.PageProtocol}), while a mutator that touches an unbuilt page
 * builds it itself or waits for its owner. The thread that finds every page built completes the
 * cycle. A page that cannot be built fails the heap ({@code HeapFailure}), and every mutator then
 * gets a {@link io.faultline.gc.HeapCorruptedException}.
 *
 * <p><b>Threading:</b> at most one pause runs at a time, one thread drives a cycle at a time, and
 * a new cycle never starts before the previous compaction has finished. Each page has exactly
 * one builder: the winner of its UNPROCESSED to PROCESSING compare-and-set, validated against
 * the cycle's epoch; a claimer that turns out to be stale reverts its claim. Compactor threads
 * never park at safepoints and never wait for a mutator. {@code docs/gc-cycle.md} walks one cycle
 * end to end.
 */
package io.faultline.gc;
