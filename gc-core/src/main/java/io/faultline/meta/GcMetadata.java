package io.faultline.meta;

import java.lang.foreign.Arena;

/**
 * The collector's side tables for one heap, owning the native memory they live in. Created with
 * the heap and closed last, after every thread and native routine that reads the tables has
 * stopped (the backend's {@code close()} joins its native threads before {@link #close()} runs).
 * Layouts: {@link MetadataDescriptor}, {@link PageStates}, {@link ControlBlock}, {@link TraceRing}.
 *
 * <p><b>Assumptions and Guarantees:</b> the tables' addresses never change during the heap's
 * life, so native code may keep raw pointers to them until the heap closes.
 */
public final class GcMetadata implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    /** The control block's own memory: it outlives the tables while mutators may still poll it ({@link #closeControl}). */
    private final Arena controlArena = Arena.ofShared();
    private final MarkBitmap bitmap;
    private final ObjectStartBitmap objectStarts;
    private final OffsetVector offsets;
    private final FirstObjectTable firstObjects;
    private final PageStates pageStates;
    private final ControlBlock control;
    private final TraceRing traceRing;
    private final int pageSize;
    private final long capacity;

    /** Allocates the tables for a heap of {@code capacity} bytes in pages of {@code pageSize}. */
    public GcMetadata(long capacity, int pageSize) {
        this.capacity = capacity;
        this.pageSize = pageSize;
        long pages = capacity / pageSize;
        this.bitmap = new MarkBitmap(arena, capacity);
        this.objectStarts = new ObjectStartBitmap(arena, capacity);
        this.offsets = new OffsetVector(arena, bitmap);
        this.firstObjects = new FirstObjectTable(arena, pages);
        this.pageStates = new PageStates(arena, pages);
        this.control = new ControlBlock(controlArena);
        this.traceRing = new TraceRing(arena, control);
    }

    public MarkBitmap bitmap() {
        return bitmap;
    }

    /** Where the objects the collector will move start (Java only: the planner's index). */
    public ObjectStartBitmap objectStarts() {
        return objectStarts;
    }

    public OffsetVector offsets() {
        return offsets;
    }

    public FirstObjectTable firstObjects() {
        return firstObjects;
    }

    public PageStates pageStates() {
        return pageStates;
    }

    public ControlBlock control() {
        return control;
    }

    /** The trace ring (allocated only when tracing is first enabled; see {@link TraceRing}). */
    public TraceRing traceRing() {
        return traceRing;
    }

    public int pageSize() {
        return pageSize;
    }

    public long capacity() {
        return capacity;
    }

    /**
     * Frees the tables, but not the control block ({@link #closeControl}). Call only once nothing
     * reads them any more; later access throws.
     */
    @Override
    public void close() {
        arena.close();
    }

    /**
     * Frees the control block. Mutators poll it by its raw address ({@link ControlBlock#pollAddress}),
     * so the heap calls this only once no mutator of another thread can still be about to read it,
     * when it releases its view; later access through {@link #control()} throws.
     */
    public void closeControl() {
        controlArena.close();
    }
}
