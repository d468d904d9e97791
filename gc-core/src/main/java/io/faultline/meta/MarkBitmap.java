package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The live-words bitmap: one bit per 8-byte heap word, set for every word of every live object
 * (not just its first), so that a popcount of the bits below an object is the number of live
 * bytes before it in its chunk. Layout in {@link MetadataDescriptor}.
 *
 * <p><b>Assumptions and Guarantees:</b> bits are only ever set during a cycle's marking and
 * cleared before the next one ({@link #clear}, {@link #clearRange}); they are never cleared
 * while anyone marks or reads. Two objects can share a 64-bit entry (the last word of one and
 * the first of the next), so when several threads mark at once they use {@link #markObject},
 * which sets the shared entries with an atomic OR; one marking thread may use the plain
 * {@link #markRange}. {@link #markObject} also decides, by the atomic OR of the object's first
 * bit, which of several racing markers owns the object (traces it). Readers that are not
 * marking (planning, compaction, native code) run after marking ended, with a happens-before
 * edge from the pause that ended it. A reader that races with marking (the mutators' SATB
 * barrier filter) may see a bit late, never early.
 */
public final class MarkBitmap {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;
    private static final VarHandle ENTRY = U64.varHandle();
    private final MemorySegment bits;
    /** {@link #bits}' address, for the unchecked accessors ({@link RawMemory}). */
    private final long bitsAddress;
    private final long entries;

    MarkBitmap(Arena arena, long heapBytes) {
        this.entries = Math.ceilDiv(heapBytes, MetadataDescriptor.CHUNK_BYTES);
        this.bits = arena.allocate(entries * MetadataDescriptor.BITMAP_ENTRY_BYTES, 64);
        this.bitsAddress = bits.address();
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

    /**
     * Clears the whole entries covering the heap bytes {@code [from, to)} ({@code from} rounded
     * down and {@code to} rounded up to a 512-byte chunk): every bit of those entries, including
     * bits just outside the range.
     */
    public void clearRange(long from, long to) {
        long first = from >>> MetadataDescriptor.LOG_CHUNK_BYTES;
        long end = Math.ceilDiv(to, MetadataDescriptor.CHUNK_BYTES);
        if (end > first) {
            bits.asSlice(first * 8, (end - first) * 8).fill((byte) 0);
        }
    }

    /** Clears the bits of the words {@code [offset, end of its chunk)}: stale bits above a cycle's used top. */
    public void clearToChunkEnd(long offset) {
        long w = offset >>> 3;
        int bit = (int) (w & 63);
        if (bit != 0) {
            long idx = w >>> 6;
            bits.setAtIndex(U64, idx, bits.getAtIndex(U64, idx) & ((1L << bit) - 1));
        }
    }

    public long entry(long chunk) {
        return bits.getAtIndex(U64, chunk);
    }

    /** True if the word at {@code offset} (a multiple of 8) is marked live. */
    public boolean isMarked(long offset) {
        long w = offset >>> 3;
        return (bits.getAtIndex(U64, w >>> 6) & (1L << (w & 63))) != 0;
    }

    /**
     * {@link #isMarked} without the segment's checks ({@link RawMemory}): for a marker, which
     * passes offsets below the used top and runs while the side tables cannot be taken back.
     */
    public boolean isMarkedUnchecked(long offset) {
        long w = offset >>> 3;
        return (RawMemory.ALL.get(U64, bitsAddress + ((w >>> 6) << 3)) & (1L << (w & 63))) != 0;
    }

    /** {@link #markRange} without the segment's checks, under {@link #isMarkedUnchecked}'s conditions. */
    public void markRangeUnchecked(long offset, long words) {
        long w = offset >>> 3;
        int first = (int) (w & 63);
        if (words <= 64 - first) { // the object lies within one entry: most objects, one OR and no loop
            long at = bitsAddress + ((w >>> 6) << 3);
            long mask = words == 64 ? -1L : ((1L << words) - 1) << first;
            RawMemory.ALL.set(U64, at, RawMemory.ALL.get(U64, at) | mask);
            return;
        }
        long end = w + words;
        while (w < end) {
            long at = bitsAddress + ((w >>> 6) << 3);
            int bit = (int) (w & 63);
            int n = (int) Math.min(64 - bit, end - w);
            long mask = n == 64 ? -1L : ((1L << n) - 1) << bit;
            RawMemory.ALL.set(U64, at, RawMemory.ALL.get(U64, at) | mask);
            w += n;
        }
    }

    /**
     * Marks the {@code words} words of the object at byte {@code offset} live, safely against
     * other threads marking at the same time; returns true if this call set the object's first
     * bit (the caller owns the object and must trace it), false if it was already set (another
     * marker owns it; the rest of its bits may still be on their way). The entries the object
     * shares with its neighbours are set with an atomic OR, the entries it covers alone with a
     * plain store.
     */
    public boolean markObject(long offset, long words) {
        long w = offset >>> 3;
        long idx = w >>> 6;
        int bit = (int) (w & 63);
        long firstBit = 1L << bit;
        if ((bits.getAtIndex(U64, idx) & firstBit) != 0) {
            return false; // cheap test first: most objects a marker meets twice are already marked
        }
        int n = (int) Math.min(64 - bit, words);
        long mask = (n == 64 ? -1L : (1L << n) - 1) << bit;
        long old = (long) ENTRY.getAndBitwiseOr(bits, idx << 3, mask);
        if ((old & firstBit) != 0) {
            return false;
        }
        long end = w + words;
        w += n;
        while (end - w >= 64) {
            bits.setAtIndex(U64, w >>> 6, -1L); // an entry wholly inside this object: nobody else writes it
            w += 64;
        }
        if (w < end) {
            ENTRY.getAndBitwiseOr(bits, (w >>> 6) << 3, (1L << (end - w)) - 1);
        }
        return true;
    }

    /**
     * Marks the {@code words} words starting at byte {@code offset} live (one marking thread
     * only): the partial entries at either end with an OR, the whole entries between with one
     * fill. The flip pause marks what was allocated since the remark this way, tens of MiB in a
     * heap's first cycle, when a loop over the entries may still be interpreted (14 to 24 ms for
     * 53 to 75 MiB in binary-trees, against 0.4 ms once compiled).
     */
    public void markRange(long offset, long words) {
        long w = offset >>> 3;
        long end = w + words;
        if (w < end && (w & 63) != 0) {
            int bit = (int) (w & 63);
            int n = (int) Math.min(64 - bit, end - w);
            orEntry(w >>> 6, (n == 64 ? -1L : (1L << n) - 1) << bit);
            w += n;
        }
        long whole = (end - w) >>> 6;
        if (whole > 0) {
            bits.asSlice((w >>> 6) << 3, whole << 3).fill((byte) -1);
            w += whole << 6;
        }
        if (w < end) {
            orEntry(w >>> 6, (1L << (end - w)) - 1);
        }
    }

    private void orEntry(long idx, long mask) {
        bits.setAtIndex(U64, idx, bits.getAtIndex(U64, idx) | mask);
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

    /** True if every word of {@code [begin, end)} (multiples of 8, {@code begin < end}) is marked live. */
    public boolean allMarked(long begin, long end) {
        long w = begin >>> 3;
        long endW = end >>> 3;
        long idx = w >>> 6;
        long lastIdx = (endW - 1) >>> 6;
        long head = -1L << (w & 63);
        long tail = -1L >>> (63 - ((endW - 1) & 63));
        if (idx == lastIdx) {
            return (bits.getAtIndex(U64, idx) & head & tail) == (head & tail);
        }
        if ((bits.getAtIndex(U64, idx) & head) != head || (bits.getAtIndex(U64, lastIdx) & tail) != tail) {
            return false;
        }
        for (long i = idx + 1; i < lastIdx; i++) {
            if (bits.getAtIndex(U64, i) != -1L) {
                return false;
            }
        }
        return true;
    }

    /** Number of marked words in the chunk {@code chunk}. */
    public int liveWordsInChunk(long chunk) {
        return Long.bitCount(bits.getAtIndex(U64, chunk));
    }
}
