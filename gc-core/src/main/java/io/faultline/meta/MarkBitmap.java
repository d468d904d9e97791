package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The live-words bitmap: one bit per 8-byte heap word, set for every word of every live object
 * (not just its first), so that a popcount of the bits below an object is the number of live
 * bytes before it in its chunk. Layout in {@link MetadataDescriptor}.
 *
 * <p><b>Assumptions and Guarantees:</b> marking is done by one thread inside a pause; readers
 * (planning, compaction, native code) run after it with a happens-before edge from the pause.
 */
public final class MarkBitmap {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;
    private final MemorySegment bits;
    private final long entries;

    MarkBitmap(Arena arena, long heapBytes) {
        this.entries = Math.ceilDiv(heapBytes, MetadataDescriptor.CHUNK_BYTES);
        this.bits = arena.allocate(entries * MetadataDescriptor.BITMAP_ENTRY_BYTES, 64);
    }

    public MemorySegment segment() {
        return bits;
    }

    public long entries() {
        return entries;
    }

    public void clear(long usedBytes) {
        bits.asSlice(0, Math.ceilDiv(usedBytes, MetadataDescriptor.CHUNK_BYTES) * 8).fill((byte) 0);
    }

    public long entry(long chunk) {
        return bits.getAtIndex(U64, chunk);
    }

    /** True if the word at {@code offset} (a multiple of 8) is marked live. */
    public boolean isMarked(long offset) {
        long w = offset >>> 3;
        return (bits.getAtIndex(U64, w >>> 6) & (1L << (w & 63))) != 0;
    }

    /** Marks the {@code words} words starting at byte {@code offset} live. */
    public void markRange(long offset, long words) {
        long w = offset >>> 3;
        long end = w + words;
        while (w < end) {
            long idx = w >>> 6;
            int bit = (int) (w & 63);
            int n = (int) Math.min(64 - bit, end - w);
            long mask = n == 64 ? -1L : ((1L << n) - 1) << bit;
            bits.setAtIndex(U64, idx, bits.getAtIndex(U64, idx) | mask);
            w += n;
        }
    }

    /**
     * Byte offset of the first marked word at or after {@code offset} and below {@code limit},
     * or {@code limit} if there is none.
     */
    public long nextMarked(long offset, long limit) {
        long w = offset >>> 3;
        long endW = limit >>> 3;
        if (w >= endW) {
            return limit;
        }
        long idx = w >>> 6;
        long word = bits.getAtIndex(U64, idx) & (-1L << (w & 63));
        long lastIdx = (endW - 1) >>> 6;
        while (true) {
            if (word != 0) {
                long found = (idx << 6) + Long.numberOfTrailingZeros(word);
                return found < endW ? found << 3 : limit;
            }
            if (++idx > lastIdx) {
                return limit;
            }
            word = bits.getAtIndex(U64, idx);
        }
    }

    /** Number of marked words in the chunk {@code chunk}. */
    public int liveWordsInChunk(long chunk) {
        return Long.bitCount(bits.getAtIndex(U64, chunk));
    }
}
