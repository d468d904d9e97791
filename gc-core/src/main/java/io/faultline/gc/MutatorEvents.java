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
    /**
     * A bit of the control block's POLL word that only Java uses (the native side never reads
     * it): a concurrent cycle offers a pause, which the first mutator to poll runs (see
     * {@link #atPoll}).
     */
    public static final long POLL_OFFER = 8;

    private final ConcurrentCycle cycle;

    MutatorEvents(ConcurrentCycle cycle) {
        this.cycle = cycle;
    }

    /** Where a mutator's write barrier hands its full buffers; null without concurrent marking. */
    public SatbQueue satbQueue() {
        return cycle == null ? null : cycle.satbQueue();
    }

    /**
     * A mutator polled and found {@link #POLL_OFFER} set (it holds no raw reference at a poll):
     * runs the pause a concurrent cycle offers, unless another mutator took it first. The world
     * then stops with this mutator at a safepoint already, instead of waiting for it to reach one.
     */
    public void atPoll() {
        if (cycle != null) {
            cycle.atPoll();
        }
    }

    /** An allocation at or above this offset should start a concurrent cycle ({@link Long#MAX_VALUE}: none). */
    public long cycleTrigger() {
        return cycle == null ? Long.MAX_VALUE : cycle.scheduler().trigger();
    }

    /** Allocation crossed the trigger: starts a concurrent cycle in the background (once per trigger); does not wait. */
    public void triggerReached() {
        if (cycle != null) {
            cycle.scheduler().request();
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
