package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.bench.BenchSupport;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pause and fault-latency histograms count the run's real pauses and faults: every flip pause
 * and every fault is in its histogram (the counts equal the run's own counters), the percentiles
 * are ordered and bounded by the exact maximum, and the GC log's closing Summary lines say the same.
 */
class LatencyHistogramTest {
    private static final Pattern SUMMARY = Pattern.compile(
            "Summary: (Pause Flip|Pause Init Mark|Pause Remark|Fault latency \\(\\w+\\)) (\\d+): p50 ([\\d.]+)(ms|us) "
                    + "p90 ([\\d.]+)\\4 p99 ([\\d.]+)\\4 p99\\.9 ([\\d.]+)\\4 max ([\\d.]+)\\4");

    @ParameterizedTest
    @ValueSource(strings = {"java", "copy", "continue"})
    void histogramsCountEveryPauseAndFault(String mode) {
        List<String> args = new ArrayList<>(List.of("run", "--workload", "random", "--heap", "12m", "--ops", "600000",
                "--gc-log", "--json"));
        if (mode.equals("java")) {
            args.addAll(List.of("--backend", "java"));
        } else {
            String why = BenchSupport.unavailableReason(mode);
            Assumptions.assumeTrue(why == null, () -> "uffd " + mode + ": " + why);
            args.addAll(List.of("--backend", "uffd", "--mode", mode));
        }
        CommandLine r = CommandLine.run(args.toArray(String[]::new));
        assertEquals(Main.EXIT_OK, r.status(), r::toString);
        String json = r.lastLine();
        long faults = Long.parseLong(field(json, "faults"));
        assertTrue(faults > 0, json);
        assertEquals(faults, Long.parseLong(field(json, "faultLatencyCount")), "every fault is in the histogram: " + json);
        assertEquals(mode.equals("java") ? "\"java\"" : "\"thread\"", field(json, "faultLatencyDelivery"), json);
        ordered(json, "faultLatency", "Us", "faultLatencyMaxUs");
        for (String kind : List.of("InitialMark", "Remark", "Flip")) {
            assertTrue(Long.parseLong(field(json, "pause" + kind + "Count")) > 0, json);
            ordered(json, "pause" + kind, "Ms", "pause" + kind + "MaxMs");
        }
        int summaries = 0;
        for (String line : r.err().lines().toList()) {
            Matcher m = SUMMARY.matcher(line);
            if (!m.find()) {
                continue;
            }
            summaries++;
            String key = switch (m.group(1)) {
                case "Pause Flip" -> "pauseFlip";
                case "Pause Init Mark" -> "pauseInitialMark";
                case "Pause Remark" -> "pauseRemark";
                default -> "faultLatency";
            };
            assertEquals(field(json, key + "Count"), m.group(2), line);
            assertEquals(field(json, key + "P99" + (key.equals("faultLatency") ? "Us" : "Ms")), m.group(6), line);
        }
        assertEquals(4, summaries, r::toString);
    }

    /** p50 <= p90 <= p99 <= p99.9 <= max, and p50 > 0. */
    private static void ordered(String json, String prefix, String unit, String maxKey) {
        double last = 0;
        for (String p : List.of("P50", "P90", "P99", "P999")) {
            double v = Double.parseDouble(field(json, prefix + p + unit));
            assertTrue(v >= last, () -> prefix + p + " out of order: " + json);
            assertTrue(p.equals("P50") ? v > 0 : true, () -> prefix + "P50 is 0: " + json);
            last = v;
        }
        assertTrue(Double.parseDouble(field(json, maxKey)) >= last, () -> maxKey + " below p99.9: " + json);
    }
}
