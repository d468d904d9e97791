package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code faultline run --trace FILE}: for one traced cycle, on the java backend and in every uffd
 * mode, the CSV holds that cycle's phases, every to-space page's walk UNPROCESSED to MAPPED and the
 * faults with their latency (served by the delivery asked for), and the timeline PNG is a real image with the state colours in it.
 */
class TraceCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"java", "copy", "continue", "move", "continue/sigbus"})
    void traceOfOneCycleWritesCsvAndTimeline(String backend) throws IOException {
        String mode = backend.split("/")[0];
        String delivery = backend.contains("/") ? backend.split("/")[1] : "thread";
        List<String> args = new ArrayList<>(List.of("run", "--workload", "random", "--heap", "12m", "--ops", "600000",
                "--trace", dir.resolve("cycle.csv").toString(), "--trace-cycles", "2", "--json"));
        if (mode.equals("java")) {
            args.addAll(List.of("--backend", "java"));
        } else {
            String why = BenchSupport.unavailableReason(mode,
                    io.faultline.uffd.UffdOptions.defaults().withDelivery(BenchSupport.delivery(delivery)));
            Assumptions.assumeTrue(why == null, () -> "uffd " + backend + ": " + why);
            args.addAll(List.of("--backend", "uffd", "--mode", mode, "--delivery", delivery));
        }
        long before = System.nanoTime(); // CLOCK_MONOTONIC, as the trace's clock
        CommandLine r = CommandLine.run(args.toArray(String[]::new));
        long after = System.nanoTime();
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertTrue(r.err().contains("trace: ") && r.err().contains("records of cycles 2..2"), r::toString);
        // time_us 0 given on the clock perf uses with -k mono, so a trace lines up with perf sched
        java.util.regex.Matcher origin = java.util.regex.Pattern.compile("time_us 0 is CLOCK_MONOTONIC (\\d+\\.\\d{6}) s").matcher(r.err());
        assertTrue(origin.find(), r::toString);
        double originSeconds = Double.parseDouble(origin.group(1));
        assertTrue(originSeconds >= before / 1e9 - 1e-6 && originSeconds <= after / 1e9,
                () -> "time 0 " + originSeconds + " s within the run, " + before / 1e9 + " to " + after / 1e9 + " s");

        List<String> csv = Files.readAllLines(dir.resolve("cycle.csv"));
        assertEquals(TraceRecorder.HEADER, csv.getFirst());
        Set<String> cycles = new HashSet<>();
        Set<String> kinds = new HashSet<>();
        Set<String> phases = new HashSet<>();
        Set<String> modes = new HashSet<>();
        Set<String> mappedPages = new HashSet<>();
        Set<String> unprocessedFirst = new HashSet<>();
        int faults = 0;
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",", -1);
            assertEquals(15, f.length, line);
            assertTrue(Double.parseDouble(f[0]) >= -1e6, line);
            cycles.add(f[1]);
            kinds.add(f[2]);
            modes.add(f[10]);
            if (f[2].equals("phase-end")) {
                phases.add(f[7]);
            }
            if (f[2].equals("state-range")) {
                assertEquals("MAPPED", f[5], line);
                assertEquals("UNPROCESSED", f[6], line);
                unprocessedFirst.add(f[3]);
            }
            if (f[2].equals("state") && f[6].equals("MAPPED")) {
                mappedPages.add(f[3]);
            }
            if (f[2].equals("fault")) {
                faults++;
                assertTrue(Double.parseDouble(f[13]) > 0, () -> "a fault has a latency: " + line);
                assertEquals(mode.equals("java") ? "java" : delivery, f[11], line);
                assertTrue(Long.parseLong(f[8]) != 0, () -> "a fault names its thread: " + line);
            }
        }
        assertEquals(Set.of("2"), cycles, "only the traced cycle");
        assertEquals(Set.of(mode.equals("java") ? "java" : "uffd/" + mode), modes);
        assertTrue(kinds.containsAll(Set.of("state-range", "state", "phase-begin", "phase-end")), kinds::toString);
        assertTrue(phases.containsAll(Set.of("concurrent-compaction", "release")), phases::toString);
        assertTrue(phases.contains("flip") || phases.contains("full"), phases::toString);
        assertEquals(1, unprocessedFirst.size(), "one flip: one bulk MAPPED -> UNPROCESSED");
        assertTrue(mappedPages.size() > 100, () -> "pages mapped in the cycle: " + mappedPages.size());
        long jsonFaults = Long.parseLong(CommandLine.field(r.lastLine(), "faults"));
        assertTrue(faults <= jsonFaults, () -> "trace faults " + " vs run's " + jsonFaults);

        Path png = dir.resolve("cycle.png");
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(image != null && image.getWidth() >= 800 && image.getHeight() >= 600, "a PNG timeline");
        assertTrue(hasColour(image, 0x2e9e44), "MAPPED green is drawn");
        assertTrue(hasColour(image, 0xb0b0b0), "UNPROCESSED grey is drawn");
    }

    @Test
    void traceCyclesWithoutTraceIsABadCommandLine() {
        CommandLine r = CommandLine.run("run", "--trace-cycles", "2");
        assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
        assertTrue(r.err().contains("--trace-cycles '2' needs --trace FILE"), r::toString);
        CommandLine bad = CommandLine.run("run", "--trace", dir.resolve("x.csv").toString(), "--trace-cycles", "3..1");
        assertEquals(Main.EXIT_USAGE, bad.status(), bad::toString);
        assertTrue(bad.err().contains("--trace-cycles '3..1'"), bad::toString);
    }

    @Test
    void aCycleThatNeverRanIsSaidSo() {
        CommandLine r = CommandLine.run("run", "--backend", "java", "--workload", "random", "--heap", "12m", "--ops", "1000",
                "--trace", dir.resolve("none.csv").toString(), "--trace-cycles", "50");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertTrue(r.err().contains("cycle 50 never ran"), r::toString);
    }

    private static boolean hasColour(BufferedImage image, int rgb) {
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) {
                    return true;
                }
            }
        }
        return false;
    }
}
