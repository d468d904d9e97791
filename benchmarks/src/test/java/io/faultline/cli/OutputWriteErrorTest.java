package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Output that cannot be written (e.g. {@code > /dev/full}) fails the command instead of exiting 0. */
class OutputWriteErrorTest {

    /** A sink that refuses every write, as a full disk does. */
    private static final class FullDisk extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            throw new IOException("No space left on device");
        }
    }

    private static void assertFailsWithOneLine(String command, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream out = new PrintStream(new FullDisk(), false, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = Main.run(args, out, e);
        }
        List<String> lines = err.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(Main.EXIT_FAILED, status, () -> String.join("\n", lines));
        assertEquals(List.of("faultline: " + command + ": the output could not be written to stdout (write error)"),
                lines);
    }

    @Test
    void runWithJsonIntoAFullDiskExitsOne() {
        assertFailsWithOneLine("run", "run", "--backend", "java", "--heap", "4m", "--ops", "20000", "--json");
    }

    @Test
    void probeIntoAFullDiskExitsOne() {
        assertFailsWithOneLine("probe", "probe");
    }

    @Test
    void helpIntoAFullDiskExitsOne() {
        assertFailsWithOneLine("--help", "--help");
    }
}
