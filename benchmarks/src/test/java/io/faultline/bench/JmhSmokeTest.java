package io.faultline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    @Test
    void faultService() throws RunnerException {
        runs(once(FaultServiceBench.class).param("backend", backends()).param("heapMb", "16"), backends().length);
    }

    @Test
    void faultFloors() throws RunnerException {
        assumeTrue(NativeFloors.unavailableReason() == null, () -> "native floors: " + NativeFloors.unavailableReason());
        List<String> floors = List.of("uffd-copy", "uffd-continue", "uffd-move", "uffd-continue-cached")
                .stream().filter(f -> BenchSupport.unavailableReason(f.replace("uffd-", "").replace("-cached", "")) == null).toList();
        String[] all = java.util.stream.Stream.concat(floors.stream(), java.util.stream.Stream.of("minor-fault", "anon-first-touch"))
                .toArray(String[]::new);
        runs(once(FaultFloorBench.class).param("floor", all), all.length);
    }

    @Test
    void memcpy() throws RunnerException {
        assumeTrue(NativeFloors.unavailableReason() == null, () -> "native memcpy: " + NativeFloors.unavailableReason());
        runs(once(MemcpyBench.class), 4);
    }

    @Test
    void compaction() throws RunnerException {
        runs(once(CompactionBench.class).param("backend", backends()).param("heapMb", "16").param("compactorThreads", "1")
                .param("stepPages", "64"),
                backends().length);
    }

    @Test
    void access() throws RunnerException {
        runs(once(AccessBench.class).param("backend", backends()).param("heapMb", "16"), 3 * backends().length);
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
