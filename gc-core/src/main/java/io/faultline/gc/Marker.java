package io.faultline.gc;

import io.faultline.meta.MarkBitmap;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Stop-the-world tracing: from the roots, marks every word of every reachable object in the
 * {@link MarkBitmap}. Depth-first with an explicit stack, so deep structures (long lists) cannot
 * overflow the Java stack.
 *
 * <p><b>Assumptions and Guarantees:</b> runs inside a pause, on one thread. A reference that
 * points outside the used region is heap damage and stops marking with an
 * {@link IllegalStateException} naming the object and slot that hold it.
 */
final class Marker {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private final MarkBitmap bitmap;
    private int[] stack = new int[1024];
    private int sp;
    private MemorySegment view;
    private long lowest;
    private long used;

    Marker(MarkBitmap bitmap) {
        this.bitmap = bitmap;
    }

    /**
     * Starts marking the objects of {@code [base, used)}. {@code keepNullGuard}: to-space starts at
     * offset 0, so the null guard's two words are marked live and keep offset 0 (the page
     * compactors write its header; its from-space bytes are never read).
     */
    void begin(MemorySegment view, long base, long used, boolean keepNullGuard) {
        this.view = view;
        this.lowest = base == 0 ? ObjectLayout.HEADER_BYTES : base;
        this.used = used;
        bitmap.clear(used);
        if (keepNullGuard) {
            bitmap.markRange(0, ObjectLayout.MIN_OBJECT_WORDS);
        }
    }

    /** Marks a root; returns it unchanged so it can serve as a root visitor. */
    int markRoot(int ref) {
        mark(ref, -1, -1);
        drain();
        return ref;
    }

    private void mark(int ref, long holder, long slot) {
        long off = ObjectLayout.refToOffset(ref);
        if (off < lowest || off >= used) {
            throw new IllegalStateException("marking: reference 0x" + Integer.toHexString(ref)
                    + (holder < 0 ? " in a root" : " in slot " + slot + " of the object at 0x" + Long.toHexString(holder))
                    + " is outside the used heap [0x" + Long.toHexString(lowest) + ", 0x" + Long.toHexString(used) + ")");
        }
        if (bitmap.isMarked(off)) {
            return;
        }
        long words = ObjectLayout.sizeWords(view.get(LONG, off));
        if (words < ObjectLayout.MIN_OBJECT_WORDS || off + (words << 3) > used) {
            throw new IllegalStateException("marking: object at 0x" + Long.toHexString(off) + " has a bad header ("
                    + words + " words)" + (holder < 0 ? ", held by a root" : ", held by slot " + slot
                    + " of the object at 0x" + Long.toHexString(holder)));
        }
        bitmap.markRange(off, words);
        if (sp == stack.length) {
            stack = Arrays.copyOf(stack, sp * 2);
        }
        stack[sp++] = ref;
    }

    private void drain() {
        while (sp > 0) {
            int ref = stack[--sp];
            long off = ObjectLayout.refToOffset(ref);
            long refs = ObjectLayout.refCount(view.get(LONG, off));
            for (long i = 0; i < refs; i++) {
                int child = view.get(INT, off + ObjectLayout.refSlotOffset(i));
                if (child != 0) {
                    mark(child, off, i);
                }
            }
        }
    }

    void end() {
        view = null;
        if (stack.length > 1 << 16) {
            stack = new int[1024];
        }
    }
}
