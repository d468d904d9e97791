package io.faultline.uffd.sys;

/**
 * A failed system call. The message names the call with its arguments (addresses and lengths in
 * hex), the errno number, its symbolic name and the C library's description, e.g.
 * {@code munmap(addr=0x1001, len=0x1000) failed: errno 22 EINVAL (Invalid argument)}.
 *
 * <p>Callers that expect a particular failure test {@link #errno()} against {@link Errno}.
 */
public final class SyscallException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /**
     * @param call  the call and its arguments as they should appear in the message
     * @param errno the positive errno value
     */
    public SyscallException(String call, int errno) {
        this(call, errno, null);
    }

    /**
     * @param call   the call and its arguments as they should appear in the message
     * @param errno  the positive errno value
     * @param detail extra context appended to the message, or null
     */
    public SyscallException(String call, int errno, String detail) {
        super(message(call, errno, detail));
        this.call = call;
        this.errno = errno;
    }

    /** The positive errno value, e.g. {@link Errno#EEXIST}. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code "EEXIST"}. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** The failed call with its arguments. */
    public String call() {
        return call;
    }

    private static String message(String call, int errno, String detail) {
        String message = call + " failed: errno " + errno + ' ' + Errno.name(errno)
            + " (" + Errno.description(errno) + ')';
        return detail == null ? message : message + "; " + detail;
    }
}
