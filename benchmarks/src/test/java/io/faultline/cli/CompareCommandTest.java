package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import io.faultline.bench.CompareHarness;
import io.faultline.uffd.UffdOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code faultline compare --smoke}: the machinery, not the numbers (no timing assertions). */
class CompareCommandTest {
    private static final Pattern JSON_LABEL = Pattern.compile("\"label\": \"([^\"]+)\"");

    /**
     * java, then copy, continue, move, each by thread and by SIGBUS with fresh pages, CONTINUE and
     * MOVE also with resident pages (keep, recycle): eleven rows.
     */
    private static final List<String> DEFAULT_ROWS = List.of("java", "copy/thread", "copy/sigbus", "continue/thread",
            "continue/thread/keep", "continue/sigbus", "continue/sigbus/keep", "move/thread", "move/thread/recycle", "move/sigbus",
            "move/sigbus/recycle");

    private static String row(CommandLine r, String label) {
        List<String> rows = r.outLines().stream().filter(l -> l.startsWith(label + " ")).toList();
        assertFalse(rows.isEmpty(), () -> "no row " + label + "\n" + r);
        return rows.getFirst();
    }

    @Test
    void smokeRunPrintsJavaAndEveryModeByDeliveryAndWritesPngJsonCsv(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cmp");
        // --jit normal: in this (the tests') JVM the compiler threads must keep their priority
        CommandLine r = CommandLine.run("compare", "--smoke", "--out", dir.toString(), "--jit", "normal");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertTrue(r.outLines().contains("JIT: JIT compiler threads left at their normal priority (--jit normal)"), r::toString);
        assertEquals("results: " + dir.toAbsolutePath().normalize(), r.lastLine(), r::toString);
        assertTrue(r.err().contains("compare: [11/11]"), () -> "progress on stderr\n" + r);

        // One row per variant; an unavailable one says why (SIGBUS rows: until the backend delivers by SIGBUS).
        for (String label : DEFAULT_ROWS) {
            String line = row(r, label);
            String[] parts = label.split("/");
            UffdOptions options = parts.length == 1 ? null
                    : UffdOptions.defaults().withDelivery(BenchSupport.delivery(parts[1]))
                            .withSupply(parts.length == 3 ? BenchSupport.supply(parts[2]) : UffdOptions.PageSupply.FRESH);
            String why = BenchSupport.unavailableReason(parts[0], options);
            if (why != null) {
                assertEquals(label + " unavailable: " + why, line.replaceAll("\\s+unavailable", " unavailable"), r::toString);
            } else {
                assertTrue(line.contains("MB/s") && line.contains("MB"), line);
                String floor = parts.length == 1 ? "memcpy-4k" : "uffd-" + parts[0] + "/" + parts[1];
                assertTrue(line.contains(floor), () -> label + " is compared with " + floor + ": " + line);
            }
        }
        // Floors of both deliveries, and the batched-install floors, whatever the rows.
        if (BenchSupport.unavailableReason("copy") == null) {
            assertTrue(r.out().contains("uffd-copy/thread "), r::toString);
            if (BenchSupport.probe().sigbusAvailable()) {
                assertTrue(r.out().contains("uffd-copy/sigbus "), r::toString);
            }
            assertTrue(r.out().contains("install, one ioctl per N contiguous pages"), r::toString);
            // A cost breakdown line for each available uffd row.
            assertTrue(r.out().contains("cost per page"), r::toString);
            assertTrue(r.outLines().stream().filter(l -> l.startsWith("copy/thread ")).count() == 2,
                    () -> "copy/thread: a row and a breakdown line\n" + r);
        }
        assertTrue(r.out().contains("peak RSS: "), r::toString);

        byte[] png = Files.readAllBytes(dir.resolve("compare.png"));
        assertTrue(png.length > 1000, "png size " + png.length);
        assertTrue(Arrays.equals(Arrays.copyOf(png, 8), new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}), "PNG signature");

