package io.faultline.gc;

import io.faultline.verify.VerifyReport;

/** The verifier found damage after a collection; the report names the first bad object. */
public final class HeapCorruptedException extends IllegalStateException {
    private final transient VerifyReport report;

    public HeapCorruptedException(long cycle, VerifyReport report) {
        super("GC(" + cycle + "): " + report);
        this.report = report;
    }

    /** Rethrows {@code cause}, recorded on another thread, on the calling thread. */
    public HeapCorruptedException(HeapCorruptedException cause) {
        super(cause.getMessage(), cause);
        this.report = cause.report;
    }

    public VerifyReport report() {
        return report;
    }
}
