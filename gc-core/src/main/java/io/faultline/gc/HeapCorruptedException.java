package io.faultline.gc;

import io.faultline.verify.VerifyReport;

/** The verifier found damage after a collection; the report names the first bad object. */
public final class HeapCorruptedException extends IllegalStateException {
    private final transient VerifyReport report;

    public HeapCorruptedException(long cycle, VerifyReport report) {
        super("GC(" + cycle + "): " + report);
        this.report = report;
    }

    public VerifyReport report() {
        return report;
    }
}
