package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.util.Locale;
import org.junit.jupiter.api.Assumptions;
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

    /** Delivery, supply, run length and fault-around reach the uffd heap and its JSON; runs cut the ioctls. */
    @ParameterizedTest
    @EnumSource(UffdProbe.Mode.class)
    void runsAndFaultAroundInstallSeveralPagesPerIoctl(UffdProbe.Mode mode) {
        String name = mode.name().toLowerCase(Locale.ROOT);
        Assumptions.assumeTrue(PROBE.available(mode), () -> PROBE.mode(mode).detail());
        CommandLine r = CommandLine.run("run", "--backend", "uffd", "--mode", name, "--delivery", "thread", "--page-supply", "fresh",
                "--run-pages", "8", "--fault-around", "4", "--workload", "random", "--heap", "12m", "--ops", "600000", "--verify",
                "--json");
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        assertEquals("\"thread\"", field(json, "delivery"), json);
        assertEquals("\"fresh\"", field(json, "supply"), json);
        assertEquals("8", field(json, "runPages"), json);
        assertEquals("4", field(json, "faultAround"), json);
        assertEquals("true", field(json, "verified"), json);
        long runs = Long.parseLong(field(json, "installRuns"));
        long pages = Long.parseLong(field(json, "pagesInstalled"));
        assertTrue(runs > 0 && pages >= 2 * runs, () -> "runs of several pages: " + runs + " installs for " + pages + " pages\n" + json);
    }

    /** {@code --delivery sigbus} runs where the backend delivers by SIGBUS, and elsewhere says why, naming the option. */
    @Test
    void sigbusDeliveryRunsOrSaysWhyNot() {
        Assumptions.assumeTrue(PROBE.available(UffdProbe.Mode.COPY), () -> PROBE.mode(UffdProbe.Mode.COPY).detail());
        CommandLine r = CommandLine.run("run", "--backend", "uffd", "--mode", "copy", "--delivery", "sigbus", "--workload", "random",
                "--heap", "12m", "--ops", "300000", "--verify", "--json");
        String why = BenchSupport.unavailableReason("copy", UffdOptions.defaults().withDelivery(UffdOptions.Delivery.SIGBUS));
        if (why != null) {
            assertEquals(Main.EXIT_FAILED, r.status(), r::toString);
            assertEquals("faultline: --backend uffd --mode copy --delivery sigbus --page-supply fresh: not available here: " + why
                    + " (run 'faultline probe')", r.err().strip(), r::toString);
            return;
        }
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        assertEquals("\"sigbus\"", field(r.lastLine(), "delivery"), r::toString);
        assertEquals("true", field(r.lastLine(), "verified"), r::toString);
        assertTrue(Long.parseLong(field(r.lastLine(), "sigbusFaults")) > 0, r::toString);
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
        String sigbus = r.outLines().getLast();
        assertTrue(sigbus.matches("SIGBUS delivery (available|unavailable|partial) +\\S.*"), r::toString);
        if (!PROBE.sigbusAvailable()) {
            assertTrue(sigbus.contains("UFFD_FEATURE_SIGBUS unavailable: " + PROBE.sigbusDetail()), sigbus);
        }
    }
}
