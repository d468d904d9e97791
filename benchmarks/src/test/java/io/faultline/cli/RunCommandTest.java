package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.workload.BinaryTreesOutput;
import java.util.List;
import org.junit.jupiter.api.Test;

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
        // Whether the mutator touches a page before the compactor builds it is timing: a CI run saw
        // 6 cycles and no fault. The report must be consistent either way.
        assertTrue(Long.parseLong(field(json, "faults")) >= 0, json);
        assertEquals(field(json, "faults"), field(json, "faultLatencyCount"), json);
        assertTrue(Long.parseLong(field(json, "pagesCompacted")) > 0, json);
        assertEquals("true", field(json, "verified"), json);
        assertEquals("null", field(json, "error"), json);
        for (String key : List.of("pauseMaxMs", "pauseTotalMs", "compactionMs", "compactionMaxMs", "wallMs")) {
            assertTrue(Double.parseDouble(field(json, key)) >= 0, key);
        }
        assertTrue(Double.parseDouble(field(json, "compactionMs")) > 0, json);
        // A concurrent cycle the heap requested before the failure may run after the workload's
        // mutators detached, and find nothing live: 0 is a consistent value then.
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) >= 0, json);
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) <= Long.parseLong(field(json, "heapBytes")), json);
    }

    @Test
    void binarytreesPrintsItsOutputThenTheJsonLine() {
        CommandLine r = CommandLine.run("run", "--workload", "binarytrees", "--depth", "10", "--heap", "2m",
                "--threads", "2", "--gc-threads", "2", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        List<String> lines = r.outLines();
        assertEquals(BinaryTreesOutput.N10, String.join("\n", lines.subList(0, lines.size() - 1)) + "\n");
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
        // A concurrent cycle the heap requested before the failure may run after the workload's
        // mutators detached, and find nothing live: 0 is a consistent value then.
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) >= 0, json);
        assertTrue(Long.parseLong(field(json, "liveBytesAfterLastGc")) <= Long.parseLong(field(json, "heapBytes")), json);
    }
}
