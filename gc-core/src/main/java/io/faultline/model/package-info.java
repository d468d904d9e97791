/**
 * The heap object encoding and the layout descriptors of user types.
 *
 * <p>{@link io.faultline.model.ObjectLayout} is the single description of an object: a header word
 * (size in words, reference-slot count), a class word (array length, 16-bit type id, magic
 * {@code 0xFA17}), then the 32-bit compressed reference slots ({@code offset >>> 3}, 0 = null),
 * then the data bytes. The header alone tells the collector and the native compactor
 * ({@code uffd-backend/src/main/c/layout.h}) everything they need. Offset 0 holds a permanent
 * null guard, and fillers keep the used region walkable.
 *
 * <p>{@link io.faultline.model.ObjectType} describes a fixed-shape user type: named reference
 * slots and named primitive fields, with byte offsets computed by its builder. Each
 * {@link io.faultline.model.TypeRegistry} maps ids to the types that one heap has seen.
 * Checked accessors report bad input with {@link io.faultline.model.InvalidAccessException}.
 *
 * <p><b>Threading:</b> {@code ObjectLayout} is stateless and {@code ObjectType} is immutable.
 * {@code TypeRegistry} registers under a lock, and its lookups are lock-free reads of a
 * copy-on-write array. See {@code docs/object-model.md}.
 */
package io.faultline.model;
