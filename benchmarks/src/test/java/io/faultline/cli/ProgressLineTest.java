package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The progress line of long commands, fed the lines {@code compare} prints: without a terminal,
 * plain lines only (every stage's start with percent and elapsed time, every stage's end with the
 * estimate), nothing redrawn; on a terminal, one line redrawn with carriage returns, results
 * above it, and the line cleared at the end.
 */
class ProgressLineTest {
    private static final List<String> COMPARE = List.of(
            "compare: plan smoke: heap 8 MiB (live 2.0 MiB), 512 pages/round, 3 fault rounds, 3 compaction rounds, 2 rows",
            "compare: [1/2] java ...",
            "compare:   java fault rounds 5/10",
            "compare:   java fault rounds 10/10",
            "compare: [1/2] java done (1.0 s)",
            "compare: [2/2] uffd/continue ...",
            "compare:   uffd/continue fault rounds 5/10",
            "compare: [2/2] uffd/continue done (1.0 s)");

    @Test
    void withoutATerminalEveryStageIsAPlainLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressLine p = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, "compare",
                System.nanoTime() - 10_000_000_000L);
        PrintStream lines = p.lines();
        COMPARE.forEach(lines::println);
        p.done();
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(text.contains("\r") || text.contains("\u001b"), text);
        List<String> out = text.lines().toList();
        assertEquals(COMPARE.get(0), out.get(0), "notes pass through");
        assertTrue(out.get(1).matches("compare:   0% \\[1/2] java, 0:1\\d elapsed"), out.get(1));
        assertEquals(COMPARE.get(2), out.get(2), "steps pass through");
        assertTrue(out.get(4).matches("compare: \\[1/2] java done \\(1\\.0 s\\) -- +50% \\[1/2] java, 0:1\\d elapsed, about 0:1\\d left"),
                out.get(4));
        assertTrue(out.get(5).startsWith("compare:  50% [2/2] uffd/continue, 0:1"), out.get(5));
        assertTrue(out.getLast().contains("100% [2/2] uffd/continue") && !out.getLast().contains("left"), out.getLast());
        assertEquals(COMPARE.size(), out.size(), text);
    }

    @Test
    void onATerminalOneLineIsRedrawnInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressLine p = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, "compare");
        PrintStream lines = p.lines();
        COMPARE.forEach(lines::println);
        p.done();
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\r\u001b[2Kcompare:   0% [1/2] java, 0:00 elapsed"), text);
        assertTrue(text.contains("compare: [1/2] java done (1.0 s)\n"), "results stay, on their own line");
        assertFalse(text.contains("fault rounds 5/10\n"), "steps are redrawn, not printed as lines");
        assertTrue(text.endsWith("\r\u001b[2K"), "the line is cleared at the end");
    }

    @Test
    void aLongRunWithoutATerminalPrintsAPlainLineEveryTenPercent() {
        CommandLine r = CommandLine.run("run", "--backend", "java", "--workload", "random", "--heap", "12m",
                "--duration-ms", String.valueOf(RunCommand.LONG_RUN_MS), "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        List<String> lines = r.err().lines().filter(l -> l.startsWith("run: ")).toList();
        assertTrue(lines.size() >= 5 && lines.size() <= 10, () -> "about one line per 10%\n" + r);
        for (String l : lines) {
            assertTrue(l.matches("run: +\\d+% 5 s run, 0:0\\d elapsed(, about 0:0\\d left)?"), l);
        }
        assertFalse(r.err().contains("\r"), r::toString);
    }

    private static final List<String> JMH = List.of(
            "# Benchmark: io.faultline.bench.FaultService.fault",
            "# Run progress: 0.00% complete, ETA 00:02:00",
            "Iteration   1: 35.1 us/op",
            "# Run progress: 50.00% complete, ETA 00:01:00",
            "# Benchmark: io.faultline.bench.Compaction.pages",
            "Iteration   1: 722.0 MB/s");

    @Test
    void jmhProgressPassesThroughWithoutATerminalAndIsOneLineOnATerminal() {
        ByteArrayOutputStream plainBytes = new ByteArrayOutputStream();
        ProgressLine plain = new ProgressLine(new PrintStream(plainBytes, true, StandardCharsets.UTF_8), false, "jmh");
        PrintStream lines = plain.lines();
        JMH.forEach(lines::println);
        plain.done();
        assertEquals(String.join("\n", JMH) + "\n", plainBytes.toString(StandardCharsets.UTF_8), "JMH's own lines, unchanged");

        ByteArrayOutputStream ttyBytes = new ByteArrayOutputStream();
        ProgressLine tty = new ProgressLine(new PrintStream(ttyBytes, true, StandardCharsets.UTF_8), true, "jmh");
        PrintStream ttyLines = tty.lines();
        JMH.forEach(ttyLines::println);
        tty.done();
        String text = ttyBytes.toString(StandardCharsets.UTF_8);
        assertFalse(text.contains("# Run progress"), text);
        assertTrue(text.contains("jmh:   0% FaultService.fault, 0:00 elapsed"), text);
        assertTrue(text.contains("Iteration   1: 35.1 us/op\n") && text.contains("# Benchmark: io.faultline.bench.Compaction.pages\n"),
                text);
    }

    @Test
    void clockReadsMinutesAndHours() {
        assertEquals("0:07", ProgressLine.clock(7_500_000_000L));
        assertEquals("2:05", ProgressLine.clock(125_000_000_000L));
        assertEquals("1:00:01", ProgressLine.clock(3_601_000_000_000L));
    }
}
