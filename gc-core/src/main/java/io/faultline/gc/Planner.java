package io.faultline.gc;

import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.OffsetVector;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Compressor planning: after marking, builds the {@link OffsetVector} (where every live object
 * goes) and the {@link FirstObjectTable} (where the page compactor starts for each to-space page).
 * Live objects keep their order, so to-space is the live objects packed from offset 0.
 *
 * <p>The first-object entry of to-space page {@code p} is the live object that covers the page's
 * first byte after compaction. It is found without walking the live objects: the offset vector
 * gives the chunk whose live words land at the page start, a select on that chunk's bitmap entry
 * gives the from-space word that lands exactly there, and the {@link ObjectStartBitmap} gives the
 * object around that word: a recorded start in the word's chunk, or the recorded start of the
 * object that crosses into the chunk (every marked object that covers a chunk's first word is
 * recorded), if that object reaches the word; otherwise the next live word after it starts an
 * object, and header hops within the chunk (live and dead objects alike: the used region is
 * parsable) reach the one covering the word. The cost is one pass over the chunks plus a few
 * operations per page, whatever the number of objects.
 *
 * <pre>
 *  to-space page p starts at P = p * pageSize
 *  chunk c: offsets[c] &lt;= P &lt; offsets[c] + 8 * popcount(bitmap[c])
 *  word w:  the ((P - offsets[c]) / 8)-th set bit of bitmap[c]          (select)
 *  s = last recorded start in [chunk start, w], or of the object covering the chunk start
 *  first[p] = s if s + size(s) &gt; w, else hop from the next live word after s (in w's chunk) to w
 * </pre>
 *
 * <p>Planning is done in one go ({@link #plan}, a full pause) or in two steps (a concurrent
 * cycle): {@link #begin} and {@link #extend} up to the top at the remark, outside any pause,
 * then {@link #extend} in the flip pause over what was allocated since. Between the steps it
 * keeps the next to-space page to fill and the chunk where the search stands.
 *
 * <p><b>Assumptions and Guarantees:</b> one thread at a time. The marks and object starts below
 * the range being planned are final, and marks are only ever added at or above the previous
 * step's end. The range is parsable (its TLABs were retired) and its headers do not change, so
 * mutators may run meanwhile. Each step is O(chunks in its range + to-space pages it adds).
 */
final class Planner {
    private final MarkBitmap bitmap;
    private final ObjectStartBitmap starts;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private final int pageShift;
    private long toBase;
    /** Objects below {@code split} are read through {@code low} instead of the view (see {@link #begin}). */
    private MemorySegment low = MemorySegment.NULL;
    private long split;
    private long plannedTop;
    private long nextPage;
    private long chunk;
    /** A young cycle's old end (0: a full cycle): to-space pages that start below it are old pages. */
    private long oldEnd;
    private OldGeneration old;

    /**
     * Before {@link #begin}: the cycle leaves the objects below {@code oldEnd} where they are (a
     * young cycle; 0: a full cycle), so the first object of a to-space page below it is the one
     * {@code old} recorded.
     */
    void setOld(long oldEnd, OldGeneration old) {
        this.oldEnd = oldEnd;
        this.old = old;
    }

    Planner(MarkBitmap bitmap, ObjectStartBitmap starts, OffsetVector offsets, FirstObjectTable firstObjects, int pageSize) {
        this.bitmap = bitmap;
        this.starts = starts;
        this.offsets = offsets;
        this.firstObjects = firstObjects;
        this.pageShift = Integer.numberOfTrailingZeros(pageSize);
    }

    /**
     * Plans the cycle over the marked objects below {@code used}, packing them from {@code toBase}
     * (a page boundary); returns the post-compact top ({@code toBase} + live bytes).
     */
    long plan(MemorySegment view, MemorySegment low, long used, long toBase) {
        begin(toBase, low);
        return extend(view, used);
    }

    /**
     * Starts planning a cycle whose live data lands from {@code toBase} (a page boundary) on,
     * reading the headers of objects that start below {@code low.byteSize()} through {@code low}
     * (the backend's {@link io.faultline.backend.HeapBackend#collectorReadView()}, or
     * {@link MemorySegment#NULL}) and the rest through the view, as the marker does: planning
     * reads at least one header per to-space page, and through the view each of those reads
     * would be the first access through an entry the last flip made anew.
     */
    void begin(long toBase, MemorySegment low) {
        this.toBase = toBase;
        this.low = low;
        this.split = low.byteSize();
        this.nextPage = toBase >>> pageShift;
        this.chunk = 0;
        this.plannedTop = -1;
    }

    /**
     * Extends the plan from where the last call stopped (0 after {@link #begin}) to {@code used}
     * (at or above it): the offset vector over the new chunks, then the first-object entries of
     * the to-space pages that now start below the post-compact top. Returns that top.
     */
    long extend(MemorySegment view, long used) {
        long newTop = plannedTop < 0 ? offsets.build(used, toBase) : offsets.extend(plannedTop, used);
        long chunks = Math.ceilDiv(used, MetadataDescriptor.CHUNK_BYTES);
        long endPage = endPage(newTop);
        for (; nextPage < endPage; nextPage++) {
            long pageStart = nextPage << pageShift;
            if (pageStart < oldEnd) {
                firstObjects.set(nextPage, old.firstObject(nextPage));
                continue;
            }
            long entry = bitmap.entry(chunk);
            long landsAt = offsets.chunkOffset(chunk);
            while (landsAt + ((long) Long.bitCount(entry) << 3) <= pageStart) {
                if (++chunk >= chunks) {
                    throw new IllegalStateException("planning: no live word lands at to-space offset 0x"
                            + Long.toHexString(pageStart) + " below the post-compact top 0x" + Long.toHexString(newTop));
                }
                entry = bitmap.entry(chunk);
                landsAt = offsets.chunkOffset(chunk);
            }
            long rank = (pageStart - landsAt) >>> 3;
            long bit = Long.numberOfTrailingZeros(Long.expand(1L << rank, entry));
            long word = (chunk << MetadataDescriptor.LOG_CHUNK_BYTES) + (bit << 3);
            firstObjects.set(nextPage, objectCovering(view, word));
        }
        plannedTop = used;
        return newTop;
    }

    /** To-space pages below this have their first object ({@link #extend} fixed them). */
    long plannedPages() {
        return nextPage;
    }

    /**
     * The object that covers the live word at {@code word} (see the class comment). A recorded
     * start in the word's chunk, or else, if the chunk's first word is live, the recorded start of
     * the object that crosses into the chunk; if that object ends before the word, or there is
     * neither, the next live word starts an object, and header hops reach the word.
     */
    private long objectCovering(MemorySegment view, long word) {
        long chunkStart = word & -(long) MetadataDescriptor.CHUNK_BYTES;
        long s = starts.precedingInChunk(word);
        if (s < 0 && bitmap.isMarked(chunkStart)) {
            s = starts.preceding(chunkStart);
        }
        long h = chunkStart;
        if (s >= 0) {
            long end = s + size(view, s);
            if (end > word) {
                return s;
            }
            h = end;
        }
        h = bitmap.nextMarked(h, word + ObjectLayout.WORD_BYTES);
        while (h + size(view, h) <= word) {
            h += size(view, h);
        }
        return h;
    }

    /** Size in bytes of the object at {@code obj}; the null guard's two words at offset 0 need no header. */
    private long size(MemorySegment view, long obj) {
        long words = obj == 0 ? ObjectLayout.MIN_OBJECT_WORDS
                : ObjectLayout.sizeWords((obj < split ? low : view).get(LONG, obj));
        if (words == 0) {
            throw new IllegalStateException("planning: zero header at 0x" + Long.toHexString(obj) + " (heap damage)");
        }
        return words << ObjectLayout.LOG_WORD_BYTES;
    }

    /** The page after the last to-space page of a cycle whose post-compact top is {@code newTop}. */
    long endPage(long newTop) {
        return (newTop + (1L << pageShift) - 1) >>> pageShift;
    }
}
