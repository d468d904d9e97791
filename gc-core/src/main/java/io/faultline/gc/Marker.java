package io.faultline.gc;

import io.faultline.meta.MarkBitmap;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * One marking thread's tracer: marks every word of every object reachable from the references
 * it is given in the {@link MarkBitmap}, and, for an object that covers the first word of a
 * 512-byte chunk, its first word in the {@link ObjectStartBitmap}. Depth-first with an explicit stack, so deep structures
 * (long lists) cannot overflow the Java stack.
 *
 * <p>Used two ways. Stop-the-world marking ({@link #begin} with {@code newAbove = false}): one
 * marker in the pause traces from each root in turn. Concurrent marking ({@code newAbove = true}):
 * references at or above the limit are objects allocated since the initial mark, which are live
 * by construction (allocated black) and are neither marked here nor traced; several markers may
 * run at once, marking with {@link MarkBitmap#markObject} (atomic) and sharing work through
 * {@link MarkPackets}.
 *
 * <p><b>Assumptions and Guarantees:</b> confined to one thread at a time. The headers of the
 * objects it meets do not change while it runs (true of every object below the limit: headers
 * are written once, at allocation). With concurrent marking mutators may change reference slots
 * while they are scanned: a slot read returns the old or the new value, and either is fine
 * because the SATB barrier logs every overwritten value. A reference below the lowest object or,
 * with stop-the-world marking, at or above the limit is heap damage: marking stops with an
 * {@link IllegalStateException} naming the object and slot that hold it.
 */
final class Marker {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    /** Objects scanned between checks of the stop condition. */
    private static final int CHECK_EVERY = 1024;

    private final MarkBitmap bitmap;
    private final ObjectStartBitmap starts;
    private final boolean atomic;
    private final MarkPackets packets;
    private MarkingHooks hooks = MarkingHooks.NONE;
    private int[] stack = new int[1024];
    private int sp;
    /** The view's address: objects at or above {@code split} are read there, through {@link RawMemory}. */
    private long viewAddress;
    /** The address of the segment objects below {@code split} are read through (see {@link #begin}). */
    private long lowAddress;
    private long split;
    private long lowest;
    private long limit;
    private boolean newAbove;
    /** The start-bitmap entry that mutators may write at the same time (the one holding the limit), or -1. */
    private long sharedStartEntry;
    private long objects;

    /**
     * @param atomic  several markers share the bitmap: mark with atomic ORs
     * @param packets where to share work with other markers, or null
     */
    Marker(MarkBitmap bitmap, ObjectStartBitmap starts, boolean atomic, MarkPackets packets) {
        this.bitmap = bitmap;
        this.starts = starts;
        this.atomic = atomic;
        this.packets = packets;
    }

    /**
     * Starts marking objects of {@code [base, limit)} (base 0 stands for the first object after
     * the null guard), reading objects that start below {@code low.byteSize()} through {@code low}
     * (the backend's {@link io.faultline.backend.HeapBackend#collectorReadView()}, or
     * {@link MemorySegment#NULL}) and the rest through {@code view}; no object crosses that
     * boundary (it is the end of the last compaction's to-space). {@code newAbove}: references at
     * or above {@code limit} are objects allocated since marking began, skipped; otherwise they
     * are damage.
     */
    void begin(MemorySegment view, MemorySegment low, long base, long limit, boolean newAbove, MarkingHooks hooks) {
        if (limit > view.byteSize()) {
            throw new IllegalArgumentException("marking limit 0x" + Long.toHexString(limit) + " is beyond the view (0x"
                    + Long.toHexString(view.byteSize()) + " bytes)");
        }
        this.viewAddress = view.address();
        this.lowAddress = low.address();
        this.split = low.byteSize();
        this.lowest = base == 0 ? ObjectLayout.HEADER_BYTES : base;
        this.limit = limit;
        this.newAbove = newAbove;
        this.sharedStartEntry = newAbove ? ObjectStartBitmap.entryOf(limit) : -1;
        this.hooks = hooks;
        this.objects = 0;
        this.sp = 0;
    }

    /** From now on no hook runs for this marker (its remaining work happens inside a pause). */
    void silence() {
        hooks = MarkingHooks.NONE;
    }

    /** Stop-the-world marking: marks a root and everything reachable from it; returns it unchanged (a root visitor). */
    int markRoot(int ref) {
        mark(ref, -1, -1);
        drain(null);
        return ref;
    }

    /** Marks the object {@code ref} (0 is ignored) and pushes it for tracing if this call marked it. */
    void mark(int ref) {
        if (ref != 0) {
            mark(ref, -1, -1);
        }
    }

    /**
     * A young cycle's dirty card: marks what the old objects that start in {@code [cardStart,
     * cardEnd)} refer to, walking from the old object {@code h} (at or before {@code cardStart}).
     * Returns true if one of them refers to an object at or above {@code youngAfterFlip} (one that
     * stays young after this cycle's flip: its card is still needed then).
     */
    boolean scanOldObjects(long h, long cardStart, long cardEnd, long youngAfterFlip) {
        boolean refersToYoung = false;
        while (h < cardEnd) {
            long address = base(h) + h;
            long header = h == 0 ? ObjectLayout.headerWord(ObjectLayout.MIN_OBJECT_WORDS, 0) : RawMemory.ALL.get(LONG, address);
            long words = ObjectLayout.sizeWords(header);
            if (words == 0) {
                throw new IllegalStateException("marking: old object at 0x" + Long.toHexString(h) + " has a zero header"
                        + " (scanning the dirty card at 0x" + Long.toHexString(cardStart) + ")");
            }
            if (h >= cardStart) {
                long refs = ObjectLayout.refCount(header);
                for (long i = 0; i < refs; i++) {
                    int child = RawMemory.ALL.get(INT, address + ObjectLayout.refSlotOffset(i));
                    if (child != 0) {
                        mark(child, h, i);
                        refersToYoung |= ObjectLayout.refToOffset(child) >= youngAfterFlip;
                    }
                }
            }
            h += words << 3;
        }
        return refersToYoung;
    }

    /** The view's address, as {@link #begin} took it. */
    long viewAddress() {
        return viewAddress;
    }

    /** The collector read view's address, as {@link #begin} took it. */
    long lowAddress() {
        return lowAddress;
    }

    /** Objects below this offset are read at {@link #lowAddress()}. */
    long split() {
        return split;
    }

    /** Pushes references another marker shared (already marked, not yet scanned). */
    void push(int[] refs, int count) {
        ensure(count);
        System.arraycopy(refs, 0, stack, sp, count);
        sp += count;
    }

    /** Objects this marker marked since {@link #begin}. */
    long objects() {
        return objects;
    }

    private void mark(int ref, long holder, long slot) {
        long off = ObjectLayout.refToOffset(ref);
        if (off >= limit && newAbove) {
            return;
        }
        if (off < lowest || off >= limit) {
            throw outsideUsedHeap(ref, holder, slot);
        }
        if (bitmap.isMarkedUnchecked(off)) {
            return;
        }
        long header = RawMemory.ALL.get(LONG, base(off) + off);
        long words = ObjectLayout.sizeWords(header);
        long end = off + (words << 3);
        // The scan reads the slots through RawMemory, unchecked: they must lie inside the object,
        // and the object inside the segment it is read through.
        if (words < ObjectLayout.MIN_OBJECT_WORDS || end > limit || (off < split && end > split)
                || ObjectLayout.refSlotOffset(ObjectLayout.refCount(header)) > words << 3) {
            throw badHeader(off, words, holder, slot);
        }
        if (atomic) {
            if (!bitmap.markObject(off, words)) {
                return; // another marker got there first and traces it
            }
        } else {
            bitmap.markRangeUnchecked(off, words);
        }
        long entry = ObjectStartBitmap.entryOf(off);
        if (ObjectStartBitmap.coversChunkStart(off, words)) {
            if (atomic || entry == sharedStartEntry) {
                starts.orAtomic(entry, ObjectStartBitmap.bitOf(off));
            } else {
                starts.orPlain(entry, ObjectStartBitmap.bitOf(off));
            }
        }
        objects++;
        ensure(1);
        stack[sp++] = ref;
    }

    // The messages are built out of line: with them inside, mark() was too large for the JIT to
    // inline into drain(), and every reference traced paid a call.

    private IllegalStateException outsideUsedHeap(int ref, long holder, long slot) {
        return new IllegalStateException("marking: reference 0x" + Integer.toHexString(ref)
                + (holder < 0 ? " in a root" : " in slot " + slot + " of the object at 0x" + Long.toHexString(holder))
                + " is outside the used heap [0x" + Long.toHexString(lowest) + ", 0x" + Long.toHexString(limit) + ")");
    }

    private static IllegalStateException badHeader(long off, long words, long holder, long slot) {
        return new IllegalStateException("marking: object at 0x" + Long.toHexString(off) + " has a bad header ("
                + words + " words)" + (holder < 0 ? ", held by a root" : ", held by slot " + slot
                + " of the object at 0x" + Long.toHexString(holder)));
    }

    /**
     * Scans objects until the stack is empty; returns false if {@code work} was abandoned first
     * (checked every {@value #CHECK_EVERY} objects; null: never). Shares the top of a deep stack
     * with idle markers.
     */
    boolean drain(AbortableWork work) {
        int sinceCheck = 0;
        while (sp > 0) {
            int ref = stack[--sp];
            long off = ObjectLayout.refToOffset(ref);
            long address = base(off) + off;
            long refs = ObjectLayout.refCount(RawMemory.ALL.get(LONG, address));
            // Last slot first, so that the first slot's object is popped next: a structure
            // allocated parent before children (pre-order) is then traced in address order.
            for (long i = refs - 1; i >= 0; i--) {
                int child = RawMemory.ALL.get(INT, address + ObjectLayout.refSlotOffset(i));
                if (child != 0) {
                    mark(child, off, i);
                }
            }
            if (hooks != MarkingHooks.NONE) {
                hooks.traced(ref);
            }
            if (packets != null && sp >= 2 * MarkPackets.PACKET && packets.hungry()) {
                sp -= MarkPackets.PACKET;
                packets.give(stack, sp);
            }
            if (++sinceCheck == CHECK_EVERY) {
                sinceCheck = 0;
                if (work != null && work.aborted()) {
                    return false;
                }
            }
        }
        return true;
    }

    private void ensure(int more) {
        if (sp + more > stack.length) {
            stack = Arrays.copyOf(stack, Math.max(stack.length * 2, sp + more));
        }
    }

    /** The address of the segment the object at {@code off} is read through. */
    private long base(long off) {
        return off < split ? lowAddress : viewAddress;
    }

    /** Drops the stack (marking ended or was abandoned) and the view. */
    void end() {
        sp = 0;
        viewAddress = 0;
        lowAddress = 0;
        split = 0;
        if (stack.length > 1 << 16) {
            stack = new int[1024];
        }
    }
}
