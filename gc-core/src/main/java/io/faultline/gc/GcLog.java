package io.faultline.gc;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * Formats one line per collection in the style of HotSpot's {@code -Xlog:gc}:
 * <pre>
 * [0.412s][info][gc] GC(3) Pause Compact (Allocation Failure) 60M-&gt;12M(64M) 3.214ms
 * [0.412s][info][gc] GC(3) Phases: safepoint 0.051ms mark 1.602ms plan 0.977ms roots 0.012ms rest 0.571ms
 * [0.415s][info][gc] GC(3) Concurrent Compact 301 pages 2.877ms, 12 faults
 * </pre>
 */
public final class GcLog {
    private final Consumer<String> sink;
    private final long startNanos = System.nanoTime();

    public GcLog(Consumer<String> sink) {
        this.sink = sink;
    }

    boolean enabled() {
        return sink != null;
    }

    void pause(long cycle, String kind, GcCause cause, long before, long after, long capacity, long nanos) {
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Pause %s (%s) %s->%s(%s) %.3fms",
                    prefix(), cycle, kind, cause.label(), size(before), size(after), size(capacity), nanos / 1e6));
        }
    }

    /** The pause's phases: time to safepoint, mark, plan, root update, compaction setup (or STW compaction). */
    void phases(long cycle, long safepoint, long mark, long plan, long roots, long rest) {
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Phases: safepoint %.3fms mark %.3fms plan %.3fms roots %.3fms rest %.3fms",
                    prefix(), cycle, safepoint / 1e6, mark / 1e6, plan / 1e6, roots / 1e6, rest / 1e6));
        }
    }

    void concurrent(long cycle, long pages, long nanos, long faults) {
        if (sink != null) {
            sink.accept(String.format(Locale.ROOT, "%s GC(%d) Concurrent Compact %d pages %.3fms, %d faults",
                    prefix(), cycle, pages, nanos / 1e6, faults));
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
