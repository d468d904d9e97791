package io.faultline.heap;

import io.faultline.model.InvalidAccessException;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.model.TypeRegistry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Checked mode ({@code HeapConfig.checkedAccess}): validates every access before it happens and
 * throws {@link InvalidAccessException} naming the operation, the object and the field. Checks:
 * the calling thread owns the mutator; a reference is not null, not a handle, inside the used
 * region {@code [base, top)} and points at an object header; a slot, field offset or array index
 * is in range for the object's type. With {@code relocateEveryObject} every collection moves every
 * object out of the previous used region, so any raw reference kept across a collection fails the
 * range check at its next use.
 */
final class AccessChecks {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final Mutator m;
    private final Heap heap;

    AccessChecks(Mutator m) {
        this.m = m;
        this.heap = m.heap;
    }

    void owner(String op) {
        Thread t = Thread.currentThread();
        if (t != m.owner) {
            throw new InvalidAccessException(op + ": the mutator of thread '" + m.owner.getName()
                    + "' is used from thread '" + t.getName() + "' (a mutator is confined to the thread that attached it)");
        }
    }

    /** Rejects null, handles, out-of-heap and non-object references. */
    void object(int ref, String op, String what) {
        owner(op);
        String subject = what == null ? "reference" : what;
        if (ref == 0) {
            throw new InvalidAccessException(op + ": " + subject + " is null");
        }
        if (m.handles.looksLikeHandle(ref)) {
            throw new InvalidAccessException(op + ": " + subject + " 0x" + Integer.toHexString(ref) + " is a handle (slot "
                    + HandleStack.slotOf(ref) + "), not a reference: read the reference with handle(h)");
        }
        long off = ObjectLayout.refToOffset(ref);
        long base = Math.max(heap.allocator.base(), ObjectLayout.HEADER_BYTES);
        long top = heap.allocator.top();
        if (off < base || off + ObjectLayout.HEADER_BYTES > top) {
            throw new InvalidAccessException(op + ": " + subject + " 0x" + Integer.toHexString(ref) + " (heap offset 0x"
                    + Long.toHexString(off) + ") is outside the used heap [0x" + Long.toHexString(base) + ", 0x"
                    + Long.toHexString(top) + ")" + (heap.config.relocateEveryObject()
                    ? ": a raw reference kept across a collection (every object moved)" : ""));
        }
        MemorySegment view = heap.view;
        long hw = view.get(LONG, m.touch(off));
        long cw = view.get(LONG, m.touch(off + ObjectLayout.WORD_BYTES));
        int t = ObjectLayout.typeId(cw);
        if (ObjectLayout.magic(cw) != ObjectLayout.MAGIC || ObjectLayout.sizeWords(hw) < ObjectLayout.MIN_OBJECT_WORDS
                || !heap.types.isKnown(t) || t == ObjectLayout.TYPE_FILLER || t == ObjectLayout.TYPE_NULL_GUARD) {
            heap.checkUsable(); // a poisoned page of a failed heap reads as garbage: report the failure instead
            throw new InvalidAccessException(op + ": " + subject + " 0x" + Integer.toHexString(ref) + " (heap offset 0x"
                    + Long.toHexString(off) + ") does not point at an object header");
        }
    }

    void refSlot(int obj, long off, int slot, String op) {
        long refs = ObjectLayout.refCount(heap.view.get(LONG, m.touch(off)));
        if (slot < 0 || slot >= refs) {
            throw new InvalidAccessException(op + ": reference slot " + slot + " is out of range for "
                    + m.describe(obj) + " (" + refs + " reference slots)");
        }
    }

    void data(int obj, long off, long fieldOffset, long size, String op) {
        MemorySegment view = heap.view;
        long hw = view.get(LONG, m.touch(off));
        long cw = view.get(LONG, m.touch(off + ObjectLayout.WORD_BYTES));
        int t = ObjectLayout.typeId(cw);
        long dataBegin = ObjectLayout.dataOffset(ObjectLayout.refCount(hw));
        ObjectType type = heap.types.get(t);
        long dataBytes = type != null ? type.dataBytes() : ObjectLayout.length(cw) * TypeRegistry.elementBytes(t);
        if (fieldOffset < dataBegin || fieldOffset + size > dataBegin + dataBytes) {
            String field = type != null ? "field '" + type.fieldNameAt(fieldOffset) + "'" : "offset " + fieldOffset;
            throw new InvalidAccessException(op + ": " + field + " (" + size + " bytes at offset " + fieldOffset
                    + ") is outside the data bytes [" + dataBegin + ", " + (dataBegin + dataBytes) + ") of "
                    + m.describe(obj));
        }
    }

    void element(int array, long off, int index, int expectType, String op) {
        long cw = heap.view.get(LONG, m.touch(off + ObjectLayout.WORD_BYTES));
        int t = ObjectLayout.typeId(cw);
        if (t != expectType) {
            throw new InvalidAccessException(op + ": " + m.describe(array) + " is not a " + heap.types.nameOf(expectType));
        }
        long len = ObjectLayout.length(cw);
        if (index < 0 || index >= len) {
            throw new InvalidAccessException(op + ": index " + index + " is out of bounds for " + m.describe(array)
                    + " of length " + len);
        }
    }
}
