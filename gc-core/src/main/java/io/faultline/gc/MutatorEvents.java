package io.faultline.gc;

/**
 * What mutators and the allocator tell the collector, and ask of it, for concurrent marking:
 * where the write barrier hands its full buffers, allocation events (the slow path, a retired
 * TLAB, an object placed outside a TLAB) and the free-space trigger that starts a cycle. With
 * stop-the-world marking every method is a no-op and the trigger never fires.
 *
 * <p><b>Threading:</b> any mutator thread, outside pauses; {@link #tlabRetired} also from the
 * pausing thread. Allocation-free.
 */
public final class MutatorEvents {
    private final ConcurrentCycle cycle;

    MutatorEvents(ConcurrentCycle cycle) {
        this.cycle = cycle;
    }

    /** Where a mutator's write barrier hands its full buffers; null without concurrent marking. */
    public SatbQueue satbQueue() {
        return cycle == null ? null : cycle.satbQueue();
    }

    /**
     * A mutator at its allocation slow path (it holds no raw reference there): runs a pause of a
     * concurrent cycle if one is on offer (see {@code ConcurrentCycle}).
     */
    public void allocationSlowPath() {
        if (cycle != null) {
            cycle.atAllocationSlowPath();
        }
    }

    /** An allocation at or above this offset should start a concurrent cycle ({@link Long#MAX_VALUE}: none). */
    public long cycleTrigger() {
        return cycle == null ? Long.MAX_VALUE : cycle.trigger();
    }

    /** Allocation crossed the trigger: starts a concurrent cycle in the background (once per trigger); does not wait. */
    public void triggerReached() {
        if (cycle != null) {
            cycle.request();
        }
    }

    /** The allocator retired the TLAB {@code [start, end)} (objects, then a filler). */
    public void tlabRetired(long start, long end) {
        if (cycle != null) {
            cycle.blackAllocation().tlabRetired(start, end);
        }
    }

    /** The allocator placed an object outside any TLAB at {@code at}. */
    public void allocatedOutsideTlab(long at) {
        if (cycle != null) {
            cycle.blackAllocation().allocatedDirect(at);
        }
    }
}
