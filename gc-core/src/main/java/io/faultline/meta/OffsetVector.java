package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-chunk exclusive prefix sum of live bytes, the Compressor's forwarding table: with the
 * {@link MarkBitmap} it gives any live object's post-compact offset in O(1) without a forwarding
 * pointer in the object. Layout and formula in {@link MetadataDescriptor}.
 *
 * <p><b>Assumptions and Guarantees:</b> built after marking, by one thread: in the pause
 * ({@link #build}), or with concurrent marking first outside it up to the top at the remark and
 * then extended in the flip pause ({@link #extend}) over what was allocated since. From the flip
 * pause on the table is read-only until the next cycle and may be read from any thread.
 */
public final class OffsetVector {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;
    private final MemorySegment offsets;
    private final MarkBitmap bitmap;

    OffsetVector(Arena arena, MarkBitmap bitmap) {
        this.bitmap = bitmap;
        this.offsets = arena.allocate(bitmap.entries() * MetadataDescriptor.OFFSET_ENTRY_BYTES, 64);
    }

    public MemorySegment segment() {
        return offsets;
    }

    /**
     * Fills the entries for the chunks covering {@code usedBytes} so that live data lands from
     * {@code base} on; returns the post-compact top ({@code base} + live bytes).
     */
    public long build(long usedBytes, long base) {
        return fill(0, base, usedBytes);
    }

    /**
     * Extends a table built (or extended) up to {@code plannedBytes} to {@code usedBytes}, after
     * marks were added at and above {@code plannedBytes} (never below it); returns the
     * post-compact top. Starts again at the chunk holding byte {@code plannedBytes - 1}, whose
     * entry is still right (it counts only the chunks before it) but whose live words may have
     * grown.
     */
    public long extend(long plannedBytes, long usedBytes) {
        long c = (plannedBytes - 1) >>> MetadataDescriptor.LOG_CHUNK_BYTES;
        return fill(c, offsets.getAtIndex(U64, c), usedBytes);
    }

    private long fill(long firstChunk, long sum, long usedBytes) {
        long chunks = Math.ceilDiv(usedBytes, MetadataDescriptor.CHUNK_BYTES);
        for (long c = firstChunk; c < chunks; c++) {
            offsets.setAtIndex(U64, c, sum);
            sum += (long) bitmap.liveWordsInChunk(c) << 3;
        }
        return sum;
    }

    /** Post-compact offset of the first live word of chunk {@code chunk} (entry {@code chunk}). */
    public long chunkOffset(long chunk) {
        return offsets.getAtIndex(U64, chunk);
    }

    /**
     * Post-compact offset of the live object (or live word) at from-space offset {@code offset}.
     * Allocation-free; the answer is meaningless for an unmarked word.
     */
    public long forward(long offset) {
        long chunk = offset >>> MetadataDescriptor.LOG_CHUNK_BYTES;
        int bit = (int) ((offset >>> 3) & 63);
        long below = bitmap.entry(chunk) & ((1L << bit) - 1);
        return offsets.getAtIndex(U64, chunk) + ((long) Long.bitCount(below) << 3);
    }
}
