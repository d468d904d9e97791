package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdProbe;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.uffd.UffdProbe.ModeStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A uffd mode this machine cannot provide is a run that cannot happen here (exit 1), not a bad command line (2). */
class BackendChoiceTest {
    private static final String NO_MOVE = "UFFD_FEATURE_MOVE missing (needs Linux 6.8+)";

    /** A probe report of a kernel where CONTINUE and COPY work and MOVE does not. */
    private static UffdProbe.Report withoutMove() {
        return new UffdProbe.Report("6.1.0", 4096, true, "test", true, "test", 0, true, "test", List.of(
                new ModeStatus(Mode.CONTINUE, true, true, "verified"),
                new ModeStatus(Mode.COPY, true, true, "verified"),
                new ModeStatus(Mode.MOVE, false, false, NO_MOVE)), "test");
    }

    @Test
    void anUnavailableModeIsRefusedWithTheProbesReason() {
        PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> BackendChoice.resolve("uffd", "move", BackendChoiceTest::withoutMove, err));
        assertEquals("--backend uffd --mode move: not available here: " + NO_MOVE + " (run 'faultline probe')",
                e.getMessage());
        assertEquals("copy", BackendChoice.resolve("uffd", "copy", BackendChoiceTest::withoutMove, err).mode());
    }

    @Test
    void autoWithAnUnavailableModeFallsBackToJavaAndSaysWhy() {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(text, true, StandardCharsets.UTF_8);
        BackendChoice choice = BackendChoice.resolve("auto", "move", BackendChoiceTest::withoutMove, err);
        assertEquals("java", choice.backend());
        assertEquals("faultline: --backend auto: backend java: userfaultfd MOVE unavailable (" + NO_MOVE + ")\n",
                text.toString(StandardCharsets.UTF_8));
    }

    /** End to end in a child JVM whose native library cannot be found: every mode is unavailable. */
    @Test
    void runOnAMachineWithoutTheModeExitsOneWithTheReason() throws Exception {
        ChildJvm r = ChildJvm.run(System.getProperty("java.class.path"),
                List.of("-D" + NativeLibrary.PATH_PROPERTY + "=/nonexistent/libfaultline.so"), Main.class.getName(),
                List.of("run", "--backend", "uffd", "--mode", "copy", "--heap", "4m", "--ops", "1000"),
                Duration.ofMinutes(1));
        assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
        assertEquals("", r.out(), r::toString);
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r::toString);
        assertTrue(lines.getFirst().startsWith("faultline: --backend uffd --mode copy: not available here: "), r::toString);
        assertTrue(lines.getFirst().contains("native library not found: " + NativeLibrary.PATH_PROPERTY
                + "=/nonexistent/libfaultline.so is not a file"), r::toString);
    }
}
