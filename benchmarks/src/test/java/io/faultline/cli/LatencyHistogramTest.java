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
        if (!mode.equals("java")) {
            String why = BenchSupport.unavailableReason(mode);
            Assumptions.assumeTrue(why == null, () -> "uffd " + mode + ": " + why);
        }
        // A mutator faults only where it reaches a page before the compactor does. Once, in a JVM
        // warm from earlier tests, a java run of 6 cycles took no fault at all; such a run has
        // nothing for the fault histogram to count, so it is run again, longer.
        CommandLine r = null;
        String json = null;
        long faults = 0;
        for (int attempt = 0, ops = 600_000; attempt < 3 && faults == 0; attempt++, ops *= 4) {
            List<String> args = new ArrayList<>(List.of("run", "--workload", "random", "--heap", "12m", "--ops",
                    Integer.toString(ops), "--gc-log", "--json"));
            args.addAll(mode.equals("java") ? List.of("--backend", "java") : List.of("--backend", "uffd", "--mode", mode));
            r = CommandLine.run(args.toArray(String[]::new));
            assertEquals(Main.EXIT_OK, r.status(), r::toString);
            json = r.lastLine();
            faults = Long.parseLong(field(json, "faults"));
            if (faults == 0) {
                System.out.println("LatencyHistogramTest " + mode + ": no fault in " + ops + " ops, running again: " + json);
            }
        }
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
