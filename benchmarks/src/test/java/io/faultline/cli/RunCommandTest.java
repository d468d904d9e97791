package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import io.faultline.heap.HeapConfig;
import io.faultline.workload.BinaryTrees;
import io.faultline.workload.BinaryTreesOutput;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RunCommandTest {

    @Test
    void randomOnJavaWithVerifyReportsCyclesFaultsAndVerified() {
        CommandLine r = CommandLine.run("run", "--backend", "java", "--workload", "random", "--heap", "12m",
                "--ops", "600000", "--verify", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        assertTrue(json.startsWith("{") && json.endsWith("}"), r::toString);
        assertEquals("\"java\"", field(json, "backend"));
        assertEquals("null", field(json, "mode"));
        assertEquals("\"random\"", field(json, "workload"));
        assertEquals("1", field(json, "threads"));
        assertEquals("1", field(json, "gcThreads"));
        assertEquals(String.valueOf(12 << 20), field(json, "heapBytes"));
        assertTrue(Long.parseLong(field(json, "gcCycles")) >= 3, json);
        assertTrue(Long.parseLong(field(json, "faults")) > 0, json);
        assertTrue(Long.parseLong(field(json, "pagesCompacted")) > 0, json);
        assertEquals("true", field(json, "verified"), json);
        assertEquals("null", field(json, "error"), json);
        for (String key : List.of("pauseMaxMs", "pauseTotalMs", "compactionMs", "compactionMaxMs", "wallMs")) {
            assertTrue(Double.parseDouble(field(json, key)) >= 0, key);
        }
        assertTrue(Double.parseDouble(field(json, "compactionMs")) > 0, json);
        // live after the last GC may be 0: a concurrent cycle that began before the last mutator
        // failed ends after it, with no roots left
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) <= Long.parseLong(field(json, "usedBytes")), json);
        assertEquals("null", field(json, "delivery"), json);
        assertEquals("null", field(json, "supply"), json);
        assertEquals(String.valueOf(HeapConfig.DEFAULT_RUN_PAGES), field(json, "runPages"), json);
        assertEquals(String.valueOf(HeapConfig.DEFAULT_FAULT_AROUND_PAGES), field(json, "faultAround"), json);
        assertEquals("false", field(json, "injectDamage"), json);
    }

    @Test
    void runPagesAndFaultAroundReachTheHeapAndTheJson() {
        CommandLine r = CommandLine.run("run", "--backend", "java", "--workload", "random", "--heap", "12m", "--ops", "300000",
                "--run-pages", "8", "--fault-around", "3", "--verify", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertEquals("8", field(r.lastLine(), "runPages"), r::toString);
        assertEquals("3", field(r.lastLine(), "faultAround"), r::toString);
        assertEquals("true", field(r.lastLine(), "verified"), r::toString);
    }

    /**
     * {@code --inject-damage}: one live object's from-space header is zeroed at the first
     * concurrent compaction; the heap fails loud: exit 1, verified false, and the report carries
     * the HeapCorruptedException's message (page, path, errno), on the java backend and on uffd
     * in both deliveries (with the default runs and fault-around).
     */
    @ParameterizedTest
    @ValueSource(strings = {"java", "copy/thread", "copy/sigbus"})
    void injectedDamageFailsTheRunLoudly(String backend) {
        List<String> args = new ArrayList<>(List.of("run", "--workload", "random", "--heap", "12m", "--ops", "600000", "--verify",
                "--inject-damage", "--json"));
        if (backend.equals("java")) {
            args.addAll(List.of("--backend", "java"));
        } else {
            String[] modeAndDelivery = backend.split("/");
            String why = BenchSupport.unavailableReason(modeAndDelivery[0],
                    io.faultline.uffd.UffdOptions.defaults().withDelivery(BenchSupport.delivery(modeAndDelivery[1])));
            Assumptions.assumeTrue(why == null, () -> "uffd " + backend + ": " + why);
            args.addAll(List.of("--backend", "uffd", "--mode", modeAndDelivery[0], "--delivery", modeAndDelivery[1]));
        }
        CommandLine r = CommandLine.run(args.toArray(String[]::new));
        assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
        String json = r.lastLine();
        assertEquals("false", field(json, "verified"), json);
        assertEquals("true", field(json, "injectDamage"), json);
        String error = field(json, "error");
        assertTrue(error.startsWith("\"io.faultline.gc.HeapCorruptedException: heap failed: to-space page "), error);
        assertTrue(error.contains("errno 117 (EUCLEAN)") && error.contains("No mutator was shown the page"), error);
        assertTrue(r.err().startsWith("faultline: run failed: io.faultline.gc.HeapCorruptedException: heap failed: "), r::toString);
        assertFalse(r.err().contains("\tat "), () -> "no stack trace for a corrupted heap\n" + r);
    }

    @Test
    void binarytreesPrintsItsOutputThenTheJsonLine() {
        CommandLine r = CommandLine.run("run", "--workload", "binarytrees", "--depth", "10", "--heap", "2m",
                "--threads", "2", "--gc-threads", "2", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        List<String> lines = r.outLines();
        assertEquals(BinaryTreesOutput.N10, String.join("\n", lines.subList(0, lines.size() - 1)) + "\n");
        assertEquals(BinaryTreesOutput.N10, BinaryTrees.expectedOutput(10), "the computed published output");
        String json = r.lastLine();
        assertEquals("\"binarytrees\"", field(json, "workload"));
        assertEquals("2", field(json, "threads"));
        assertEquals("false", field(json, "verified"), "verified needs --verify");
        assertTrue(Long.parseLong(field(json, "gcCycles")) >= 1, json);
    }

    @Test
    void stopTheWorldTakesNoFaults() {
        CommandLine r = CommandLine.run("run", "--workload", "gcold", "--live-mb", "1", "--steps", "20", "--heap", "4m",
                "--stw", "--verify", "--checked", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        assertEquals("false", field(json, "concurrent"));
        assertEquals("0", field(json, "faults"));
        assertEquals("true", field(json, "verified"));
        assertTrue(Long.parseLong(field(json, "gcCycles")) >= 3, json);
    }

    @Test
    void withoutJsonPrintsASummaryAndGcLogGoesToStderr() {
        CommandLine r = CommandLine.run("run", "--workload", "gcold", "--live-mb", "1", "--steps", "10", "--heap", "4m",
                "--gc-log");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertTrue(r.lastLine().startsWith("java gcold: "), r::toString);
        assertTrue(r.err().contains("GC(1) Pause"), r::toString);
    }

    @Test
    void exhaustedHeapFailsTheRunWithStatusOneAndStillPrintsJson() {
        CommandLine r = CommandLine.run("run", "--workload", "gcold", "--live-mb", "8", "--steps", "1", "--heap", "2m",
                "--json");
        assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
        assertEquals("faultline: run failed: heap exhausted: cannot allocate 32 bytes after a full collection (--heap 2m)",
                r.err().strip(), r::toString);
        assertEquals("\"heap exhausted: cannot allocate 32 bytes after a full collection (--heap 2m)\"",
                field(r.lastLine(), "error"), r::toString);
        assertEquals("false", field(r.lastLine(), "verified"));
        assertCountersOfAFailedRun(r, (2L << 20) / 2);
    }

    /**
     * A failed run reports what it did with one set of counters: the error text carries none (no
     * snapshot from the moment of failure to contradict the JSON), the bytes allocated before the
     * failure are counted, and the compaction in flight at the failure is counted in pagesCompacted.
     * (Before: "allocatedBytes":0, and pagesCompacted 0 after one cycle, or fewer than the message's
     * own snapshot said.)
     */
    @Test
    void exhaustedHeapWithTwoThreadsReportsOneSetOfCounters() {
        CommandLine r = CommandLine.run("run", "--workload", "random", "--heap", "2m", "--ops", "2000000",
                "--threads", "2", "--json");
        assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
        assertCountersOfAFailedRun(r, 2L << 20);
    }

    /** {@code minAllocated}: bytes the run must have allocated before it failed. */
    private static void assertCountersOfAFailedRun(CommandLine r, long minAllocated) {
        String json = r.lastLine();
        for (String counter : List.of("gcCycles", "pagesCompacted", "faults", "liveBytesAfterLastGc", "usedBytes")) {
            assertTrue(!r.err().contains(counter) && !field(json, "error").contains(counter), () -> counter + " in " + r);
        }
        long cycles = Long.parseLong(field(json, "gcCycles"));
        assertTrue(cycles >= 1, json);
        assertTrue(Long.parseLong(field(json, "pagesCompacted")) >= cycles, () -> "every cycle built pages: " + json);
        assertTrue(Long.parseLong(field(json, "allocatedBytes")) >= minAllocated,
                () -> "allocated at least " + minAllocated + ": " + json);
        // live after the last GC may be 0: a concurrent cycle that began before the last mutator
        // failed ends after it, with no roots left
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) <= Long.parseLong(field(json, "usedBytes")), json);
    }
}
