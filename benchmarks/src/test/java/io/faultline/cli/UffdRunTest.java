package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.uffd.UffdProbe;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code run --backend uffd|auto} end to end; where a mode is unavailable, the refusal and its reason. */
class UffdRunTest {
    private static final UffdProbe.Report PROBE = UffdProbe.probe();

    @ParameterizedTest
    @EnumSource(UffdProbe.Mode.class)
    void uffdModeServesRealFaultsOrSaysWhyNot(UffdProbe.Mode mode) {
        String name = mode.name().toLowerCase(Locale.ROOT);
        CommandLine r = CommandLine.run("run", "--backend", "uffd", "--mode", name, "--workload", "random",
                "--heap", "12m", "--ops", "600000", "--verify", "--json");
        if (!PROBE.available(mode)) {
            assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
            assertTrue(r.err().contains("not available here: " + PROBE.mode(mode).detail()), r::toString);
            return;
        }
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        assertEquals("\"uffd\"", field(json, "backend"));
        assertEquals("\"" + name + "\"", field(json, "mode"));
        assertEquals("true", field(json, "verified"), json);
        assertTrue(Long.parseLong(field(json, "gcCycles")) >= 3, json);
        assertTrue(Long.parseLong(field(json, "faults")) > 0, json);
        String ioctl = "ioctl" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
        assertTrue(Long.parseLong(field(json, ioctl)) > 0, json);
        assertEquals("0", field(json, "errors"), json);
    }

    @Test
    void autoPicksContinueWhenAvailableElseJavaAndSaysWhy() {
        CommandLine r = CommandLine.run("run", "--backend", "auto", "--heap", "4m", "--ops", "20000", "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        assertEquals("\"auto\"", field(json, "requestedBackend"));
        assertEquals(1, r.err().lines().count(), r::toString);
        if (PROBE.available(UffdProbe.Mode.CONTINUE)) {
            assertEquals("\"uffd\"", field(json, "backend"), r::toString);
            assertEquals("\"continue\"", field(json, "mode"), r::toString);
            assertTrue(r.err().startsWith("faultline: --backend auto: backend uffd/continue"), r::toString);
        } else {
            assertEquals("\"java\"", field(json, "backend"), r::toString);
            assertEquals("null", field(json, "uffd"), r::toString);
            assertTrue(r.err().startsWith("faultline: --backend auto: backend java"), r::toString);
        }
    }

    @Test
    void probePrintsTheTable() {
        CommandLine r = CommandLine.run("probe");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertTrue(r.out().startsWith("userfaultfd probe: "), r::toString);
        for (UffdProbe.Mode mode : UffdProbe.Mode.values()) {
            assertTrue(r.out().contains(mode.name()), r::toString);
        }
    }
}
