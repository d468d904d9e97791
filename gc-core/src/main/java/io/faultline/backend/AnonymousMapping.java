package io.faultline.backend;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A range of address space reserved with {@code mmap(NULL, length, PROT_READ | PROT_WRITE,
 * MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)}, seen as a {@link MemorySegment}.
 *
 * <p><b>Lazily backed, zero-filled by the kernel.</b> Reserving costs address space, not memory:
 * no page is resident until it is first touched, and then the kernel supplies a zero-filled page
 * (a first-touch fault: about 2 us per 4 KiB on one 2-vCPU VM of this project's kind, 10-16 us on
 * another; {@code faultline compare} measures it as {@code anon-first-touch}). Resident
 * memory therefore follows the pages actually used, not the length reserved. {@link #release}
 * hands whole pages back with {@code madvise(MADV_DONTNEED)}: they stop being resident at once
 * and read as zero afterwards, as if never touched. (That is the contract of {@code MADV_DONTNEED}
 * on private anonymous memory, the only kind this class maps.)
 *
 * <p><b>Transparent huge pages, on request.</b> A mapping reserved with {@code hugePages} is
 * aligned to the kernel's transparent huge page size (2 MiB on x86-64) and advised
 * {@code MADV_HUGEPAGE}, when the kernel offers them ({@code /sys/kernel/mm/transparent_hugepage/enabled}
 * is {@code always} or {@code madvise}). The first touch of each 2 MiB then takes one fault that
 * zeroes a whole huge page instead of 512 faults: where a fault is dear (on the second VM, 15-17 us of
 * CPU per 4 KiB first touch, 0.4 us per 4 KiB with huge pages, the zeroing included) that is most
 * of the cost of lazy backing. Residency then grows in steps of {@link #hugePageSize()}, and a
 * release should cover whole huge pages: a partial one splits the huge page, and its memory goes
 * back only when the kernel gets round to splitting it.
 *
 * <p><b>What can fail, and when.</b> {@code MAP_NORESERVE} asks the kernel not to charge the
 * length against the commit limit, so with the default {@code vm.overcommit_memory} (0) or 1,
 * {@link #reserve} fails only when the address space cannot be had: {@code RLIMIT_AS}
 * ({@code ulimit -v}), {@code vm.max_map_count}, a length beyond what the process can map. Under
 * {@code vm.overcommit_memory=2} the kernel ignores the flag and charges the whole length, so a
 * length beyond the commit limit fails here, before anything runs. A failure throws
 * {@link OutOfMemoryError} (as {@link Arena#allocate} does when {@code malloc} fails) whose
 * message names the length, the call and the errno with its C library description. Running out
 * of memory <em>after</em> a successful reservation (a cgroup limit, no free RAM) is the kernel's
 * business at the faulting touch, like for any other memory of the process.
 *
 * <p><b>Threading and lifetime.</b> The segment belongs to a shared {@link Arena}: any thread may
 * access it, and {@link #close} unmaps the range (the arena's cleanup action calls
 * {@code munmap}) only once no thread is inside an access, so a late access fails with an
 * exception, never a crash. {@link #release} and {@link #close} are serialised on this object, so
 * no {@code madvise} can reach a range after it was unmapped (and perhaps reused by another
 * mapping). {@link #release} allocates nothing on the Java heap.
 */
final class AnonymousMapping implements AutoCloseable {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4;
    private static final int MADV_POPULATE_WRITE = 23;
    private static final long MAP_FAILED = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final long ERRNO_OFFSET = CAPTURE_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle MMAP = downcallWithErrno("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = downcallWithErrno("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MADVISE = downcallWithErrno("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    /**
     * {@code madvise} without errno capture, for {@link #release} and {@link #populate}, which a
     * faulting mutator may call: a capturing call slices its capture segment (a 40-byte object)
     * on every call, unless the JIT has inlined the caller far enough to elide it.
     */
    private static final MethodHandle MADVISE_PLAIN = downcall("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    /** glibc 2.32+: the errno's symbolic name ({@code "ENOMEM"}), NULL if unknown. */
    private static final Optional<MethodHandle> STRERRORNAME = optionalDowncall("strerrorname_np",
            FunctionDescriptor.of(ADDRESS, JAVA_INT));
    /** glibc 2.32+ {@code strerrordesc_np} (thread-safe), else {@code strerror}. */
    private static final Optional<MethodHandle> STRERROR = optionalDowncall("strerrordesc_np",
            FunctionDescriptor.of(ADDRESS, JAVA_INT))
            .or(() -> optionalDowncall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT)));
    static final long PAGE_SIZE = osPageSize0();
    private static final int MADV_HUGEPAGE = 14;
    private static final int MADV_NOHUGEPAGE = 15;
    private static final long HUGE_PAGE_SIZE = transparentHugePageSize0();

    private final Arena arena;
    private final MemorySegment segment;
    private final long address;
    private final long length;
    /** The huge page size this mapping was advised to use, 0 if base pages only. */
    private final long hugePageSize;
    /** errno of this mapping's madvise calls (they are serialised, so one is enough). */
    private final MemorySegment releaseErrno;
    private boolean closed;

    private AnonymousMapping(Arena arena, MemorySegment segment, long address, long length, long hugePageSize) {
        this.arena = arena;
        this.segment = segment;
        this.address = address;
        this.length = length;
        this.hugePageSize = hugePageSize;
        this.releaseErrno = arena.allocate(CAPTURE_LAYOUT);
    }

    /**
     * Reserves {@code length} bytes (a positive multiple of {@link #osPageSize()}) of address
     * space, not yet backed by memory, in base pages (advised {@code MADV_NOHUGEPAGE}, so even
     * under THP {@code always}). Throws {@link OutOfMemoryError} naming the call with the length
     * and the errno if {@code mmap} refuses.
     */
    static AnonymousMapping reserve(long length) {
        return reserve(length, "cannot reserve " + length + " bytes of address space", false);
    }

    /**
     * As {@link #reserve(long)}; a failure's message starts with {@code failure}, which says what
     * the memory was for, and goes on with the call and the errno. With {@code hugePages}, and if
     * the kernel offers transparent huge pages, the range is aligned to {@link
     * #transparentHugePageSize()} and advised {@code MADV_HUGEPAGE} (see the class comment).
     */
    static AnonymousMapping reserve(long length, String failure, boolean hugePages) {
        if (length <= 0 || length % PAGE_SIZE != 0) {
            throw new IllegalArgumentException("length: " + length + " is not a positive multiple of the page size " + PAGE_SIZE);
        }
        long huge = hugePages ? HUGE_PAGE_SIZE : 0;
        // Room to align the start to a huge page: the slack on either side is unmapped again.
        long mapLength = huge > 0 && length <= Long.MAX_VALUE - huge ? length + huge : length;
        long mapped;
        int errno;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment capture = call.allocate(CAPTURE_LAYOUT);
            mapped = (long) MMAP.invokeExact(capture, 0L, mapLength, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            errno = capture.get(JAVA_INT, ERRNO_OFFSET);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (mapped == MAP_FAILED) {
            throw new OutOfMemoryError(failure + ": mmap(NULL, " + mapLength
                    + ", PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) failed: "
                    + describeErrno(errno));
        }
        long address = mapped;
        if (mapLength != length) { // huge pages: keep the aligned middle
            address = (mapped + huge - 1) & -huge;
            try {
                if (address > mapped) {
                    munmap(mapped, address - mapped);
                }
                if (mapped + mapLength > address + length) {
                    munmap(address + length, mapped + mapLength - (address + length));
                }
            } catch (RuntimeException e) {
                munmap(address, length);
                throw e;
            }
            if (!advise(address, length, MADV_HUGEPAGE)) {
                huge = 0;
            }
        } else {
            huge = 0;
            if (HUGE_PAGE_SIZE > 0) {
                advise(address, length, MADV_NOHUGEPAGE); // base pages even under THP "always"
            }
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment;
        try {
            segment = lifetimeBound(address, length, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            munmap(address, length);
            throw e;
        }
        try {
            return new AnonymousMapping(arena, segment, address, length, huge);
        } catch (RuntimeException | Error e) {
            arena.close(); // unmaps
            throw e;
        }
    }

    /** {@code madvise(MADV_[NO]HUGEPAGE)}; false if the kernel refuses (built without THP: EINVAL). */
    private static boolean advise(long address, long length, int advice) {
        try (Arena call = Arena.ofConfined()) {
            return (int) MADVISE.invokeExact(call.allocate(CAPTURE_LAYOUT), address, length, advice) == 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The kernel's transparent huge page size ({@code /sys/kernel/mm/transparent_hugepage/hpage_pmd_size},
     * 2 MiB on x86-64), or 0 if it offers none (not built in, or {@code enabled} is {@code never}).
     */
    static long transparentHugePageSize() {
        return HUGE_PAGE_SIZE;
    }

    /**
     * The huge page size this mapping was aligned to and advised to use, or 0 if it uses base
     * pages only. Release whole multiples of it to give memory back at once.
     */
    long hugePageSize() {
        return hugePageSize;
    }

    /** The base page size of the operating system ({@code getpagesize()}), e.g. 4096. */
    static long osPageSize() {
        return PAGE_SIZE;
    }

    /** The whole range, readable and writable from any thread until {@link #close}. */
    MemorySegment segment() {
        return segment;
    }

    /** The reserved length in bytes. */
    long byteSize() {
        return length;
    }

    /**
     * Gives the pages of {@code [offset, offset + bytes)} back to the kernel
     * ({@code madvise(MADV_DONTNEED)}): they are no longer resident and read as zero until written
     * again. {@code offset} and {@code bytes} must be multiples of {@link #osPageSize()} inside the
     * mapping; {@code bytes} may be 0. Returns 0, or the errno of the failed {@code madvise} (the
     * page protocol records it as the heap's failure). Allocation-free.
     *
     * @throws IllegalStateException    if the mapping is closed
     * @throws IllegalArgumentException if the range is not whole OS pages inside the mapping
     */
    synchronized int release(long offset, long bytes) {
        if (closed) {
            throw new IllegalStateException("release(" + offset + ", " + bytes + "): the mapping is closed");
        }
        if (offset < 0 || bytes < 0 || bytes > length - offset || ((offset | bytes) & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("release(" + offset + ", " + bytes + "): not a range of whole "
                    + PAGE_SIZE + "-byte pages inside the " + length + "-byte mapping");
        }
        if (bytes == 0) {
            return 0;
        }
        int rc;
        try {
            rc = (int) MADVISE_PLAIN.invokeExact(address + offset, bytes, MADV_DONTNEED);
            if (rc != 0) { // again, capturing errno this time (MADV_DONTNEED may be repeated)
                rc = (int) MADVISE.invokeExact(releaseErrno, address + offset, bytes, MADV_DONTNEED);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return rc == 0 ? 0 : releaseErrno.get(JAVA_INT, ERRNO_OFFSET);
    }

    /**
     * Makes {@code [offset, offset + bytes)} resident in one call ({@code madvise(MADV_POPULATE_WRITE)},
     * Linux 5.14+) instead of one page fault per page on first touch; the pages read as zero as
     * before. Whole pages inside the mapping. Returns false if the kernel refuses (too old:
     * EINVAL; out of memory: the first touch will say so), true otherwise. Allocation-free.
     */
    synchronized boolean populate(long offset, long bytes) {
        if (closed || offset < 0 || bytes <= 0 || bytes > length - offset || ((offset | bytes) & (PAGE_SIZE - 1)) != 0) {
            return false;
        }
        try {
            return (int) MADVISE_PLAIN.invokeExact(address + offset, bytes, MADV_POPULATE_WRITE) == 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Unmaps the range. Idempotent. Throws {@link IllegalStateException} (and unmaps nothing) if
     * another thread is accessing the segment at this moment, as closing any shared arena does.
     */
    @Override
    public synchronized void close() {
        if (!closed) {
            arena.close();
            closed = true;
        }
    }

    /** The mapping as a segment of {@code arena}: closing the arena unmaps it. */
    @SuppressWarnings("restricted") // the address is a mapping of exactly `length` bytes, owned here
    private static MemorySegment lifetimeBound(long address, long length, Arena arena) {
        return MemorySegment.ofAddress(address).reinterpret(length, arena, unused -> munmap(address, length));
    }

    private static void munmap(long address, long length) {
        int rc;
        int errno;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment capture = call.allocate(CAPTURE_LAYOUT);
            rc = (int) MUNMAP.invokeExact(capture, address, length);
            errno = capture.get(JAVA_INT, ERRNO_OFFSET);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (rc != 0) {
            throw new IllegalStateException("munmap(0x" + Long.toHexString(address) + ", " + length + ") failed: "
                    + describeErrno(errno));
        }
    }

    /** {@code "errno 12 ENOMEM (Cannot allocate memory)"}. */
    @SuppressWarnings("restricted") // reads the C library's static, NUL-terminated strings
    static String describeErrno(int errno) {
        StringBuilder text = new StringBuilder("errno ").append(errno);
        try {
            if (STRERRORNAME.isPresent()) {
                MemorySegment name = (MemorySegment) STRERRORNAME.get().invokeExact(errno);
                if (!name.equals(MemorySegment.NULL)) {
                    text.append(' ').append(name.reinterpret(64).getString(0));
                }
            }
            if (STRERROR.isPresent()) {
                MemorySegment description = (MemorySegment) STRERROR.get().invokeExact(errno);
                if (!description.equals(MemorySegment.NULL)) {
                    text.append(" (").append(description.reinterpret(4096).getString(0)).append(')');
                }
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return text.toString();
    }

    private static MethodHandle downcallWithErrno(String name, FunctionDescriptor descriptor) {
        return downcall(name, descriptor, Linker.Option.captureCallState("errno"));
    }

    /** A downcall to the C library's {@code name}; throws if the library has no such symbol. */
    @SuppressWarnings("restricted") // needs --enable-native-access, like the rest of gc-core
    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsupportedOperationException("the C library has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    @SuppressWarnings("restricted")
    private static Optional<MethodHandle> optionalDowncall(String name, FunctionDescriptor descriptor) {
        return LINKER.defaultLookup().find(name).map(symbol -> LINKER.downcallHandle(symbol, descriptor));
    }

    private static long osPageSize0() {
        try {
            return (int) downcall("getpagesize", FunctionDescriptor.of(JAVA_INT)).invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long transparentHugePageSize0() {
        Path dir = Path.of("/sys/kernel/mm/transparent_hugepage");
        try {
            if (Files.readString(dir.resolve("enabled")).contains("[never]")) {
                return 0;
            }
            long size = Long.parseLong(Files.readString(dir.resolve("hpage_pmd_size")).strip());
            return size > PAGE_SIZE && Long.bitCount(size) == 1 ? size : 0;
        } catch (IOException | RuntimeException e) {
            return 0; // no THP in this kernel, or no sysfs: base pages
        }
    }

    /** Rethrows what {@code invokeExact} declares but a downcall cannot throw. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a downcall", t);
    }
}
