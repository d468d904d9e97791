package io.faultline.gc;

/** Why a collection runs. */
public enum GcCause {
    /** An allocation did not fit: the caller retries its allocation afterwards. */
    ALLOCATION_FAILURE("Allocation Failure"),
    /** {@code Heap.collect()} or {@code Mutator.collect()}. */
    EXPLICIT("Explicit"),
    /** Free space fell below the concurrent-marking headroom: a concurrent cycle starts by itself. */
    HEAP_OCCUPANCY("Heap Occupancy");

    private final String label;

    GcCause(String label) {
        this.label = label;
    }

    /** The cause as the GC log prints it. */
    public String label() {
        return label;
    }
}
