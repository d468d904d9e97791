package io.faultline.backend;

import io.faultline.meta.GcMetadata;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * A backend that forwards every method, the interface's default methods included, to another:
 * subclass it and override what you want to watch or change (a damage injector, a test's probe).
 * A wrapper written method by method silently falls back to a default method it forgot to forward
 * (the collector's read view, the allocation granule), which changes what the heap does; this one
 * cannot forget.
 *
 * <p><b>Threading:</b> each method has the contract of the {@link HeapBackend} method it forwards.
 */
public abstract class ForwardingBackend implements HeapBackend {
    private final HeapBackend delegate;

    protected ForwardingBackend(HeapBackend delegate) {
        this.delegate = delegate;
    }

    /** The backend every call goes to. */
    protected final HeapBackend delegate() {
        return delegate;
    }

    @Override public String name() { return delegate.name(); }
    @Override public String mode() { return delegate.mode(); }
    @Override public long capacity() { return delegate.capacity(); }
    @Override public int pageSize() { return delegate.pageSize(); }
    @Override public MemorySegment view() { return delegate.view(); }
    @Override public MemorySegment collectorReadView() { return delegate.collectorReadView(); }
    @Override public boolean accessNeedsPageCheck() { return delegate.accessNeedsPageCheck(); }
    @Override public void attach(GcMetadata metadata, PageBuilder builder) { delegate.attach(metadata, builder); }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        delegate.beginCompaction(usedBytes, firstPage, endPage);
    }

    @Override public long compactStep(long maxPages) { return delegate.compactStep(maxPages); }
    @Override public int serveFault(long page) { return delegate.serveFault(page); }
    @Override public void endCompaction() { delegate.endCompaction(); }
    @Override public MemorySegment fromSpace() { return delegate.fromSpace(); }
    @Override public long allocationZeroFrom() { return delegate.allocationZeroFrom(); }
    @Override public long recycleAllocationPages(long from, long limit) { return delegate.recycleAllocationPages(from, limit); }
    @Override public void prepareAllocation(long offset, long bytes) { delegate.prepareAllocation(offset, bytes); }
    @Override public long allocationGranule() { return delegate.allocationGranule(); }
    @Override public FaultLatencies faultLatencies() { return delegate.faultLatencies(); }
    @Override public Map<String, Long> counters() { return delegate.counters(); }
    @Override public void close() { delegate.close(); }
    @Override public void releaseView() { delegate.releaseView(); }
}
