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
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code Heap.awaitCompactors}, the benchmarks' wait: it returns only once the compactor threads
 * have mapped every page of the compaction in flight, with the mutator's list intact and no fault
 * taken (the waiter touches nothing), and right away when none is in flight.
 */
class AwaitCompactorsTest {
    static final int CELLS = 150_000; // ~10 MiB live: ~2,600 to-space pages

    /**
     * The compactor thread is held back from the flip on (backstop off), so the compaction is
     * certainly in flight when the test looks; a second thread lets it go only once this thread
     * waits inside {@code awaitCompactors} (seen in its stack), and then the compactor builds
     * every page itself.
     */
    @Test
    void returnsOnceTheCompactorsHaveMappedEveryPage() throws Exception {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        FailedPageBuildTest.Damaging[] holder = {null};
        UffdOptions options = UffdOptions.defaults().withBackstop(Duration.ZERO);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentMarking(false).verifyAfterGc(true)
                .backend((cap, ps) -> holder[0] = new FailedPageBuildTest.Damaging(new UffdBackend(Mode.CONTINUE, options, cap, ps), true))
                .build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, CELLS);
            long faults = heap.stats().faults();
            Thread self = Thread.currentThread();
            Thread releaser = Thread.ofPlatform().name("releaser").start(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (Arrays.stream(self.getStackTrace()).noneMatch(e -> e.getMethodName().equals("awaitWithoutHelping"))
                        && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                holder[0].release.countDown();
            });
            try {
                holder[0].hold();
                m.collect(); // returns after the flip
                assertTrue(heap.isCompacting(), "the compaction is in flight after the flip");
                heap.awaitCompactors();
                assertFalse(heap.isCompacting(), "awaitCompactors returned before the compaction completed");
            } finally {
                holder[0].release.countDown();
                releaser.join();
            }
            assertEquals(faults, heap.stats().faults(), "the waiter touched no page");
            heap.awaitCompactors(); // nothing in flight: returns at once
            CellList.check(m, list, CELLS);
        }
    }
}
