package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Libc.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.StringJoiner;

/**
 * {@code userfaultfd(2)}: creating the descriptor, the {@code UFFDIO_API} handshake and range
 * (un)registration, with the constants of {@code <linux/userfaultfd.h>} (Linux 6.8+, including
 * {@code UFFDIO_MOVE}, which older headers lack).
 *
 * <p>The per-fault range ioctls (COPY, ZEROPAGE, CONTINUE, MOVE, WAKE) live in
 * {@link UffdIoctls}, which preallocates their argument structs.
 *
 * <p><b>Assumptions and Guarantees:</b> {@code UFFDIO_API} may be issued once per descriptor; to
 * learn the supported features use {@link #supportedFeatures()}, which spends a descriptor of its
 * own. Closing the descriptor unregisters every range and wakes every thread waiting in a fault.
 */
public final class Userfaultfd {
    /** {@code __NR_userfaultfd}: 323 on x86-64, 282 on arm64. */
    public static final int SYS_userfaultfd = "aarch64".equals(System.getProperty("os.arch")) ? 282 : 323;

    public static final long UFFD_API = 0xAA;
    /** Handle user-mode faults only; allowed without privilege even if vm.unprivileged_userfaultfd=0. */
    public static final int UFFD_USER_MODE_ONLY = 1;
    /** Default flags for {@link #open()}. */
    public static final int UFFD_OPEN_FLAGS = Fd.O_CLOEXEC | Fd.O_NONBLOCK | UFFD_USER_MODE_ONLY;
    public static final String DEV_USERFAULTFD = "/dev/userfaultfd";

    public static final int USERFAULTFD_IOC = 0xAA;
    public static final long USERFAULTFD_IOC_NEW = Ioctl.io(USERFAULTFD_IOC, 0x00);

    public static final int UFFDIO = 0xAA;
    public static final int _UFFDIO_REGISTER = 0x00;
    public static final int _UFFDIO_UNREGISTER = 0x01;
    public static final int _UFFDIO_WAKE = 0x02;
    public static final int _UFFDIO_COPY = 0x03;
    public static final int _UFFDIO_ZEROPAGE = 0x04;
    public static final int _UFFDIO_MOVE = 0x05;
    public static final int _UFFDIO_WRITEPROTECT = 0x06;
    public static final int _UFFDIO_CONTINUE = 0x07;
    public static final int _UFFDIO_POISON = 0x08;
    public static final int _UFFDIO_API = 0x3F;

    /** {@code struct uffdio_api}. */
    public static final StructLayout UFFDIO_API_LAYOUT = MemoryLayout.structLayout(
        JAVA_LONG.withName("api"), JAVA_LONG.withName("features"), JAVA_LONG.withName("ioctls"));
    /** {@code struct uffdio_range}. */
    public static final StructLayout UFFDIO_RANGE_LAYOUT = MemoryLayout.structLayout(
        JAVA_LONG.withName("start"), JAVA_LONG.withName("len"));
    /** {@code struct uffdio_register}. */
    public static final StructLayout UFFDIO_REGISTER_LAYOUT = MemoryLayout.structLayout(
        UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("ioctls"));
    /** {@code struct uffdio_copy}. */
    public static final StructLayout UFFDIO_COPY_LAYOUT = MemoryLayout.structLayout(
        JAVA_LONG.withName("dst"), JAVA_LONG.withName("src"), JAVA_LONG.withName("len"),
        JAVA_LONG.withName("mode"), JAVA_LONG.withName("copy"));
    /** {@code struct uffdio_zeropage}. */
    public static final StructLayout UFFDIO_ZEROPAGE_LAYOUT = MemoryLayout.structLayout(
        UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("zeropage"));
    /** {@code struct uffdio_move}. */
    public static final StructLayout UFFDIO_MOVE_LAYOUT = MemoryLayout.structLayout(
        JAVA_LONG.withName("dst"), JAVA_LONG.withName("src"), JAVA_LONG.withName("len"),
        JAVA_LONG.withName("mode"), JAVA_LONG.withName("move"));
    /** {@code struct uffdio_continue}. */
    public static final StructLayout UFFDIO_CONTINUE_LAYOUT = MemoryLayout.structLayout(
        UFFDIO_RANGE_LAYOUT.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("mapped"));

