package io.faultline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.faultline.bench.CompareHarness.Row;
import io.faultline.bench.CompareHarness.Variant;
import io.faultline.uffd.UffdOptions;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The notes of {@code faultline compare}'s table, from rows made up here (no heap runs). */
class CompareReportTest {
    private static Row touched(long allocatedBytes) {
        Variant v = new Variant("copy", UffdOptions.defaults().withDelivery(UffdOptions.Delivery.SIGBUS));
        return new Row(v, null, null, v.floorName(), 5.0, null, 1_600, 25_600, allocatedBytes, 1_000, 10, 0.3, 0.5, 10, 100, null,
                List.of(), 100, 30, 16, 25_600, 0.4);
    }

    @Test
    void theJitsOneTimeStringsAreNoNoteButAPathThatAllocatesIs() {
        // 2,200 bytes: the most the one-time interning of string constants came to in one run
        // (docs/results.md); 0: the usual.
        assertNull(CompareReport.hotLoopNote(touched(0)));
        assertNull(CompareReport.hotLoopNote(touched(2_200)));
        assertNull(CompareReport.hotLoopNote(touched(CompareReport.HOT_LOOP_ALLOWANCE_BYTES)));
        // 16 bytes per fault served: 25,600 bytes over the run's 1,600 faults.
        assertEquals("note: copy/sigbus: the touch loops allocated 25600 bytes on the Java heap over 25600 touches, more than the "
                + "4096 bytes the JIT's one-time work explains: something on the touch or fault path allocates",
                CompareReport.hotLoopNote(touched(16 * 1_600)));
    }

    @Test
    void anUnavailableRowHasNoAllocationNote() {
        Variant v = new Variant("move", UffdOptions.defaults());
        assertNull(CompareReport.hotLoopNote(Row.unavailable(v, "no userfaultfd")));
    }
}
