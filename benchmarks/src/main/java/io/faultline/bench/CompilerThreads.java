package io.faultline.bench;

import io.faultline.uffd.sys.Sched;
import io.faultline.uffd.sys.SyscallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The JVM's JIT compiler threads ({@code C1 CompilerThread*}, {@code C2 CompilerThread*}), found
 * by name in {@code /proc/self/task}, moved to {@link Sched#SCHED_IDLE} for a measurement.
 *
 * <p>Why: {@code faultline compare} runs the collector's once-per-cycle code (statistics, the
 * pause, the harness's histograms) a few hundred times in all, so HotSpot keeps compiling it while
 * the fault rounds are measured. On a 2-CPU machine a compilation then preempts the mutator or
 * the compactor for 0.3 to 3 ms (seen with {@code perf sched}), and one such round moves the mean
 * stall of a whole row. In {@code SCHED_IDLE} a compiler thread runs on a CPU that nothing else
 * wants, and otherwise gets one short slice now and then so that it does not starve (0.45 and
 * 0.73 ms in the two cases looked up). The JVM may start more compiler threads later;
 * {@link #toIdle()} is cheap enough to call again before each row. An unprivileged process cannot move them back: call it only in a JVM
 * that exists to measure.
 */
public final class CompilerThreads {
    /** The names of HotSpot's compiler threads as the kernel keeps them (15 characters). */
    private static final List<String> PREFIXES = List.of("C1 CompilerThre", "C2 CompilerThre");

    private CompilerThreads() {
    }

    /**
     * What {@link #toIdle()} did.
     *
     * @param found   compiler threads found
     * @param idle    of those, the ones whose policy read back as {@code SCHED_IDLE} afterwards
     * @param failure why some could not be moved (the first error), or null
     */
    public record Demotion(int found, int idle, String failure) {
        /** One line for the report, e.g. {@code 2 of 2 JIT compiler threads in SCHED_IDLE}. */
        public String describe() {
            String s = String.format(Locale.ROOT, "%d of %d JIT compiler threads in SCHED_IDLE", idle, found);
            return failure == null ? s : s + " (" + failure + ")";
        }
    }

    /** Moves every compiler thread of this JVM to {@code SCHED_IDLE} and reads each policy back. */
    public static Demotion toIdle() {
        List<Integer> tids = tids();
        int idle = 0;
        String failure = null;
        for (int tid : tids) {
            try {
                Sched.setScheduler(tid, Sched.SCHED_IDLE, 0);
                if (Sched.getScheduler(tid) == Sched.SCHED_IDLE) {
                    idle++;
                }
            } catch (SyscallException e) {
                // ESRCH: the thread ended meanwhile (the JVM stops idle compiler threads)
                if (failure == null && !e.errnoName().equals("ESRCH")) {
                    failure = e.getMessage();
                }
            }
        }
        return new Demotion(tids.size(), idle, failure);
    }

    /** The thread ids of this JVM's compiler threads, by their names in /proc/self/task. */
    static List<Integer> tids() {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                String comm;
                try {
                    comm = Files.readString(task.resolve("comm")).strip();
                } catch (IOException e) {
                    continue; // the thread ended meanwhile
                }
                if (PREFIXES.stream().anyMatch(comm::startsWith)) {
                    out.add(Integer.parseInt(task.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
