package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.HeapBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.testing.ModelRunner;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.foreign.FunctionDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Assumptions;

/**
 * Probe-driven assumptions, a factory that remembers its backends (for their native counters), a
 * heap whose compaction is held back in thread delivery, a bounded wait for a native counter, and
 * the native test hooks that several tests set.
 */
final class UffdTestSupport {
    private static final UffdProbe.Report REPORT = UffdProbe.probe();

    private UffdTestSupport() {
    }

    /** True if the mode can run here. */
    static boolean available(Mode mode) {
        return REPORT.mode(mode).available();
    }

    /**
     * Runs {@code body} with the seed given as {@code -Dfaultline.seed=N}, or a new one; a failure
     * names the seed, {@code label} and the command that replays it.
     */
    static void withSeed(String testClass, String label, LongConsumer body) {
        long given = ModelRunner.replaySeed();
        long seed = given >= 0 ? given : System.nanoTime();
        try {
            body.accept(seed);
        } catch (Throwable t) {
            throw new AssertionError("seed " + seed + " (" + label + "); replay: mvn -pl uffd-backend test -Dtest="
                + testClass + " -Dfaultline.seed=" + seed + ": " + t, t);
        }
    }

    /** Skips (reported skipped, with the probe's reason) where the mode cannot run. */
    static void assumeAvailable(Mode mode) {
        UffdProbe.ModeStatus s = REPORT.mode(mode);
        Assumptions.assumeTrue(s.available(), () -> "uffd " + mode + " unavailable: " + s.detail());
    }

    /**
     * A heap of {@code mode} (16 MiB, thread delivery, backstop off, verified after every cycle)
     * holding a list of {@link #CELLS} cells (one to-space page, {@link SigbusDeliveryTest#buildList})
     * as global {@code list}, collected once with its compactor held back by {@code compactors}: the
     * list's page stays unbuilt until a fault builds it or {@code compactors.release} lets it go.
     * The caller closes {@code heap}.
     */
    record HeldCompaction(Heap heap, UffdBackend uffd, FailedPageBuildTest.Damaging compactors, int list) {
        static final int CELLS = 50;

        static HeldCompaction start(Mode mode) {
            UffdBackend[] uffd = {null};
            FailedPageBuildTest.Damaging[] holder = {null};
            Heap heap = Heap.create(HeapConfig.builder().capacity(16L << 20).pageSize(4096).verifyAfterGc(true)
                .compactorThreads(1).backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(uffd[0] =
                    new UffdBackend(mode, UffdOptions.defaults().withDelivery(Delivery.THREAD).withBackstop(Duration.ZERO), c, ps),
                    true)).build());
            try (Mutator m = heap.attach()) {
                int list = heap.globals().add(m.handle(SigbusDeliveryTest.buildList(m, CELLS)));
                holder[0].hold();
                m.collect();
                return new HeldCompaction(heap, uffd[0], holder[0], list);
            } catch (RuntimeException | Error e) {
                holder[0].release.countDown();
                heap.close();
                throw e;
            }
        }
    }

    /**
     * Makes every page build in this process take at least {@code ns} longer, 0: off
     * ({@code fl_test_set_build_delay}); a build that is waiting out the delay re-reads it, so
     * setting 0 also ends the builds under way. Only after {@link #assumeAvailable}: it loads the
     * native library.
     */
    static void setBuildDelay(long ns) {
        setHook("fl_test_set_build_delay", ns);
    }

    /**
     * Sets the shortest run MOVE mode moves, in every heap of this process, 0: the default
     * ({@code fl_test_set_move_min_run}). Only after {@link #assumeAvailable}.
     */
    static void setMoveMinRun(long pages) {
        setHook("fl_test_set_move_min_run", pages);
    }

    private static void setHook(String symbol, long value) {
        try {
            NativeLibrary.downcall(symbol, FunctionDescriptor.ofVoid(JAVA_LONG)).invokeExact(value);
        } catch (Throwable t) {
            throw new IllegalStateException(symbol + "(" + value + ") failed", t);
        }
    }

    /** Polls {@code value} until it reaches 1; fails after 30 s, naming {@code what}. */
    static void awaitAtLeastOne(String what, LongSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (value.getAsLong() < 1) {
            assertTrue(System.nanoTime() < deadline, "waited 30 s for " + what);
            Thread.sleep(1);
        }
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