    public static final long UFFDIO_API = Ioctl.iowr(UFFDIO, _UFFDIO_API, UFFDIO_API_LAYOUT.byteSize());
    public static final long UFFDIO_REGISTER = Ioctl.iowr(UFFDIO, _UFFDIO_REGISTER, UFFDIO_REGISTER_LAYOUT.byteSize());
    public static final long UFFDIO_UNREGISTER = Ioctl.ior(UFFDIO, _UFFDIO_UNREGISTER, UFFDIO_RANGE_LAYOUT.byteSize());
    public static final long UFFDIO_WAKE = Ioctl.ior(UFFDIO, _UFFDIO_WAKE, UFFDIO_RANGE_LAYOUT.byteSize());
    public static final long UFFDIO_COPY = Ioctl.iowr(UFFDIO, _UFFDIO_COPY, UFFDIO_COPY_LAYOUT.byteSize());
    public static final long UFFDIO_ZEROPAGE = Ioctl.iowr(UFFDIO, _UFFDIO_ZEROPAGE, UFFDIO_ZEROPAGE_LAYOUT.byteSize());
    public static final long UFFDIO_MOVE = Ioctl.iowr(UFFDIO, _UFFDIO_MOVE, UFFDIO_MOVE_LAYOUT.byteSize());
    public static final long UFFDIO_CONTINUE = Ioctl.iowr(UFFDIO, _UFFDIO_CONTINUE, UFFDIO_CONTINUE_LAYOUT.byteSize());

    public static final long UFFDIO_REGISTER_MODE_MISSING = 1L << 0;
    public static final long UFFDIO_REGISTER_MODE_WP = 1L << 1;
    public static final long UFFDIO_REGISTER_MODE_MINOR = 1L << 2;

    public static final long UFFDIO_COPY_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_COPY_MODE_WP = 1L << 1;
    public static final long UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_CONTINUE_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_CONTINUE_MODE_WP = 1L << 1;
    public static final long UFFDIO_MOVE_MODE_DONTWAKE = 1L << 0;
    public static final long UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES = 1L << 1;

    public static final long UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1L << 0;
    public static final long UFFD_FEATURE_EVENT_FORK = 1L << 1;
    public static final long UFFD_FEATURE_EVENT_REMAP = 1L << 2;
    public static final long UFFD_FEATURE_EVENT_REMOVE = 1L << 3;
    public static final long UFFD_FEATURE_MISSING_HUGETLBFS = 1L << 4;
    public static final long UFFD_FEATURE_MISSING_SHMEM = 1L << 5;
    public static final long UFFD_FEATURE_EVENT_UNMAP = 1L << 6;
    /** Faults raise SIGBUS in the faulting thread instead of queueing a message. */
    public static final long UFFD_FEATURE_SIGBUS = 1L << 7;
    public static final long UFFD_FEATURE_THREAD_ID = 1L << 8;
    public static final long UFFD_FEATURE_MINOR_HUGETLBFS = 1L << 9;
    public static final long UFFD_FEATURE_MINOR_SHMEM = 1L << 10;
    public static final long UFFD_FEATURE_EXACT_ADDRESS = 1L << 11;
    public static final long UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
    public static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
    public static final long UFFD_FEATURE_POISON = 1L << 14;
    public static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
    /** Linux 6.8+: {@code UFFDIO_MOVE} (private anonymous memory only). */
    public static final long UFFD_FEATURE_MOVE = 1L << 16;

    private static final String[] FEATURE_NAMES = {
        "PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP", "EVENT_REMOVE", "MISSING_HUGETLBFS",
        "MISSING_SHMEM", "EVENT_UNMAP", "SIGBUS", "THREAD_ID", "MINOR_HUGETLBFS", "MINOR_SHMEM",
        "EXACT_ADDRESS", "WP_HUGETLBFS_SHMEM", "WP_UNPOPULATED", "POISON", "WP_ASYNC", "MOVE"
    };
    private static final String[] IOCTL_NAMES = {
        "REGISTER", "UNREGISTER", "WAKE", "COPY", "ZEROPAGE", "MOVE", "WRITEPROTECT", "CONTINUE", "POISON"
    };

