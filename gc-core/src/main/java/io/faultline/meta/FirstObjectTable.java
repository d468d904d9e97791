package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * For every to-space page, the from-space offset of the live object whose post-compact extent
 * covers the page's first byte (or, if the page starts between objects, the first live object
 * that lands in it). It is where the page compactor starts walking. Layout in
 * {@link MetadataDescriptor}; {@link MetadataDescriptor#NO_OBJECT} marks a page with no
 * live data.
 *
 * <p><b>Assumptions and Guarantees:</b> written by the planner inside the pause, read-only
 * afterwards until the next cycle.
 */
public final class FirstObjectTable {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;
    private final MemorySegment table;
    private final long pages;

    FirstObjectTable(Arena arena, long pages) {
        this.pages = pages;
        this.table = arena.allocate(pages * MetadataDescriptor.FIRST_OBJECT_ENTRY_BYTES, 64);
    }

    public MemorySegment segment() {
        return table;
    }

    public long pages() {
        return pages;
    }

    public long get(long page) {
        return table.getAtIndex(I64, page);
    }

    public void set(long page, long fromOffset) {
        table.setAtIndex(I64, page, fromOffset);
    }
}
