package io.faultline.backend;

import io.faultline.gc.compact.PageCompactor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The pure-Java backend: the heap is two native segments of equal size that swap roles at each
 * compaction, so the old view becomes the from-space and the other segment receives to-space
 * pages. Mutators check page states in software while a compaction is in flight.
 *
 * <p>Memory: twice the heap capacity, for the life of the heap (a Java segment cannot be partly
 * unmapped, so from-space is not released progressively).
 */
public final class JavaBackend implements HeapBackend {
    private final Arena arena = Arena.ofShared();
    private final long capacity;
    private final int pageSize;
    private MemorySegment view;
    private MemorySegment spare;
    private MemorySegment from;
    private boolean closed;

    public JavaBackend(long capacity, int pageSize) {
        this.capacity = capacity;
        this.pageSize = pageSize;
        this.view = arena.allocate(capacity, pageSize);
        this.spare = arena.allocate(capacity, pageSize);
    }

    public static Factory factory() {
        return JavaBackend::new;
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String mode() {
        return null;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public int pageSize() {
        return pageSize;
    }

    @Override
    public MemorySegment view() {
        return view;
    }

    @Override
    public boolean accessNeedsPageCheck() {
        return true;
    }

    @Override
    public MemorySegment beginCompaction(long usedBytes, long toSpaceBytes) {
        from = view;
        view = spare;
        spare = from;
        return from;
    }

    @Override
    public void buildPage(long page, PageCompactor compactor) {
        compactor.compactPage(from, page, view, page * pageSize);
    }

    @Override
    public void releaseFromSpace(long offset, long bytes) {
        // A segment from an Arena cannot be partly released.
    }

    @Override
    public void endCompaction() {
        from = null;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
