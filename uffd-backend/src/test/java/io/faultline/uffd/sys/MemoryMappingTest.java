package io.faultline.uffd.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** memfd_create, ftruncate, fallocate, mmap, mremap, madvise, mincore against what the kernel reports. */
class MemoryMappingTest {
    private static final long PAGE = Mman.pageSize();
    private static final int PAGES = 8;
    private static final long LENGTH = PAGES * PAGE;

    private int memfd = -1;

    @BeforeEach
    void createMemfd() {
        memfd = Memfd.create("faultline-test-mapping");
        Fd.ftruncate(memfd, LENGTH);
    }

    @AfterEach
    void closeMemfd() {
        Fd.close(memfd);
    }

    @Test
    void pageSizeIsAPowerOfTwo() {
        assertTrue(PAGE >= 4096 && Long.bitCount(PAGE) == 1, "page size " + PAGE);
    }

    @Test
    void memfdHasTheTruncatedSize() throws Exception {
        assertEquals(LENGTH, Files.size(Path.of("/proc/self/fd/" + memfd)));
    }

    @Test
    void writesThroughOneMappingAreVisibleThroughTheOther() {
        long view = Mman.mmapShared(memfd, LENGTH);
        long alias = Mman.mmapShared(memfd, LENGTH);
        try {
            assertNotEquals(view, alias);
            MemorySegment viewSegment = Mman.segment(view, LENGTH);
            MemorySegment aliasSegment = Mman.segment(alias, LENGTH);
            for (int page = 0; page < PAGES; page++) {
                aliasSegment.set(JAVA_LONG, page * PAGE + 8, 0x1000L + page);
            }
            viewSegment.set(JAVA_LONG, 3 * PAGE + 16, 0xCAFEL);
            for (int page = 0; page < PAGES; page++) {
                assertEquals(0x1000L + page, viewSegment.get(JAVA_LONG, page * PAGE + 8));
            }
            assertEquals(0xCAFEL, aliasSegment.get(JAVA_LONG, 3 * PAGE + 16));
        } finally {
            Mman.munmap(view, LENGTH);
            Mman.munmap(alias, LENGTH);
        }
    }

    @Test
    void mremapDontunmapOfAnonymousMemoryLeavesTheOldRangeMappedAndEmpty() {
        long old = Mman.mmapAnonymous(LENGTH);
        fill(Mman.segment(old, LENGTH), 7);
        long moved = Mman.mremap(old, LENGTH, LENGTH, Mman.MREMAP_MAYMOVE | Mman.MREMAP_DONTUNMAP);
        try {
            assertNotEquals(old, moved);
            assertEquals(1, Proc.mappingsOverlapping(old, LENGTH).size(), "old range still mapped");
            assertArrayEquals(new boolean[PAGES], Proc.present(old, PAGES), "old range has no pages");
            check(Mman.segment(moved, LENGTH), 7);
            MemorySegment oldSegment = Mman.segment(old, LENGTH);
            for (int page = 0; page < PAGES; page++) {
                assertEquals(0L, oldSegment.get(JAVA_LONG, page * PAGE), "old range refaults as zero pages");
            }
        } finally {
            Mman.munmap(old, LENGTH);
            Mman.munmap(moved, LENGTH);
        }
    }

    @Test
    void mremapDontunmapOfAMemfdMappingMovesThePagesAndKeepsTheOldRange() {
        long old = Mman.mmapShared(memfd, LENGTH);
        fill(Mman.segment(old, LENGTH), 11);
        boolean[] all = new boolean[PAGES];
        Arrays.fill(all, true);
        assertArrayEquals(all, Proc.present(old, PAGES));

        long moved = Mman.mremap(old, LENGTH, LENGTH, Mman.MREMAP_MAYMOVE | Mman.MREMAP_DONTUNMAP);
        try {
            assertNotEquals(old, moved);
            assertFalse(Proc.mappingsOverlapping(old, LENGTH).isEmpty(), "old range still mapped");
            assertArrayEquals(new boolean[PAGES], Proc.present(old, PAGES), "old range has no PTEs");
            assertArrayEquals(all, Proc.present(moved, PAGES), "PTEs moved with the pages");
            check(Mman.segment(moved, LENGTH), 11);
        } finally {
            Mman.munmap(old, LENGTH);
            Mman.munmap(moved, LENGTH);
        }
    }

