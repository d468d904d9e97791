package io.faultline.heap;

import io.faultline.backend.PageProtocol;
import io.faultline.gc.MutatorEvents;
import io.faultline.gc.SatbQueue;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.PageStates;
import io.faultline.meta.PoisonPage;
import io.faultline.meta.RawMemory;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.function.IntConsumer;

/**
 * A thread's handle on a {@link Heap}: allocation, field access, precise roots and safepoint
 * polls. Get one with {@link Heap#attach()}, use it from that thread only, and {@link #close()}
 * it to detach (before the thread ends).
 *
 * <h2>References and the raw-reference contract</h2>
 * Objects are named by raw references: {@code int} compressed heap offsets ({@code 0} is null).
 * <b>A raw reference is valid only until this mutator's next allocation or {@link #poll()}</b>,
 * because a collection may run there and move every object. To keep an object across such a
 * point, store it in a handle ({@link #push}) or a global root, or in a field of an object that is
 * itself reachable, and read it back afterwards.
 *
 * <h2>Handles</h2>
 * Handles are a per-mutator stack of root slots: {@link #push} returns an opaque handle,
 * {@link #handle} and {@link #setHandle} read and write it, {@link #popTo} drops everything above
 * a mark taken with {@link #handleMark}. {@link HandleScope} wraps a mark in try-with-resources.
 * Handles never allocate on the Java heap once the stack has grown to its working depth.
 *
 * <h2>Checked mode</h2>
 * With {@link HeapConfig#checkedAccess()} every access validates the calling thread, the reference
 * (null, a handle, outside the used region, not an object header) and the slot, field offset or
 * index, and throws {@link io.faultline.model.InvalidAccessException} naming the operation, object
 * and field. With {@link HeapConfig#relocateEveryObject()} as well, every raw reference kept
 * across a collection is caught at its next use. Unchecked accesses are plain memory accesses
 * (plus, on the java backend, a page-state check).
 *
 * <h2>The write barrier</h2>
 * While the collector marks concurrently (between its initial-mark and remark pauses),
 * {@link #setRef} first reads the value the store overwrites and, if it is an object that
 * existed when marking began and is not marked yet, appends it to this mutator's buffer (a
 * snapshot-at-the-beginning barrier). Outside marking the barrier is one test of a field of this
 * mutator. Handles and global roots have no barrier. See {@code docs/gc-cycle.md}.
 *
 * <h2>Failure</h2>
 * If the heap fails (a page could not be built, see {@link io.faultline.gc.HeapCorruptedException}),
 * the next allocation, poll or read of a failed page throws that exception; no read ever returns
 * data from a page that was not built right.
 *
 * <p><b>Threading:</b> confined to the attaching thread. Blocking on anything other than the
 * heap must be bracketed by {@link #enterSafeRegion()} / {@link #leaveSafeRegion()} (during
 * which no raw reference may be used), or collections wait for this thread (and say so in the GC
 * log after the heap's safepoint timeout).
 */
