package io.faultline.heap;

/**
 * Thrown by an allocation that does not fit even after a full collection. The heap is consistent
 * when this is thrown (the collection completed and verifies); dropping roots and allocating
 * again works.
 */
public final class HeapExhaustedException extends RuntimeException {
    private final transient HeapStats stats;
    private final long requestedBytes;

    public HeapExhaustedException(long requestedBytes, HeapStats stats) {
        super("heap exhausted: cannot allocate " + requestedBytes + " bytes after a full collection ("
                + stats.liveAfterLastGc() + " of " + stats.capacity() + " bytes live); " + stats);
        this.requestedBytes = requestedBytes;
        this.stats = stats;
    }

    public HeapStats stats() {
        return stats;
    }

    public long requestedBytes() {
        return requestedBytes;
    }
}
