package io.faultline.uffd.backend;

import io.faultline.backend.HeapBackend;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** Probe-driven assumptions and a factory that remembers its backends (for their native counters). */
final class UffdTestSupport {
    private static final UffdProbe.Report REPORT = UffdProbe.probe();

    private UffdTestSupport() {
    }

    /** True if the mode can run here. */
    static boolean available(Mode mode) {
        return REPORT.mode(mode).available();
    }

    /** Skips (reported skipped, with the probe's reason) where the mode cannot run. */
    static void assumeAvailable(Mode mode) {
        UffdProbe.ModeStatus s = REPORT.mode(mode);
        Assumptions.assumeTrue(s.available(), () -> "uffd " + mode + " unavailable: " + s.detail());
    }

    /** A factory that records every backend it creates. */
    static final class Recording implements HeapBackend.Factory {
        final Mode mode;
        final UffdOptions options;
        final List<UffdBackend> created = new ArrayList<>();

        Recording(Mode mode) {
            this(mode, UffdOptions.defaults());
        }

        Recording(Mode mode, UffdOptions options) {
            this.mode = mode;
            this.options = options;
        }

        @Override
        public synchronized HeapBackend create(long capacity, int pageSize) {
            UffdBackend b = new UffdBackend(mode, options, capacity, pageSize);
            created.add(b);
            return b;
        }

        /** Sum of a counter over every backend created (closed ones report their final values). */
        synchronized long sum(UffdBackend.Stat stat) {
            long s = 0;
            for (UffdBackend b : created) {
                s += b.stat(stat);
            }
            return s;
        }

        synchronized String summary() {
            StringBuilder out = new StringBuilder(mode + ":");
            for (UffdBackend.Stat s : UffdBackend.Stat.values()) {
                if (s == UffdBackend.Stat.LAST_ERRNO || s == UffdBackend.Stat.LAST_ERROR_PAGE) {
                    continue;
                }
                long v = sum(s);
                if (v != 0) {
                    out.append(' ').append(s.name().toLowerCase()).append('=').append(v);
                }
            }
            for (UffdBackend b : created) {
                if (b.stat(UffdBackend.Stat.ERRORS) != 0) {
                    out.append(" (last error: errno ").append(b.stat(UffdBackend.Stat.LAST_ERRNO)).append(" at page ")
                        .append(b.stat(UffdBackend.Stat.LAST_ERROR_PAGE)).append(')');
                }
            }
            return out.toString();
        }

        synchronized void forget() {
            created.clear();
        }
    }
}
