/**
 * The mark-compact collector: the Compressor, as in ART's userfaultfd collector, with
 * concurrent page-by-page compaction.
 *
 * <p>{@link io.faultline.gc.Collector} runs a cycle. First a pause: retire TLABs, mark (the
 * package-private {@code Marker}), plan (the package-private {@code Planner}), rewrite roots, hand
 * the old contents to the backend as from-space, and mark every to-space page UNPROCESSED. Then,
 * while mutators run, compactor threads ({@code CompactorPool}) claim pages in ascending order
 * and build them. A mutator that touches an unbuilt page builds it itself or waits for its owner
 * ({@link io.faultline.gc.Collector#pageFault}). The thread that finds every page built
 * completes the cycle. Verification failures surface as
 * {@link io.faultline.gc.HeapCorruptedException}.
 *
 * <p><b>Threading:</b> at most one pause runs at a time, and a new cycle never starts before the
 * previous compaction has finished. Each page has exactly one builder: the winner of its
 * UNPROCESSED to PROCESSING compare-and-set, validated against the cycle. A claimer that turns
 * out to be stale reverts its claim. Compactor threads never park at safepoints and never wait
 * for a mutator. See {@code docs/gc-cycle.md}.
 */
package io.faultline.gc;