public final class Mutator implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    private static final VarHandle POLL_WORD = ValueLayout.JAVA_LONG.varHandle();

    final Heap heap;
    final Thread owner;
    final HandleStack handles;
    private final PageStates pageStates;
    private final boolean pageCheck;
    private final AccessChecks checks;
    private final int pageShift;
    private final MarkBitmap bitmap;
    private final SatbQueue satbQueue;

    /**
     * The SATB barrier: on between the initial-mark and remark pauses; values at or above
     * {@code satbNewObjectsFrom} are objects allocated since marking began. Written only by a
     * pause (this mutator parked or in a safe region) or by {@link Safepoints} when it attaches,
     * under its lock; read by this thread.
     */
    boolean satbOn;
    /** The heap's card limit (young cycles; 0 otherwise), taken with the barrier state. */
    long cardLimit;
    long satbNewObjectsFrom;
    /** The barrier's log: {@code satbBuffer[0, satbCount)}; a pause may drain it. */
    private int[] satbBuffer;
    private int satbCount;

    /**
     * TLAB {@code [tlabStart, tlabEnd)}, free from {@code tlabTop}: written by this thread, or by the
     * {@link Allocator} in a pause.
     */
    long tlabStart;
    long tlabTop;
    long tlabEnd;
    /** Written only by {@link Safepoints}, under its lock. */
    int safepointState;
    /** Nesting depth of safe regions; written only by {@link Safepoints}, under its lock. */
    int safeDepth;
    /** The type this mutator allocated last: registered with the heap (types stay registered). */
    private ObjectType lastType;
    private boolean closed;
    private volatile boolean detachedByPause;
    /** Bytes allocated in retired TLABs and outside TLABs ({@link #countAllocated}). */
    private long allocatedBytes;

    Mutator(Heap heap) {
        this.heap = heap;
        this.owner = Thread.currentThread();
        this.handles = new HandleStack(heap.config.checkedAccess());
        this.pageStates = heap.metadata.pageStates();
        this.pageCheck = heap.backend.accessNeedsPageCheck();
        this.pageShift = Integer.numberOfTrailingZeros(heap.config.pageSize());
        this.checks = heap.config.checkedAccess() ? new AccessChecks(this) : null;
        this.bitmap = heap.metadata.bitmap();
        this.satbQueue = heap.collector.events().satbQueue();
    }

    public Heap heap() {
        return heap;
    }

    /** Bytes this mutator has allocated: in retired TLABs, in its TLAB now, and outside TLABs. */
    public long allocatedBytes() {
        return allocatedBytes + (tlabTop - tlabStart);
    }

    /**
     * Counts bytes allocated in a TLAB being retired, or outside any TLAB: the fast path counts
     * nothing, its TLAB's used part is counted when the TLAB is retired. Called by this thread, or
     * by a pausing thread while this mutator is parked.
     */
    void countAllocated(long bytes) {
        allocatedBytes += bytes;
    }

    // ---- safepoints ------------------------------------------------------------------------

    /**
     * A safepoint poll: parks here if a collection pause is requested, and throws if the heap has
     * failed or closed. Raw references die here.
     */
    public void poll() {
        long w = pollWord();
        if (w != 0) {
            heap.pollSlow(this, w);
        }
    }

    /**
     * The POLL word, read (acquire) at its raw address ({@code Heap.pollAddress}): the control
     * block stays allocated while this mutator may read it, or the address is the closed heap's
     * word, which never goes away.
     */
    private long pollWord() {
        return (long) POLL_WORD.getAcquire(RawMemory.ALL, heap.pollAddress);
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
        heap.collect();
    }

    // ---- handles -----------------------------------------------------------------------------

    /** Pushes {@code ref} as a root and returns its handle. */
    public int push(int ref) {
        if (checks != null && ref != 0) {
            checks.object(ref, "push", null);
        }
        return handles.push(ref);
    }

    /** The reference held by handle {@code h}. */
    public int handle(int h) {
        if (checks != null) {
            checks.owner("handle");
        }
        return handles.get(h);
    }

    public void setHandle(int h, int ref) {
        if (checks != null && ref != 0) {
            checks.object(ref, "setHandle", null);
        }
        handles.set(h, ref);
    }

    /** The current depth of the handle stack, to pass to {@link #popTo}. */
    public int handleMark() {
        return handles.mark();
    }

    /** Drops every handle pushed since {@code mark} was taken. */
    public void popTo(int mark) {
        handles.popTo(mark);
    }

    /** Opens a scope that pops every handle pushed inside it when closed. */
    public HandleScope openScope() {
        return new HandleScope(this, handles.mark());
    }

    // ---- allocation --------------------------------------------------------------------------

    /** Allocates a zeroed instance of {@code type}. A safepoint: raw references die here. */
    public int allocate(ObjectType type) {
        if (type != lastType) {
            registerType(type);
        }
        return allocateWords(type.headerWord(), type.classWord());
    }

    /** Registers {@code type} with the heap if it is new there, and remembers it as registered. */
    private void registerType(ObjectType type) {
        if (!heap.types.contains(type)) {
            heap.types.register(type);
        }
        lastType = type;
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

    /** Allocates a byte array holding a copy of {@code bytes} (for example a string's UTF-8 bytes). */
    public int allocateByteArray(byte[] bytes) {
        int array = allocateByteArray(bytes.length);
        setBytes(array, ObjectLayout.ARRAY_DATA_OFFSET, bytes, 0, bytes.length);
        return array;
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
        return allocateWords(ObjectLayout.headerWord(words, refs), ObjectLayout.classWord(typeId, length));
    }

    /** Allocates an object whose header words are {@code headerWord} and {@code classWord}. */
    private int allocateWords(long headerWord, long classWord) {
        long bytes = ObjectLayout.sizeWords(headerWord) << ObjectLayout.LOG_WORD_BYTES;
        if (checks != null) {
            checks.owner("allocate");
        }
        poll();
        long at = tlabTop;
        if (at + bytes <= tlabEnd) {
            tlabTop = at + bytes;
        } else {
            MutatorEvents events = heap.collector.events();
            at = heap.allocator.allocateSlow(this, bytes);
            if (at >= events.cycleTrigger()) {
                events.triggerReached(); // the heap is filling up: start marking now
            }
        }
        // No check against the view's size: the allocator handed out [at, at + bytes) inside the
        // view, and the poll above saw the heap open, so the view stays mapped while this mutator
        // is attached (Heap.close()).
        long p = heap.viewAddress + at;
        RawMemory.ALL.set(LONG, p, headerWord);
        RawMemory.ALL.set(LONG, p + ObjectLayout.WORD_BYTES, classWord);
        return ObjectLayout.offsetToRef(at);
    }

    // ---- reference fields and elements -------------------------------------------------------

    /** Reads reference slot {@code slot} (field or ref[] element) of {@code obj}. */
    public int getRef(int obj, int slot) {
        int v = RawMemory.ALL.get(INT, refAddress(obj, slot, "getRef"));
        return v == PoisonPage.INT ? checkPoison(v) : v;
    }

    /** Writes reference slot {@code slot} of {@code obj} (with the write barrier while marking). */
    public void setRef(int obj, int slot, int value) {
        long p = refAddress(obj, slot, "setRef");
        if (checks != null && value != 0) {
            checks.object(value, "setRef", describeSlot(obj, slot) + " value");
        }
        if (satbOn) {
            satbLog(RawMemory.ALL.get(INT, p));
        }
        long holder = ObjectLayout.refToOffset(obj);
        if (holder < cardLimit) { // young cycles: a store into an old object or a survivor sets its card
            heap.cards[(int) (holder >>> MetadataDescriptor.LOG_CHUNK_BYTES)] = 1;
        }
        RawMemory.ALL.set(INT, p, value);
    }

    /** The barrier's slow part: logs {@code old} unless it is null, new or already marked. */
    private void satbLog(int old) {
        long off = ObjectLayout.refToOffset(old);
        if (old == 0 || off >= satbNewObjectsFrom || bitmap.isMarked(off)) {
            return;
        }
        if (satbBuffer == null || satbCount == satbBuffer.length) {
            satbBuffer = satbQueue.exchange(satbBuffer);
            satbCount = 0;
        }
        satbBuffer[satbCount++] = old;
    }

    /** Under the safepoint lock or in a pause: takes the heap's barrier state. */
    void syncSatbBarrier() {
        satbOn = heap.satbBarrierOn;
        satbNewObjectsFrom = heap.satbNewObjectsFrom;
        cardLimit = heap.cardLimit;
    }

    /** In a pause: passes the logged values to {@code consumer} and empties the log. */
    void drainSatbBuffer(IntConsumer consumer) {
        for (int i = 0; i < satbCount; i++) {
            consumer.accept(satbBuffer[i]);
        }
        satbCount = 0;
    }

    /** Detaching (with no pause in progress): hands the logged values to the collector. */
    void flushSatbBuffer() {
        if (satbCount > 0) {
            satbQueue.offerPartial(satbBuffer, satbCount);
            satbBuffer = null;
            satbCount = 0;
        }
    }

    // ---- primitive fields: fieldOffset is from the object start, see ObjectType#field -------

    public int getInt(int obj, long fieldOffset) {
        int v = RawMemory.ALL.get(INT, dataAddress(obj, fieldOffset, 4, "getInt"));
        return v == PoisonPage.INT ? checkPoison(v) : v;
    }

    public void setInt(int obj, long fieldOffset, int value) {
        RawMemory.ALL.set(INT, dataAddress(obj, fieldOffset, 4, "setInt"), value);
    }

    public long getLong(int obj, long fieldOffset) {
        long v = RawMemory.ALL.get(LONG, dataAddress(obj, fieldOffset, 8, "getLong"));
        return v == PoisonPage.LONG ? checkPoison(v) : v;
    }

    public void setLong(int obj, long fieldOffset, long value) {
        RawMemory.ALL.set(LONG, dataAddress(obj, fieldOffset, 8, "setLong"), value);
    }

    public double getDouble(int obj, long fieldOffset) {
        double v = RawMemory.ALL.get(DOUBLE, dataAddress(obj, fieldOffset, 8, "getDouble"));
        return Double.doubleToRawLongBits(v) == PoisonPage.LONG ? Double.longBitsToDouble(checkPoison(PoisonPage.LONG)) : v;
    }

    public void setDouble(int obj, long fieldOffset, double value) {
        RawMemory.ALL.set(DOUBLE, dataAddress(obj, fieldOffset, 8, "setDouble"), value);
    }

    public byte getByte(int obj, long fieldOffset) {
        byte v = RawMemory.ALL.get(BYTE, dataAddress(obj, fieldOffset, 1, "getByte"));
        return v == PoisonPage.BYTE ? (byte) checkPoison(v) : v;
    }

    public void setByte(int obj, long fieldOffset, byte value) {
        RawMemory.ALL.set(BYTE, dataAddress(obj, fieldOffset, 1, "setByte"), value);
    }

    /** Copies {@code len} bytes of {@code obj}, from {@code fieldOffset}, into {@code dst}. */
    public void getBytes(int obj, long fieldOffset, byte[] dst, int dstIndex, int len) {
        long a = dataRangeAddress(obj, fieldOffset, len, "getBytes");
        MemorySegment.copy(heap.view, BYTE, a, dst, dstIndex, len);
        checkPoisonAfterBulkRead();
    }

    /** Copies {@code len} bytes of {@code src} into {@code obj} at {@code fieldOffset}. */
    public void setBytes(int obj, long fieldOffset, byte[] src, int srcIndex, int len) {
        long a = dataRangeAddress(obj, fieldOffset, len, "setBytes");
        MemorySegment.copy(src, srcIndex, heap.view, BYTE, a, len);
    }

    // ---- byte strings in place ------------------------------------------------------------------

    /**
     * Compares {@code len} bytes of {@code a} at {@code aOffset} with {@code len} bytes of
     * {@code b} at {@code bOffset} as unsigned bytes, in place (no copy): negative, zero or
     * positive like {@link java.util.Arrays#compareUnsigned(byte[], byte[])}. Offsets are from
     * the object start (for a byte array, {@link ObjectLayout#ARRAY_DATA_OFFSET} is element 0).
     */
    public int compareBytes(int a, long aOffset, int b, long bOffset, int len) {
        long x = dataRangeAddress(a, aOffset, len, "compareBytes");
        long y = dataRangeAddress(b, bOffset, len, "compareBytes");
        MemorySegment view = heap.view;
        long diff = MemorySegment.mismatch(view, x, x + len, view, y, y + len);
        checkPoisonAfterBulkRead();
        if (diff < 0) {
            return 0;
        }
        return Integer.compare(Byte.toUnsignedInt(view.get(BYTE, x + diff)), Byte.toUnsignedInt(view.get(BYTE, y + diff)));
    }

    /** True if {@code len} bytes of {@code obj} at {@code offset} equal {@code bytes[0..len)}. */
    public boolean bytesEqual(int obj, long offset, byte[] bytes) {
        long x = dataRangeAddress(obj, offset, bytes.length, "bytesEqual");
        boolean equal = MemorySegment.mismatch(heap.view, x, x + bytes.length, MemorySegment.ofArray(bytes), 0, bytes.length) < 0;
        checkPoisonAfterBulkRead();
        return equal;
    }

    /**
     * A hash of {@code len} bytes of {@code obj} at {@code offset}, in place: the same value as
     * {@link java.util.Arrays#hashCode(byte[])} of those bytes.
     */
    public int hashBytes(int obj, long offset, int len) {
        long x = dataRangeAddress(obj, offset, len, "hashBytes");
        MemorySegment view = heap.view;
        int h = 1;
        for (long i = 0; i < len; i++) {
            h = 31 * h + view.get(BYTE, x + i);
        }
        checkPoisonAfterBulkRead();
        return h;
    }

    // ---- array elements -------------------------------------------------------------------

    /** Element count of an array (0 for a plain object). */
    public int length(int obj) {
        long cw = RawMemory.ALL.get(LONG, classWordAddress(obj, "length"));
        return (int) ObjectLayout.length(cw == PoisonPage.LONG ? checkPoison(cw) : cw);
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
        long cw = RawMemory.ALL.get(LONG, classWordAddress(obj, "typeId"));
        return ObjectLayout.typeId(cw == PoisonPage.LONG ? checkPoison(cw) : cw);
    }

    /** The user type of {@code obj}, or null for arrays. */
    public ObjectType typeOf(int obj) {
        return heap.types.get(typeId(obj));
    }

    // ---- page checks, poison checks and addresses ------------------------------------------------

    /**
     * The software page fault of the java backend: one acquire load and compare on the fast path.
     * Returns {@code offset} so calls chain.
     */
    long touch(long offset) {
        if (pageCheck) {
            long page = offset >>> pageShift;
            int state;
            try {
                state = pageStates.stateAcquire(page);
            } catch (IllegalStateException closedArena) {
                throw new IllegalStateException("heap is closed");
            }
            if (state != PageStates.MAPPED) {
                fault(page);
            }
        }
        return offset;
    }

    private void fault(long page) {
        int r = heap.backend.serveFault(page);
        if (r == PageProtocol.FAULT_FAILED) {
            heap.checkUsable();
        } else if (r == PageProtocol.FAULT_ABANDONED) {
            throw new IllegalStateException("heap closed while page " + page + " was being built");
        }
    }

    /**
     * A read returned the poison pattern: it may come from a page installed by the failure path (or
     * by close during a compaction). The failure (or close) was recorded before that page was
     * installed, so after this load the FAILED (or CLOSED) bit is visible; if it is set, throw. A
     * legitimate value equal to the pattern is returned.
     */
    private long checkPoison(long value) {
        VarHandle.loadLoadFence();
        if ((pollWord() & (ControlBlock.POLL_FAILED | ControlBlock.POLL_CLOSED)) != 0) {
            heap.checkUsable();
        }
        return value;
    }

    private int checkPoison(int value) {
        return (int) checkPoison((long) value);
    }

    private void checkPoisonAfterBulkRead() {
        VarHandle.loadLoadFence();
        if ((pollWord() & (ControlBlock.POLL_FAILED | ControlBlock.POLL_CLOSED)) != 0) {
            heap.checkUsable();
        }
    }

    private long objectAddress(int obj, String op) {
        if (checks != null) {
            checks.object(obj, op, null);
        }
        return ObjectLayout.refToOffset(obj);
    }

    /**
     * The absolute address of the {@code size} bytes at view offset {@code a}, for an access
     * through {@link RawMemory}: the offset is checked against the view's size, which is 0 once
     * the heap is closed. Mutators access the heap this way, not through the view's segment,
     * because the segment checks its class, bounds, writability and arena on every access (see
     * docs/results.md); what those checks protected is kept by this one comparison and by
     * {@link Heap#close()}, which leaves the view mapped while a mutator of another thread is
     * still attached.
     */
    private long raw(long a, long size, String op) {
        Heap h = heap;
        if ((a | (h.viewBytes - size - a)) < 0) { // a < 0 or a + size > viewBytes
            throw outsideView(a, size, op);
        }
        return h.viewAddress + a;
    }

    private RuntimeException outsideView(long a, long size, String op) {
        if (heap.isClosed()) {
            return new IllegalStateException("heap is closed");
        }
        return new IndexOutOfBoundsException(op + ": bytes [0x" + Long.toHexString(a) + ", 0x" + Long.toHexString(a + size)
                + ") are outside the heap's view [0, 0x" + Long.toHexString(heap.viewBytes) + "): not a reference of this heap?");
    }

    /** The absolute address ({@link #raw}) of reference slot {@code slot} of {@code obj}, its page touched. */
    private long refAddress(int obj, int slot, String op) {
        long off = objectAddress(obj, op);
        if (checks != null) {
            checks.refSlot(obj, off, slot, op);
        }
        return raw(touch(off + ObjectLayout.refSlotOffset(slot)), ObjectLayout.REF_BYTES, op);
    }

    /** The absolute address ({@link #raw}) of the {@code size}-byte field at {@code fieldOffset} of {@code obj}, its page touched. */
    private long dataAddress(int obj, long fieldOffset, int size, String op) {
        long off = objectAddress(obj, op);
        if (checks != null) {
            checks.data(obj, off, fieldOffset, size, op);
        }
        return raw(touch(off + fieldOffset), size, op);
    }

    /** The absolute address ({@link #raw}) of the class word of {@code obj}, its page touched. */
    private long classWordAddress(int obj, String op) {
        return raw(touch(objectAddress(obj, op) + ObjectLayout.WORD_BYTES), ObjectLayout.WORD_BYTES, op);
    }

    private long dataRangeAddress(int obj, long fieldOffset, int len, String op) {
        long off = objectAddress(obj, op);
        if (len < 0) {
            throw new IllegalArgumentException(op + ": negative length " + len);
        }
        if (checks != null) {
            checks.data(obj, off, fieldOffset, len, op);
        }
        long a = off + fieldOffset;
        if (pageCheck && len > 0) {
            long ps = 1L << pageShift;
            for (long p = a & -ps; p < a + len; p += ps) {
                touch(p);
            }
        }
        raw(a, len, op); // the bulk copies go through the view's segment; this throws if the heap is closed
        return a;
    }

    private long elementOffset(int array, int index, int expectType, int elem, String op) {
        if (checks != null) {
            checks.element(array, objectAddress(array, op), index, expectType, op);
        }
        return ObjectLayout.ARRAY_DATA_OFFSET + (long) index * elem;
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

    /** A pause found this mutator's thread ended and detached it (see {@link Safepoints}). */
    void detachedBecauseThreadEnded() {
        detachedByPause = true;
        closed = true;
    }

    /** Detaches this mutator: its handles stop being roots and its TLAB is returned. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            heap.detach(this);
        }
    }

    public boolean isClosed() {
        return closed || detachedByPause;
    }
}
