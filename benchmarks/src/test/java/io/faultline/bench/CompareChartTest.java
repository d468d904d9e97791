package io.faultline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The chart's binary-trees axis names each run short enough to be read whole, and each one apart. */
class CompareChartTest {
    @Test
    void binaryTreesLabelsKeepWhatTellsRunsApart() {
        assertEquals("continue/sigbus/keep small", CompareChart.shortLabel("uffd continue/sigbus/keep small pages young cycles"));
        assertEquals("copy/thread/fresh huge run 512 fa 0",
                CompareChart.shortLabel("uffd copy/thread/fresh huge pages run 512 fault-around 0 young cycles"));
        assertEquals("java", CompareChart.shortLabel("java young cycles"));
    }
}