        // The table, the CSV and the JSON have the same rows in the same order.
        List<String> csv = Files.readAllLines(dir.resolve("compare.csv"));
        assertEquals(DEFAULT_ROWS.size() + 1, csv.size(), () -> String.join("\n", csv));
        int columns = csv.getFirst().split(",").length;
        for (int i = 0; i < DEFAULT_ROWS.size(); i++) {
            String line = csv.get(i + 1);
            assertTrue(line.startsWith(DEFAULT_ROWS.get(i) + ","), line);
            assertEquals(columns, line.split(",", -1).length - quotedCommas(line), line);
        }
        // The smoke plan measures two fault rounds of the same touches: the median of the two
        // rounds' mean stalls is their mean, the stall over all touches.
        List<String> header = List.of(csv.getFirst().split(","));
        int stall = header.indexOf("stall_ratio");
        int roundStall = header.indexOf("stall_round_ratio");
        assertTrue(stall >= 0 && roundStall >= 0, csv::getFirst);
        for (String line : csv.subList(1, csv.size())) {
            String[] cells = line.split(",", -1);
            if (line.contains(",true,") && quotedCommas(line) == 0) {
                double all = Double.parseDouble(cells[stall]);
                double median = Double.parseDouble(cells[roundStall]);
                assertTrue(all > 0 && median > 0, line);
                assertEquals(all, median, all * 0.01, () -> "stall over two rounds: their median is their mean\n" + line);
            }
        }
        String json = Files.readString(dir.resolve("compare.json"));
        assertEquals(DEFAULT_ROWS, labels(json), json);
        assertTrue(json.contains("\"binaryTrees\": null"), json);
        assertFalse(Files.exists(dir.resolve("compare-sweep.csv")), "no sweep asked for");
    }

    @Test
    void optionsChooseTheRowsAndAddTheSweepAndTheBinaryTreesReference(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cmp");
        CommandLine r = CommandLine.run("compare", "--smoke", "--out", dir.toString(), "--modes", "java,move", "--deliveries", "thread",
                "--supply", "all", "--fault-around", "2", "--run-pages", "1,8", "--binarytrees", "10", "--binarytrees-heap", "4m",
                "--binarytrees-runs", "2", "--jit", "normal");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        List<String> expected = List.of("java", "move/thread", "move/thread/recycle");
        String json = Files.readString(dir.resolve("compare.json"));
        assertEquals(expected, labels(json), json);
        assertTrue(json.contains("\"faultAroundPages\": 2"), json);
        assertTrue(json.contains("\"runPages\": [1, 8]"), json);
        assertTrue(json.contains("\"idleJit\": false"), json);

        // The sweep: one line per available row and run length, in the table and in its CSV.
        List<String> sweep = Files.readAllLines(dir.resolve("compare-sweep.csv"));
        List<String> available = new ArrayList<>();
        for (String label : expected) {
            if (!row(r, label).contains("unavailable")) {
                available.add(label);
            }
        }
        assertEquals(1 + 2 * available.size(), sweep.size(), () -> String.join("\n", sweep));
        assertTrue(r.out().contains("run-length sweep"), r::toString);
        for (String label : available) {
            for (String n : List.of("1", "8")) {
                assertTrue(sweep.stream().anyMatch(l -> l.startsWith(label + "," + n + ",true,")), () -> label + " " + n + ": " + sweep);
            }
        }

        // binary-trees 10 on the heap and on HotSpot, twice each, outputs exact, one ratio of medians and each run's.
        String trees = r.outLines().stream().filter(l -> l.startsWith("binary-trees 10, heap 4m")).findFirst().orElseThrow(
                () -> new AssertionError("no binary-trees line\n" + r));
        assertEquals(2, trees.split("output exact", -1).length - 1, trees);
        assertTrue(trees.contains("2 runs of each, alternating, medians"), trees);
        assertTrue(trees.contains("each run "), trees);
        assertTrue(trees.contains("HotSpot G1 -Xmx4m"), trees);
        assertTrue(trees.contains("Faultline / HotSpot = "), trees);
        assertEquals(2, r.err().lines().filter(l -> l.startsWith("compare: binary-trees 10: run ")).count(), r::toString);
        List<String> treesCsv = Files.readAllLines(dir.resolve("compare-binarytrees.csv"));
        assertEquals(3, treesCsv.size(), () -> String.join("\n", treesCsv));
        assertTrue(treesCsv.get(1).startsWith("faultline,") && treesCsv.get(2).startsWith("hotspot,"), () -> String.join("\n", treesCsv));
        for (String line : treesCsv.subList(1, 3)) {
            String[] cells = line.split(",");
            assertEquals("2", cells[cells.length - 4], line);
            assertEquals(2, cells[cells.length - 1].split(";").length, line);
        }
        assertTrue(json.contains("\"runs\": 2"), json);
        assertTrue(json.contains("\"outputExact\": true, \"error\": null"), json);
        assertFalse(r.out().contains("WARNING: binary-trees"), r::toString);
    }

    @Test
    void aSupplyNoModeTakesIsAnUnavailableRowThatSaysWhy() {
        assertEquals(List.of("continue/thread/keep"), new CompareHarness.Settings(List.of("continue"),
                List.of(UffdOptions.Delivery.THREAD), List.of(UffdOptions.PageSupply.KEEP), null, List.of(), 0, 1, 1, false)
                .variants().stream().map(CompareHarness.Variant::label).toList());
        // copy takes neither keep nor fallocate: one row per delivery, whose options the mode refuses.
        List<CompareHarness.Variant> copy = new CompareHarness.Settings(List.of("copy"), List.of(UffdOptions.Delivery.values()),
                List.of(UffdOptions.PageSupply.KEEP), null, List.of(), 0, 1, 1, false).variants();
        assertEquals(List.of("copy/thread/keep", "copy/sigbus/keep"), copy.stream().map(CompareHarness.Variant::label).toList());
        String why = BenchSupport.unavailableReason("copy", copy.getFirst().options());
        assertTrue(why != null && (why.contains("does not apply to mode copy") || why.contains("unavailable")), why);
    }

    /**
     * The default moves the JIT compiler threads to SCHED_IDLE, in a child JVM (an unprivileged
     * process cannot move them back): the report gives the count it read back from the kernel.
     */
    @Test
    void theDefaultRunsTheJitCompilerThreadsInSchedIdle(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cmp");
        ChildJvm r = ChildJvm.run(System.getProperty("java.class.path"), List.of(), Main.class.getName(),
                List.of("compare", "--smoke", "--modes", "java", "--out", dir.toString()), java.time.Duration.ofMinutes(2));
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        Matcher m = Pattern.compile("^JIT: (\\d+) of (\\d+) JIT compiler threads in SCHED_IDLE \\(--jit idle", Pattern.MULTILINE)
                .matcher(r.out());
        assertTrue(m.find(), r::toString);
        assertTrue(Integer.parseInt(m.group(2)) >= 1, () -> "HotSpot runs at least one compiler thread\n" + r);
        assertEquals(m.group(2), m.group(1), () -> "every compiler thread read back as SCHED_IDLE\n" + r);
        String json = Files.readString(dir.resolve("compare.json"));
        assertTrue(json.contains("\"idleJit\": true"), json);
    }

    @Test
    void badOptionsExitTwoWithOneLine() {
        for (String[] args : List.of(new String[] {"compare", "--bogus"}, new String[] {"compare", "--out"},
                new String[] {"compare", "extra"}, new String[] {"compare", "--out="}, new String[] {"compare", "--jit", "low"})) {
            CommandLine r = CommandLine.run(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
            assertTrue(r.err().contains("faultline compare --help"), r::toString);
        }
    }

    @Test
    void helpListsCompareAndEveryOption() {
        assertTrue(CommandLine.run("--help").out().contains("compare"));
        CommandLine r = CommandLine.run("compare", "--help");
        assertEquals(Main.EXIT_OK, r.status());
        for (String option : List.of("--quick", "--out", "--modes", "--deliveries", "--supply", "--fault-around", "--run-pages",
                "--binarytrees", "--binarytrees-heap", "--binarytrees-runs", "thread", "sigbus", "fresh", "recycle", "keep", "fallocate")) {
            assertTrue(r.out().contains(option), () -> "compare --help does not document " + option);
        }
    }

    private static List<String> labels(String json) {
        List<String> labels = new ArrayList<>();
        Matcher m = JSON_LABEL.matcher(json.substring(json.indexOf("\"rows\""), json.indexOf("\"binaryTrees\"")));
        while (m.find()) {
            labels.add(m.group(1));
        }
        return labels;
    }

    private static int quotedCommas(String csvLine) {
        int n = 0;
        boolean quoted = false;
        for (char c : csvLine.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && quoted) {
                n++;
            }
        }
        return n;
    }
}
