package io.faultline.uffd.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

import org.junit.jupiter.api.Test;

/** Failures name the call, its address and length in hex, the errno, its name and its description. */
class SyscallErrorsTest {
    private static final long PAGE = Mman.pageSize();
    /**
     * An address only MAP_FIXED could map (the kernel hands out addresses top-down), so nothing is
     * mapped there. Unmapping a range to get an empty one would race with JVM threads mapping
     * memory, and these calls must never hit a JVM mapping.
     */
    private static final long NEVER_MAPPED = 0x1000;

    @Test
    void munmapOfAMisalignedAddress() {
        SyscallException e = assertThrows(SyscallException.class, () -> Mman.munmap(0x1001, PAGE));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("munmap(addr=0x1001, len=0x" + Long.toHexString(PAGE) + ") failed: errno 22 EINVAL (Invalid argument)",
            e.getMessage());
        assertEquals("munmap(addr=0x1001, len=0x" + Long.toHexString(PAGE) + ")", e.call());
    }

    @Test
    void mmapOfZeroBytes() {
        SyscallException e = assertThrows(SyscallException.class, () -> Mman.mmapAnonymous(0));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("mmap(addr=0x0, len=0x0, prot=0x3, flags=0x22, fd=-1, offset=0x0) failed:"
            + " errno 22 EINVAL"), e.getMessage());
    }

    @Test
    void mmapOfABadDescriptor() {
        SyscallException e = assertThrows(SyscallException.class, () -> Mman.mmapShared(-1, PAGE));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("errno 9 EBADF (Bad file descriptor)"), e.getMessage());
    }

    @Test
    void mremapOfAnUnmappedRange() {
        long address = NEVER_MAPPED;
        SyscallException e = assertThrows(SyscallException.class,
            () -> Mman.mremap(address, PAGE, PAGE, Mman.MREMAP_MAYMOVE | Mman.MREMAP_DONTUNMAP));
        assertEquals(Errno.EFAULT, e.errno());
        assertTrue(e.getMessage().startsWith("mremap(addr=0x" + Long.toHexString(address)), e.getMessage());
        assertTrue(e.getMessage().contains("EFAULT"), e.getMessage());
    }

    @Test
    void madviseOfAMisalignedAddress() {
        SyscallException e = assertThrows(SyscallException.class, () -> Mman.madvise(0x1234, PAGE, Mman.MADV_DONTNEED));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("madvise(addr=0x1234, len=0x" + Long.toHexString(PAGE)), e.getMessage());
    }

    @Test
    void closeOfABadDescriptor() {
        SyscallException e = assertThrows(SyscallException.class, () -> Fd.close(-1));
        assertEquals("close(fd=-1) failed: errno 9 EBADF (Bad file descriptor)", e.getMessage());
    }

    @Test
    void punchHoleOnABadDescriptor() {
        SyscallException e = assertThrows(SyscallException.class, () -> Fd.punchHole(-1, 0, PAGE));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().startsWith("fallocate(fd=-1, mode=0x3, offset=0x0, len=0x" + Long.toHexString(PAGE)),
            e.getMessage());
    }

    @Test
    void registerOfAnUnmappedRange() {
        int uffd;
        try {
            uffd = Userfaultfd.open();
        } catch (SyscallException e) {
            abort(e.getMessage());
            return;
        }
        try {
            Userfaultfd.api(uffd, 0);
            long address = NEVER_MAPPED;
            SyscallException e = assertThrows(SyscallException.class,
                () -> Userfaultfd.register(uffd, address, PAGE, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING));
            // the errno for a range without a mapping differs between kernel versions (6.18: EINVAL)
            assertTrue(e.errno() == Errno.ENOMEM || e.errno() == Errno.EINVAL, e.getMessage());
            assertEquals("UFFDIO_REGISTER(uffd=" + uffd + ", start=0x" + Long.toHexString(address) + ", len=0x"
                + Long.toHexString(PAGE) + ", mode=MISSING) failed: errno " + e.errno() + " " + Errno.name(e.errno())
                + " (" + Errno.description(e.errno()) + ")", e.getMessage());
            SyscallException twice = assertThrows(SyscallException.class, () -> Userfaultfd.api(uffd, 0));
            assertEquals(Errno.EINVAL, twice.errno(), "UFFDIO_API is accepted once per descriptor");
        } finally {
            Fd.close(uffd);
        }
    }

    @Test
    void errnoNamesAndDescriptions() {
        assertEquals("EEXIST", Errno.name(Errno.EEXIST));
        assertEquals("EAGAIN", Errno.name(Errno.EAGAIN));
        assertEquals("ENOSYS", Errno.name(38));
        assertEquals("EHWPOISON", Errno.name(133));
        assertEquals("E?999", Errno.name(999));
        assertEquals("E?-1", Errno.name(-1));
        assertEquals("File exists", Errno.description(Errno.EEXIST));
        assertEquals("Operation not permitted", Errno.description(Errno.EPERM));
    }

    @Test
    void detailIsAppended() {
        SyscallException e = new SyscallException("userfaultfd(flags=0x0)", Errno.EPERM, "fallback open failed");
        assertEquals("userfaultfd(flags=0x0) failed: errno 1 EPERM (Operation not permitted); fallback open failed",
            e.getMessage());
    }
}
