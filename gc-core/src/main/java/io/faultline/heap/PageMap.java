package io.faultline.heap;

import io.faultline.gc.GcEvents;
import io.faultline.gc.GcPhase;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.PageStates;

/**
 * A live, read-only view of a running heap for a page map ({@code faultline run --watch}): each
 * page's state ({@link PageStates}), the used pages, the cycle and the phase in progress, and the
 * fault and page counters. Every read is a racy load of the shared tables: the view never stops
 * the heap and never takes a lock, so a frame may show a page in a state that a neighbour's
 * already left. Use it only until {@link Heap#close()}.
 */
public final class PageMap {
    private final Heap heap;
    private final PageStates states;
    private final ControlBlock control;
    private final GcEvents events;
    private final int pageSize;

    PageMap(Heap heap, GcMetadata metadata, GcEvents events) {
        this.heap = heap;
        this.states = metadata.pageStates();
        this.control = metadata.control();
        this.events = events;
        this.pageSize = metadata.pageSize();
    }

    /** Pages in the heap (capacity / page size). */
    public long pages() {
        return states.pages();
    }

    public int pageSize() {
        return pageSize;
    }

    /** The state of {@code page} now (acquire load). */
    public int state(long page) {
        return states.stateAcquire(page);
    }

    /** Pages below the allocation top. */
    public long usedPages() {
        return (heap.allocator.top() + pageSize - 1) / pageSize;
    }

    /** Cycles flipped so far. */
    public long cycles() {
        return heap.collector.cycles();
    }

    /** The phase in progress, or null between cycles. */
    public GcPhase phase() {
        return events.phase();
    }

    /** The cycle {@link #phase()} belongs to. */
    public long phaseCycle() {
        return events.phaseCycle();
    }

    /** Faults served over the heap's life. */
    public long faults() {
        return control.get(ControlBlock.FAULTS);
    }

    /** To-space pages of the compaction in flight not yet mapped (0 between compactions). */
    public long pagesLeft() {
        return control.get(ControlBlock.PAGES_LEFT);
    }

    /** The current (or last) compaction's to-space, {@code [toSpaceFirstPage, toSpaceEndPage)}. */
    public long toSpaceFirstPage() {
        return control.get(ControlBlock.FIRST_PAGE);
    }

    public long toSpaceEndPage() {
        return control.get(ControlBlock.END_PAGE);
    }

    /** True once the heap has failed (a page could not be built or installed). */
    public boolean failed() {
        return (control.poll() & ControlBlock.POLL_FAILED) != 0;
    }
}
