package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Libc.hex;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** File descriptor calls: {@code open}, {@code close}, {@code ftruncate}, {@code fallocate}. */
public final class Fd {
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    private static final MethodHandle OPEN = Libc.downcallVariadic(
        "open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle CLOSE = Libc.downcall(
        "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FTRUNCATE = Libc.downcall(
        "ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FALLOCATE = Libc.downcall(
        "fallocate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));

    private Fd() {
    }

    /** {@code open(path, flags, 0)}; returns the new descriptor. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Libc.allocateCapture(arena);
            int fd;
            try {
                fd = (int) OPEN.invokeExact(capture, arena.allocateFrom(path), flags, 0);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (fd < 0) {
                throw new SyscallException("open(" + path + ", flags=" + hex(flags) + ")", Libc.errno(capture));
            }
            return fd;
        }
    }

    /** {@code close(fd)}. The descriptor is released even when this throws (Linux semantics). */
    public static void close(int fd) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("close(fd=" + fd + ")", Libc.errno(capture));
        }
    }

    /** {@code ftruncate(fd, length)}. */
    public static void ftruncate(int fd, long length) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) FTRUNCATE.invokeExact(capture, fd, length);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("ftruncate(fd=" + fd + ", len=" + hex(length) + ")", Libc.errno(capture));
        }
    }

    /** {@code fallocate(fd, mode, offset, len)}; mode 0 allocates, see {@link #punchHole}. */
    public static void fallocate(int fd, int mode, long offset, long length) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) FALLOCATE.invokeExact(capture, fd, mode, offset, length);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("fallocate(fd=" + fd + ", mode=" + hex(mode) + ", offset=" + hex(offset)
                + ", len=" + hex(length) + ")", Libc.errno(capture));
        }
    }

    /** {@code fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length)}: frees the pages. */
    public static void punchHole(int fd, long offset, long length) {
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    }
}
