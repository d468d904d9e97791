package io.faultline.cli;

import static io.faultline.cli.CommandLine.field;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.faultline.heap.HeapStats;
import org.junit.jupiter.api.Test;

/** The run JSON and {@link HeapStats#toString()} (which failure messages print) use the same names and units. */
class RunReportTest {

    @Test
    void everyCounterInHeapStatsTextHasTheSameNameAndValueInTheJson() {
        HeapStats stats = new HeapStats(64L << 20, 3_000_000, 1_234_567, 234_560, 7, 3403, 622, 63_568_501, 214_392_499,
                159_179_000, 45_172_250, 7, new HeapStats.Pauses(6, 1_250_000, 4_100_000, new long[] {600_000, 1_100_000, 1_250_000, 1_250_000}),
                new HeapStats.Pauses(6, 2_340_500, 7_000_001), new HeapStats.Pauses(6, 3_010_000, 9_999_999),
                new HeapStats.Pauses(1, 63_568_501, 63_568_501), 6, 1, 4, 812_000_000, 95_000_000, 12_345_678, 4242,
                new HeapStats.Pauses(2, 40_000_000, 55_500_000),
                new HeapStats.Latency("thread", 622, 34_500, 41_000, 90_250, 120_000, 130_001));
        RunReport report = new RunReport("java", "java", null, null, null, 1, 0, "random", 2, 1, true, stats.capacity(), stats,
                true, 241_111_520, 540.25, null, false, null);
        String json = report.toJson();
        String text = stats.toString();
        for (String pair : text.split(" ")) {
            String[] kv = pair.split("=", 2);
            assertEquals(kv[1], field(json, kv[0]), () -> kv[0] + " in " + text + " vs " + json);
        }
        assertEquals("63.569", field(json, "pauseMaxMs"));
        assertEquals("2.341", field(json, "pauseRemarkMaxMs"));
        assertEquals("6", field(json, "pauseFlipCount"));
        assertEquals("241111520", field(json, "allocatedBytes"));
        assertEquals("234560", field(json, "blackBytesAfterLastGc"));
        assertEquals("1.100", field(json, "pauseInitialMarkP90Ms"));
        assertEquals("90.250", field(json, "faultLatencyP99Us"));
        assertEquals("\"thread\"", field(json, "faultLatencyDelivery"));
    }
}
