package io.faultline.gc;

import io.faultline.verify.HeapVerifier;
import io.faultline.verify.VerifyReport;
import java.util.Arrays;

/**
 * When the heap verifier runs ({@code HeapConfig.verifyAfterGc}) and which cycles it has checked.
 * With stop-the-world compaction the pause verifies its own result; with concurrent compaction
 * compactor 0 runs a short verification pause once a cycle's compaction completes, and if that
 * pause loses the race to the next collection, the next collection verifies first.
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #run} is called only in a pause after every page
 * is mapped; the counters are written there and read by any thread.
 */
final class Verification {
    private final boolean afterEveryCycle;
    private final OldGeneration old;
    private volatile boolean lastCycleVerified = true;
    private volatile long lastVerifiedCycle;
    private volatile long verifiedCycles;

    /** @param old young cycles' state: the verifier also checks that their cards are complete */
    Verification(boolean afterEveryCycle, OldGeneration old) {
        this.afterEveryCycle = afterEveryCycle;
        this.old = old;
    }

    /** True if cycles are verified automatically and the last one has not been. */
    boolean pending() {
        return afterEveryCycle && !lastCycleVerified;
    }

    boolean afterEveryCycle() {
        return afterEveryCycle;
    }

    /** A new cycle's result is not verified yet. */
    void cycleStarted() {
        lastCycleVerified = false;
    }

    /** In a pause: walks the heap as {@code cycle} left it; records a clean result. */
    VerifyReport run(HeapBinding heap, long cycle) {
        heap.retireTlabs();
        int[][] roots = {new int[64]};
        int[] n = {0};
        heap.updateRoots(r -> {
            if (n[0] == roots[0].length) {
                roots[0] = Arrays.copyOf(roots[0], n[0] * 2);
            }
            roots[0][n[0]++] = r;
            return r;
        });
        VerifyReport report = HeapVerifier.verify(heap.view(), heap.base(), heap.top(), heap.types(), roots[0], n[0],
                old.checkedOldEnd(), old.checkedSurvivorEnd(), heap.cards());
        if (report.ok()) {
            lastCycleVerified = true;
            if (cycle > lastVerifiedCycle) {
                lastVerifiedCycle = cycle;
                verifiedCycles++;
            }
        }
        return report;
    }

    /** In a pause: {@link #run}, throwing {@link HeapCorruptedException} on damage. */
    void check(HeapBinding heap, long cycle) {
        VerifyReport report = run(heap, cycle);
        if (!report.ok()) {
            throw HeapCorruptedException.verification(cycle, report);
        }
    }

    long verifiedCycles() {
        return verifiedCycles;
    }
}
