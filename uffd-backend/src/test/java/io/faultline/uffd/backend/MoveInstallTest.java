package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe.Mode;
import org.junit.jupiter.api.Test;

/**
 * MOVE mode moves runs of at least 34 pages and copies shorter ones, whatever the page supply: a
 * move makes every other CPU running the process flush its TLB while the mover waits, which a
 * faulting mutator should not pay for its one page (docs/uffd-modes.md, "Why a short run is copied
 * in MOVE mode"). Counted with the backend's ioctl counters; the list is checked after each
 * collection and the verifier runs after every one.
 */
class MoveInstallTest {
    static final int CELLS = 150_000; // ~10 MiB live: ~2,600 to-space pages

    @Test
    void aFaultsOnePageIsCopiedWhileTheCompactorsRunsAreMoved() {
        UffdTestSupport.assumeAvailable(Mode.MOVE);
        UffdBackend[] b = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentMarking(false).verifyAfterGc(true).runPages(64)
                .faultAroundPages(0).backend((cap, ps) -> b[0] = new UffdBackend(Mode.MOVE, UffdOptions.defaults(), cap, ps))
                .build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, CELLS);
            long copies = b[0].stat(Stat.IOCTL_COPY);
            long moves = b[0].stat(Stat.IOCTL_MOVE);
            long faultBuilt = heap.faultBuiltPages();
            try {
                UffdTestSupport.setBuildDelay(20_000L); // 20 us a page: the walk below faults on the pages the compactor has not reached
                m.collect(); // returns after the flip, the compaction running
                // a quarter of the list from the head, its last cells: the compactor starts at the
                // other end, so the walk faults; the other three quarters are built in 64-page runs
                // whoever builds them (a compactor, or this thread helping in awaitCompaction), so
                // the test does not depend on the compactor thread getting a CPU during the walk
                CellList.checkFirst(m, list, CELLS, CELLS / 4);
            } finally {
                UffdTestSupport.setBuildDelay(0L);
            }
            heap.awaitCompaction();
            CellList.check(m, list, CELLS);
            faultBuilt = heap.faultBuiltPages() - faultBuilt;
            copies = b[0].stat(Stat.IOCTL_COPY) - copies;
            moves = b[0].stat(Stat.IOCTL_MOVE) - moves;
            String what = "pages built by faults " + faultBuilt + ", COPY ioctls " + copies + ", MOVE ioctls " + moves;
            System.out.println("MoveInstallTest: " + what);
            assertTrue(faultBuilt > 0, "the walk faulted on pages not yet built: " + what);
            assertTrue(copies >= faultBuilt, "each fault's one-page run is copied: " + what);
            assertTrue(moves > 0, "the compactor's 64-page runs are moved: " + what);
        }
    }

    @Test
    void runsShorterThan34PagesAreCopiedAndLongerOnesMoved() {
        UffdTestSupport.assumeAvailable(Mode.MOVE);
        long[] short16 = compactOnce(16);
        long[] long64 = compactOnce(64);
        String what = "16-page runs: " + short16[0] + " runs, " + short16[1] + " COPY, " + short16[2] + " MOVE; 64-page runs: "
                + long64[0] + " runs, " + long64[1] + " COPY, " + long64[2] + " MOVE";
        System.out.println("MoveInstallTest: " + what);
        assertTrue(short16[0] > 100, what);
        assertEquals(0, short16[2], "no 16-page run is moved: " + what);
        assertTrue(short16[1] >= short16[0], "every 16-page run is copied: " + what);
        assertTrue(long64[2] >= long64[0] - 1, "every 64-page run but perhaps the last, shorter one is moved: " + what);
    }

    /** One stop-the-world compaction of the list with MOVE and FRESH pages: install runs, COPY and MOVE ioctls. */
    private static long[] compactOnce(long runPages) {
        UffdBackend[] b = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentCompaction(false).concurrentMarking(false)
                .verifyAfterGc(true).runPages(runPages)
                .backend((cap, ps) -> b[0] = new UffdBackend(Mode.MOVE, UffdOptions.defaults(), cap, ps)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, CELLS);
            long runs = b[0].stat(Stat.INSTALL_RUNS);
            long copies = b[0].stat(Stat.IOCTL_COPY);
            long moves = b[0].stat(Stat.IOCTL_MOVE);
            m.collect();
            CellList.check(m, list, CELLS);
            return new long[] {b[0].stat(Stat.INSTALL_RUNS) - runs, b[0].stat(Stat.IOCTL_COPY) - copies,
                    b[0].stat(Stat.IOCTL_MOVE) - moves};
        }
    }
}
