package io.faultline.uffd.sys;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Counts what a loop of system-call wrappers allocates on the Java heap once C2 has compiled it
 * (before that, each downcall that captures errno allocates a 40-byte temporary, which C2's escape
 * analysis removes). Skips the calling test where the counter or C2 is missing.
 */
final class JavaHeapAllocation {
    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private JavaHeapAllocation() {
    }

    /**
     * Runs {@code round} until a run allocates nothing, at most {@code maxRounds} times, and
     * returns the fewest bytes one run allocated on this thread.
     */
    static long bestRound(int maxRounds, IntSupplier round) {
        assumeTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled());
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        assumeTrue(jvmArgs.stream().noneMatch(arg -> arg.equals("-Xint") || arg.matches("-XX:TieredStopAtLevel=[0-3]")),
            "needs C2: " + jvmArgs);
        long best = Long.MAX_VALUE;
        for (int r = 0; r < maxRounds && best > 0; r++) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            round.getAsInt();
            best = Math.min(best, THREADS.getCurrentThreadAllocatedBytes() - before);
        }
        return best;
    }
}
