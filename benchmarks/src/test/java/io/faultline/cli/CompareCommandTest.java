package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code faultline compare --smoke}: the machinery, not the numbers (no timing assertions). */
class CompareCommandTest {

    @Test
    void smokeRunPrintsFourRowsAndWritesPngJsonCsv(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("cmp");
        CommandLine r = CommandLine.run("compare", "--smoke", "--out", dir.toString());
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        for (String mode : BenchSupport.BACKENDS) {
            long rows = r.outLines().stream().filter(l -> l.startsWith(mode + " ")).count();
            assertEquals(1, rows, () -> "one row for " + mode + "\n" + r);
        }
        assertEquals("results: " + dir.toAbsolutePath().normalize(), r.lastLine(), r::toString);
        assertTrue(r.err().contains("compare: [4/4]"), () -> "progress on stderr\n" + r);

        byte[] png = Files.readAllBytes(dir.resolve("compare.png"));
        assertTrue(png.length > 1000, "png size " + png.length);
        assertTrue(Arrays.equals(Arrays.copyOf(png, 8), new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}), "PNG signature");

        List<String> csv = Files.readAllLines(dir.resolve("compare.csv"));
        assertEquals(5, csv.size(), () -> String.join("\n", csv));
        for (int i = 0; i < 4; i++) {
            assertTrue(csv.get(i + 1).startsWith(BenchSupport.BACKENDS.get(i) + ","), csv.get(i + 1));
        }
        String json = Files.readString(dir.resolve("compare.json"));
        for (String mode : BenchSupport.BACKENDS) {
            assertTrue(json.contains("\"mode\": \"" + mode + "\""), json);
        }
        // An unavailable mode's row says why; an available one has numbers.
        for (String mode : BenchSupport.BACKENDS) {
            String row = r.outLines().stream().filter(l -> l.startsWith(mode + " ")).findFirst().orElseThrow();
            if (BenchSupport.unavailableReason(mode) != null) {
                assertTrue(row.contains("unavailable"), row);
            } else {
                assertTrue(row.contains("MB/s"), row);
            }
        }
    }

    @Test
    void badOptionsExitTwoWithOneLine() {
        for (String[] args : List.of(new String[] {"compare", "--bogus"}, new String[] {"compare", "--out"},
                new String[] {"compare", "extra"}, new String[] {"compare", "--out="})) {
            CommandLine r = CommandLine.run(args);
            assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
            assertTrue(r.err().contains("faultline compare --help"), r::toString);
        }
    }

    @Test
    void helpListsCompare() {
        assertTrue(CommandLine.run("--help").out().contains("compare"));
        CommandLine r = CommandLine.run("compare", "--help");
        assertEquals(Main.EXIT_OK, r.status());
        assertTrue(r.out().contains("--quick"));
    }
}
