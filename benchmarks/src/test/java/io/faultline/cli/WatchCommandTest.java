package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

    /** On a terminal: frames of a status line, 16 rows of 64 coloured cells and a legend, each redrawn over the last. */
    @Test
    void onATerminalTheMapIsRedrawnInPlace() {
        ObjectType node = ObjectType.builder("watch.Node").refs("next").build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int frames;
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(2 << 20).build()); Mutator m = heap.attach()) {
            PageMapWatch watch = PageMapWatch.start(heap.pageMap(), new PrintStream(bytes, true, StandardCharsets.UTF_8), true, 10);
            int head = m.push(0);
            for (int i = 0; i < 50_000; i++) {
                int n = m.allocate(node);
                if (i % 2 == 0) {
                    m.setRef(n, 0, m.handle(head));
                    m.setHandle(head, n);
                }
            }
            m.collect();
            heap.awaitCompaction();
            watch.close();
            frames = watch.frames();
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(frames >= 2, "frames: " + frames);
        int redraws = text.split("\u001b\\[" + (PageMapWatch.ROWS + 2) + "A", -1).length - 1;
        assertEquals(frames - 1, redraws, "every frame after the first moves up over the last");
        String plain = text.replaceAll("\u001b\\[[0-9;]*[A-Za-z]", "");
        List<String> lines = plain.lines().toList();
        List<String> last = lines.subList(lines.size() - PageMapWatch.ROWS - 2, lines.size());
        assertTrue(last.getFirst().matches("\r?\\d+\\.\\ds cycle \\d+ .*"), last.getFirst());
        for (String row : last.subList(1, PageMapWatch.ROWS + 1)) {
            assertTrue(row.matches("[.#ubmpX]{" + PageMapWatch.COLUMNS + "}"), () -> "row: " + row);
        }
        assertTrue(last.getLast().startsWith("X failed"), last.getLast());
        assertTrue(last.subList(1, PageMapWatch.ROWS + 1).stream().anyMatch(r -> r.contains("#")), "pages in use");
    }

    /** The first frame is drawn by start and the last by close, even when close comes before the first interval ends. */
    @Test
    void aRunShorterThanOneIntervalStillGetsAFirstAndALastFrame() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(2 << 20).build())) {
            PageMapWatch watch = PageMapWatch.start(heap.pageMap(), new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 60_000);
            watch.close();
            assertEquals(2, watch.frames());
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(2, lines.size(), () -> String.join("\n", lines));
        for (String line : lines) {
            assertTrue(LINE.matcher(line).matches(), () -> "watch line: " + line);
        }
    }

    @Test
    void watchIntervalNeedsWatch() {
        CommandLine r = CommandLine.run("run", "--watch-interval-ms", "100");
        assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
        assertTrue(r.err().contains("--watch-interval-ms '100' needs --watch"), r::toString);
    }
}
