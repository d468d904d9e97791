package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.testing.HostGcChurn;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Host GC pressure must not stall concurrent compaction (java backend: nothing blocks in the kernel). */
class HostGcChurnTest {
    @Test
    void fiftyCyclesCompleteWhileTheJavaHeapChurns() throws Exception {
        HostGcChurn.Result r = HostGcChurn.run(JavaBackend.factory(), 2, 50, Duration.ofSeconds(30));
        System.out.println("HostGcChurnTest: " + r);
        assertTrue(r.cycles() >= 50, r.toString());
        assertTrue(r.faults() > 0, "mutators must fault during compaction: " + r);
        assertTrue(r.hostGcs() > 0, "the churn thread must force HotSpot collections: " + r);
    }
}
