/**
 * The collector's side tables in native memory, with documented byte layouts shared with the C
 * fault path of {@code uffd-backend} ({@code src/main/c/layout.h}).
 *
 * <ul>
 *   <li>{@link io.faultline.gc.meta.MarkBitmap}: one bit per 8-byte word, set for every word
 *       of every live object.</li>
 *   <li>{@link io.faultline.gc.meta.OffsetVector}: per 512-byte chunk, the exclusive prefix sum
 *       of live bytes, so that {@code forward(a) = offsets[chunk] + 8 * popcount(bits below a)}.</li>
 *   <li>{@link io.faultline.gc.meta.FirstObjectTable}: per to-space page, the from-space object
 *       where the page compactor starts.</li>
 *   <li>{@link io.faultline.gc.meta.PageStates}: one {@code int32} state per page, changed only
 *       by compare-and-set or by the owner's release store.</li>
 *   <li>{@link io.faultline.gc.meta.CompactionControl}: a 128-byte block of 64-bit words (claim
 *       cursor, pages left, cycle bounds, counters, abandon flag).</li>
 * </ul>
 * {@link io.faultline.gc.meta.GcMetadataDescriptor} holds the constants and the diagram, and
 * {@link io.faultline.gc.meta.GcMetadata} bundles the tables for a backend.
 *
 * <p><b>Threading:</b> the bitmap, offset vector and first-object table are written by one thread
 * inside the pause and are read-only until the next pause. Page states and the control block are
 * shared atomics (Java volatile or acquire/release access, C {@code __atomic}). See
 * {@code docs/metadata-and-planning.md}.
 */
package io.faultline.meta;