    private static final long API_FEATURES = UFFDIO_API_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("features"));
    private static final long API_IOCTLS = UFFDIO_API_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("ioctls"));
    private static final long REGISTER_MODE = UFFDIO_REGISTER_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("mode"));
    private static final long REGISTER_IOCTLS =
        UFFDIO_REGISTER_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("ioctls"));

    /** {@code long syscall(long number, ...)}. */
    private static final MethodHandle SYSCALL = Libc.downcallVariadic(
        "syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    /** Result of the {@code UFFDIO_API} handshake. */
    public record Api(long api, long features, long ioctls) {
        public boolean has(long feature) {
            return (features & feature) == feature;
        }

        @Override
        public String toString() {
            return "Api[api=" + hex(api) + ", features=" + featureNames(features) + ", ioctls=" + ioctlNames(ioctls) + "]";
        }
    }

    private Userfaultfd() {
    }

    /** {@link #open(int)} with {@link #UFFD_OPEN_FLAGS}. */
    public static int open() {
        return open(UFFD_OPEN_FLAGS);
    }

    /**
     * A new userfaultfd: the system call, or, if that fails, {@link #DEV_USERFAULTFD} (Linux 5.11+,
     * access controlled by the device node's permissions). Throws the system call's failure, with
     * the fallback's failure as detail, if both fail.
     */
    public static int open(int flags) {
        try {
            return openSyscall(flags);
        } catch (SyscallException e) {
            try {
                return openDevice(flags);
            } catch (SyscallException fallback) {
                throw new SyscallException(e.call(), e.errno(), "fallback " + fallback.getMessage());
            }
        }
    }

    /** {@code syscall(SYS_userfaultfd, flags)}. */
    public static int openSyscall(int flags) {
        MemorySegment capture = Libc.capture();
        long fd;
        try {
            fd = (long) SYSCALL.invokeExact(capture, (long) SYS_userfaultfd, (long) flags);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (fd < 0) {
            throw new SyscallException("userfaultfd(flags=" + openFlagNames(flags) + ")", Libc.errno(capture));
        }
        return (int) fd;
    }

    /** {@code ioctl(open("/dev/userfaultfd"), USERFAULTFD_IOC_NEW, flags)}. */
    public static int openDevice(int flags) {
        int device = Fd.open(DEV_USERFAULTFD, Fd.O_RDWR | Fd.O_CLOEXEC);
        try {
            return Ioctl.ioctl(device, USERFAULTFD_IOC_NEW, flags);
        } catch (SyscallException e) {
            throw new SyscallException(
                "ioctl(" + DEV_USERFAULTFD + ", USERFAULTFD_IOC_NEW, flags=" + openFlagNames(flags) + ")", e.errno());
        } finally {
            Fd.close(device);
        }
    }

    /** {@code UFFDIO_API}: enables {@code features} (EINVAL if one is unsupported) and reports what the kernel offers. */
    public static Api api(int uffd, long features) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UFFDIO_API_LAYOUT);
            arg.set(JAVA_LONG, 0, UFFD_API);
            arg.set(JAVA_LONG, API_FEATURES, features);
            try {
                Ioctl.ioctl(uffd, UFFDIO_API, arg);
            } catch (SyscallException e) {
                throw new SyscallException("UFFDIO_API(uffd=" + uffd + ", features=" + featureNames(features) + ")",
                    e.errno());
            }
            return new Api(arg.get(JAVA_LONG, 0), arg.get(JAVA_LONG, API_FEATURES), arg.get(JAVA_LONG, API_IOCTLS));
        }
    }

    /** The features this kernel supports, learned on a descriptor opened and closed for the purpose. */
    public static long supportedFeatures() {
        int uffd = open();
        try {
            return api(uffd, 0).features();
        } finally {
            Fd.close(uffd);
        }
    }

    /**
     * {@code UFFDIO_REGISTER} of {@code [start, start + len)} in {@code mode}
     * ({@link #UFFDIO_REGISTER_MODE_MISSING} | {@link #UFFDIO_REGISTER_MODE_MINOR} ...).
     *
     * @return the mask of range ioctls the kernel allows on the range; test it with {@link #hasIoctl}
     */
    public static long register(int uffd, long start, long len, long mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UFFDIO_REGISTER_LAYOUT);
            arg.set(JAVA_LONG, 0, start);
            arg.set(JAVA_LONG, 8, len);
            arg.set(JAVA_LONG, REGISTER_MODE, mode);
            try {
                Ioctl.ioctl(uffd, UFFDIO_REGISTER, arg);
            } catch (SyscallException e) {
                throw new SyscallException("UFFDIO_REGISTER(uffd=" + uffd + ", start=" + hex(start) + ", len=" + hex(len)
                    + ", mode=" + registerModeNames(mode) + ")", e.errno());
            }
            return arg.get(JAVA_LONG, REGISTER_IOCTLS);
        }
    }

    /** {@code UFFDIO_UNREGISTER} of {@code [start, start + len)}. */
    public static void unregister(int uffd, long start, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment arg = arena.allocate(UFFDIO_RANGE_LAYOUT);
            arg.set(JAVA_LONG, 0, start);
            arg.set(JAVA_LONG, 8, len);
            try {
                Ioctl.ioctl(uffd, UFFDIO_UNREGISTER, arg);
            } catch (SyscallException e) {
                throw new SyscallException(
                    "UFFDIO_UNREGISTER(uffd=" + uffd + ", start=" + hex(start) + ", len=" + hex(len) + ")", e.errno());
            }
        }
    }

    /** Whether an ioctl mask (from {@link #register} or {@link Api#ioctls()}) contains ioctl {@code nr}. */
    public static boolean hasIoctl(long ioctls, int nr) {
        return (ioctls & (1L << nr)) != 0;
    }

    /** {@code "MINOR_SHMEM|SIGBUS|..."} for a feature mask, unknown bits in hex. */
    public static String featureNames(long features) {
        return names(features, FEATURE_NAMES);
    }

    /** {@code "WAKE|COPY|..."} for an ioctl mask, unknown bits in hex. */
    public static String ioctlNames(long ioctls) {
        return names(ioctls, IOCTL_NAMES);
    }

    /** The name of one feature bit, e.g. {@code UFFD_FEATURE_MINOR_SHMEM}. */
    public static String featureName(long feature) {
        return "UFFD_FEATURE_" + featureNames(feature);
    }

    private static String registerModeNames(long mode) {
        return names(mode, new String[] {"MISSING", "WP", "MINOR"});
    }

    private static String openFlagNames(int flags) {
        StringJoiner names = new StringJoiner("|");
        int rest = flags;
        if ((rest & Fd.O_CLOEXEC) != 0) {
            names.add("O_CLOEXEC");
            rest &= ~Fd.O_CLOEXEC;
        }
        if ((rest & Fd.O_NONBLOCK) != 0) {
            names.add("O_NONBLOCK");
            rest &= ~Fd.O_NONBLOCK;
        }
        if ((rest & UFFD_USER_MODE_ONLY) != 0) {
            names.add("UFFD_USER_MODE_ONLY");
            rest &= ~UFFD_USER_MODE_ONLY;
        }
        if (rest != 0 || flags == 0) {
            names.add(hex(rest));
        }
        return names.toString();
    }

    private static String names(long bits, String[] names) {
        if (bits == 0) {
            return "0";
        }
        StringJoiner joiner = new StringJoiner("|");
        long rest = bits;
        for (int i = 0; i < names.length; i++) {
            if ((rest & (1L << i)) != 0) {
                joiner.add(names[i]);
                rest &= ~(1L << i);
            }
        }
        if (rest != 0) {
            joiner.add(hex(rest));
        }
        return joiner.toString();
    }
}
