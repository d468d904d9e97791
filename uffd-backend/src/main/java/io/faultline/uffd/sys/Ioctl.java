package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Libc.hex;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** {@code ioctl(2)} and the request encoding of {@code <asm-generic/ioctl.h>}. */
public final class Ioctl {
    public static final int _IOC_NONE = 0;
    public static final int _IOC_WRITE = 1;
    public static final int _IOC_READ = 2;

    public static final int _IOC_NRSHIFT = 0;
    public static final int _IOC_TYPESHIFT = 8;
    public static final int _IOC_SIZESHIFT = 16;
    public static final int _IOC_DIRSHIFT = 30;

    /** {@code int ioctl(int fd, unsigned long request, void *arg)}, errno captured first. */
    static final MethodHandle IOCTL_POINTER = Libc.downcallVariadic(
        "ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    /** {@code int ioctl(int fd, unsigned long request, unsigned long arg)}, errno captured first. */
    static final MethodHandle IOCTL_VALUE = Libc.downcallVariadic(
        "ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);

    private Ioctl() {
    }

    /** {@code _IOC(dir, type, nr, size)}. */
    public static long ioc(int dir, int type, int nr, long size) {
        return ((long) dir << _IOC_DIRSHIFT) | (size << _IOC_SIZESHIFT)
            | ((long) type << _IOC_TYPESHIFT) | ((long) nr << _IOC_NRSHIFT);
    }

    /** {@code _IO(type, nr)}. */
    public static long io(int type, int nr) {
        return ioc(_IOC_NONE, type, nr, 0);
    }

    /** {@code _IOR(type, nr, size)}. */
    public static long ior(int type, int nr, long size) {
        return ioc(_IOC_READ, type, nr, size);
    }

    /** {@code _IOW(type, nr, size)}. */
    public static long iow(int type, int nr, long size) {
        return ioc(_IOC_WRITE, type, nr, size);
    }

    /** {@code _IOWR(type, nr, size)}. */
    public static long iowr(int type, int nr, long size) {
        return ioc(_IOC_READ | _IOC_WRITE, type, nr, size);
    }

    /** {@code ioctl(fd, request, arg)} with a pointer argument; returns the non-negative result. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) IOCTL_POINTER.invokeExact(capture, fd, request, arg);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc < 0) {
            throw new SyscallException("ioctl(fd=" + fd + ", request=" + hex(request) + ")", Libc.errno(capture));
        }
        return rc;
    }

    /** {@code ioctl(fd, request, value)} with an integer argument; returns the non-negative result. */
    public static int ioctl(int fd, long request, long value) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) IOCTL_VALUE.invokeExact(capture, fd, request, value);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc < 0) {
            throw new SyscallException("ioctl(fd=" + fd + ", request=" + hex(request) + ", arg=" + hex(value)
                + ")", Libc.errno(capture));
        }
        return rc;
    }
}
