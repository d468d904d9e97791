package io.faultline.gc;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * Formats lines for each collection in the style of HotSpot's {@code -Xlog:gc}. A concurrent
 * cycle:
 * <pre>
 * [0.401s][info][gc] GC(3) Pause Init Mark (Heap Occupancy) 12 roots 0.085ms (safepoint 0.010ms)
 * [0.440s][info][gc] GC(3) Concurrent Mark 2 rounds, 301234 objects, 17 SATB entries 38.920ms
 * [0.440s][info][gc] GC(3) Pause Remark 5 SATB entries 0.091ms (safepoint 0.012ms)
 * [0.449s][info][gc] GC(3) Concurrent Plan 60M, 2M allocated black 8.402ms
 * [0.450s][info][gc] GC(3) Pause Flip (Heap Occupancy) 60M-&gt;13M(64M) 0.412ms
 * [0.450s][info][gc] GC(3) Phases: safepoint 0.051ms black 0.062ms roots 0.012ms backend 0.210ms rest 0.050ms
 * [0.453s][info][gc] GC(3) Concurrent Compact 301 pages 2.877ms, 12 faults
 * </pre>
 * A stop-the-world cycle (stop-the-world marking, or an allocation that did not fit):
 * <pre>
 * [0.412s][info][gc] GC(3) Pause Compact Roots (Allocation Failure) 60M-&gt;12M(64M) 3.214ms
 * [0.412s][info][gc] GC(3) Phases: safepoint 0.051ms mark 1.602ms plan 0.977ms roots 0.012ms rest 0.571ms
 * </pre>
 */
public final class GcLog {
    private final Consumer<String> sink;
    private final GcEvents events;
    private final long startNanos = System.nanoTime();

    /** Lines go to {@code sink} (null: none; warnings and errors then go to the system logger). */
    public GcLog(Consumer<String> sink) {
        this(sink, null);
    }

    /** As {@link #GcLog(Consumer)}; every phase logged is also reported to {@code events} (null: nowhere). */
    public GcLog(Consumer<String> sink, GcEvents events) {
        this.sink = sink;
        this.events = events;
    }

    /** Where phases are reported besides the log (null: nowhere). */
    GcEvents events() {
        return events;
    }

    boolean enabled() {
        return sink != null;
    }

