package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe.Mode;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code FAULT_BUILD_NS} and {@code FAULT_INSTALL_NS}, the part of the build and install time that
 * threads serving a fault spent ({@code faultline compare}'s "fault build" and "fault install"
 * columns): a compaction no mutator faults during adds nothing to them; a walk that faults on
 * every page it reaches, the compactors held back, adds to both, each at most what its total
 * ({@code BUILD_NS}, {@code INSTALL_NS}) grew by, and the two together at most the faults' own
 * service time ({@code FAULT_NS}), within which they ran. The list is checked after each
 * collection and the verifier runs after every one.
 */
class FaultCostCountersTest {
    static final int CELLS = 100_000; // ~7 MiB live: ~1,700 to-space pages

    @ParameterizedTest(name = "{0}/{1}")
    @CsvSource({"CONTINUE, SIGBUS", "CONTINUE, THREAD", "COPY, SIGBUS", "COPY, THREAD"})
    void faultsCountTheirBuildAndInstallAndACompactionWithoutFaultsDoesNot(Mode mode, Delivery delivery) {
        UffdTestSupport.assumeAvailable(mode);
        FailedPageBuildTest.Damaging[] b = {null};
        UffdOptions options = UffdOptions.defaults().withDelivery(delivery).withBackstop(Duration.ZERO);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).concurrentMarking(false).verifyAfterGc(true).runPages(64)
                .faultAroundPages(4)
                .backend((cap, ps) -> b[0] = new FailedPageBuildTest.Damaging(new UffdBackend(mode, options, cap, ps), true))
                .build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) b[0].inner();
            int list = CellList.build(m, CELLS);

            // No faults: the compactors build every page while this thread waits.
            long[] s0 = counters(backend);
            m.collect();
            heap.awaitCompaction();
            long[] s1 = counters(backend);
            CellList.check(m, list, CELLS);
            String quiet = describe("a compaction without faults", s0, s1);
            assertTrue(s1[0] > s0[0] && s1[1] > s0[1], "the compaction was built and installed: " + quiet);
            assertEquals(s0[2], s1[2], "no fault built: " + quiet);
            assertEquals(s0[3], s1[3], "no fault installed: " + quiet);

            // Faults: the compactors held from the flip on, the walk builds what it reaches.
            b[0].hold();
            long[] s2;
            long faulted;
            try {
                long built = heap.faultBuiltPages();
                m.collect();
                s2 = counters(backend);
                CellList.checkFirst(m, list, CELLS, CELLS / 4);
                faulted = heap.faultBuiltPages() - built;
            } finally {
                b[0].release.countDown();
            }
            heap.awaitCompaction();
            // Read once the compaction is over: a service thread may still be finishing the walk's
            // last fault (counting its time) after its install woke the walk. Nothing faults after
            // the walk; the compactors' builds and installs only add to the totals.
            long[] s3 = counters(backend);
            CellList.check(m, list, CELLS);
            String faults = describe(faulted + " pages built by faults", s2, s3);
            System.out.println("FaultCostCountersTest " + mode + "/" + delivery + ": " + faults);
            assertTrue(faulted > 0, "the walk faulted: " + faults);
            assertTrue(s3[2] > s2[2], "faults built: " + faults);
            assertTrue(s3[3] > s2[3], "faults installed: " + faults);
            assertTrue(s3[2] - s2[2] <= s3[0] - s2[0], "a fault's build is part of BUILD_NS: " + faults);
            assertTrue(s3[3] - s2[3] <= s3[1] - s2[1], "a fault's install is part of INSTALL_NS: " + faults);
            assertTrue((s3[2] - s2[2]) + (s3[3] - s2[3]) <= s3[4] - s2[4], "both lie within the faults' service time: " + faults);
        }
    }

    /** BUILD_NS, INSTALL_NS, FAULT_BUILD_NS, FAULT_INSTALL_NS, FAULT_NS. */
    private static long[] counters(UffdBackend b) {
        return new long[] {b.stat(Stat.BUILD_NS), b.stat(Stat.INSTALL_NS), b.stat(Stat.FAULT_BUILD_NS), b.stat(Stat.FAULT_INSTALL_NS),
            b.stat(Stat.FAULT_NS)};
    }

    private static String describe(String what, long[] before, long[] after) {
        return String.format("%s: build %d ns (faults %d), install %d ns (faults %d), fault service %d ns", what,
                after[0] - before[0], after[2] - before[2], after[1] - before[1], after[3] - before[3], after[4] - before[4]);
    }
}
