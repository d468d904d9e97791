package io.faultline.heap;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.Collector;
import io.faultline.meta.GcMetadata;
import java.lang.foreign.MemorySegment;

/**
 * Test access to a heap's internals that are not embedding API: the view, the backend, the side
 * tables, the collector and the allocation bounds. Shared with uffd-backend's tests (test-jar).
 */
public final class HeapInternals {
    private HeapInternals() {}

    public static MemorySegment view(Heap heap) {
        return heap.view;
    }

    public static HeapBackend backend(Heap heap) {
        return heap.backend;
    }

    public static GcMetadata metadata(Heap heap) {
        return heap.metadata;
    }

    public static Collector collector(Heap heap) {
        return heap.collector;
    }

    /** Top of the used region. */
    public static long top(Heap heap) {
        return heap.allocator.top();
    }

    /** Bottom of the used region (0 unless relocateEveryObject moved it). */
    public static long base(Heap heap) {
        return heap.allocator.base();
    }
}