    @Test
    void punchHoleFreesThePagesAndKeepsTheSize() throws Exception {
        long view = Mman.mmapShared(memfd, LENGTH);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = Mman.segment(view, LENGTH);
            fill(segment, 3);
            MemorySegment vec = arena.allocate(PAGES);
            Mman.mincore(view, LENGTH, vec);
            for (int page = 0; page < PAGES; page++) {
                assertEquals(1, vec.get(JAVA_BYTE, page) & 1, "page " + page + " resident before");
            }

            Fd.punchHole(memfd, 2 * PAGE, 3 * PAGE);

            Mman.mincore(view, LENGTH, vec);
            for (int page = 0; page < PAGES; page++) {
                boolean punched = page >= 2 && page < 5;
                assertEquals(punched ? 0 : 1, vec.get(JAVA_BYTE, page) & 1, "page " + page + " resident after");
            }
            assertEquals(LENGTH, Files.size(Path.of("/proc/self/fd/" + memfd)), "FALLOC_FL_KEEP_SIZE");
            for (int page = 0; page < PAGES; page++) {
                boolean punched = page >= 2 && page < 5;
                assertEquals(punched ? 0L : 3L * 1000 + page, segment.get(JAVA_LONG, page * PAGE), "page " + page);
            }
        } finally {
            Mman.munmap(view, LENGTH);
        }
    }

    @Test
    void fallocateWithoutKeepSizeExtendsTheFile() throws Exception {
        Fd.fallocate(memfd, 0, LENGTH, LENGTH);
        assertEquals(2 * LENGTH, Files.size(Path.of("/proc/self/fd/" + memfd)));
        Fd.fallocate(memfd, Fd.FALLOC_FL_KEEP_SIZE, 2 * LENGTH, LENGTH);
        assertEquals(2 * LENGTH, Files.size(Path.of("/proc/self/fd/" + memfd)));
    }

    @Test
    void madviseDontneedDropsPtesButSharedContentsStay() {
        long view = Mman.mmapShared(memfd, LENGTH);
        try {
            fill(Mman.segment(view, LENGTH), 5);
            Mman.madvise(view, LENGTH, Mman.MADV_DONTNEED);
            assertArrayEquals(new boolean[PAGES], Proc.present(view, PAGES));
            check(Mman.segment(view, LENGTH), 5);
        } finally {
            Mman.munmap(view, LENGTH);
        }
    }

    @Test
    void madviseRemoveFreesSharedContents() {
        long view = Mman.mmapShared(memfd, LENGTH);
        try {
            fill(Mman.segment(view, LENGTH), 5);
            Mman.madvise(view, LENGTH, Mman.MADV_REMOVE);
            assertArrayEquals(new boolean[PAGES], Proc.present(view, PAGES));
            MemorySegment segment = Mman.segment(view, LENGTH);
            for (int page = 0; page < PAGES; page++) {
                assertEquals(0L, segment.get(JAVA_LONG, page * PAGE));
            }
        } finally {
            Mman.munmap(view, LENGTH);
        }
    }

    private static void fill(MemorySegment segment, int seed) {
        for (int page = 0; page < PAGES; page++) {
            segment.set(JAVA_LONG, page * PAGE, seed * 1000L + page);
            segment.set(JAVA_LONG, page * PAGE + PAGE - 8, ~(seed * 1000L + page));
        }
    }

    private static void check(MemorySegment segment, int seed) {
        for (int page = 0; page < PAGES; page++) {
            assertEquals(seed * 1000L + page, segment.get(JAVA_LONG, page * PAGE), "page " + page);
            assertEquals(~(seed * 1000L + page), segment.get(JAVA_LONG, page * PAGE + PAGE - 8), "page " + page);
        }
    }

    /**
     * The wrappers the allocator and the flips call while mutators run (each 2 MiB allocation step
     * may move or populate a chunk) allocate nothing on the Java heap once C2 has compiled them.
     * Before that, 40 bytes a call (the downcall's own temporary), since the errno capture segment
     * is the calling thread's ({@code Libc.capture}); with a confined arena per call it was 208.
     */
    @Test
    void mappingWrappersDoNotAllocateOnTheJavaHeap() {
        long view = Mman.mmapShared(memfd, LENGTH);
        try {
            long best = JavaHeapAllocation.bestRound(200, () -> {
                for (int i = 0; i < 2_000; i++) {
                    Mman.madvise(view, LENGTH, Mman.MADV_NORMAL);
                    Fd.fallocate(memfd, 0, 0, PAGE);
                    Mman.munmap(Mman.mmap(0, PAGE, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0), PAGE);
                }
                return 0;
            });
            assertTrue(best < 1024, "8,000 calls allocated " + best + " bytes in the best round");
        } finally {
            Mman.munmap(view, LENGTH);
        }
    }
}
