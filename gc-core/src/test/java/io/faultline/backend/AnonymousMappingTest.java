package io.faultline.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link AnonymousMapping}: lazily backed, zero-filled, released pages read as zero, and a
 * reservation the kernel refuses is a clear error. Residency is measured per range with
 * {@code mincore} ({@link ResidentPages}).
 */
class AnonymousMappingTest {
    static final long PAGE = AnonymousMapping.osPageSize();
    static final long GIB = 1L << 30;

    @Test
    void reservedMemoryIsResidentOnlyWhereTouched() {
        try (AnonymousMapping m = AnonymousMapping.reserve(GIB)) {
            MemorySegment s = m.segment();
            assertEquals(GIB, s.byteSize());
            assertEquals(0, s.address() % PAGE, "page-aligned");
            assertEquals(0, ResidentPages.bytes(s), "nothing resident right after mmap");
            for (long p : new long[] {0, 1, 4096, 262_143}) {
                s.set(ValueLayout.JAVA_LONG, p * PAGE + 8, p + 1);
            }
            assertEquals(4 * PAGE, ResidentPages.bytes(s), "exactly the four pages written");
            assertEquals(0L, s.get(ValueLayout.JAVA_LONG, 0), "the kernel zero-fills a touched page");
            assertEquals(4097L, s.get(ValueLayout.JAVA_LONG, 4096 * PAGE + 8));
            assertEquals(0L, s.get(ValueLayout.JAVA_LONG, 100 * PAGE), "untouched memory reads as zero");
        }
    }

    @Test
    void releasedPagesAreNoLongerResidentAndReadAsZero() {
        try (AnonymousMapping m = AnonymousMapping.reserve(64 * PAGE)) {
            MemorySegment s = m.segment();
            s.fill((byte) 0x5A);
            assertEquals(64 * PAGE, ResidentPages.bytes(s));
            assertEquals(0, m.release(16 * PAGE, 32 * PAGE));
            assertEquals(32 * PAGE, ResidentPages.bytes(s), "the 32 released pages are gone");
            for (long a = 0; a < 64 * PAGE; a += 8) {
                long expected = a >= 16 * PAGE && a < 48 * PAGE ? 0L : 0x5A5A5A5A5A5A5A5AL;
                assertEquals(expected, s.get(ValueLayout.JAVA_LONG, a), "offset " + a);
            }
            assertEquals(0, m.release(0, 0));
            assertEquals(0, m.release(0, 64 * PAGE));
            assertEquals(0, ResidentPages.bytes(s.asSlice(0, 16 * PAGE)));
        }
    }

    /**
     * With huge pages asked for (and offered by the kernel), the range starts on a huge page,
     * and releasing one whole huge page gives all of it back. Whether the kernel really supplies
     * a huge page at a touch depends on free memory, so residency is checked as a range.
     */
    @Test
    void aHugePageMappingIsAlignedAndReleasesWholeHugePages() {
        long huge = AnonymousMapping.transparentHugePageSize();
        Assumptions.assumeTrue(huge > 0, "the kernel offers no transparent huge pages "
                + "(/sys/kernel/mm/transparent_hugepage/enabled is never, or missing)");
        try (AnonymousMapping m = AnonymousMapping.reserve(32 * huge, "test", true)) {
            MemorySegment s = m.segment();
            assertEquals(huge, m.hugePageSize());
            assertEquals(0, s.address() % huge, "aligned to a huge page");
            assertEquals(0, ResidentPages.bytes(s));
            for (long h = 0; h < 3; h++) {
                s.set(ValueLayout.JAVA_LONG, h * huge + 64, h + 1);
            }
            long resident = ResidentPages.bytes(s);
            assertTrue(resident >= 3 * PAGE && resident <= 3 * huge, resident + " bytes resident after 3 touches");
            long middle = ResidentPages.bytes(s.asSlice(huge, huge));
            assertEquals(0, m.release(huge, huge));
            assertEquals(resident - middle, ResidentPages.bytes(s), "the middle huge page is gone");
            assertEquals(3L, s.get(ValueLayout.JAVA_LONG, 2 * huge + 64));
            assertEquals(0L, s.get(ValueLayout.JAVA_LONG, huge + 64), "released memory reads as zero");
        }
    }

    @Test
    void releaseTakesWholePagesInsideTheMappingOnly() {
        try (AnonymousMapping m = AnonymousMapping.reserve(16 * PAGE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.release(100, PAGE));
            assertTrue(e.getMessage().contains("release(100, " + PAGE + ")"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.release(0, PAGE + 1));
            assertThrows(IllegalArgumentException.class, () -> m.release(8 * PAGE, 9 * PAGE));
            assertThrows(IllegalArgumentException.class, () -> m.release(-PAGE, PAGE));
            assertThrows(IllegalArgumentException.class, () -> AnonymousMapping.reserve(PAGE + 8));
        }
    }

    @Test
    void aReservationTheKernelRefusesNamesTheLengthTheCallAndTheErrno() {
        long impossible = 1L << 62; // beyond any x86-64 or arm64 user address space: mmap says ENOMEM
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> AnonymousMapping.reserve(impossible));
        String message = e.getMessage();
        for (String part : new String[] {Long.toString(impossible), "mmap(NULL, " + impossible,
                "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE", "errno 12 ENOMEM (Cannot allocate memory)"}) {
            assertTrue(message.contains(part), "'" + part + "' missing from: " + message);
        }
    }

    @Test
    void closeUnmapsAndLaterUseFailsWithAnExceptionNotACrash() {
        AnonymousMapping m = AnonymousMapping.reserve(16 * PAGE);
        MemorySegment s = m.segment();
        s.set(ValueLayout.JAVA_LONG, 0, 42);
        m.close();
        m.close();
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_LONG, 0));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.release(0, PAGE));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void releaseAllocatesNothingOnTheJavaHeap() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (AnonymousMapping m = AnonymousMapping.reserve(256 * PAGE)) {
            MemorySegment s = m.segment();
            int failed = 0; // errnos of failed releases, or-ed
            for (int round = 0; round < 6; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 5_000; i++) {
                    long page = i & 255;
                    s.set(ValueLayout.JAVA_LONG, page * PAGE, i);
                    failed |= m.release(page * PAGE, PAGE);
                }
                long bytes = threads.getCurrentThreadAllocatedBytes() - before;
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": 5000 releases allocated " + bytes + " bytes");
                }
            }
            assertEquals(0, failed, "a release failed");
            assertEquals(0, ResidentPages.bytes(s));
        }
    }
}
