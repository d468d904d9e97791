package io.faultline.uffd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.SyscallException;
import org.junit.jupiter.api.Test;

/**
 * {@link HugePages#advise}: a refused huge-page advice is reported, a refused small-page advice is
 * not (a kernel built without transparent huge pages refuses both with EINVAL, and has small pages
 * anyway), so a COPY or MOVE view, advised small pages, is mapped on such a kernel too. A start
 * that is not page aligned draws the same EINVAL from madvise here.
 */
class HugePagesTest {
    private static final long PAGE = 4096;
    private static final long UNALIGNED = 0x1234;

    @Test
    void aRefusedSmallPageAdviceIsIgnoredAndARefusedHugePageAdviceIsReported() {
        SyscallException refused = assertThrows(SyscallException.class, () -> Mman.madvise(UNALIGNED, PAGE, Mman.MADV_NOHUGEPAGE));
        assertEquals("EINVAL", refused.errnoName(), refused.getMessage());
        assertTrue(HugePages.advise(UNALIGNED, PAGE, false), "small pages: refused, ignored");
        assertFalse(HugePages.advise(UNALIGNED, PAGE, true), "huge pages: refused, reported");
    }

    @Test
    void anAcceptedAdviceReturnsTrue() {
        long a = Mman.mmap(0, 2 * PAGE, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        try {
            assertTrue(HugePages.advise(a, 2 * PAGE, false));
        } finally {
            Mman.munmap(a, 2 * PAGE);
        }
    }
}
