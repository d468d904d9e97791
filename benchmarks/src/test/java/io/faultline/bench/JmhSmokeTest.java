package io.faultline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.UffdOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every JMH benchmark once, in-process, with minimal iterations and small heaps, to prove
 * it still runs. Benchmarks are not tests: nothing here looks at a score.
 */
class JmhSmokeTest {

    /** The backends that can run here (an unavailable uffd mode is skipped by the suite itself). */
    private static String[] backends() {
        return BenchSupport.BACKENDS.stream().filter(b -> BenchSupport.unavailableReason(b) == null).toArray(String[]::new);
    }

    private static ChainedOptionsBuilder once(Class<?> benchmark) {
        return new OptionsBuilder()
                .include(benchmark.getName() + "\\.")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(50))
                .shouldFailOnError(true);
    }

    private static void runs(ChainedOptionsBuilder options, int expectedResults) throws RunnerException {
        // A smoke test times nothing: another JMH run on the machine (its /tmp/jmh.lock) must not stop it.
        System.setProperty("jmh.ignoreLock", "true");
        Collection<RunResult> results = new Runner(options.build()).run();
        assertEquals(expectedResults, results.size(), "benchmark results");
        for (RunResult r : results) {
            assertFalse(r.getBenchmarkResults().isEmpty(), r.getParams().getBenchmark());
        }
    }

    /** The uffd backends that can run here with SIGBUS delivery. */
    private static String[] sigbusBackends() {
        UffdOptions sigbus = UffdOptions.defaults().withDelivery(UffdOptions.Delivery.SIGBUS);
        return Arrays.stream(backends()).filter(b -> BenchSupport.mode(b) != null && BenchSupport.unavailableReason(b, sigbus) == null)
                .toArray(String[]::new);
    }

    @Test
    void faultService() throws RunnerException {
        runs(once(FaultServiceBench.class).param("backend", backends()).param("heapMb", "16").param("delivery", "thread")
                .param("faultAround", "0", "8"), 2 * backends().length);
        String[] sigbus = sigbusBackends();
        System.out.println("JmhSmokeTest: SIGBUS delivery runs here in " + Arrays.toString(sigbus));
        if (sigbus.length > 0) {
            runs(once(FaultServiceBench.class).param("backend", sigbus).param("heapMb", "16").param("delivery", "sigbus")
                    .param("faultAround", "0"), sigbus.length);
        }
    }

    @Test
    void faultFloors() throws RunnerException {
        assumeTrue(NativeFloors.unavailableReason() == null, () -> "native floors: " + NativeFloors.unavailableReason());
        List<String> floors = new ArrayList<>();
        for (String mode : List.of("copy", "continue", "move")) {
            if (BenchSupport.unavailableReason(mode) == null) {
                floors.add("uffd-" + mode + "/thread");
                if (BenchSupport.probe().sigbusAvailable()) {
                    floors.add("uffd-" + mode + "/sigbus");
                }
            }
        }
        if (BenchSupport.unavailableReason("continue") == null) {
            floors.add("uffd-continue-cached/thread");
        }
        floors.add("minor-fault");
        floors.add("anon-first-touch");
        runs(once(FaultFloorBench.class).param("floor", floors.toArray(String[]::new)), floors.size());
    }

    @Test
    void memcpy() throws RunnerException {
        assumeTrue(NativeFloors.unavailableReason() == null, () -> "native memcpy: " + NativeFloors.unavailableReason());
        runs(once(MemcpyBench.class), 4);
    }

    @Test
    void compaction() throws RunnerException {
        runs(once(CompactionBench.class).param("backend", backends()).param("heapMb", "16").param("compactorThreads", "1")
                .param("stepPages", "64").param("runPages", "1", "8").param("supply", "fresh"),
                2 * backends().length);
    }

    @Test
    void access() throws RunnerException {
        runs(once(AccessBench.class).param("backend", backends()).param("heapMb", "16"), 3 * backends().length);
    }

    @Test
    void tree() throws RunnerException {
        runs(once(TreeBench.class).param("backend", "java").param("delivery", "thread").param("supply", "fresh")
                .param("heapMb", "64"), 3);
    }

    @Test
    void treeLayout() throws RunnerException {
        runs(once(TreeLayoutBench.class), 3);
    }

    @Test
    void blackAllocation() throws RunnerException {
        runs(once(io.faultline.gc.BlackAllocationBench.class), 2);
    }

    @Test
    void pause() throws RunnerException {
        runs(once(PauseBench.class).param("backend", backends()).param("heapMb", "16").param("roots", "64"), backends().length);
    }

    @Test
    void workloads() throws RunnerException {
        runs(once(WorkloadBench.class).param("backend", "java", backends()[backends().length - 1])
                .param("workload", "binarytrees", "gcold").param("depth", "10"), 4);
        // GCBench has fixed published parameters (~2 s a run): once, on one backend.
        runs(once(WorkloadBench.class).param("backend", backends()[backends().length - 1]).param("workload", "gcbench"), 1);
    }

    @Test
    void unavailableBackendIsSkippedWithOneLineReason() {
        BenchSupport.Skipped e = new BenchSupport.Skipped("skipped backend move: uffd MOVE unavailable: x");
        assertEquals(0, e.getStackTrace().length, "no stack trace to print");
        assertEquals("skipped backend move: uffd MOVE unavailable: x", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BenchSupport.mode("teleport"));
        assertTrue(BenchSupport.unavailableReason("java") == null);
    }
}
