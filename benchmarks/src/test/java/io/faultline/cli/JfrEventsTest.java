package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A flight recording of a {@code faultline run} holds the collector's events: a
 * {@code faultline.GcPhase} for each phase of each cycle, a {@code faultline.GcPause} for each pause
 * (as many flips as the run's JSON counts), and {@code faultline.PageFault} events (sampled) with
 * their latency, as {@code jfr print --events faultline.GcPause rec.jfr} would show them.
 */
class JfrEventsTest {
    @TempDir
    Path dir;

    /**
     * Runs with seeds 42, 43, ... until a run's JSON counts a fault (at most {@link #ATTEMPTS}): in a
     * warm JVM on two busy cores a whole run's compactions can finish before the mutator touches a
     * page they have not built (seen once in CI: 6 cycles, 0 faults). Every attempt's phases and
     * pauses are checked; the fault events are checked on the run that faulted.
     */
    @ParameterizedTest
    @ValueSource(strings = {"java", "continue"})
    void recordingShowsPhasesPausesAndFaults(String mode) throws IOException {
        if (!mode.equals("java")) {
            String why = BenchSupport.unavailableReason(mode);
            Assumptions.assumeTrue(why == null, () -> "uffd " + mode + ": " + why);
        }
        List<String> faultless = new ArrayList<>();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            long seed = 42 + attempt;
            if (recordRun(mode, seed)) {
                return;
            }
            faultless.add("seed " + seed);
        }
        throw new AssertionError(mode + ": no run took a fault in " + ATTEMPTS + " attempts (" + faultless + ")");
    }

    private static final int ATTEMPTS = 5;

    /** One recorded run, checked; false if its JSON counts no fault (then no fault event is expected). */
    private boolean recordRun(String mode, long seed) throws IOException {
        List<String> args = new ArrayList<>(List.of("run", "--workload", "random", "--heap", "12m", "--ops", "600000",
                "--seed", Long.toString(seed), "--json"));
        if (mode.equals("java")) {
            args.addAll(List.of("--backend", "java"));
        } else {
            args.addAll(List.of("--backend", "uffd", "--mode", mode));
        }
        Path file = dir.resolve("run-" + seed + ".jfr");
        CommandLine r;
        try (Recording recording = new Recording()) {
            for (String name : List.of("faultline.GcPhase", "faultline.GcPause", "faultline.PageFault")) {
                recording.enable(name).withThreshold(Duration.ZERO);
            }
            recording.start();
            r = CommandLine.run(args.toArray(String[]::new));
            recording.stop();
            recording.dump(file);
        }
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        long faults = Long.parseLong(CommandLine.field(json, "faults"));

        Map<String, Integer> byType = new HashMap<>();
        Set<String> phases = new HashSet<>();
        int flips = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
            String type = e.getEventType().getName();
            byType.merge(type, 1, Integer::sum);
            switch (type) {
                case "faultline.GcPhase" -> {
                    phases.add(e.getString("phase"));
                    assertTrue(e.getLong("gcId") >= 1, e::toString);
                }
                case "faultline.GcPause" -> {
                    assertTrue(e.getDuration("pauseDuration").toNanos() > 0, e::toString);
                    flips += e.getString("kind").equals("flip") ? 1 : 0;
                }
                case "faultline.PageFault" -> {
                    assertTrue(e.getDuration("latency").toNanos() > 0, e::toString);
                    assertEquals(mode.equals("java") ? "java" : "thread", e.getString("delivery"), e::toString);
                }
                default -> {
                }
            }
        }
        assertTrue(byType.getOrDefault("faultline.GcPhase", 0) > 0, byType::toString);
        assertTrue(phases.containsAll(Set.of("init-mark", "concurrent-mark", "remark", "plan", "flip",
                "concurrent-compaction", "release")), phases::toString);
        assertEquals(Long.parseLong(CommandLine.field(json, "pauseFlipCount")), flips, () -> byType + "\n" + json);
        long pauses = Long.parseLong(CommandLine.field(json, "pauseInitialMarkCount"))
                + Long.parseLong(CommandLine.field(json, "pauseRemarkCount")) + flips
                + Long.parseLong(CommandLine.field(json, "pauseFullCount"));
        assertEquals(pauses, (long) byType.getOrDefault("faultline.GcPause", 0), () -> byType + "\n" + json);
        if (faults == 0) {
            assertEquals(0, (int) byType.getOrDefault("faultline.PageFault", 0), () -> byType + "\n" + json);
            return false;
        }
        assertTrue(byType.getOrDefault("faultline.PageFault", 0) > 0, () -> byType + "\n" + json);
        return true;
    }
}
