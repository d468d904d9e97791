package io.faultline.gc;

import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.OffsetVector;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Young cycles ("sticky mark bits"): the objects a cycle marks are old after its flip; what the
 * mutators allocated while it ran (black allocation, above the initial mark's top) stays young.
 * A young cycle leaves the old objects alone: their mark bits are set wholesale at its initial
 * mark, so the marker never traces into them, and it traces from the roots and from the old
 * objects that a mutator stored a reference into, found by a card table (one byte per
 * {@value #CARD_BYTES} bytes, set by {@code Mutator.setRef} on the card of the object stored
 * into). Old objects that died stay until a full cycle, one that traces everything: when old
 * objects fill more than {@value #OLD_LIMIT_PERCENT}% of the heap, for explicit collections and
 * for full pauses.
 *
 * <pre>
 *  0                       old end             initial mark's top            top
 *  [ old: marked wholesale  | young: traced     | black: allocated while   ]
 *                             from the roots and  the cycle ran, all kept
 *                             the dirty cards
 *  after the flip (old end = where the initial mark's top lands):
 *  [ everything marked, packed         | black, packed | allocation ...
 *                                     ^ new old end: cards of stores made while the cycle ran,
 *                                       moved with their objects; every other card clear
 * </pre>
 *
 * <p>Which stores set a card: from each initial mark to its flip, a store into any object that
 * existed at the initial mark (below its top); from a flip to the next initial mark, a store into
 * an old object. Why the cards are enough: an old-to-young reference at an initial mark points
 * either to an object allocated since the last flip, so it was stored since then into an object
 * already old (its card is set), or to a black object of the last cycle, so it was stored after
 * that cycle's initial mark: into an object that existed then (its card was set and moved with it
 * at the flip) or after the flip (as before). A reference stored after the initial mark points to
 * an object that is black or reachable in the snapshot, and the snapshot barrier logs what it
 * overwrites.
 *
 * <p>Old objects keep their offsets in a young cycle (every word below them is marked), so the
 * first object of each old to-space page is the one the last cycle planned, kept here in
 * to-space terms ({@link #promote}). And an old page changes only where an old object references
 * a young one that moves, which only objects on a dirty card do: the pages below the first dirty
 * card (of the initial mark's table, or set while the cycle ran) and below the old end are copied
 * as they are ({@link #verbatimEnd}).
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #beginCycle} and {@link #promote} run in pauses,
 * {@link #prepareMarking} on the marking thread before it traces; the state each sets is read
 * after the next of these steps, which the pauses order. Mutators set cards without
 * synchronization, in the table the last pause gave them; the collector reads a table only
 * after a pause took it from them, and clears it before it is given back. Between a flip and the
 * next initial mark, the table the mutators use holds a dirty card for every old object that
 * references a young one (checked by the verifier, {@link #checkedOldEnd}).
 */
final class OldGeneration {
    /** Bytes per card: one mark-bitmap chunk. */
    static final int CARD_BYTES = MetadataDescriptor.CHUNK_BYTES;
    /** A cycle is young only while old objects fill at most this share of the capacity. */
    static final int OLD_LIMIT_PERCENT = 50;
    /**
     * When the young cycles since the last full one have marked more than this share of the
     * young objects they traced (what they mark becomes old), young cycles are suspended for
     * {@value #SUSPENDED_CYCLES} cycles: where what survives one cycle dies soon after, old objects
     * fill with garbage that only a full cycle frees. Judged from the second young cycle on.
     */
    static final int PROMOTION_LIMIT_PERCENT = 15;
    /** How many cycles are full once young cycles promoted too much. */
    static final int SUSPENDED_CYCLES = 8;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle CARDS8 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final boolean enabled;
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final int pageShift;
    /** Objects below this offset are old; 0 before the first flip or with young cycles off. */
    private long oldEnd;
    /** For each old to-space page, the offset of the object that covers its first byte. */
    private final long[] firstObjects;
    /** The cards dirty at this cycle's initial mark (indices), and how many. */
    private int[] dirty = new int[64];
    private int dirtyCount;
    /** The old end this cycle leaves alone, 0 for a full cycle. */
    private long youngEnd;
    /** The card table the mutators do not use: clean, or null while a cycle holds it as {@link #snapshot}. */
    private byte[] spare;
    /** The table a cycle took at its initial mark, until its marking has read (or cleared) it. */
    private byte[] snapshot;
    /** The top at this cycle's initial mark: stores into objects below it set cards until the flip; -1 between cycles. */
    private long markTop = -1;
    /** This cycle's verbatim end: to-space pages that end at or below it are their from-space pages unchanged. */
    private long verbatimEnd;
    /** Cycles still to be full because young cycles promoted too much (see {@link #PROMOTION_LIMIT_PERCENT}). */
    private int suspended;
    /** Since the last full cycle: young cycles, the young bytes they traced and the bytes they made old. */
    private int youngSinceFull;
    private long tracedSinceFull;
    private long promotedSinceFull;
    /** This cycle would have been young but young cycles are suspended. */
    private boolean fullBySuspension;

    OldGeneration(boolean enabled, HeapBinding heap, GcMetadata metadata) {
        this.enabled = enabled;
        this.heap = heap;
        this.metadata = metadata;
        this.pageShift = Integer.numberOfTrailingZeros(metadata.pageSize());
        this.spare = enabled ? new byte[heap.cards().length] : null;
        this.firstObjects = new long[enabled ? (int) (metadata.capacity() >>> pageShift) + 1 : 0];
    }

    /**
     * In an initial-mark pause at used top {@code markTop}: decides whether the cycle is young,
     * and takes the card table the mutators used since the last flip, giving them a clean one
     * whose cards they set for every object below {@code markTop} until the flip (the pause stays
     * O(1); {@link #prepareMarking} reads the taken table). Returns the old end the cycle leaves
     * alone, 0 for a full cycle.
     */
    long beginCycle(GcCause cause, long toBase, long markTop) {
        youngEnd = 0;
        dirtyCount = 0;
        fullBySuspension = false;
        recycleSnapshot();
        if (!enabled || toBase != 0) {
            return 0;
        }
        snapshot = heap.swapCards(spare);
        spare = null;
        this.markTop = markTop;
        heap.setCardLimit(markTop);
        if (oldEnd <= 0 || cause != GcCause.HEAP_OCCUPANCY || oldEnd > metadata.capacity() / 100 * OLD_LIMIT_PERCENT) {
            return 0;
        }
        if (suspended > 0) {
            suspended--;
            fullBySuspension = true;
            return 0;
        }
        youngEnd = oldEnd;
        return youngEnd;
    }

    /**
     * The marking thread, before it traces anything. A young cycle: marks the old objects
     * wholesale, collects (and clears) the dirty cards of the taken table, and records the start
     * of the old object that crosses into the first chunk holding young objects, which the
     * planner looks for. A full cycle: clears the taken table.
     */
    void prepareMarking() {
        if (snapshot == null) {
            return;
        }
        if (youngEnd == 0) {
            recycleSnapshot();
            return;
        }
        int n = (int) ((youngEnd + CARD_BYTES - 1) / CARD_BYTES);
        byte[] cards = snapshot;
        for (int c = nextDirty(cards, 0, n); c < n; c = nextDirty(cards, c + 1, n)) {
            cards[c] = 0;
            if (dirtyCount == dirty.length) {
                dirty = Arrays.copyOf(dirty, dirtyCount * 2);
            }
            dirty[dirtyCount++] = c;
        }
        spare = snapshot; // clean again below the old end, and nothing is stored above it
        snapshot = null;
        metadata.bitmap().markRange(0, youngEnd >>> ObjectLayout.LOG_WORD_BYTES);
        long boundaryChunk = youngEnd & -(long) CARD_BYTES;
        if (boundaryChunk < youngEnd) {
            long s = covering(boundaryChunk, heap.view().address(), heap.collectorReadView().address(),
                    heap.collectorReadView().byteSize());
            // a black TLAB's walk may share the entry
            metadata.objectStarts().orAtomic(ObjectStartBitmap.entryOf(s), ObjectStartBitmap.bitOf(s));
        }
    }

    /** A taken table that no marking reads (a full cycle's, or one abandoned first): cleared, it is the spare again. */
    private void recycleSnapshot() {
        if (snapshot != null) {
            Arrays.fill(snapshot, (byte) 0);
            spare = snapshot;
            snapshot = null;
        }
    }

    /** The old end this cycle leaves alone, 0 for a full cycle. */
    long youngEnd() {
        return youngEnd;
    }

    /** For the GC log's initial-mark line: " young (old NM)", " full (young cycles suspended, N more)" or "". */
    String describeCycle() {
        if (youngEnd > 0) {
            return " young (old " + (youngEnd >> 20) + "M)";
        }
        return fullBySuspension ? " full (young cycles suspended, " + suspended + " more)" : "";
    }

    /** Cards dirty at this cycle's initial mark. */
    int dirtyCards() {
        return dirtyCount;
    }

    /** The first byte of the {@code i}-th dirty card. */
    long dirtyCardStart(int i) {
        return (long) dirty[i] * CARD_BYTES;
    }

    /** The first object of old to-space page {@code page} (for the planner of a young cycle). */
    long firstObject(long page) {
        return firstObjects[(int) page];
    }

    /**
     * The old object that covers {@code off} (below the old end), found by header hops from
     * its page's first object; objects below {@code split} are read at {@code lowAddress}.
     */
    long covering(long off, long viewAddress, long lowAddress, long split) {
        long h = firstObjects[(int) (off >>> pageShift)];
        while (true) {
            long words = h == 0 ? ObjectLayout.MIN_OBJECT_WORDS
                    : ObjectLayout.sizeWords(RawMemory.ALL.get(LONG, (h < split ? lowAddress : viewAddress) + h));
            if (words == 0) {
                throw new IllegalStateException("young cycle: zero header at 0x" + Long.toHexString(h)
                        + " while looking for the old object at 0x" + Long.toHexString(off));
            }
            long end = h + (words << ObjectLayout.LOG_WORD_BYTES);
            if (end > off) {
                return h;
            }
            h = end;
        }
    }

    /**
     * In a flip or full pause, once the plan is final: the objects below {@code youngStart}
     * (to-space; the post-compact top in a full pause) are old from now on. Records each old
     * to-space page's first object in to-space terms, gives the mutators a table that holds the
     * cards they set while the cycle ran, moved to where their objects land ({@code used}: the
     * cycle's from-space top; {@code newTop}: the post-compact top), and tells their barrier.
     * No effect with young cycles off.
     */
    void promote(long youngStart, long used, long newTop) {
        verbatimEnd = 0;
        if (!enabled) {
            return;
        }
        OffsetVector offsets = metadata.offsets();
        FirstObjectTable first = metadata.firstObjects();
        int pages = (int) ((youngStart + (1L << pageShift) - 1) >>> pageShift);
        // the old pages of a young cycle took their first objects from here, unchanged
        int unchanged = (int) ((youngEnd + (1L << pageShift) - 1) >>> pageShift);
        for (int p = Math.min(unchanged, pages); p < pages; p++) {
            firstObjects[p] = offsets.forward(first.get(p));
        }
        recycleSnapshot();
        byte[] during = heap.cards();
        if (youngEnd == 0) {
            youngSinceFull = 0;
            tracedSinceFull = 0;
            promotedSinceFull = 0;
        } else {
            youngSinceFull++;
            tracedSinceFull += markTop - youngEnd; // the young objects at the initial mark
            promotedSinceFull += youngStart - youngEnd; // what it marked of them, old now
            if (youngSinceFull >= 2 && promotedSinceFull * 100 > tracedSinceFull * PROMOTION_LIMIT_PERCENT) {
                suspended = SUSPENDED_CYCLES;
            }
            int n = (int) ((youngEnd + CARD_BYTES - 1) / CARD_BYTES);
            long clean = Math.min(youngEnd, (long) nextDirty(during, 0, n) * CARD_BYTES);
            if (dirtyCount > 0) {
                clean = Math.min(clean, dirtyCardStart(0)); // collected in ascending order
            }
            verbatimEnd = clean >>> pageShift << pageShift;
        }
        if (markTop >= 0 && youngStart < newTop) {
            heap.swapCards(spare);
            moveCards(during, offsets, used, newTop);
            spare = during;
        } else {
            Arrays.fill(during, (byte) 0); // nothing young is left: no card is needed
        }
        markTop = -1;
        oldEnd = youngStart;
        heap.setCardLimit(youngStart);
    }

    /**
     * In a full pause, once its plan is final: everything below {@code newTop} is old, every
     * card is clear, and no page is copied as it was (the pause traced everything and may move
     * old objects). Replaces any cycle the pause abandoned.
     */
    void promoteAll(long used, long newTop) {
        youngEnd = 0;
        dirtyCount = 0;
        promote(newTop, used, newTop);
    }

    /** This cycle's verbatim end, once {@link #promote} ran: to-space pages that end at or below it are their from-space pages unchanged. */
    long verbatimEnd() {
        return verbatimEnd;
    }

    /** The first card set in {@code cards[c, n)}, or {@code n}; eight cards per read where they are aligned (most are clean). */
    private static int nextDirty(byte[] cards, int c, int n) {
        while (c < n) {
            if ((c & 7) == 0 && c + 8 <= cards.length && (long) CARDS8.get(cards, c) == 0) {
                c += 8;
            } else if (cards[c] != 0) {
                return c;
            } else {
                c++;
            }
        }
        return n;
    }

    /**
     * The flip's part of {@link #promote}: for each card set while the cycle ran (below its
     * initial mark's top), sets the cards that the chunk's live words land on in the mutators' new
     * table (at most two: a chunk packs into at most its own length), and clears it in
     * {@code during}.
     */
    private void moveCards(byte[] during, OffsetVector offsets, long used, long newTop) {
        byte[] cards = heap.cards();
        int n = (int) ((markTop + CARD_BYTES - 1) / CARD_BYTES);
        long usedChunks = (used + CARD_BYTES - 1) / CARD_BYTES;
        for (int c = nextDirty(during, 0, n); c < n; c = nextDirty(during, c + 1, n)) {
            during[c] = 0;
            long lands = offsets.chunkOffset(c);
            long end = c + 1 < usedChunks ? offsets.chunkOffset(c + 1) : newTop;
            for (long to = lands; to < end; to = (to & -(long) CARD_BYTES) + CARD_BYTES) {
                cards[(int) (to / CARD_BYTES)] = 1;
            }
        }
    }

    /**
     * For the verifier, in a pause: the old end if no cycle is running (between a flip and the
     * next initial mark the mutators' table has a card set for every old object that references
     * a young one), else 0 (nothing to check: young cycles off, before the first flip, or while a
     * cycle runs and its cards are in two tables).
     */
    long checkedOldEnd() {
        return enabled && markTop < 0 ? oldEnd : 0;
    }
}
