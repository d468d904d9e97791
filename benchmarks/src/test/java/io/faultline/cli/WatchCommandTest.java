package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code faultline run --watch} when stdout is not a terminal (a test's captured stream): plain
 * {@code watch:} lines, one per interval plus a last one, with no escape codes, then the JSON line.
 */
class WatchCommandTest {
    private static final Pattern LINE = Pattern.compile(
            "watch: \\d+\\.\\ds cycle (\\d+) (idle|[a-z-]+) left \\d+/\\d+ faults \\d+ \\[([.#ubmpX]{64})]");

    @Test
    void withoutATerminalWatchPrintsPlainPeriodicLines() {
        CommandLine r = CommandLine.run("run", "--backend", "java", "--workload", "random", "--heap", "12m", "--ops", "600000",
                "--watch", "--watch-interval-ms", "20", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertFalse(r.out().contains("\u001b"), "no ANSI escapes without a terminal");
        assertFalse(r.out().contains("\r"), "no carriage returns without a terminal");
        List<String> watch = r.outLines().stream().filter(l -> l.startsWith("watch: ")).toList();
        assertTrue(watch.size() >= 2, () -> "a first and a last frame at least\n" + r);
        for (String line : watch) {
            assertTrue(LINE.matcher(line).matches(), () -> "watch line: " + line);
        }
        Matcher last = LINE.matcher(watch.getLast());
        assertTrue(last.matches());
        assertTrue(last.group(3).contains("#"), () -> "the last frame shows the pages in use: " + watch.getLast());
        long cycles = Long.parseLong(CommandLine.field(r.lastLine(), "gcCycles"));
        long lastCycle = Long.parseLong(last.group(1));
        // the last frame is drawn after the run: its cycle is the last flipped one, or the next if its marking had begun
        assertTrue(lastCycle == cycles || lastCycle == cycles + 1, () -> "last frame " + watch.getLast() + ", gcCycles " + cycles);
        assertTrue(r.lastLine().startsWith("{"), "the JSON line stays last");
    }

    @Test
    void watchIntervalNeedsWatch() {
        CommandLine r = CommandLine.run("run", "--watch-interval-ms", "100");
        assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
        assertTrue(r.err().contains("--watch-interval-ms '100' needs --watch"), r::toString);
    }
}
