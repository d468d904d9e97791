package io.faultline.uffd;

import static io.faultline.uffd.sys.Userfaultfd.UFFD_FEATURE_MINOR_SHMEM;
import static io.faultline.uffd.sys.Userfaultfd.UFFD_FEATURE_MISSING_SHMEM;
import static io.faultline.uffd.sys.Userfaultfd.UFFD_FEATURE_MOVE;
import static io.faultline.uffd.sys.Userfaultfd.UFFD_FEATURE_SIGBUS;
import static io.faultline.uffd.sys.Userfaultfd.UFFDIO_REGISTER_MODE_MINOR;
import static io.faultline.uffd.sys.Userfaultfd.UFFDIO_REGISTER_MODE_MISSING;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.faultline.uffd.sys.Errno;
import io.faultline.uffd.sys.Fd;
import io.faultline.uffd.sys.Memfd;
import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.SyscallException;
import io.faultline.uffd.sys.UffdIoctls;
import io.faultline.uffd.sys.Userfaultfd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Finds out, by doing it, which userfaultfd modes work on this machine and why the others do
 * not. {@link #probe()} loads the native library, opens a userfaultfd, negotiates
 * {@code UFFDIO_API}, and for each {@link Mode} registers a one-page range, checks the ioctl mask
 * the kernel offers and resolves the page with the mode's ioctl, verifying its contents. It never
 * touches an unresolved registered page (and enables {@code UFFD_FEATURE_SIGBUS} where available,
 * so a mistake would raise SIGBUS instead of hanging).
 */
public final class UffdProbe {
    private static final String PROBE_MEMFD = "faultline-probe";
    private static final long MAGIC = 0x6661756C746C696EL;

    /** The ways of resolving a fault, i.e. the ioctl that maps a compacted page. */
    public enum Mode {
        /** Minor faults on a memfd mapping; the page is built through an alias, then {@code UFFDIO_CONTINUE}. */
        CONTINUE,
        /** Missing faults; the page is built in a buffer, then {@code UFFDIO_COPY}. */
        COPY,
        /** Missing faults on private anonymous memory; the page is built elsewhere, then {@code UFFDIO_MOVE}. */
        MOVE
    }

    /**
     * Whether a mode can be used.
     *
     * @param kernelSupported whether the kernel part works (the ioctl was issued and verified)
     * @param available       whether the mode can be used: kernel support and the native library
     * @param detail          why not, or what was verified
     */
    public record ModeStatus(Mode mode, boolean kernelSupported, boolean available, String detail) {
    }

    /**
     * The probe's findings.
     *
     * @param kernel          {@code os.version}
     * @param pageSize        base page size, 0 if unknown
     * @param nativeLoaded    whether libfaultline.so is loaded
     * @param nativeDetail    where from, or why not
     * @param uffdAvailable   whether a userfaultfd could be opened and {@code UFFDIO_API} negotiated
     * @param uffdDetail      how it was opened and what it offers, or why not
     * @param features        the kernel's {@code UFFD_FEATURE_*} mask, 0 if unknown
     * @param sigbusAvailable whether {@code UFFD_FEATURE_SIGBUS} can be enabled (reported for information: the fault path
     *                        here is a native service thread, not SIGBUS delivery)
     * @param sigbusDetail    why not, or what was verified
     * @param modes           one entry per {@link Mode}, in declaration order
     * @param hugePages       the host's transparent huge page settings and what they give the heap
     *                        ({@link HugePages})
     */
    public record Report(
        String kernel,
        long pageSize,
        boolean nativeLoaded,
        String nativeDetail,
        boolean uffdAvailable,
        String uffdDetail,
        long features,
        boolean sigbusAvailable,
        String sigbusDetail,
        List<ModeStatus> modes,
        String hugePages) {

        public Report {
            modes = List.copyOf(modes);
        }

        public ModeStatus mode(Mode mode) {
            return modes.get(mode.ordinal());
        }

        public boolean available(Mode mode) {
            return mode(mode).available();
        }

        /** Whether the kernel supports {@code mode}, whether or not the native library is loaded. */
        public boolean kernelSupports(Mode mode) {
            return mode(mode).kernelSupported();
        }

        /** A fixed-width table: a header, native library, userfaultfd, SIGBUS, one line per mode, huge pages. */
        public String toTable() {
            StringBuilder out = new StringBuilder(512);
            out.append("userfaultfd probe: Linux ").append(kernel).append(", page size ").append(pageSize).append('\n');
            row(out, "native library", nativeLoaded ? "loaded" : "missing", nativeDetail);
            row(out, "userfaultfd", uffdAvailable ? "available" : "unavailable", uffdDetail);
            row(out, "SIGBUS feature", sigbusAvailable ? "available" : "unavailable", sigbusDetail);
            for (ModeStatus status : modes) {
                row(out, status.mode().name(), status.available() ? "available" : "unavailable", status.detail());
            }
            row(out, "huge pages", "", hugePages);
            return out.toString();
        }

        private static void row(StringBuilder out, String what, String state, String detail) {
            out.append(String.format("%-15s %-12s %s%n", what, state, detail));
        }
    }

    private UffdProbe() {
    }

    /** Runs the probe. Never throws for an unavailable feature; the report says why. */
    public static Report probe() {
        String kernel = System.getProperty("os.version", "?");
        boolean nativeLoaded = NativeLibrary.isLoaded();
        String nativeDetail = nativeLoaded
            ? "fl_version " + NativeLibrary.version() + " from " + NativeLibrary.source()
            : NativeLibrary.failureReason();

        long pageSize = 0;
        long features = 0;
        String uffdFailure = null;
        String uffdDetail;
        try {
            pageSize = Mman.pageSize();
            StringBuilder how = new StringBuilder();
            int uffd = open(how);
            try {
                Userfaultfd.Api api = Userfaultfd.api(uffd, 0);
                features = api.features();
                uffdDetail = "opened with " + how + "; features 0x" + Long.toHexString(features) + " ("
                    + Userfaultfd.featureNames(features) + ")";
            } finally {
                Fd.close(uffd);
            }
        } catch (SyscallException e) {
            uffdFailure = explain(e);
            uffdDetail = uffdFailure;
        } catch (RuntimeException | LinkageError e) {
            uffdFailure = "FFM bindings unavailable: " + e;
            uffdDetail = uffdFailure;
        }

        boolean sigbus = false;
        String sigbusDetail;
        if (uffdFailure != null) {
            sigbusDetail = uffdFailure;
        } else {
            sigbusDetail = checkSigbus(features);
            sigbus = sigbusDetail == null;
            if (sigbus) {
                sigbusDetail = "UFFD_FEATURE_SIGBUS enabled on a new userfaultfd";
            }
        }

        ModeStatus[] modes = new ModeStatus[Mode.values().length];
        for (Mode mode : Mode.values()) {
            String failure = uffdFailure;
            if (failure == null) {
                failure = switch (mode) {
                    case CONTINUE -> checkContinue(pageSize, features);
                    case COPY -> checkCopy(pageSize, features);
                    case MOVE -> checkMove(pageSize, features);
                };
            }
            modes[mode.ordinal()] = status(mode, failure, nativeLoaded, nativeDetail, features);
        }
        return new Report(kernel, pageSize, nativeLoaded, nativeDetail, uffdFailure == null, uffdDetail, features,
            sigbus, sigbusDetail, List.of(modes), hugePages());
    }

    /** The huge-pages row: both host settings, and what each gives the allocation area and CONTINUE's kept memfd. */
    static String hugePages() {
        return HugePages.describe() + ": allocation area "
            + (HugePages.offered() ? "in 2 MiB pages where advised" : "in 4 KiB pages")
            + "; CONTINUE's memfd with page supply keep "
            + (HugePages.shmemOffered() ? "in 2 MiB folios (installs read one folio per 512 pages)"
                : "in 4 KiB folios (each install looks up one page-cache entry per page)");
    }

    /** The probe's explanation of a failure to open a userfaultfd. */
    static String explain(SyscallException e) {
        return switch (e.errno()) {
            case Errno.EPERM -> "EPERM: userfaultfd not permitted: sysctl vm.unprivileged_userfaultfd=1 or run as root"
                + " (or a seccomp filter blocks it) [" + e.getMessage() + "]";
            case Errno.ENOSYS -> "ENOSYS: kernel built without userfaultfd (CONFIG_USERFAULTFD) [" + e.getMessage() + "]";
            case Errno.EINVAL -> "EINVAL: kernel rejects the userfaultfd flags (UFFD_USER_MODE_ONLY needs Linux 5.11+) ["
                + e.getMessage() + "]";
            default -> e.errnoName() + ": " + e.getMessage();
        };
    }

    private static ModeStatus status(Mode mode, String kernelFailure, boolean nativeLoaded, String nativeDetail,
                                     long features) {
        if (kernelFailure != null) {
            return new ModeStatus(mode, false, false,
                nativeLoaded ? kernelFailure : kernelFailure + "; also " + nativeDetail);
        }
        if (!nativeLoaded) {
            return new ModeStatus(mode, true, false, nativeDetail + " (the kernel supports " + mode + ")");
        }
        String verified = switch (mode) {
            case CONTINUE -> "memfd MINOR registration offers UFFDIO_CONTINUE; a page was mapped and verified";
            case COPY -> (features & UFFD_FEATURE_MISSING_SHMEM) != 0
                ? "anonymous and memfd MISSING registrations offer UFFDIO_COPY; pages were copied and verified"
                : "anonymous MISSING registration offers UFFDIO_COPY; a page was copied and verified (no MISSING_SHMEM: "
                    + "not needed, the COPY backend uses private anonymous memory)";
            case MOVE -> "anonymous MISSING registration offers UFFDIO_MOVE; a page was moved and verified";
        };
        return new ModeStatus(mode, true, true, verified);
    }

    private static int open(StringBuilder how) {
        int flags = Userfaultfd.UFFD_OPEN_FLAGS;
        try {
            int uffd = Userfaultfd.openSyscall(flags);
            how.append("syscall(SYS_userfaultfd, O_CLOEXEC|O_NONBLOCK|UFFD_USER_MODE_ONLY)");
            return uffd;
        } catch (SyscallException e) {
            try {
                int uffd = Userfaultfd.openDevice(flags);
                how.append(Userfaultfd.DEV_USERFAULTFD).append(" (the system call failed: ").append(e.errnoName())
                    .append(')');
                return uffd;
            } catch (SyscallException fallback) {
                throw new SyscallException(e.call(), e.errno(), "fallback " + fallback.getMessage());
            }
        }
    }

    /** SIGBUS mode as a guard: a fault on a registered page raises SIGBUS instead of blocking. */
    private static long guard(long features) {
        return features & UFFD_FEATURE_SIGBUS;
    }

    private static String checkSigbus(long features) {
        if ((features & UFFD_FEATURE_SIGBUS) == 0) {
            return missing(UFFD_FEATURE_SIGBUS, "Linux 4.14+");
        }
        try (Cleanup cleanup = new Cleanup()) {
            int uffd = cleanup.fd(Userfaultfd.open());
            Userfaultfd.api(uffd, UFFD_FEATURE_SIGBUS);
            return null;
        } catch (SyscallException e) {
            return e.getMessage();
        }
    }

    private static String checkContinue(long pageSize, long features) {
        if ((features & UFFD_FEATURE_MINOR_SHMEM) == 0) {
            return missing(UFFD_FEATURE_MINOR_SHMEM, "Linux 5.14+ with CONFIG_HAVE_ARCH_USERFAULTFD_MINOR");
        }
        try (Cleanup cleanup = new Cleanup()) {
            int uffd = cleanup.fd(Userfaultfd.open());
            Userfaultfd.api(uffd, UFFD_FEATURE_MINOR_SHMEM | guard(features));
            int memfd = cleanup.fd(Memfd.create(PROBE_MEMFD));
            Fd.ftruncate(memfd, pageSize);
            long alias = cleanup.map(Mman.mmapShared(memfd, pageSize), pageSize);
            long view = cleanup.map(Mman.mmapShared(memfd, pageSize), pageSize);
            long ioctls = Userfaultfd.register(uffd, view, pageSize, UFFDIO_REGISTER_MODE_MINOR);
            if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd._UFFDIO_CONTINUE)) {
                return "a MINOR-registered memfd range does not offer UFFDIO_CONTINUE (ioctls "
                    + Userfaultfd.ioctlNames(ioctls) + ")";
            }
            Mman.segment(alias, pageSize).set(JAVA_LONG, 0, MAGIC);
            try (UffdIoctls ioctl = new UffdIoctls(uffd)) {
                ioctl.continueOrThrow(view, pageSize, 0);
            }
            return verify("UFFDIO_CONTINUE", view, pageSize);
        } catch (SyscallException e) {
            return e.getMessage();
        }
    }

    /**
     * COPY as the backend uses it: a MISSING fault on private anonymous memory resolved with
     * UFFDIO_COPY. Where the kernel also offers MISSING_SHMEM, a memfd mapping is checked too
     * (the COPY backend does not need it, so its absence does not make COPY unavailable).
     */
    private static String checkCopy(long pageSize, long features) {
        boolean shmem = (features & UFFD_FEATURE_MISSING_SHMEM) != 0;
        try (Cleanup cleanup = new Cleanup(); Arena arena = Arena.ofConfined()) {
            int uffd = cleanup.fd(Userfaultfd.open());
            Userfaultfd.api(uffd, (shmem ? UFFD_FEATURE_MISSING_SHMEM : 0) | guard(features));
            MemorySegment source = arena.allocate(pageSize, pageSize);
            source.set(JAVA_LONG, 0, MAGIC);

            long anonymous = cleanup.map(Mman.mmapAnonymous(pageSize), pageSize);
            long shared = 0;
            if (shmem) {
                int memfd = cleanup.fd(Memfd.create(PROBE_MEMFD));
                Fd.ftruncate(memfd, pageSize);
                shared = cleanup.map(Mman.mmapShared(memfd, pageSize), pageSize);
            }
            try (UffdIoctls ioctl = new UffdIoctls(uffd)) {
                for (long target : shmem ? new long[] {anonymous, shared} : new long[] {anonymous}) {
                    String what = target == anonymous ? "private anonymous" : "memfd";
                    long ioctls = Userfaultfd.register(uffd, target, pageSize, UFFDIO_REGISTER_MODE_MISSING);
                    if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd._UFFDIO_COPY)) {
                        return "a MISSING-registered " + what + " range does not offer UFFDIO_COPY (ioctls "
                            + Userfaultfd.ioctlNames(ioctls) + ")";
                    }
                    ioctl.copyOrThrow(target, source.address(), pageSize, 0);
                    String failure = verify("UFFDIO_COPY into " + what, target, pageSize);
                    if (failure != null) {
                        return failure;
                    }
                }
            }
            return null;
        } catch (SyscallException e) {
            return e.getMessage();
        }
    }

    private static String checkMove(long pageSize, long features) {
        if ((features & UFFD_FEATURE_MOVE) == 0) {
            return missing(UFFD_FEATURE_MOVE, "Linux 6.8+");
        }
        try (Cleanup cleanup = new Cleanup()) {
            int uffd = cleanup.fd(Userfaultfd.open());
            Userfaultfd.api(uffd, UFFD_FEATURE_MOVE | guard(features));
            long target = cleanup.map(Mman.mmapAnonymous(pageSize), pageSize);
            long ioctls = Userfaultfd.register(uffd, target, pageSize, UFFDIO_REGISTER_MODE_MISSING);
            if (!Userfaultfd.hasIoctl(ioctls, Userfaultfd._UFFDIO_MOVE)) {
                return "a MISSING-registered private anonymous range does not offer UFFDIO_MOVE (ioctls "
                    + Userfaultfd.ioctlNames(ioctls) + ")";
            }
            long source = cleanup.map(Mman.mmapAnonymous(pageSize), pageSize);
            Mman.segment(source, pageSize).set(JAVA_LONG, 0, MAGIC);
            try (UffdIoctls ioctl = new UffdIoctls(uffd)) {
                ioctl.moveOrThrow(target, source, pageSize, 0);
            }
            return verify("UFFDIO_MOVE", target, pageSize);
        } catch (SyscallException e) {
            return e.getMessage();
        }
    }

    private static String missing(long feature, String needs) {
        return Userfaultfd.featureName(feature) + " missing (needs " + needs + ")";
    }

    private static String verify(String ioctl, long address, long pageSize) {
        long found = Mman.segment(address, pageSize).get(JAVA_LONG, 0);
        return found == MAGIC ? null : ioctl + " mapped wrong contents: 0x" + Long.toHexString(found);
    }

    /** Unmaps and closes, in reverse order of acquisition. */
    private static final class Cleanup implements AutoCloseable {
        private final ArrayDeque<Runnable> actions = new ArrayDeque<>();

        int fd(int fd) {
            actions.push(() -> Fd.close(fd));
            return fd;
        }

        long map(long address, long length) {
            actions.push(() -> Mman.munmap(address, length));
            return address;
        }

        @Override
        public void close() {
            RuntimeException failure = null;
            while (!actions.isEmpty()) {
                try {
                    actions.pop().run();
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
