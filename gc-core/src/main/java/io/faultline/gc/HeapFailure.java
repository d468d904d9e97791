package io.faultline.gc;

import io.faultline.meta.ControlBlock;

/**
 * The heap's first failure, whoever found it: the native fault path and the Java page protocol
 * record a page failure in the {@link ControlBlock} (page, path, errno, from-space offset; the
 * POLL word's FAILED bit tells every mutator); the collector records its own failures (a
 * verification that found damage, an exception in a pause or a compactor thread) here and sets
 * the same bit. {@link #exception()} turns whichever came first into one
 * {@link HeapCorruptedException}.
 *
 * <p><b>Assumptions and Guarantees:</b> first wins, in the control block (a CAS of FAILED_PATH), so
 * Java and native failures cannot both be "first". Any thread may read; the exception is built
 * once and then cached.
 */
final class HeapFailure {
    private final ControlBlock control;
    private final int pageSize;
    /** The Java-side description of a PATH_COLLECTOR failure, set before the control block. */
    private volatile HeapCorruptedException collectorFailure;
    private volatile HeapCorruptedException cached;

    HeapFailure(ControlBlock control, int pageSize) {
        this.control = control;
        this.pageSize = pageSize;
    }

    boolean failed() {
        return (control.poll() & ControlBlock.POLL_FAILED) != 0;
    }

    /** Records a failure the collector found itself (first wins). */
    void record(HeapCorruptedException e) {
        synchronized (this) {
            if (collectorFailure == null && control.get(ControlBlock.FAILED_PATH) == ControlBlock.PATH_NONE) {
                collectorFailure = e;
            }
        }
        control.recordFailure(ControlBlock.PATH_COLLECTOR, e.page(), e.errno(), e.fromOffset());
    }

    /** The failure, or null while the heap is healthy. */
    HeapCorruptedException exception() {
        if (!failed()) {
            return null;
        }
        HeapCorruptedException e = cached;
        if (e == null) {
            int path = (int) control.get(ControlBlock.FAILED_PATH);
            e = path == ControlBlock.PATH_COLLECTOR && collectorFailure != null ? collectorFailure
                    : HeapCorruptedException.pageFailure(control.get(ControlBlock.FAILED_PAGE), pageSize, path,
                            (int) control.get(ControlBlock.FAILED_ERRNO), control.get(ControlBlock.FAILED_OFFSET), null);
            cached = e;
        }
        return e;
    }

    /** Throws the failure (a fresh exception whose cause is the first one) if the heap has failed. */
    void throwIfFailed() {
        HeapCorruptedException e = exception();
        if (e != null) {
            throw e.rethrown();
        }
    }
}
