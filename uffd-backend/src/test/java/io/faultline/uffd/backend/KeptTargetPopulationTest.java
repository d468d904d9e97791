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
import org.junit.jupiter.api.Test;

/**
 * CONTINUE with {@code KEEP}: where a cycle's to-space reaches past the highest offset its memfd
 * half held before, the builders make the alias entries of each run in bulk
 * ({@code MADV_POPULATE_WRITE}), counted by {@code KEPT_POPULATED_BYTES}; below that the entries
 * kept from earlier cycles serve, and nothing is populated again. Observed over four collections
 * of the same live list (the halves alternate), then a larger one; the verifier runs after every
 * collection and the list is checked.
 */
class KeptTargetPopulationTest {
    @Test
    void eachHalfIsPopulatedInBulkOnceAsFarAsItsToSpaceReaches() {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        UffdBackend[] b = {null};
        UffdOptions options = UffdOptions.defaults().withSupply(PageSupply.KEEP);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).compactorThreads(1).verifyAfterGc(true)
                .backend((cap, ps) -> b[0] = new UffdBackend(Mode.CONTINUE, options, cap, ps)).build();
        int n = 100_000; // 64-byte cells: about 6 MiB live
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, n);
            long[] populated = new long[5];
            long[] liveBytes = new long[5];
            for (int cycle = 0; cycle < 4; cycle++) {
                m.collect();
                heap.awaitCompaction();
                populated[cycle] = b[0].stat(UffdBackend.Stat.KEPT_POPULATED_BYTES);
                liveBytes[cycle] = heap.stats().liveAfterLastGc();
                CellList.check(m, list, n);
            }
            // Cycles 1 and 2 compact into the two empty halves: each populates its to-space.
            long first = populated[0];
            long second = populated[1] - populated[0];
            assertTrue(first >= liveBytes[0] && first < liveBytes[0] + (4L << 20),
                    "the first cycle populates about its to-space (" + liveBytes[0] + " bytes): " + first);
            assertTrue(second >= liveBytes[1] && second < liveBytes[1] + (4L << 20),
                    "the second cycle, into the other half, populates about its to-space (" + liveBytes[1] + " bytes): " + second);
            // Cycles 3 and 4 go back into halves that already reach as far: nothing more.
            assertEquals(populated[1], populated[3], "cycles into halves already populated that far populate nothing");
            // A larger live set reaches further: only the new part of the half is populated.
            int more = CellList.build(m, n);
            m.collect();
            heap.awaitCompaction();
            long grown = b[0].stat(UffdBackend.Stat.KEPT_POPULATED_BYTES) - populated[3];
            long live = heap.stats().liveAfterLastGc();
            assertTrue(grown > 0 && grown < live - liveBytes[3] + (4L << 20),
                    "a larger to-space (" + live + " bytes, " + liveBytes[3] + " before) populates only past the old reach: " + grown);
            CellList.check(m, list, n);
            CellList.check(m, more, n);
        }
    }
}
