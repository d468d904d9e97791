package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From-space is released while compaction is still in flight, not only at its end: the page
 * protocol advances the release frontier as pages are mapped. Observed through the native
 * counters RELEASES and RELEASED_BYTES (the end of a cycle releases the rest of from-space in Java,
 * not counted there). The list the mutator kept is checked afterwards.
 */
class FromSpaceReleaseTest {
    @ParameterizedTest
    @EnumSource(Mode.class)
    void fromSpaceIsReleasedProgressivelyDuringCompaction(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        UffdBackend[] b = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).compactorThreads(1)
                .backend((cap, ps) -> b[0] = new UffdBackend(mode, cap, ps)).build();
        int n = 200_000; // ~13 MiB live, ~3,200 to-space pages: many native steps
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, n);
            m.collect();
            heap.awaitCompaction(); // the mutator helps nothing here: it only waits
            long calls = b[0].stat(UffdBackend.Stat.RELEASES);
            long bytes = b[0].stat(UffdBackend.Stat.RELEASED_BYTES);
            assertTrue(calls > 0 && bytes > (1L << 20),
                    mode + ": from-space released before the last page was built: " + calls + " calls, " + bytes + " bytes");
            CellList.check(m, list, n);
        }
    }
}
