package io.faultline.gc;

import io.faultline.meta.ControlBlock;
import io.faultline.verify.VerifyReport;
import java.util.Locale;

/**
 * The heap has failed and can no longer be used: a to-space page could not be built or installed
 * (the message names the page, the path that failed and the errno), the verifier found damage
 * after a collection (the {@link #report()} names the first bad object), or the collector itself
 * failed. Once thrown, every operation of every mutator on that heap throws it again: at the next
 * allocation, safepoint poll, access of a failed page, {@code collect}, {@code awaitCompaction}
 * and {@code verify}. {@code close()} still releases everything.
 */
public final class HeapCorruptedException extends IllegalStateException {
    private final transient VerifyReport report;
    private final long page;
    private final int path;
    private final int errno;
    private final long fromOffset;

    private HeapCorruptedException(String message, Throwable cause, VerifyReport report, long page, int path,
                                   int errno, long fromOffset) {
        super(message, cause);
        this.report = report;
        this.page = page;
        this.path = path;
        this.errno = errno;
        this.fromOffset = fromOffset;
    }

    /** The verifier found damage after cycle {@code cycle}. */
    public static HeapCorruptedException verification(long cycle, VerifyReport report) {
        return new HeapCorruptedException("GC(" + cycle + ") verification failed: " + report, null, report,
                -1, ControlBlock.PATH_COLLECTOR, 0, report.badOffset());
    }

    /**
     * A page could not be built or installed, or ({@link ControlBlock#FAILED_PAGE_RELEASE}) consumed
     * from-space from {@code fromOffset} could not be given back to the kernel, or (any other
     * page < 0) the path itself could not go on (the fields of the heap's control block).
     */
    static HeapCorruptedException pageFailure(long page, int pageSize, int path, int errno, long fromOffset, Throwable cause) {
        if (page == ControlBlock.FAILED_PAGE_RELEASE) {
            String msg = String.format(Locale.ROOT, "heap failed: from-space from heap offset 0x%x could not be released"
                + " (given back to the kernel); path: %s; errno %d (%s). That batch may stay resident until the heap closes;"
                + " no mutator was shown a wrong page; every operation on this heap now throws", fromOffset,
                ControlBlock.pathName(path), errno, errnoName(errno));
            return new HeapCorruptedException(msg, cause, null, page, path, errno, fromOffset);
        }
        if (page < 0) {
            String msg = String.format(Locale.ROOT, "heap failed: the %s could not go on; errno %d (%s). The pages it would "
                + "have served were poisoned, not shown; every operation on this heap now throws", ControlBlock.pathName(path),
                errno, errnoName(errno));
            return new HeapCorruptedException(msg, cause, null, page, path, errno, fromOffset);
        }
        String what = errno == ControlBlock.EUCLEAN
                ? "could not be built: its from-space sources are damaged"
                        + (fromOffset >= 0 ? " (the object at from-space offset 0x" + Long.toHexString(fromOffset) + ")" : "")
                : errno == ENOSPC || errno == ENOMEM ? "could not be built or installed: no memory for it"
                : "could not be installed";
        String msg = String.format(Locale.ROOT, "heap failed: to-space page %d (heap offset 0x%x) %s; path: %s; errno %d (%s). "
                + "No mutator was shown the page; every operation on this heap now throws",
                page, page * pageSize, what, ControlBlock.pathName(path), errno, errnoName(errno));
        return new HeapCorruptedException(msg, cause, null, page, path, errno, fromOffset);
    }

    /** The collector failed outside any page (an exception in a pause or a compactor thread). */
    static HeapCorruptedException collectorFailure(String what, Throwable cause) {
        return new HeapCorruptedException("heap failed: " + what + ": " + cause, cause, null, -1,
                ControlBlock.PATH_COLLECTOR, 0, -1);
    }

    /** The same failure, thrown again on the calling thread (the stack trace shows where). */
    HeapCorruptedException rethrown() {
        return new HeapCorruptedException(getMessage(), this, report, page, path, errno, fromOffset);
    }

    /** The verifier's report, or null if the failure was not found by the verifier. */
    public VerifyReport report() {
        return report;
    }

    /** The to-space page that could not be built or installed, or -1. */
    public long page() {
        return page;
    }

    /** Who failed: a {@code ControlBlock.PATH_*} code ({@link ControlBlock#pathName} names it). */
    public int path() {
        return path;
    }

    /** The errno of the failure (EUCLEAN = 117 for damaged from-space), or 0. */
    public int errno() {
        return errno;
    }

    /** The from-space offset of the damaged object, or -1. */
    public long fromOffset() {
        return fromOffset;
    }

    private static final int ENOMEM = 12;
    private static final int ENOSPC = 28;

    static String errnoName(int errno) {
        return switch (errno) {
            case 0 -> "none";
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 3 -> "ESRCH";
            case 4 -> "EINTR";
            case 5 -> "EIO";
            case 9 -> "EBADF";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 14 -> "EFAULT";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC";
            case ControlBlock.EUCLEAN -> "EUCLEAN";
            default -> "errno " + errno;
        };
    }
}
