package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe.Mode;
import org.junit.jupiter.api.Test;

/**
 * {@code Heap.awaitCompactors}, the benchmarks' wait: it returns only once the compactor threads
 * have mapped every page of the compaction in flight, with the mutator's list intact and no fault
 * taken (the waiter touches nothing), and right away when none is in flight.
 */
class AwaitCompactorsTest {
    static final int CELLS = 150_000; // ~10 MiB live: ~2,600 to-space pages

    @Test
    void returnsOnceTheCompactorsHaveMappedEveryPage() {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentMarking(false).verifyAfterGc(true)
                .backend((cap, ps) -> new UffdBackend(Mode.CONTINUE, UffdOptions.defaults(), cap, ps)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, CELLS);
            long faults = heap.stats().faults();
            try {
                UffdTestSupport.setBuildDelay(20_000L); // 20 us a page: the compaction lasts about 50 ms
                m.collect(); // returns after the flip
                assertTrue(heap.isCompacting(), "the compaction is in flight after the flip");
                heap.awaitCompactors();
                assertFalse(heap.isCompacting(), "awaitCompactors returned before the compaction completed");
            } finally {
                UffdTestSupport.setBuildDelay(0L);
            }
            assertEquals(faults, heap.stats().faults(), "the waiter touched no page");
            heap.awaitCompactors(); // nothing in flight: returns at once
            CellList.check(m, list, CELLS);
        }
    }
}
