package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Young cycles copy the old pages that no dirty card touches as they were ({@code compact_page}'s
 * verbatim path, counted by {@code VERBATIM_BUILT}): a list kept by an explicit collection is old,
 * and the young cycles that garbage then starts copy its pages instead of rebuilding them; without
 * young cycles no page is. In every mode; the verifier runs after every cycle and the list is
 * checked after the young cycles.
 */
class VerbatimOldPagesTest {
    static final ObjectType LEAF = ObjectType.builder("verbatim.Leaf").i64("v").build();

    @ParameterizedTest
    @EnumSource(Mode.class)
    void youngCyclesCopyTheOldPagesAsTheyWere(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        assertTrue(verbatimPages(mode, true) > 100, mode + ": young cycles copied too few old pages as they were");
        assertEquals(0, verbatimPages(mode, false), mode + ": pages copied as they were without young cycles");
    }

    /** Pages built by the verbatim path in two young cycles (or two cycles, without them) after a 2.5 MiB list became old. */
    private static long verbatimPages(Mode mode, boolean youngCycles) {
        UffdBackend[] b = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).verifyAfterGc(true).youngCycles(youngCycles)
                .backend((cap, ps) -> b[0] = new UffdBackend(mode, cap, ps)).build();
        int n = 40_000; // 64-byte cells
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, n);
            m.collect(); // the list is old from now on
            heap.awaitCompaction();
            long before = b[0].stat(UffdBackend.Stat.VERBATIM_BUILT);
            long cycles = heap.stats().gcCycles();
            // two young cycles (some may be full pauses instead, when the heap fills first), or two cycles without
            for (long i = 1; (i & 1023) != 0 || (youngCycles ? heap.stats().youngCycles() : heap.stats().gcCycles() - cycles) < 2; i++) {
                if (i == 40_000_000) {
                    throw new AssertionError(mode + ": too few cycles started by themselves: " + heap.stats());
                }
                m.allocate(LEAF); // garbage: the heap fills and cycles start by themselves
            }
            heap.awaitCompaction();
            CellList.check(m, list, n);
            return b[0].stat(UffdBackend.Stat.VERBATIM_BUILT) - before;
        }
    }
}
