package io.faultline.gc;

/**
 * Observation points of a concurrent marking cycle, for tests, benchmarks and teaching
 * ({@code HeapConfig.Builder.markingHooks}). A hook runs on a collector thread and may block to
 * hold the collector at that point while mutators go on: that is how the lost-object race tests
 * make their interleavings deterministic. Every method does nothing by default.
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #initialMarkDone}, {@link #beforeRemark} and
 * {@link #beforeFlip} run outside any pause and outside the collector's abortable work, so
 * blocking in them delays only this cycle. {@link #traced} runs inside the marking work: while
 * it blocks, an allocation failure's stop-the-world collection (which abandons the concurrent
 * cycle) and {@code Heap.close()} wait for it.
 */
public interface MarkingHooks {
    /** No hooks. */
    MarkingHooks NONE = new MarkingHooks() {
    };

    /** The initial-mark pause of {@code cycle} has ended: roots are snapshotted, the barrier is on; tracing starts next. */
    default void initialMarkDone(long cycle) {
    }

    /** A marking thread has scanned the object {@code ref}: marked every object its slots held. */
    default void traced(int ref) {
    }

    /** Concurrent marking of {@code cycle} has found no more work; the remark pause comes next. */
    default void beforeRemark(long cycle) {
    }

    /** Concurrent planning of {@code cycle} has finished; the flip pause comes next. */
    default void beforeFlip(long cycle) {
    }
}
