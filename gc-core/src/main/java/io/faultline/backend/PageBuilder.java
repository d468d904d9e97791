package io.faultline.backend;

import java.lang.foreign.MemorySegment;

/**
 * Builds one to-space page from from-space: the collector's page compactor, handed to the backend
 * as a callback so that backends depend on the shared layouts ({@code io.faultline.meta}), not on
 * the collector. The native fault path has its own copy of the routine in C
 * ({@code compact_page} in {@code fl_compactor.c}); both must write identical bytes.
 */
@FunctionalInterface
public interface PageBuilder {
    /**
     * Writes to-space page {@code page} (an absolute page number) into {@code dst} at
     * {@code dstOffset}, reading live objects from {@code from} (offsets as in the view). Writes
     * exactly one page. Throws {@link PageBuildException} if from-space is damaged.
     */
    void build(MemorySegment from, long page, MemorySegment dst, long dstOffset);
}
