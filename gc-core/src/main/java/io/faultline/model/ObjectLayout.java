package io.faultline.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The one place where the encoding of a heap object is described. Every other class (Java
 * accessors, the planner, the page compactor, the verifier, and the native compactor in
 * {@code uffd-backend/src/main/c/layout.h}) reads objects through these constants.
 *
 * <pre>
 *  byte 0        8                 16            16 + 4*refs (rounded up to 8)
 *  +-------------+-----------------+-------------+------------------------------+
 *  | size | refs | len | type | mag | ref slots   | data bytes (fields, elements)|
 *  +-------------+-----------------+-------------+------------------------------+
 *   word 0 (header word)            u32 each,     8-byte aligned, little endian
 *   bits  0..31  size in words      compressed
 *   bits 32..63  reference slots    (0 = null)
 *                   word 1 (class word)
 *                   bits  0..31 array length (0 for plain objects)
 *                   bits 32..47 type id
 *                   bits 48..63 magic 0xFA17
 * </pre>
 *
 * <ul>
 *   <li>Objects are 8-byte aligned and at least {@link #MIN_OBJECT_WORDS} words long; the size
 *       counts the header. A header word whose size is 1 and whose reference count is 0 is a
 *       one-word filler (no class word): it plugs an 8-byte gap left by a retired TLAB.</li>
 *   <li>The header is self-describing: size and reference count are all that the collector (and
 *       the native compactor) needs. The class word serves checked accessors and the verifier.</li>
 *   <li>References are 32-bit compressed: {@code ref = heapOffset >>> 3}, {@code 0} is null. A heap
 *       can therefore address 32 GiB. Offset 0 holds a permanent two-word "null guard" object so
 *       that no real object ever has reference 0.</li>
 *   <li>All words are little endian (the native byte order of every machine we run on).</li>
 * </ul>
 */
public final class ObjectLayout {
    private ObjectLayout() {}

    public static final int WORD_BYTES = 8;
    public static final int LOG_WORD_BYTES = 3;
    public static final int REF_BYTES = 4;
    public static final int HEADER_BYTES = 16;
    /**
     * Offset, from the object start, of element 0 of a byte, int, long or double array (arrays of
     * primitives have no reference slots, so their data follows the header). Element {@code i} of
     * an array of {@code n}-byte elements is at {@code ARRAY_DATA_OFFSET + i * n}.
     */
    public static final int ARRAY_DATA_OFFSET = HEADER_BYTES;
    public static final int MIN_OBJECT_WORDS = 2;
    /** Magic value in the top 16 bits of the class word. */
    public static final int MAGIC = 0xFA17;
    /** Largest reference-slot count an object may have. */
    public static final long MAX_REFS = 0xFFFF_FFFFL;
    /** Largest object, in words; the 32-bit size field is the limit. */
    public static final long MAX_OBJECT_WORDS = 0xFFFF_FFFFL;
    /** Largest heap that 32-bit compressed references can address. */
    public static final long MAX_HEAP_BYTES = 1L << 35;

    /** Type id of the permanent null guard at offset 0. */
    public static final int TYPE_NULL_GUARD = 0;
    /** Type id of multi-word filler objects (dead space inside the used region). */
    public static final int TYPE_FILLER = 1;
    /** Reference arrays: all slots are references, the length is the slot count. */
    public static final int TYPE_REF_ARRAY = 2;
    public static final int TYPE_BYTE_ARRAY = 3;
    public static final int TYPE_INT_ARRAY = 4;
    public static final int TYPE_LONG_ARRAY = 5;
    public static final int TYPE_DOUBLE_ARRAY = 6;
    /** First id handed to user-defined types. */
    public static final int FIRST_USER_TYPE = 16;
    public static final int MAX_TYPE_ID = 0xFFFF;

    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    // ---- header word ---------------------------------------------------------------------

    public static long headerWord(long sizeWords, long refs) {
        return (sizeWords & 0xFFFF_FFFFL) | (refs << 32);
    }

    public static long sizeWords(long headerWord) {
        return headerWord & 0xFFFF_FFFFL;
    }

    public static long refCount(long headerWord) {
        return headerWord >>> 32;
    }

    /** One-word filler header. */
    public static final long ONE_WORD_FILLER = headerWord(1, 0);

    // ---- class word ----------------------------------------------------------------------

    public static long classWord(int typeId, long length) {
        return (length & 0xFFFF_FFFFL) | ((long) (typeId & 0xFFFF) << 32) | ((long) MAGIC << 48);
    }

    public static int typeId(long classWord) {
        return (int) ((classWord >>> 32) & 0xFFFF);
    }

    public static int magic(long classWord) {
        return (int) (classWord >>> 48);
    }

    public static long length(long classWord) {
        return classWord & 0xFFFF_FFFFL;
    }

    // ---- geometry -------------------------------------------------------------------------

    /** Byte offset, from the object start, of reference slot {@code i}. */
    public static long refSlotOffset(long slot) {
        return HEADER_BYTES + slot * REF_BYTES;
    }

    /** Byte offset, from the object start, of the data area of an object with {@code refs} slots. */
    public static long dataOffset(long refs) {
        return HEADER_BYTES + alignWord(refs * REF_BYTES);
    }

    /** Total size in words of an object with {@code refs} slots and {@code dataBytes} of data. */
    public static long objectWords(long refs, long dataBytes) {
        return Math.max(MIN_OBJECT_WORDS, (dataOffset(refs) + alignWord(dataBytes)) >>> LOG_WORD_BYTES);
    }

    public static long alignWord(long bytes) {
        return (bytes + WORD_BYTES - 1) & -WORD_BYTES;
    }

    // ---- compressed references ------------------------------------------------------------

    public static long refToOffset(int ref) {
        return Integer.toUnsignedLong(ref) << LOG_WORD_BYTES;
    }

    public static int offsetToRef(long offset) {
        return (int) (offset >>> LOG_WORD_BYTES);
    }

    // ---- raw reads and writes ---------------------------------------------------------------

    public static long readHeader(MemorySegment heap, long offset) {
        return heap.get(LONG, offset);
    }

    public static void writeHeader(MemorySegment heap, long offset, long sizeWords, long refs, int typeId, long length) {
        writeHeaderWords(heap, offset, headerWord(sizeWords, refs), classWord(typeId, length));
    }

    /** Writes an object's two header words, already encoded, at {@code offset}. */
    public static void writeHeaderWords(MemorySegment heap, long offset, long headerWord, long classWord) {
        heap.set(LONG, offset, headerWord);
        heap.set(LONG, offset + WORD_BYTES, classWord);
    }

    /**
     * Writes a filler covering {@code bytes} (a multiple of 8, at least 8) at {@code offset}, so
     * the used region stays parsable.
     */
    public static void writeFiller(MemorySegment heap, long offset, long bytes) {
        long words = bytes >>> LOG_WORD_BYTES;
        if (words == 1) {
            heap.set(LONG, offset, ONE_WORD_FILLER);
        } else if (words >= MIN_OBJECT_WORDS) {
            writeHeader(heap, offset, words, 0, TYPE_FILLER, 0);
        }
    }
}
