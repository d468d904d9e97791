package io.faultline.uffd.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code memfd_create}: an anonymous shmem file, the heap's backing store when it is mapped twice
 * (mutator view and GC alias). Size it with {@link Fd#ftruncate}, free pages with
 * {@link Fd#punchHole}, release it with {@link Fd#close} once every mapping is gone.
 */
public final class Memfd {
    public static final int MFD_CLOEXEC = 0x0001;
    public static final int MFD_ALLOW_SEALING = 0x0002;
    public static final int MFD_HUGETLB = 0x0004;
    /** Linux 6.3+: not executable, sealed so. Older kernels reject it with EINVAL. */
    public static final int MFD_NOEXEC_SEAL = 0x0008;
    /** Linux 6.3+: executable. Older kernels reject it with EINVAL. */
    public static final int MFD_EXEC = 0x0010;

    private static final MethodHandle MEMFD_CREATE = Libc.downcall(
        "memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    private Memfd() {
    }

    /** {@code memfd_create(name, MFD_CLOEXEC)}. */
    public static int create(String name) {
        return create(name, MFD_CLOEXEC);
    }

    /** {@code memfd_create(name, flags)}; returns the new descriptor. */
    public static int create(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Libc.allocateCapture(arena);
            int fd;
            try {
                fd = (int) MEMFD_CREATE.invokeExact(capture, arena.allocateFrom(name), flags);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (fd < 0) {
                throw new SyscallException(
                    "memfd_create(name=" + name + ", flags=" + Libc.hex(flags) + ")", Libc.errno(capture));
            }
            return fd;
        }
    }
}
