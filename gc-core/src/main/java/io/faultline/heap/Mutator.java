package io.faultline.heap;

import io.faultline.gc.meta.PageStates;
import io.faultline.model.InvalidAccessException;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.model.TypeRegistry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A thread's handle on a {@link Heap}: allocation, field access, precise roots and safepoint
 * polls. Get one with {@link Heap#attach()}, use it from that thread only, and {@link #close()}
 * it to detach.
 *
 * <h2>References and the raw-reference contract</h2>
 * Objects are named by raw references: {@code int} compressed heap offsets ({@code 0} is null).
 * <b>A raw reference is valid only until this mutator's next allocation or {@link #poll()}</b>,
 * because a collection may run there and move every object. To keep an object across such a
 * point, store it in a handle ({@link #push}) or a global root, or in a field of an object that is
 * itself reachable, and read it back afterwards.
 *
 * <h2>Handles</h2>
 * Handles are a per-mutator stack of root slots: {@link #push} returns a slot index, {@link #handle}
 * and {@link #setHandle} read and write it, {@link #popTo} drops everything above a mark taken with
 * {@link #handleMark}. {@link HandleScope} wraps a mark in try-with-resources. Handles never
 * allocate on the Java heap once the stack has grown to its working depth.
 *
 * <h2>Checked mode</h2>
 * With {@link HeapConfig#checkedAccess()} every access validates the reference (null, outside the
 * used region, or not pointing at an object header) and the slot, field offset or index, and
 * throws {@link InvalidAccessException} naming the operation, object and field. Unchecked
 * accesses are plain memory accesses (plus, on the java backend, a page-state check).
 *
 * <p><b>Threading:</b> confined to the attaching thread. Blocking on anything other than the
 * heap must be bracketed by {@link #enterSafeRegion()} / {@link #leaveSafeRegion()} (during
 * which no raw reference may be used), or collections will wait for this thread.
 */
public final class Mutator implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    final Heap heap;
    final Thread owner;
    private final boolean checked;
    private final int pageShift;

    // Root stack: read by the collector inside pauses.
    int[] handles = new int[64];
    int handleTop;

    // TLAB [tlabTop, tlabEnd): retired by the collector inside pauses.
    long tlabTop;
    long tlabEnd;

    /** Safepoint state, guarded by the {@link Safepoints} lock. */
    int state;
    /** Nesting depth of safe regions (a thread may collect or verify from inside one). Same lock. */
    int safeDepth;
    private boolean closed;
    private long allocatedBytes;

    Mutator(Heap heap) {
        this.heap = heap;
        this.owner = Thread.currentThread();
        this.checked = heap.config.checkedAccess();
        this.pageShift = Integer.numberOfTrailingZeros(heap.config.pageSize());
    }

    public Heap heap() {
        return heap;
    }

    /** Bytes this mutator has allocated. */
    public long allocatedBytes() {
        return allocatedBytes;
    }

    // ---- safepoints ------------------------------------------------------------------------

    /** A safepoint poll: parks here if a collection pause is requested. Raw references die here. */
    public void poll() {
        if (heap.safepoints.pauseRequested) {
            heap.safepoints.parkForPause(this);
        }
    }

    /** Declares that this thread will not touch the heap until {@link #leaveSafeRegion()}. */
    public void enterSafeRegion() {
        heap.safepoints.enterSafeRegion(this);
    }

    /** Ends a safe region; waits while a pause is in progress. Raw references died. */
    public void leaveSafeRegion() {
        heap.safepoints.leaveSafeRegion(this);
    }

    /** Runs a full collection now (the caller's raw references die). */
    public void collect() {
        heap.collector.collect(this, "System.gc()");
    }

    // ---- handles -----------------------------------------------------------------------------

    /** Pushes {@code ref} as a root and returns its handle index. */
    public int push(int ref) {
        if (checked && ref != 0) {
            checkObject(ref, "push", null);
        }
        if (handleTop == handles.length) {
            handles = Arrays.copyOf(handles, handles.length * 2);
        }
        handles[handleTop] = ref;
        return handleTop++;
    }

    /** Current reference held by handle {@code h}. */
    public int handle(int h) {
        if (checked && (h < 0 || h >= handleTop)) {
            throw new InvalidAccessException("handle " + h + " is not live (handle stack depth " + handleTop + ")");
        }
        return handles[h];
    }

    public void setHandle(int h, int ref) {
        if (checked) {
            if (h < 0 || h >= handleTop) {
                throw new InvalidAccessException("handle " + h + " is not live (handle stack depth " + handleTop + ")");
            }
            if (ref != 0) {
                checkObject(ref, "setHandle", null);
            }
        }
        handles[h] = ref;
    }

    /** The current depth of the handle stack, to pass to {@link #popTo}. */
    public int handleMark() {
        return handleTop;
    }

    /** Drops every handle at or above {@code mark}. */
    public void popTo(int mark) {
        if (mark < 0 || mark > handleTop) {
            throw new IllegalArgumentException("handle mark " + mark + " is not within the stack depth " + handleTop);
        }
        Arrays.fill(handles, mark, handleTop, 0);
        handleTop = mark;
    }

    /** Opens a scope that pops every handle pushed inside it when closed. */
    public HandleScope openScope() {
        return new HandleScope(this, handleTop);
    }

    // ---- allocation --------------------------------------------------------------------------

    /** Allocates a zeroed instance of {@code type}. A safepoint: raw references die here. */
    public int allocate(ObjectType type) {
        if (!heap.types.contains(type)) {
            heap.types.register(type);
        }
        return allocateRaw(type.id(), type.refSlots(), type.dataBytes(), 0);
    }

    /** Allocates a reference array of {@code length} null elements. */
    public int allocateRefArray(int length) {
        checkLength(length, "ref[]");
        return allocateRaw(ObjectLayout.TYPE_REF_ARRAY, length, 0, length);
    }

    public int allocateByteArray(int length) {
        checkLength(length, "byte[]");
        return allocateRaw(ObjectLayout.TYPE_BYTE_ARRAY, 0, length, length);
    }

    public int allocateIntArray(int length) {
        checkLength(length, "int[]");
        return allocateRaw(ObjectLayout.TYPE_INT_ARRAY, 0, 4L * length, length);
    }

    public int allocateLongArray(int length) {
        checkLength(length, "long[]");
        return allocateRaw(ObjectLayout.TYPE_LONG_ARRAY, 0, 8L * length, length);
    }

    public int allocateDoubleArray(int length) {
        checkLength(length, "double[]");
        return allocateRaw(ObjectLayout.TYPE_DOUBLE_ARRAY, 0, 8L * length, length);
    }

    private static void checkLength(int length, String what) {
        if (length < 0) {
            throw new IllegalArgumentException(what + ": negative length " + length);
        }
    }

    private int allocateRaw(int typeId, long refs, long dataBytes, long length) {
        long words = ObjectLayout.objectWords(refs, dataBytes);
        long bytes = words << ObjectLayout.LOG_WORD_BYTES;
        poll();
        long at = tlabTop;
        if (at + bytes <= tlabEnd) {
            tlabTop = at + bytes;
        } else {
            at = heap.allocateSlow(this, bytes);
        }
        allocatedBytes += bytes;
        MemorySegment v = heap.view;
        ObjectLayout.writeHeader(v, at, words, refs, typeId, length);
        return ObjectLayout.offsetToRef(at);
    }

    // ---- reference fields and elements -------------------------------------------------------

    /** Reads reference slot {@code slot} (field or ref[] element) of {@code obj}. */
    public int getRef(int obj, int slot) {
        long a = refAddress(obj, slot, "getRef");
        return heap.view.get(INT, a);
    }

    /** Writes reference slot {@code slot} of {@code obj}. */
    public void setRef(int obj, int slot, int value) {
        long a = refAddress(obj, slot, "setRef");
        if (checked && value != 0) {
            checkObject(value, "setRef", describeSlot(obj, slot) + " value");
        }
        heap.view.set(INT, a, value);
    }

    // ---- primitive fields: fieldOffset is from the object start, see ObjectType#field -------

    public int getInt(int obj, long fieldOffset) {
        return heap.view.get(INT, dataAddress(obj, fieldOffset, 4, "getInt"));
    }

    public void setInt(int obj, long fieldOffset, int value) {
        heap.view.set(INT, dataAddress(obj, fieldOffset, 4, "setInt"), value);
    }

    public long getLong(int obj, long fieldOffset) {
        return heap.view.get(LONG, dataAddress(obj, fieldOffset, 8, "getLong"));
    }

    public void setLong(int obj, long fieldOffset, long value) {
        heap.view.set(LONG, dataAddress(obj, fieldOffset, 8, "setLong"), value);
    }

    public double getDouble(int obj, long fieldOffset) {
        return heap.view.get(DOUBLE, dataAddress(obj, fieldOffset, 8, "getDouble"));
    }

    public void setDouble(int obj, long fieldOffset, double value) {
        heap.view.set(DOUBLE, dataAddress(obj, fieldOffset, 8, "setDouble"), value);
    }

    public byte getByte(int obj, long fieldOffset) {
        return heap.view.get(BYTE, dataAddress(obj, fieldOffset, 1, "getByte"));
    }

    public void setByte(int obj, long fieldOffset, byte value) {
        heap.view.set(BYTE, dataAddress(obj, fieldOffset, 1, "setByte"), value);
    }

    /** Copies {@code len} bytes of {@code obj}, from {@code fieldOffset}, into {@code dst}. */
    public void getBytes(int obj, long fieldOffset, byte[] dst, int dstIndex, int len) {
        long a = dataRangeAddress(obj, fieldOffset, len, "getBytes");
        MemorySegment.copy(heap.view, BYTE, a, dst, dstIndex, len);
    }

    /** Copies {@code len} bytes of {@code src} into {@code obj} at {@code fieldOffset}. */
    public void setBytes(int obj, long fieldOffset, byte[] src, int srcIndex, int len) {
        long a = dataRangeAddress(obj, fieldOffset, len, "setBytes");
        MemorySegment.copy(src, srcIndex, heap.view, BYTE, a, len);
    }

    // ---- array elements -------------------------------------------------------------------

    /** Element count of an array (0 for a plain object). */
    public int length(int obj) {
        long off = objectAddress(obj, "length");
        return (int) ObjectLayout.length(heap.view.get(LONG, touch(off + ObjectLayout.WORD_BYTES)));
    }

    public int getIntAt(int array, int index) {
        return getInt(array, elementOffset(array, index, ObjectLayout.TYPE_INT_ARRAY, 4, "getIntAt"));
    }

    public void setIntAt(int array, int index, int value) {
        setInt(array, elementOffset(array, index, ObjectLayout.TYPE_INT_ARRAY, 4, "setIntAt"), value);
    }

    public long getLongAt(int array, int index) {
        return getLong(array, elementOffset(array, index, ObjectLayout.TYPE_LONG_ARRAY, 8, "getLongAt"));
    }

    public void setLongAt(int array, int index, long value) {
        setLong(array, elementOffset(array, index, ObjectLayout.TYPE_LONG_ARRAY, 8, "setLongAt"), value);
    }

    public double getDoubleAt(int array, int index) {
        return getDouble(array, elementOffset(array, index, ObjectLayout.TYPE_DOUBLE_ARRAY, 8, "getDoubleAt"));
    }

    public void setDoubleAt(int array, int index, double value) {
        setDouble(array, elementOffset(array, index, ObjectLayout.TYPE_DOUBLE_ARRAY, 8, "setDoubleAt"), value);
    }

    public byte getByteAt(int array, int index) {
        return getByte(array, elementOffset(array, index, ObjectLayout.TYPE_BYTE_ARRAY, 1, "getByteAt"));
    }

    public void setByteAt(int array, int index, byte value) {
        setByte(array, elementOffset(array, index, ObjectLayout.TYPE_BYTE_ARRAY, 1, "setByteAt"), value);
    }

    /** Type id of {@code obj} (see {@link ObjectLayout} for built-in ids). */
    public int typeId(int obj) {
        long off = objectAddress(obj, "typeId");
        return ObjectLayout.typeId(heap.view.get(LONG, touch(off + ObjectLayout.WORD_BYTES)));
    }

    /** The user type of {@code obj}, or null for arrays. */
    public ObjectType typeOf(int obj) {
        return heap.types.get(typeId(obj));
    }

    // ---- address computation, page checks and validation -------------------------------------

    /**
     * The software page fault of the java backend: one load and compare on the fast path. Returns
     * {@code offset} so calls chain.
     */
    private long touch(long offset) {
        if (heap.pageCheck) {
            long page = offset >>> pageShift;
            if (heap.pageStates.stateAcquire(page) != PageStates.MAPPED) {
                heap.collector.pageFault(this, page);
            }
        }
        return offset;
    }

    private long objectAddress(int obj, String op) {
        if (checked) {
            checkObject(obj, op, null);
        }
        return ObjectLayout.refToOffset(obj);
    }

    private long refAddress(int obj, int slot, String op) {
        long off = objectAddress(obj, op);
        if (checked) {
            long refs = ObjectLayout.refCount(heap.view.get(LONG, touch(off)));
            if (slot < 0 || slot >= refs) {
                throw new InvalidAccessException(op + ": reference slot " + slot + " is out of range for "
                        + describe(obj) + " (" + refs + " reference slots)");
            }
        }
        return touch(off + ObjectLayout.refSlotOffset(slot));
    }

    private long dataAddress(int obj, long fieldOffset, int size, String op) {
        long off = objectAddress(obj, op);
        if (checked) {
            checkData(obj, off, fieldOffset, size, op);
        }
        return touch(off + fieldOffset);
    }

    private long dataRangeAddress(int obj, long fieldOffset, int len, String op) {
        long off = objectAddress(obj, op);
        if (len < 0) {
            throw new IllegalArgumentException(op + ": negative length " + len);
        }
        if (checked) {
            checkData(obj, off, fieldOffset, len, op);
        }
        long a = off + fieldOffset;
        if (heap.pageCheck && len > 0) {
            long ps = 1L << pageShift;
            for (long p = a & -ps; p < a + len; p += ps) {
                touch(p);
            }
        }
        return a;
    }

    private long elementOffset(int array, int index, int expectType, int elem, String op) {
        if (checked) {
            long off = objectAddress(array, op);
            long cw = heap.view.get(LONG, touch(off + ObjectLayout.WORD_BYTES));
            int t = ObjectLayout.typeId(cw);
            if (t != expectType) {
                throw new InvalidAccessException(op + ": " + describe(array) + " is not a " + heap.types.nameOf(expectType));
            }
            long len = ObjectLayout.length(cw);
            if (index < 0 || index >= len) {
                throw new InvalidAccessException(op + ": index " + index + " is out of bounds for " + describe(array)
                        + " of length " + len);
            }
        }
        return ObjectLayout.HEADER_BYTES + (long) index * elem;
    }

    private void checkData(int obj, long off, long fieldOffset, long size, String op) {
        long hw = heap.view.get(LONG, touch(off));
        long cw = heap.view.get(LONG, touch(off + ObjectLayout.WORD_BYTES));
        int t = ObjectLayout.typeId(cw);
        long dataBegin = ObjectLayout.dataOffset(ObjectLayout.refCount(hw));
        long dataBytes;
        ObjectType type = heap.types.get(t);
        if (type != null) {
            dataBytes = type.dataBytes();
        } else {
            dataBytes = ObjectLayout.length(cw) * TypeRegistry.elementBytes(t);
        }
        if (fieldOffset < dataBegin || fieldOffset + size > dataBegin + dataBytes) {
            String field = type != null ? "field '" + type.fieldNameAt(fieldOffset) + "'" : "offset " + fieldOffset;
            throw new InvalidAccessException(op + ": " + field + " (" + size + " bytes at offset " + fieldOffset
                    + ") is outside the data bytes [" + dataBegin + ", " + (dataBegin + dataBytes) + ") of "
                    + describe(obj));
        }
    }

    /** Checked mode: rejects null, out-of-heap and non-object references. */
    private void checkObject(int ref, String op, String what) {
        String subject = what == null ? "reference" : what;
        if (ref == 0) {
            throw new InvalidAccessException(op + ": " + subject + " is null");
        }
        long off = ObjectLayout.refToOffset(ref);
        long top = heap.top();
        if (off < ObjectLayout.HEADER_BYTES || off + ObjectLayout.HEADER_BYTES > top) {
            throw new InvalidAccessException(op + ": " + subject + " 0x" + Integer.toHexString(ref) + " (heap offset 0x"
                    + Long.toHexString(off) + ") is outside the used heap [0x10, 0x" + Long.toHexString(top) + ")");
        }
        long hw = heap.view.get(LONG, touch(off));
        long cw = heap.view.get(LONG, touch(off + ObjectLayout.WORD_BYTES));
        int t = ObjectLayout.typeId(cw);
        if (ObjectLayout.magic(cw) != ObjectLayout.MAGIC || ObjectLayout.sizeWords(hw) < ObjectLayout.MIN_OBJECT_WORDS
                || !heap.types.isKnown(t) || t == ObjectLayout.TYPE_FILLER || t == ObjectLayout.TYPE_NULL_GUARD) {
            throw new InvalidAccessException(op + ": " + subject + " 0x" + Integer.toHexString(ref) + " (heap offset 0x"
                    + Long.toHexString(off) + ") does not point at an object header");
        }
    }

    private String describeSlot(int obj, int slot) {
        ObjectType t = typeOf(obj);
        String name = t != null && slot < t.refSlots() ? "." + t.refName(slot) : "[" + slot + "]";
        return describe(obj) + name;
    }

    /** {@code Type@0xoffset}, for messages. */
    String describe(int obj) {
        long off = ObjectLayout.refToOffset(obj);
        long cw = heap.view.get(LONG, off + ObjectLayout.WORD_BYTES);
        return heap.types.nameOf(ObjectLayout.typeId(cw)) + "@0x" + Long.toHexString(off);
    }

    // ---- lifecycle --------------------------------------------------------------------------

    /** Detaches this mutator: its handles stop being roots and its TLAB is returned. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            heap.detach(this);
        }
    }

    public boolean isClosed() {
        return closed;
    }
}
