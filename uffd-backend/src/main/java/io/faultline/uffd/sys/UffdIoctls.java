package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Libc.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The range ioctls of one userfaultfd that resolve faults: {@code UFFDIO_COPY},
 * {@code UFFDIO_ZEROPAGE}, {@code UFFDIO_CONTINUE}, {@code UFFDIO_MOVE} and {@code UFFDIO_WAKE}.
 *
 * <p>The argument struct and the errno capture buffer are allocated once, in native memory, by
 * the constructor. The primitive methods return {@code 0} on success or {@code -errno}, so callers
 * handle {@code -EEXIST} (already mapped) and {@code -EAGAIN} (mappings changing; see
 * {@link #lastResult()} for partial progress) without exceptions, and they allocate nothing on the
 * Java heap once C2 has compiled them (the interpreter and C1 allocate a 40-byte temporary inside
 * the JDK's errno capture per call). The {@code ...OrThrow} variants throw a
 * {@link SyscallException} instead.
 *
 * <p><b>Assumptions and Guarantees:</b> an instance is confined to the thread that created it
 * (another thread gets a {@link WrongThreadException}); create one per thread. It does not own
 * the descriptor: {@link #close()} frees the native buffers only.
 */
public final class UffdIoctls implements AutoCloseable {
    /** Large enough for every struct used here (uffdio_copy and uffdio_move are the largest). */
    private static final long ARG_BYTES = 64;
    private static final long RESULT_OFFSET_40 = 32;
    private static final long RESULT_OFFSET_32 = 24;

    private final int uffd;
    private final Arena arena;
    private final MemorySegment capture;
    private final MemorySegment arg;
    private long lastResult;

    /** Preallocates the argument structs for ioctls on {@code uffd}. */
    public UffdIoctls(int uffd) {
        this.uffd = uffd;
        this.arena = Arena.ofConfined();
        this.capture = Libc.allocateCapture(arena);
        this.arg = arena.allocate(ARG_BYTES, 8);
    }

    /** The userfaultfd this instance issues ioctls on. */
    public int uffd() {
        return uffd;
    }

    /**
     * The result field of the last COPY, ZEROPAGE, CONTINUE or MOVE: bytes copied, zeroed, mapped
     * or moved, or a negated errno. After {@code -EAGAIN} a positive value is the partial progress.
     */
    public long lastResult() {
        return lastResult;
    }

    /** {@code UFFDIO_COPY}: copies {@code len} bytes from {@code src} into missing pages at {@code dst}. Returns 0 or -errno. */
    public int copy(long dst, long src, long len, long mode) {
        arg.set(JAVA_LONG, 0, dst);
        arg.set(JAVA_LONG, 8, src);
        arg.set(JAVA_LONG, 16, len);
        arg.set(JAVA_LONG, 24, mode);
        arg.set(JAVA_LONG, RESULT_OFFSET_40, 0);
        int rc = invoke(Userfaultfd.UFFDIO_COPY);
        lastResult = arg.get(JAVA_LONG, RESULT_OFFSET_40);
        return rc;
    }

    /** {@code UFFDIO_ZEROPAGE}: maps zero pages at missing pages of {@code [start, start + len)}. Returns 0 or -errno. */
    public int zeropage(long start, long len, long mode) {
        setRange(start, len, mode);
        int rc = invoke(Userfaultfd.UFFDIO_ZEROPAGE);
        lastResult = arg.get(JAVA_LONG, RESULT_OFFSET_32);
        return rc;
    }

    /**
     * {@code UFFDIO_CONTINUE}: maps the page-cache pages behind {@code [start, start + len)} of a
     * MINOR-registered shmem range. Returns 0 or -errno ({@code -EEXIST} if a page is already mapped).
     */
    public int continueRange(long start, long len, long mode) {
        setRange(start, len, mode);
        int rc = invoke(Userfaultfd.UFFDIO_CONTINUE);
        lastResult = arg.get(JAVA_LONG, RESULT_OFFSET_32);
        return rc;
    }

    /**
     * {@code UFFDIO_MOVE}: moves the private anonymous pages at {@code src} (any range of this
     * process) to the registered range at {@code dst}, leaving holes at {@code src}. Returns 0 or -errno.
     */
    public int move(long dst, long src, long len, long mode) {
        arg.set(JAVA_LONG, 0, dst);
        arg.set(JAVA_LONG, 8, src);
        arg.set(JAVA_LONG, 16, len);
        arg.set(JAVA_LONG, 24, mode);
        arg.set(JAVA_LONG, RESULT_OFFSET_40, 0);
        int rc = invoke(Userfaultfd.UFFDIO_MOVE);
        lastResult = arg.get(JAVA_LONG, RESULT_OFFSET_40);
        return rc;
    }

    /** {@code UFFDIO_WAKE}: wakes threads waiting on faults in {@code [start, start + len)}. Returns 0 or -errno. */
    public int wake(long start, long len) {
        arg.set(JAVA_LONG, 0, start);
        arg.set(JAVA_LONG, 8, len);
        return invoke(Userfaultfd.UFFDIO_WAKE);
    }

    /** {@link #copy}, throwing on failure. */
    public void copyOrThrow(long dst, long src, long len, long mode) {
        int rc = copy(dst, src, len, mode);
        if (rc != 0) {
            throw failure("UFFDIO_COPY(uffd=" + uffd + ", dst=" + hex(dst) + ", src=" + hex(src) + ", len=" + hex(len)
                + ", mode=" + hex(mode) + ")", rc, "copy=" + lastResult);
        }
    }

    /** {@link #zeropage}, throwing on failure. */
    public void zeropageOrThrow(long start, long len, long mode) {
        int rc = zeropage(start, len, mode);
        if (rc != 0) {
            throw failure("UFFDIO_ZEROPAGE(uffd=" + uffd + ", start=" + hex(start) + ", len=" + hex(len)
                + ", mode=" + hex(mode) + ")", rc, "zeropage=" + lastResult);
        }
    }

    /** {@link #continueRange}, throwing on failure. */
    public void continueOrThrow(long start, long len, long mode) {
        int rc = continueRange(start, len, mode);
        if (rc != 0) {
            throw failure("UFFDIO_CONTINUE(uffd=" + uffd + ", start=" + hex(start) + ", len=" + hex(len)
                + ", mode=" + hex(mode) + ")", rc, "mapped=" + lastResult);
        }
    }

    /** {@link #move}, throwing on failure. */
    public void moveOrThrow(long dst, long src, long len, long mode) {
        int rc = move(dst, src, len, mode);
        if (rc != 0) {
            throw failure("UFFDIO_MOVE(uffd=" + uffd + ", dst=" + hex(dst) + ", src=" + hex(src) + ", len=" + hex(len)
                + ", mode=" + hex(mode) + ")", rc, "move=" + lastResult);
        }
    }

    /** {@link #wake}, throwing on failure. */
    public void wakeOrThrow(long start, long len) {
        int rc = wake(start, len);
        if (rc != 0) {
            throw failure("UFFDIO_WAKE(uffd=" + uffd + ", start=" + hex(start) + ", len=" + hex(len) + ")", rc, null);
        }
    }

    /** Frees the native argument buffers; the descriptor stays open. */
    @Override
    public void close() {
        arena.close();
    }

    private void setRange(long start, long len, long mode) {
        arg.set(JAVA_LONG, 0, start);
        arg.set(JAVA_LONG, 8, len);
        arg.set(JAVA_LONG, 16, mode);
        arg.set(JAVA_LONG, RESULT_OFFSET_32, 0);
    }

    private int invoke(long request) {
        int rc;
        try {
            rc = (int) Ioctl.IOCTL_POINTER.invokeExact(capture, uffd, request, arg);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        return rc < 0 ? -Libc.errno(capture) : 0;
    }

    private static SyscallException failure(String call, int rc, String detail) {
        return new SyscallException(call, -rc, detail);
    }
}
