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
import java.time.Duration;
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

    /**
     * The compactor threads are held back from the flip on (and the backstop is off), so the walk
     * of the list's first quarter faults on every page it reaches and builds it alone; once they
     * are let go, the other three quarters are built in 64-page runs, whoever builds them (a
     * compactor, or this thread helping in awaitCompaction). Neither count depends on which thread
     * the scheduler runs when.
     */
    @Test
    void aFaultsOnePageIsCopiedWhileTheCompactorsRunsAreMoved() {
        UffdTestSupport.assumeAvailable(Mode.MOVE);
        FailedPageBuildTest.Damaging[] b = {null};
        UffdOptions options = UffdOptions.defaults().withBackstop(Duration.ZERO);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentMarking(false).verifyAfterGc(true).runPages(64)
                .faultAroundPages(0)
                .backend((cap, ps) -> b[0] = new FailedPageBuildTest.Damaging(new UffdBackend(Mode.MOVE, options, cap, ps), true))
                .build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) b[0].inner();
            int list = CellList.build(m, CELLS);
            long copies = backend.stat(Stat.IOCTL_COPY);
            long moves = backend.stat(Stat.IOCTL_MOVE);
            long faultBuilt = heap.faultBuiltPages();
            b[0].hold();
            try {
                m.collect(); // returns after the flip, the compaction running
                CellList.checkFirst(m, list, CELLS, CELLS / 4); // its last cells, on the highest to-space pages
                long walked = heap.faultBuiltPages() - faultBuilt;
                long walkCopies = backend.stat(Stat.IOCTL_COPY) - copies;
                assertTrue(walked > 0, "the walk faulted on pages not yet built");
                // at least: a fault's thread counts its pages after the install has woken the mutator
                assertTrue(walkCopies >= walked, "each fault's one-page run is copied: pages built by faults " + walked
                        + ", COPY ioctls " + walkCopies);
                assertEquals(moves, backend.stat(Stat.IOCTL_MOVE), "nothing was moved while the compactors were held");
            } finally {
                b[0].release.countDown();
            }
            heap.awaitCompaction();
            CellList.check(m, list, CELLS);
            faultBuilt = heap.faultBuiltPages() - faultBuilt;
            copies = backend.stat(Stat.IOCTL_COPY) - copies;
            moves = backend.stat(Stat.IOCTL_MOVE) - moves;
            String what = "pages built by faults " + faultBuilt + ", COPY ioctls " + copies + ", MOVE ioctls " + moves;
            System.out.println("MoveInstallTest: " + what);
            assertTrue(moves > 0, "the 64-page runs are moved: " + what);
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
