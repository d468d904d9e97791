package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One bit per 8-byte heap word, set on the first word of objects the collector will move: every
 * marked object that covers the first word of a 512-byte chunk ({@link #coversChunkStart}; the
 * marker sets it), and every object allocated while a concurrent cycle runs (set when its TLAB is
 * retired, or when it is allocated outside a TLAB). The live-words {@link MarkBitmap} cannot tell
 * where one live object ends and the next begins. With this bitmap the planner finds the object
 * that lands at the start of each to-space page without walking every live object: the last
 * recorded start at or below the word (see {@link #preceding}), or else the first live word of
 * the word's chunk, which then starts an object, and a few header hops within the chunk. Marking
 * records only the chunk-crossing objects (a few percent of small objects) to stay cheap. Java
 * only: the native compactor never reads it (it is not in {@link MetadataDescriptor}).
 *
 * <p><b>Assumptions and Guarantees:</b> cleared below a cycle's used top before the cycle starts
 * marking ({@link #clear}); from then until the flip, bits are only set. Two objects written by
 * different threads can share a 64-bit entry, so such entries are set with an atomic OR
 * ({@link #orAtomic}); an entry only one thread can write may be set plainly ({@link #orPlain}).
 * Read by the planner after the bits it needs are final (a happens-before edge from the pause
 * that retired the TLABs, or from the marking threads' end).
 */
public final class ObjectStartBitmap {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG;
    private static final VarHandle ENTRY = U64.varHandle();
    private final MemorySegment bits;
    private final long entries;

    ObjectStartBitmap(Arena arena, long heapBytes) {
        this.entries = Math.ceilDiv(heapBytes, MetadataDescriptor.CHUNK_BYTES);
        this.bits = arena.allocate(entries * 8, 64);
    }

    /** Clears the bits of the heap bytes {@code [0, usedBytes)} (whole entries). */
    public void clear(long usedBytes) {
        bits.asSlice(0, Math.min(entries, Math.ceilDiv(usedBytes, MetadataDescriptor.CHUNK_BYTES)) * 8).fill((byte) 0);
    }

    /** True if the object of {@code words} words at byte {@code offset} covers the first word of a chunk. */
    public static boolean coversChunkStart(long offset, long words) {
        return (offset & (MetadataDescriptor.CHUNK_BYTES - 1)) == 0
                || (offset >>> MetadataDescriptor.LOG_CHUNK_BYTES) != ((offset + (words << 3) - 1) >>> MetadataDescriptor.LOG_CHUNK_BYTES);
    }

    /** The entry holding the bit of the word at byte {@code offset}. */
    public static long entryOf(long offset) {
        return offset >>> MetadataDescriptor.LOG_CHUNK_BYTES;
    }

    /** The bit of the word at byte {@code offset} within its entry. */
    public static long bitOf(long offset) {
        return 1L << ((offset >>> 3) & 63);
    }

    /** ORs {@code mask} into entry {@code entry}, safely against other writers of the same entry. */
    public void orAtomic(long entry, long mask) {
        ENTRY.getAndBitwiseOr(bits, entry << 3, mask);
    }

    /** ORs {@code mask} into entry {@code entry}: only if no other thread can write it meanwhile. */
    public void orPlain(long entry, long mask) {
        bits.setAtIndex(U64, entry, bits.getAtIndex(U64, entry) | mask);
    }

    /** True if an object starts at byte {@code offset}. */
    public boolean isStart(long offset) {
        return (bits.getAtIndex(U64, entryOf(offset)) & bitOf(offset)) != 0;
    }

    /** Byte offset of the last object start at or below {@code offset} within its chunk, or -1. */
    public long precedingInChunk(long offset) {
        long w = offset >>> 3;
        long word = bits.getAtIndex(U64, w >>> 6) & (-1L >>> (63 - (w & 63)));
        return word == 0 ? -1 : (((w >>> 6) << 6) + 63 - Long.numberOfLeadingZeros(word)) << 3;
    }

    /**
     * Byte offset of the last object start at or below {@code offset}: the object that covers the
     * word at {@code offset} if that word belongs to an object this bitmap records. -1 if none.
     */
    public long preceding(long offset) {
        long w = offset >>> 3;
        long idx = w >>> 6;
        long word = bits.getAtIndex(U64, idx) & (-1L >>> (63 - (w & 63)));
        while (word == 0) {
            if (--idx < 0) {
                return -1;
            }
            word = bits.getAtIndex(U64, idx);
        }
        return ((idx << 6) + 63 - Long.numberOfLeadingZeros(word)) << 3;
    }
}
