package io.faultline.gc;

import io.faultline.meta.FirstObjectTable;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.OffsetVector;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Young cycles ("sticky mark bits") with one cycle of aging: an object a young cycle marks for
 * the first time survives it (a survivor, still young); one it marks again becomes old at its
 * flip. A full cycle makes old everything it marks. What the mutators allocated while a cycle ran
 * (black allocation, above the initial mark's top) stays young. A young cycle leaves the old
 * objects alone: their mark bits are set wholesale at its initial mark, so the marker never
 * traces into them, and it traces from the roots and from the old objects that a mutator stored
 * a reference into, found by a card table (one byte per {@value #CARD_BYTES} bytes, set by
 * {@code Mutator.setRef} on the card of the object stored into). Old objects that died stay until
 * a full cycle, one that traces everything: when old objects fill more than
 * {@value #OLD_LIMIT_PERCENT}% of the heap, for explicit collections and for full pauses.
 *
 * <pre>
 *  0                  old end        survivors' end   initial mark's top          top
 *  [ old: marked       | survivors:    | young: traced   | black: allocated while ]
 *    wholesale           traced          from the roots    the cycle ran, all kept
 *                                        and dirty cards
 *  after the flip:
 *  [ old (dead ones stay) + marked survivors | marked young     | black  | allocation ...
 *                                            ^ new old end      ^ new survivors' end
 * </pre>
 *
 * <p>Why one cycle of aging: an object that survives one cycle often dies soon after (a tree
 * under construction when the cycle started, binary-trees' deepest trees); made old at once, it
 * would stay as garbage until a full cycle, and every young cycle would copy it
 * (docs/gc-cycle.md, section 20).
 *
 * <p>Which stores set a card: from each initial mark to its flip, a store into any object that
 * existed at the initial mark (below its top); from a flip to the next initial mark, a store into
 * an old object or a survivor (the card limit is the survivors' end). Why the cards are enough:
 * at a flip the mutators get a table with a card set for every old object that references a
 * young one and every survivor that references a younger object, built from three sources: the
 * cards set while the cycle ran and the survivors' cards from before it, moved to where their
 * objects land, and the old objects' dirty cards whose objects the marking found still
 * referencing an object above the survivors' end (which stays young; {@link #keepCard}). A
 * reference from an object to a younger one was stored after the younger one existed, so at a
 * time its holder's card was set by the rules above and carried since; a reference stored after
 * the initial mark points to an object that is black or reachable in the snapshot, and the
 * snapshot barrier logs what it overwrites. The verifier checks the table after every cycle
 * ({@link #checkedOldEnd}, {@link #checkedSurvivorEnd}).
 *
 * <p>Old objects keep their offsets in a young cycle (every word below them is marked), so the
 * first object of each old to-space page is the one the last cycle planned, kept here in
 * to-space terms ({@link #promote}). And an old page changes only where an old object references
 * a young one that moves, which only objects on a dirty card do: the pages below the first dirty
 * card (of the initial mark's table, or set while the cycle ran) and below the old end are copied
 * as they are ({@link #verbatimEnd}).
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #beginCycle} and {@link #promote} run in pauses,
 * {@link #prepareMarking} and {@link #keepCard} on the marking thread; the state each sets is
 * read after the next of these steps, which the pauses order. Mutators set cards without
 * synchronization, in the table the last pause gave them; the collector reads a table only
 * after a pause took it from them, and clears it before it is given back. Between a flip and the
 * next initial mark, the table the mutators use holds a dirty card for every old object that
 * references a young one, and for every survivor that references an object above the survivors'
 * end.
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

    private final boolean enabled;
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final int pageShift;
    /** Objects below this offset are old; 0 before the first flip or with young cycles off. */
    private long oldEnd;
    /**
     * Objects in {@code [oldEnd, survivorEnd)} survived one young cycle: still young, old after the
     * next one if they survive it too. Equal to {@link #oldEnd} after a full cycle.
     */
    private long survivorEnd;
    /** For each old to-space page, the offset of the object that covers its first byte. */
    private final long[] firstObjects;
    /**
     * Old to-space pages below this had their first object forwarded by {@link #forwardPlanned}
     * while the plan ran (0: none); {@link #promote} starts after them and resets it.
     */
    private int forwardedTo;
    /** The cards dirty at this cycle's initial mark (indices), and how many. */
    private int[] dirty = new int[64];
    private int dirtyCount;
    /** Which of {@link #dirty} the marking found referencing a young object that stays young after the flip. */
    private boolean[] keepDirty = new boolean[64];
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
        forwardedTo = 0;
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
     * wholesale, collects (and clears) the taken table's dirty cards below the old end, leaving
     * the survivors' cards for {@link #promote}, and records the start of the old object that
     * crosses into the first chunk holding young objects, which the planner looks for. A full
     * cycle: clears the taken table.
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
        int boundary = (int) (youngEnd / CARD_BYTES); // n if the old end is card-aligned
        byte[] cards = snapshot;
        for (int c = nextDirty(cards, 0, n); c < n; c = nextDirty(cards, c + 1, n)) {
            if (c != boundary) {
                cards[c] = 0; // the boundary card may also be a survivor's: promote moves it
            }
            if (dirtyCount == dirty.length) {
                dirty = Arrays.copyOf(dirty, dirtyCount * 2);
                keepDirty = Arrays.copyOf(keepDirty, dirtyCount * 2);
            }
            keepDirty[dirtyCount] = false;
            dirty[dirtyCount++] = c;
        }
        // the snapshot keeps the survivors' cards (stores into them since the last flip) for promote
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

    /**
     * For the GC log's initial-mark line: " young (old NM, survivors NM)", " full (young cycles
     * suspended, N more)" or "".
     */
    String describeCycle() {
        if (youngEnd > 0) {
            return " young (old " + (youngEnd >> 20) + "M, survivors " + ((survivorEnd - youngEnd) >> 20) + "M)";
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

    /**
     * The marking thread: an old object on the {@code i}-th dirty card references an object at
     * or above {@link #survivorEnd()}, which stays young after the flip, so the card stays set.
     */
    void keepCard(int i) {
        keepDirty[i] = true;
    }

    /** Objects below this offset and at or above the old end survived one cycle: old after this one if it marks them. */
    long survivorEnd() {
        return survivorEnd;
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
     * In a flip or full pause, once the plan is final: what the cycle marked lies below {@code
     * youngStart} (to-space; the post-compact top in a full pause). After a young cycle the last
     * cycle's survivors that it marked are old from now on and the rest of what it marked are the
     * survivors; after a full one everything it marked is old. Records each old to-space page's
     * first object in to-space terms, gives the mutators a table that holds the cards they set
     * while the cycle ran and the survivors' cards from before it, moved to where their objects
     * land ({@code used}: the cycle's from-space top; {@code newTop}: the post-compact top), and
     * the old objects' cards the marking kept, and tells their barrier. No effect with young
     * cycles off.
     */
    void promote(long youngStart, long used, long newTop) {
        verbatimEnd = 0;
        int forwarded = forwardedTo;
        forwardedTo = 0;
        if (!enabled) {
            return;
        }
        OffsetVector offsets = metadata.offsets();
        // a young cycle makes old what it marked of the last cycle's survivors; what it marked
        // first survives once. A full cycle makes old everything it marked.
        long newOldEnd = youngEnd == 0 ? youngStart : survivorEnd >= used ? newTop : offsets.forward(survivorEnd);
        int pages = pages(newOldEnd);
        // the old pages of a young cycle took their first objects from here, unchanged; the
        // concurrent plan forwarded the next ones already (forwardPlanned)
        forwardFirstObjects(Math.max(Math.min(unchanged(), pages), Math.min(forwarded, pages)), pages);
        byte[] during = heap.cards();
        if (youngEnd == 0) {
            youngSinceFull = 0;
            tracedSinceFull = 0;
            promotedSinceFull = 0;
        } else {
            youngSinceFull++;
            tracedSinceFull += markTop - youngEnd; // the young objects at the initial mark
            promotedSinceFull += newOldEnd - youngEnd; // what it marked of them and made old
            if (youngSinceFull >= 2 && promotedSinceFull * 100 > tracedSinceFull * PROMOTION_LIMIT_PERCENT) {
                suspended = SUSPENDED_CYCLES;
            }
            int n = (int) ((youngEnd + CARD_BYTES - 1) / CARD_BYTES);
            long clean = Math.min(youngEnd, (long) nextDirty(during, 0, n) * CARD_BYTES);
            if (dirtyCount > 0) {
                clean = Math.min(clean, dirtyCardStart(0)); // collected in ascending order
            }
            verbatimEnd = clean >>> pageShift << pageShift;
            if (snapshot != null) {
                // stores into the survivors before this cycle: their cards move with them, as the cycle's own do
                int to = (int) ((survivorEnd + CARD_BYTES - 1) / CARD_BYTES);
                for (int c = nextDirty(snapshot, (int) (youngEnd / CARD_BYTES), to); c < to; c = nextDirty(snapshot, c + 1, to)) {
                    snapshot[c] = 0;
                    during[c] = 1;
                }
                // clean again: prepareMarking cleared it below the old end, this loop up to the
                // survivors' end, and nothing above was stored into (the card limit)
                spare = snapshot;
                snapshot = null;
            }
        }
        recycleSnapshot(); // a full pause's: an abandoned cycle's table, not read
        if (markTop >= 0 && newOldEnd < newTop) {
            heap.swapCards(spare);
            moveCards(during, offsets, used, newTop);
            byte[] cards = heap.cards();
            for (int i = 0; i < dirtyCount; i++) {
                if (keepDirty[i]) {
                    cards[dirty[i]] = 1; // an old object, where it was, still references a young one
                }
            }
            spare = during;
        } else {
            Arrays.fill(during, (byte) 0); // nothing young is left: no card is needed
        }
        markTop = -1;
        oldEnd = newOldEnd;
        survivorEnd = youngStart;
        heap.setCardLimit(youngStart);
    }

    /**
     * While the plan runs concurrently, once it has reached the remark top {@code plannedTop}
     * (from-space) and fixed the first objects of to-space pages below {@code plannedPages}: does
     * the first part of {@link #promote}'s work, forwarding the first objects of the pages that
     * will be old, where the flip pause would do it. The pages' old end is known by then ({@code
     * markStartTop} for a full cycle, the survivors' end for a young one, both below {@code
     * plannedTop}: their forwarded offsets count only live words below them, all marked). In
     * binary-trees' first cycle this loop, run for the first time inside the pause, took 17 to 23
     * ms of it.
     */
    void forwardPlanned(long markStartTop, long plannedTop, long plannedPages) {
        forwardedTo = 0;
        if (!enabled) {
            return;
        }
        long boundary = youngEnd == 0 ? markStartTop : survivorEnd;
        if (boundary >= plannedTop) {
            return; // the flip pause decides where the old end is
        }
        int pages = (int) Math.min(pages(metadata.offsets().forward(boundary)), plannedPages);
        int from = Math.min(unchanged(), pages);
        for (int p = from; p < pages; p += FORWARD_STEP_PAGES) {
            forwardFirstObjects(p, Math.min(pages, p + FORWARD_STEP_PAGES));
        }
        forwardedTo = pages;
    }

    /** Pages per {@link #forwardFirstObjects} call of {@link #forwardPlanned}: many short calls get it compiled before the pause. */
    private static final int FORWARD_STEP_PAGES = 256;

    /** {@code firstObjects[p]} for {@code p} in {@code [from, to)}: to-space page p's first object, forwarded. */
    private void forwardFirstObjects(int from, int to) {
        OffsetVector offsets = metadata.offsets();
        FirstObjectTable first = metadata.firstObjects();
        for (int p = from; p < to; p++) {
            firstObjects[p] = offsets.forward(first.get(p));
        }
    }

    /** Pages that hold bytes below {@code end}. */
    private int pages(long end) {
        return (int) ((end + (1L << pageShift) - 1) >>> pageShift);
    }

    /** The old pages of a young cycle, whose first objects stay as they were. */
    private int unchanged() {
        return pages(youngEnd);
    }

    /**
     * In a full pause, once its plan is final: everything below {@code newTop} is old, every
     * card is clear, and no page is copied as it was (the pause traced everything and may move
     * old objects). Replaces any cycle the pause abandoned.
     */
    void promoteAll(long used, long newTop) {
        forwardedTo = 0; // an abandoned cycle's, forwarded with its plan
        youngEnd = 0;
        dirtyCount = 0;
        promote(newTop, used, newTop);
    }

    /** This cycle's verbatim end, once {@link #promote} ran: to-space pages that end at or below it are their from-space pages unchanged. */
    long verbatimEnd() {
        return verbatimEnd;
    }

    /**
     * The first card set in {@code cards[c, n)}, or {@code n}: {@link Arrays#mismatch} against
     * clean cards, {@link #CLEAN_CARDS} at a time (most are clean). The flip pause of a heap's
     * first cycle scans the whole table with it, when a loop of our own would still be
     * interpreted: 7 to 14 ms for 512 MiB of heap in binary-trees, against microseconds once
     * compiled.
     */
    private static int nextDirty(byte[] cards, int c, int n) {
        while (c < n) {
            int len = Math.min(n - c, CLEAN_CARDS.length);
            int i = Arrays.mismatch(cards, c, c + len, CLEAN_CARDS, 0, len);
            if (i >= 0) {
                return c + i;
            }
            c += len;
        }
        return n;
    }

    /** Clean cards to compare with ({@link #nextDirty}). */
    private static final byte[] CLEAN_CARDS = new byte[4096];

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

    /**
     * For the verifier, with {@link #checkedOldEnd}: the survivors' end (between a flip and the
     * next initial mark a survivor that references an object at or above it has its card set).
     */
    long checkedSurvivorEnd() {
        return enabled && markTop < 0 ? survivorEnd : 0;
    }
}
