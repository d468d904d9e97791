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
 * Young cycles ("sticky mark bits"): every object a cycle keeps is old after its flip, the
 * objects below the post-compact top. A young cycle leaves the old objects alone: their mark bits
 * are set wholesale at its initial mark, so the marker never traces into them, and it traces from
 * the roots and from the old objects that a mutator stored a reference into since the last flip,
 * found by a card table (one byte per {@value #CARD_BYTES} bytes, set by {@code Mutator.setRef}
 * on the card of the object stored into). Old objects that died stay until a full cycle, one
 * that traces everything: when old objects fill more than {@value #OLD_LIMIT_PERCENT}% of the
 * heap, for explicit collections and for full pauses.
 *
 * <pre>
 *  0                       old end                                top
 *  [ old: marked wholesale  | young: traced from the roots and the dirty cards ]
 *  after the flip:
 *  [ everything kept, packed                | allocation ...
 *                     new old end = post-compact top; every card clear
 * </pre>
 *
 * <p>Why the dirty cards at the initial mark are enough: an old-to-young reference that exists
 * then was stored after the last flip (every object was old at that flip), so its card is dirty;
 * one stored later points to an object that is black or reachable in the snapshot, and the
 * snapshot barrier logs what it overwrites. After the flip no young object is left, so every
 * card is cleared.
 *
 * <p>Old objects keep their offsets in a young cycle (every word below them is marked), so the
 * first object of each old to-space page is the one the last cycle planned, kept here in
 * to-space terms ({@link #promote}).
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #beginCycle} and {@link #promote} run in pauses,
 * {@link #prepareMarking} on the marking thread before it traces; the state each sets is read
 * after the next of these steps, which the pauses order. Mutators set cards without
 * synchronization, in the table the last pause gave them; the collector reads a table only
 * after a pause took it from them, and clears it before it is given back.
 */
final class OldGeneration {
    /** Bytes per card: one mark-bitmap chunk. */
    static final int CARD_BYTES = MetadataDescriptor.CHUNK_BYTES;
    /** A cycle is young only while old objects fill at most this share of the capacity. */
    static final int OLD_LIMIT_PERCENT = 50;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle CARDS8 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final boolean enabled;
    private final HeapBinding heap;
    private final GcMetadata metadata;
    private final int pageShift;
    /** Objects below this offset are old; 0 before the first flip or with young cycles off. */
    private long oldEnd;
    /** For each old to-space page, the offset of the object that covers its first byte. */
    private long[] firstObjects = new long[0];
    /** The cards dirty at this cycle's initial mark (indices), and how many. */
    private int[] dirty = new int[64];
    private int dirtyCount;
    /** The old end this cycle leaves alone, 0 for a full cycle. */
    private long youngEnd;
    /** The card table the mutators do not use: clean, or null while a young cycle holds it as {@link #snapshot}. */
    private byte[] spare;
    /** The table a young cycle took at its initial mark, until its marking has read it. */
    private byte[] snapshot;

    OldGeneration(boolean enabled, HeapBinding heap, GcMetadata metadata) {
        this.enabled = enabled;
        this.heap = heap;
        this.metadata = metadata;
        this.pageShift = Integer.numberOfTrailingZeros(metadata.pageSize());
        this.spare = enabled ? new byte[heap.cards().length] : null;
    }

    /**
     * In an initial-mark pause: decides whether the cycle is young, and if so takes the card
     * table the mutators used since the last flip, giving them a clean one (the pause stays
     * O(1); the dirty cards are read by {@link #prepareMarking}). Returns the old end the cycle
     * leaves alone, 0 for a full cycle.
     */
    long beginCycle(GcCause cause, long toBase) {
        youngEnd = 0;
        dirtyCount = 0;
        recycleSnapshot();
        if (!enabled || oldEnd <= 0 || toBase != 0 || cause != GcCause.HEAP_OCCUPANCY
                || oldEnd > metadata.capacity() / 100 * OLD_LIMIT_PERCENT) {
            return 0;
        }
        snapshot = heap.swapCards(spare);
        spare = null;
        youngEnd = oldEnd;
        return youngEnd;
    }

    /**
     * A young cycle's marking thread, before it traces anything: marks the old objects
     * wholesale, collects (and clears) the dirty cards of the taken table, and records the start
     * of the old object that crosses into the first chunk holding young objects, which the
     * planner looks for. Nothing for a full cycle.
     */
    void prepareMarking() {
        if (youngEnd == 0) {
            return;
        }
        int n = (int) ((youngEnd + CARD_BYTES - 1) / CARD_BYTES);
        byte[] cards = snapshot;
        for (int c8 = 0; c8 < n; c8 += 8) { // eight cards per read: most are clean
            if (c8 + 8 <= cards.length && (long) CARDS8.get(cards, c8) == 0) {
                continue;
            }
            for (int c = c8; c < Math.min(c8 + 8, n); c++) {
                if (cards[c] != 0) {
                    cards[c] = 0;
                    if (dirtyCount == dirty.length) {
                        dirty = Arrays.copyOf(dirty, dirtyCount * 2);
                    }
                    dirty[dirtyCount++] = c;
                }
            }
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

    /** A table taken by a cycle that was abandoned before its marking read it: cleared, it is the spare again. */
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
     * In a flip or full pause, once the plan is final: everything below {@code newTop} is old
     * from now on. Records each to-space page's first object in to-space terms, clears the cards
     * and tells the mutators' barrier. No effect with young cycles off.
     */
    void promote(long newTop) {
        if (!enabled) {
            return;
        }
        OffsetVector offsets = metadata.offsets();
        FirstObjectTable first = metadata.firstObjects();
        int pages = (int) ((newTop + (1L << pageShift) - 1) >>> pageShift);
        if (firstObjects.length < pages) {
            firstObjects = new long[(int) (metadata.capacity() >>> pageShift) + 1];
        }
        for (int p = 0; p < pages; p++) {
            firstObjects[p] = offsets.forward(first.get(p));
        }
        oldEnd = newTop;
        recycleSnapshot();
        Arrays.fill(heap.cards(), (byte) 0);
        heap.setOldEnd(newTop);
    }
}
