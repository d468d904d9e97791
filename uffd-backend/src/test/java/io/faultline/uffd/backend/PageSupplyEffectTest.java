package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The page-supply settings change where to-space pages come from, and each shows in what the
 * kernel or the backend counts. {@code KEEP} (CONTINUE) keeps the other memfd half's page-cache
 * pages from one cycle to the next instead of punching them: after the same three collections the
 * process holds about one more live set of shared memory resident ({@code RssShmem} in
 * {@code /proc/self/status}) than with {@code FRESH}. {@code RECYCLE} (MOVE) builds runs into
 * from-space pages whose contents were consumed, and the backend counts them
 * ({@code RECYCLED_PAGES}); with {@code FRESH} it counts none. The list the mutator kept is
 * checked after every collection, and the verifier runs after each.
 */
class PageSupplyEffectTest {
    static final int CELLS = 150_000; // ~10 MiB live: ~2,600 to-space pages

    @Test
    void keepHoldsTheOtherHalfResidentAcrossCycles() throws IOException {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        long fresh = collectThreeTimes(Mode.CONTINUE, PageSupply.FRESH).shmemKib;
        long keep = collectThreeTimes(Mode.CONTINUE, PageSupply.KEEP).shmemKib;
        String what = "RssShmem after three collections: FRESH " + fresh + " KiB, KEEP " + keep + " KiB";
        System.out.println(what);
        assertTrue(keep - fresh >= 8 * 1024, "KEEP holds the other half's pages (about the live set, ~10 MiB) resident: " + what);
    }

    @Test
    void recycleBuildsIntoConsumedFromSpacePages() throws IOException {
        UffdTestSupport.assumeAvailable(Mode.MOVE);
        Outcome fresh = collectThreeTimes(Mode.MOVE, PageSupply.FRESH);
        Outcome recycle = collectThreeTimes(Mode.MOVE, PageSupply.RECYCLE);
        String what = "third collection: FRESH recycled " + fresh.recycled + " of " + fresh.pages + " pages, RECYCLE recycled "
                + recycle.recycled + " of " + recycle.pages;
        System.out.println(what);
        assertEquals(0, fresh.recycled, what);
        assertTrue(recycle.pages > 1_000 && recycle.recycled >= recycle.pages / 2, "most pages built in recycled from-space: " + what);
    }

    record Outcome(long pages, long recycled, long shmemKib) {
    }

    /** Three stop-the-world collections of the same list; what the third one built, and RssShmem after it. */
    private static Outcome collectThreeTimes(Mode mode, PageSupply supply) throws IOException {
        UffdBackend[] b = {null};
        UffdOptions options = UffdOptions.defaults().withSupply(supply);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentCompaction(false).concurrentMarking(false)
                .verifyAfterGc(true).backend((cap, ps) -> b[0] = new UffdBackend(mode, options, cap, ps)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, CELLS);
            long pages = 0;
            long recycled = 0;
            for (int cycle = 1; cycle <= 3; cycle++) {
                long pagesBefore = b[0].stat(UffdBackend.Stat.PAGES_INSTALLED);
                long recycledBefore = b[0].stat(UffdBackend.Stat.RECYCLED_PAGES);
                m.collect();
                pages = b[0].stat(UffdBackend.Stat.PAGES_INSTALLED) - pagesBefore;
                recycled = b[0].stat(UffdBackend.Stat.RECYCLED_PAGES) - recycledBefore;
                CellList.check(m, list, CELLS);
                for (int i = 0; i < 5_000; i++) {
                    m.allocateByteArray(24); // a little garbage, so that every cycle moves the list
                }
            }
            return new Outcome(pages, recycled, rssShmemKib());
        }
    }

    private static long rssShmemKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssShmem:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no RssShmem in /proc/self/status");
    }
}
