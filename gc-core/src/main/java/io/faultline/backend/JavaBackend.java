package io.faultline.backend;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The pure-Java backend: the heap is two native segments of equal size that swap roles at each
 * compaction, so the old view becomes the from-space and the other segment receives to-space
 * pages. Mutators check page states in software while a compaction is in flight, and the page
 * protocol runs in Java ({@link PageProtocol}).
 */
public final class JavaBackend implements HeapBackend {
    private final Arena arena = Arena.ofShared();
    private final long capacity;
    private final int pageSize;
    private MemorySegment view;
    private MemorySegment spare;
    private MemorySegment from;
    private PageProtocol protocol;
    private PageBuilder builder;
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
    public void attach(GcMetadata metadata, PageBuilder pageBuilder) {
        this.builder = pageBuilder;
        this.protocol = new PageProtocol(metadata, new PageProtocol.Pages() {
            @Override
            public void build(long page) {
                builder.build(from, page, view, page * pageSize);
            }

            @Override
            public int install(long first, long n) {
                return 0; // the page state is the mapping
            }

            @Override
            public void release(long offset, long bytes) {
                // An Arena segment cannot be partly released.
            }

            @Override
            public void poison(long page) {
                // Mutators check the page state before every access: a FAILED page is never read.
            }
        });
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        from = view;
        view = spare;
        spare = from;
    }

    @Override
    public long compactStep(long maxPages) {
        return protocol.compactStep(maxPages);
    }

    @Override
    public int serveFault(long page) {
        return protocol.serveFault(page, true, ControlBlock.PATH_FAULT_JAVA);
    }

    @Override
    public void endCompaction() {
        from = null;
    }

    @Override
    public MemorySegment fromSpace() {
        MemorySegment f = from;
        return f == null ? MemorySegment.NULL : f;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
