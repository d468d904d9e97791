package io.faultline.cli;

import io.faultline.backend.FaultLatencies;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * {@code faultline run --inject-damage}: a backend that wraps the real one and, at the first
 * concurrent compaction, right after the real backend's {@link #beginCompaction} (inside the
 * pause, from-space readable, no page built yet), zeroes the header of one live object in
 * from-space: the object the middle to-space page starts with ({@link GcMetadata#firstObjects()}).
 * The page that holds it can then not be built, and the heap must fail loud: the page is never
 * shown, every mutator gets a {@link io.faultline.gc.HeapCorruptedException} naming the page, the
 * path and the errno, and the run exits 1 with {@code verified} false. A debug aid for watching
 * that happen; every other method (the interface's default methods included) is the wrapped
 * backend's.
 */
public final class DamageInjectingBackend implements HeapBackend {
    private final HeapBackend inner;
    private GcMetadata metadata;
    private volatile String damage;

    private DamageInjectingBackend(HeapBackend inner) {
        this.inner = inner;
    }

    /** Wraps every backend {@code factory} creates. */
    public static Factory wrap(Factory factory) {
        return (capacity, pageSize) -> new DamageInjectingBackend(factory.create(capacity, pageSize));
    }

    /** What was damaged ({@code from-space offset N (first object of to-space page P)}), or null if nothing yet. */
    public String damage() {
        return damage;
    }

    @Override
    public void attach(GcMetadata md, PageBuilder builder) {
        this.metadata = md;
        inner.attach(md, builder);
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        inner.beginCompaction(usedBytes, firstPage, endPage);
        if (damage != null || firstPage >= endPage) {
            return;
        }
        // The middle page's first object, or the nearest page after it that has one.
        for (long page = (firstPage + endPage) / 2; page < endPage; page++) {
            long offset = metadata.firstObjects().get(page);
            if (offset != MetadataDescriptor.NO_OBJECT) {
                inner.fromSpace().set(ValueLayout.JAVA_LONG_UNALIGNED, offset, 0L);
                damage = "from-space offset " + offset + " (first object of to-space page " + page + ")";
                return;
            }
        }
    }

    @Override
    public long compactStep(long maxPages) {
        return inner.compactStep(maxPages);
    }

    @Override
    public int serveFault(long page) {
        return inner.serveFault(page);
    }

    @Override
    public void endCompaction() {
        inner.endCompaction();
    }

    @Override
    public MemorySegment fromSpace() {
        return inner.fromSpace();
    }

    @Override
    public long allocationZeroFrom() {
        return inner.allocationZeroFrom();
    }

    @Override
    public long recycleAllocationPages(long from, long limit) {
        return inner.recycleAllocationPages(from, limit);
    }

    @Override
    public void prepareAllocation(long offset, long bytes) {
        inner.prepareAllocation(offset, bytes);
    }

    @Override
    public long allocationGranule() {
        return inner.allocationGranule();
    }

    @Override
    public Map<String, Long> counters() {
        return inner.counters();
    }

    @Override
    public FaultLatencies faultLatencies() {
        return inner.faultLatencies();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String mode() {
        return inner.mode();
    }

    @Override
    public long capacity() {
        return inner.capacity();
    }

    @Override
    public int pageSize() {
        return inner.pageSize();
    }

    @Override
    public MemorySegment view() {
        return inner.view();
    }

    @Override
    public boolean accessNeedsPageCheck() {
        return inner.accessNeedsPageCheck();
    }

    @Override
    public void close() {
        inner.close();
    }
}
