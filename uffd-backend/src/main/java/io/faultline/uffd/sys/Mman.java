package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Libc.hex;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Memory mappings ({@code <sys/mman.h>}): {@code mmap}, {@code munmap}, {@code mremap},
 * {@code madvise}, {@code mincore}, and the page size.
 *
 * <p>Addresses are plain {@code long}s; {@link #segment} turns a mapping into a
 * {@link MemorySegment} for access.
 */
public final class Mman {
    public static final int PROT_NONE = 0x0;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;

    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MAP_FIXED_NOREPLACE = 0x100000;
    /** {@code (void *) -1}. */
    public static final long MAP_FAILED = -1L;

    public static final int MREMAP_MAYMOVE = 1;
    public static final int MREMAP_FIXED = 2;
    /** Linux 5.7+ (private anonymous), 5.13+ (any mapping): leave the old range mapped but empty. */
    public static final int MREMAP_DONTUNMAP = 4;

    public static final int MADV_NORMAL = 0;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_REMOVE = 9;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    public static final int MADV_POPULATE_READ = 22;
    public static final int MADV_POPULATE_WRITE = 23;

    private static final MethodHandle MMAP = Libc.downcall("mmap",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = Libc.downcall("munmap",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MREMAP = Libc.downcallVariadic("mremap",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG), 4);
    private static final MethodHandle MADVISE = Libc.downcall("madvise",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MINCORE = Libc.downcall("mincore",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS));

    private static final long PAGE_SIZE = pageSize0();

    private Mman() {
    }

    /** The base page size ({@code getpagesize()}), e.g. 4096. */
    public static long pageSize() {
        return PAGE_SIZE;
    }

    /** {@code mmap(addr, length, prot, flags, fd, offset)}; returns the mapping's address. */
    public static long mmap(long addr, long length, int prot, int flags, int fd, long offset) {
        MemorySegment capture = Libc.capture();
        long address;
        try {
            address = (long) MMAP.invokeExact(capture, addr, length, prot, flags, fd, offset);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (address == MAP_FAILED) {
            throw new SyscallException("mmap(addr=" + hex(addr) + ", len=" + hex(length) + ", prot=" + hex(prot)
                + ", flags=" + hex(flags) + ", fd=" + fd + ", offset=" + hex(offset) + ")", Libc.errno(capture));
        }
        return address;
    }

    /** A {@code MAP_SHARED} read-write mapping of {@code length} bytes of {@code fd} from offset 0. */
    public static long mmapShared(int fd, long length) {
        return mmap(0, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }

    /** A {@code MAP_PRIVATE | MAP_ANONYMOUS} read-write mapping of {@code length} bytes. */
    public static long mmapAnonymous(long length) {
        return mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }

    /** {@code munmap(addr, length)}. */
    public static void munmap(long addr, long length) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) MUNMAP.invokeExact(capture, addr, length);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("munmap(addr=" + hex(addr) + ", len=" + hex(length) + ")", Libc.errno(capture));
        }
    }

    /** {@code mremap(oldAddr, oldSize, newSize, flags)}; returns the new address. */
    public static long mremap(long oldAddr, long oldSize, long newSize, int flags) {
        return mremap(oldAddr, oldSize, newSize, flags, 0);
    }

    /**
     * {@code mremap(oldAddr, oldSize, newSize, flags, newAddr)}; {@code newAddr} is used with
     * {@link #MREMAP_FIXED} only. With {@code MREMAP_MAYMOVE | MREMAP_DONTUNMAP} (equal sizes) the
     * pages move to the returned address and the old range stays mapped with no pages in it.
     */
    public static long mremap(long oldAddr, long oldSize, long newSize, int flags, long newAddr) {
        MemorySegment capture = Libc.capture();
        long address;
        try {
            address = (long) MREMAP.invokeExact(capture, oldAddr, oldSize, newSize, flags, newAddr);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (address == MAP_FAILED) {
            throw new SyscallException("mremap(addr=" + hex(oldAddr) + ", len=" + hex(oldSize) + ", new_len="
                + hex(newSize) + ", flags=" + hex(flags) + ", new_addr=" + hex(newAddr) + ")", Libc.errno(capture));
        }
        return address;
    }

    /** {@code madvise(addr, length, advice)}, e.g. {@link #MADV_DONTNEED}, {@link #MADV_REMOVE}. */
    public static void madvise(long addr, long length, int advice) {
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) MADVISE.invokeExact(capture, addr, length, advice);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("madvise(addr=" + hex(addr) + ", len=" + hex(length) + ", advice="
                + advice + ")", Libc.errno(capture));
        }
    }

    /**
     * {@code mincore(addr, length, vec)}: one byte per page, bit 0 set if the page is resident
     * (for a shared file mapping: in the page cache, whether or not this mapping maps it).
     * {@code vec} must hold at least {@code ceil(length / pageSize())} bytes.
     */
    public static void mincore(long addr, long length, MemorySegment vec) {
        long pages = (length + PAGE_SIZE - 1) / PAGE_SIZE;
        if (vec.byteSize() < pages) {
            throw new IllegalArgumentException("vec holds " + vec.byteSize() + " bytes, need " + pages);
        }
        MemorySegment capture = Libc.capture();
        int rc;
        try {
            rc = (int) MINCORE.invokeExact(capture, addr, length, vec);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc != 0) {
            throw new SyscallException("mincore(addr=" + hex(addr) + ", len=" + hex(length) + ")", Libc.errno(capture));
        }
    }

    /** The {@code length} bytes at {@code address} as a segment with global scope (not freed by it). */
    @SuppressWarnings("restricted")
    public static MemorySegment segment(long address, long length) {
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    private static long pageSize0() {
        try {
            return (int) Libc.downcallPlain("getpagesize", FunctionDescriptor.of(JAVA_INT)).invokeExact();
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
