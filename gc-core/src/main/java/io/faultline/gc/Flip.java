package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.OffsetVector;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectLayout;

/**
 * The flip: the end of every cycle's last pause (a stop-the-world pause, or a concurrent cycle's
 * flip pause), once the plan is complete. Every root takes its object's post-compact reference
 * ({@link #flipRoots}); then {@link #publish}: the cycle's bounds go into the control block, the
 * backend keeps the old contents as from-space and gives an unmapped to-space, every to-space
 * page becomes UNPROCESSED, allocation resumes above the new top, and the ACTIVE_EPOCH store,
 * last, opens the cycle to claimers.
 *
 * <p><b>Assumptions and Guarantees:</b> runs in a pause, after the EPOCH store of the cycle and
 * with no compaction in flight. The offset vector and first-object table are complete for the
 * used region. Every root, and every reference slot of every marked object, holds null or a
 * reference to a marked object (marking guarantees it: see {@link ConcurrentMarking}), so the
 * Compressor's {@code forward} is meaningful for every reference the roots and the compactors
 * rewrite.
 */
final class Flip {
    private final HeapBinding heap;
    private final HeapBackend backend;
    private final GcMetadata metadata;
    private final ControlBlock control;
    private final PageCompactor compactor;
    private final Compaction compaction;
    private final Verification verification;
    private final GcStats stats;
    private final CollectorSettings settings;
    private final GcEvents events;
    private final int pageShift;

    Flip(HeapBinding heap, HeapBackend backend, GcMetadata metadata, PageCompactor compactor, Compaction compaction,
         Verification verification, GcStats stats, CollectorSettings settings, GcEvents events) {
        this.heap = heap;
        this.backend = backend;
        this.metadata = metadata;
        this.control = metadata.control();
        this.compactor = compactor;
        this.compaction = compaction;
        this.verification = verification;
        this.stats = stats;
        this.settings = settings;
        this.events = events;
        this.pageShift = Integer.numberOfTrailingZeros(metadata.pageSize());
    }

    /** Every root now holds its object's post-compact reference. */
    void flipRoots() {
        OffsetVector offsets = metadata.offsets();
        heap.updateRoots(ref -> ObjectLayout.offsetToRef(offsets.forward(ObjectLayout.refToOffset(ref))));
    }

    /**
     * Publishes cycle {@code cycle}: objects of {@code [base, used)} move to {@code [toBase,
     * newTop)}; the to-space pages below {@code verbatimEnd} are copies of their from-space
     * pages. Returns the nanoseconds the backend's {@code beginCompaction} took (on uffd the
     * kernel work that moves or remaps the used pages).
     */
    long publish(long cycle, long used, long newTop, long toBase, long verbatimEnd) {
        compactor.setCycle(used, newTop, verbatimEnd);
        control.set(ControlBlock.VERBATIM_END, verbatimEnd);
        long firstPage = toBase >>> pageShift;
        long endPage = endPage(newTop);
        control.set(ControlBlock.FROM_TOP, used);
        control.set(ControlBlock.NEW_TOP, newTop);
        control.set(ControlBlock.FIRST_PAGE, firstPage);
        control.set(ControlBlock.END_PAGE, endPage);
        control.set(ControlBlock.NEXT_PAGE, firstPage);
        control.set(ControlBlock.FRONTIER_PAGE, firstPage);
        control.set(ControlBlock.CONSUMED, 0);
        control.set(ControlBlock.RELEASED, 0);
        control.set(ControlBlock.RECYCLE_NEXT, 0);
        control.set(ControlBlock.FAULT_HINT, 0);
        long b0 = System.nanoTime();
        backend.beginCompaction(used, firstPage, endPage);
        long backendNanos = System.nanoTime() - b0;
        if (events != null) {
            events.compactionStarting(cycle, firstPage, endPage);
        }
        metadata.pageStates().publishRange(firstPage, endPage, PageStates.UNPROCESSED);
        control.set(ControlBlock.PAGES_LEFT, endPage - firstPage);
        long base = firstPage << pageShift;
        heap.setView(backend.view());
        heap.resetAllocation(base, endPage << pageShift, allocationLimit(base));
        stats.afterPlan(newTop - Math.max(toBase, ObjectLayout.HEADER_BYTES), endPage << pageShift);
        verification.cycleStarted();
        compaction.begin(cycle, endPage - firstPage);
        control.set(ControlBlock.ACTIVE_EPOCH, cycle);
        return backendNanos;
    }

    /** The page after the last to-space page of a cycle whose post-compact top is {@code newTop}. */
    long endPage(long newTop) {
        return (newTop + (1L << pageShift) - 1) >>> pageShift;
    }

    /** Where a cycle that starts with objects based at {@code fromBase} packs them. */
    long toBase(long fromBase) {
        return settings.relocateEveryObject() && fromBase == 0 ? relocationHalf() : 0;
    }

    /** With {@code relocateEveryObject}: the base of the upper half of the heap. */
    private long relocationHalf() {
        return (metadata.capacity() >>> 1) >>> pageShift << pageShift;
    }

    /** Where allocation must stop for objects based at {@code base}. */
    long allocationLimit(long base) {
        return settings.relocateEveryObject() ? (base == 0 ? relocationHalf() : metadata.capacity()) : metadata.capacity();
    }
}