    void pause(long cycle, String kind, GcCause cause, long before, long after, long capacity, long nanos) {
        if (events != null) {
            events.flipOrFull(cycle, !kind.equals("Flip"), cause, before, nanos);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Pause %s (%s) %s->%s(%s) %.3fms",
                    prefix(), cycle, kind, cause.label(), size(before), size(after), size(capacity), nanos / 1e6));
        }
    }

    /** The pause's phases: time to safepoint, mark, plan, root update, compaction setup (or STW compaction). */
    void phases(long cycle, long safepoint, long mark, long plan, long roots, long rest) {
        if (events != null) {
            events.pauseSafepoint(cycle, safepoint);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Phases: safepoint %.3fms mark %.3fms plan %.3fms roots %.3fms rest %.3fms",
                    prefix(), cycle, safepoint / 1e6, mark / 1e6, plan / 1e6, roots / 1e6, rest / 1e6));
        }
    }

    /** {@code kind}: what young cycles make of it, e.g. {@code " young (old 96M, survivors 3M)"}, or empty. */
    void initialMark(long cycle, GcCause cause, String kind, long roots, long nanos, long safepoint) {
        if (events != null) {
            events.initialMark(cycle, cause, roots, nanos, safepoint);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Pause Init Mark (%s)%s %d roots %.3fms (safepoint %.3fms)",
                    prefix(), cycle, cause.label(), kind, roots, nanos / 1e6, safepoint / 1e6));
        }
    }

    /** {@code dirtyCards}: the old objects' cards a young cycle scanned, -1 for a full cycle. */
    void concurrentMark(long cycle, int rounds, long objects, long satbEntries, int dirtyCards, long nanos) {
        if (events != null) {
            events.concurrentMark(cycle, objects, nanos);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Concurrent Mark %d rounds, %d objects, %d SATB entries%s %.3fms",
                    prefix(), cycle, rounds, objects, satbEntries, dirtyCards < 0 ? "" : ", " + dirtyCards + " dirty cards",
                    nanos / 1e6));
        }
    }

    void remark(long cycle, long satbEntries, long nanos, long safepoint) {
        if (events != null) {
            events.remark(cycle, satbEntries, nanos, safepoint);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Pause Remark %d SATB entries %.3fms (safepoint %.3fms)",
                    prefix(), cycle, satbEntries, nanos / 1e6, safepoint / 1e6));
        }
    }

    /** Planned {@code [0, planned)}, of which {@code black} bytes were allocated during marking. */
    void concurrentPlan(long cycle, long planned, long black, long nanos) {
        if (events != null) {
            events.concurrentPlan(cycle, planned, nanos);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Concurrent Plan %s, %s allocated black %.3fms",
                    prefix(), cycle, size(planned), size(black), nanos / 1e6));
        }
    }

    /** The flip pause's phases: time to safepoint, planning what was allocated since the remark, root update, the backend's setup (kernel work on uffd), the rest. */
    void flipPhases(long cycle, long safepoint, long black, long roots, long backend, long rest) {
        if (events != null) {
            events.pauseSafepoint(cycle, safepoint);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Phases: safepoint %.3fms black %.3fms roots %.3fms backend %.3fms rest %.3fms",
                    prefix(), cycle, safepoint / 1e6, black / 1e6, roots / 1e6, backend / 1e6, rest / 1e6));
        }
    }

    /** An allocation waited {@code nanos} for cycle {@code cycle}'s flip ({@code flipped}: it came). */
    void stall(long cycle, long nanos, boolean flipped) {
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Allocation Stall (%s) %.3fms%s", prefix(), cycle,
                    Thread.currentThread().getName(), nanos / 1e6, flipped ? "" : ", the cycle did not flip in time"));
        }
    }

    void abandoned(long cycle, String why) {
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Concurrent cycle abandoned: %s", prefix(), cycle, why));
        }
    }

    /** Cycle {@code cycle}'s pages were all mapped after {@code nanos}; releasing from-space then took {@code releaseNanos}. */
    void concurrent(long cycle, long pages, long nanos, long faults, long releaseNanos) {
        if (events != null) {
            events.compactionEnded(cycle, pages, nanos, releaseNanos);
        }
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Concurrent Compact %d pages %.3fms, %d faults",
                    prefix(), cycle, pages, nanos / 1e6, faults));
        }
    }

    /** An information line (the summary at close), if the log has a sink. */
    public void summary(String message) {
        if (sink != null) {
            sink.accept(prefix() + " " + message);
        }
    }

    public void error(String message) {
        if (sink != null) {
            sink.accept(prefix().replace("[info]", "[error]") + " " + message);
        } else {
            FALLBACK.log(System.Logger.Level.ERROR, message);
        }
    }

    /** Something waits longer than it should: always said, in the GC log or else the system logger. */
    public void warning(String message) {
        if (sink != null) {
            sink.accept(prefix().replace("[info]", "[warning]") + " " + message);
        } else {
            FALLBACK.log(System.Logger.Level.WARNING, message);
        }
    }

    /** Where warnings and errors go when the heap has no GC log sink. */
    private static final System.Logger FALLBACK = System.getLogger("io.faultline.gc");

    private String prefix() {
        return String.format(Locale.ROOT, "[%.3fs][info][gc]", (System.nanoTime() - startNanos) / 1e9);
    }

    static String size(long bytes) {
        if (bytes >= 10L << 20) {
            return (bytes >> 20) + "M";
        }
        return (bytes >> 10) + "K";
    }
}
