package io.faultline.gc;

/**
 * The phases of a collection cycle, in the order a cycle runs them, as the trace ring
 * ({@code TraceRing.KIND_PHASE_*}, by ordinal), JFR ({@code faultline.GcPhase}) and
 * {@code faultline run --trace} name them. A concurrent cycle runs INIT_MARK to FLIP; a
 * stop-the-world one runs FULL; both then run COMPACTION and RELEASE.
 */
public enum GcPhase {
    /** Pause: snapshot the roots, turn the write barrier on. */
    INIT_MARK("init-mark", true),
    /** Concurrent: trace from the snapshot and the logged values. */
    CONCURRENT_MARK("concurrent-mark", false),
    /** Pause: drain the barrier's buffers, finish marking. */
    REMARK("remark", true),
    /** Concurrent: black allocation, offsets and first objects. */
    PLAN("plan", false),
    /** Pause: plan the rest, update the roots, unmap to-space (every to-space page becomes UNPROCESSED). */
    FLIP("flip", true),
    /** Pause: mark, plan and flip at once (stop-the-world marking, or an allocation that did not fit). */
    FULL("full", true),
    /** Concurrent (in the pause with stop-the-world compaction): build and map every to-space page. */
    COMPACTION("concurrent-compaction", false),
    /** The last of from-space goes back to the kernel (HeapBackend.endCompaction). */
    RELEASE("release", false);

    private final String label;
    private final boolean pause;

    GcPhase(String label, boolean pause) {
        this.label = label;
        this.pause = pause;
    }

    /** The name in the trace CSV and the timeline's legend ({@code init-mark}, ...). */
    public String label() {
        return label;
    }

    /** True for the phases that stop the world. */
    public boolean pause() {
        return pause;
    }
}
