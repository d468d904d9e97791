package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.PageBuildException;
import io.faultline.backend.PageProtocol;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.PageStates;
import io.faultline.testing.ModelRunner;
import io.faultline.uffd.NativeLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The page protocol's two halves agree on outcomes, not just on page bytes: the Java
 * {@link PageProtocol} and the C {@code fl_protocol.c} (through its test double,
 * {@code fl_protocol_test.c}) are driven by the same seeded schedules, one protocol function per
 * step, each side on its own tables. After every step the results, every page state, every
 * control-block word and what each test backend did (builds, installs, pages installed, bytes
 * released, pages poisoned) must be equal. Schedules interleave virtual threads that claim runs
 * and build and map them later, faults on pages others own or have built, compactor steps,
 * sweeps, frontier advances, pauses (new cycles), stale claimers that still hold an old epoch,
 * waiting faults that hint the compactors to the run after theirs and compactor steps that take the hint,
 * a waiting fault's help ahead, and injected build (EUCLEAN) and install (errno) failures.
 */
class ProtocolDifferentialTest {
    static final int SCHEDULES = Integer.getInteger("faultline.protocolSchedules", 300);
    static final int PAGE = 4096;
    static final int PAGES = 64;

    @Test
    void javaAndCProtocolsAgreeStepByStep() {
        Assumptions.assumeTrue(NativeLibrary.isLoaded(), () -> "native library: " + NativeLibrary.failureReason());
        long replay = ModelRunner.replaySeed();
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        SplittableRandom seeds = new SplittableRandom(base);
        long steps = 0;
        int n = replay >= 0 ? 1 : SCHEDULES;
        Map<String, Long> seen = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long seed = replay >= 0 ? replay : seeds.nextLong() & Long.MAX_VALUE;
            try (Schedule s = new Schedule(seed)) {
                steps += s.run(seen);
            } catch (Throwable t) {
                throw new AssertionError("protocol schedule " + seed + " diverged; replay: mvn -pl uffd-backend test "
                    + "-Dtest=ProtocolDifferentialTest -Dfaultline.seed=" + seed + " : " + t.getMessage(), t);
            }
        }
        System.out.println("ProtocolDifferentialTest baseSeed=" + base + ": " + n + " schedules, " + steps + " steps, "
            + "outcomes seen " + seen);
        if (replay < 0) {
            // The schedules must reach the interesting outcomes, or the comparison proves little.
            for (String k : List.of("claim.STALE", "claim.TAKEN", "fault.OWNED", "fault.MAPPED_RUN", "fault.BUILT",
                    "build.FAILED", "install.FAILED", "mapRun.partial", "fault.HINT", "hint.TAKEN", "help.BUILT")) {
                assertTrue(seen.getOrDefault(k, 0L) > 0, "no schedule reached " + k + ": " + seen);
            }
        }
    }

    /** One seeded schedule over a Java side and a C side. */
    static final class Schedule implements AutoCloseable {
        final SplittableRandom r;
        final GcMetadata jmd = new GcMetadata((long) PAGES * PAGE, PAGE);
        final GcMetadata cmd = new GcMetadata((long) PAGES * PAGE, PAGE);
        final JavaPages jpages = new JavaPages();
        final PageProtocol java = new PageProtocol(jmd, jpages);
        final long c;
        /** Virtual threads' claimed runs, {first, n, built?}. */
        final List<long[]> owned = new ArrayList<>();
        final List<Long> oldEpochs = new ArrayList<>();
        long epoch;
        int step;

        Schedule(long seed) {
            this.r = new SplittableRandom(seed);
            this.c = Native.newTest(cmd);
        }

        long run(Map<String, Long> seen) {
            pause();
            int n = r.nextInt(40, 160);
            for (step = 0; step < n; step++) {
                if (failed()) {
                    break;
                }
                doStep(seen);
                compare();
            }
            return step;
        }

        private boolean failed() {
            return (jmd.control().poll() & ControlBlock.POLL_FAILED) != 0;
        }

        private void count(Map<String, Long> seen, String what) {
            seen.merge(what, 1L, Long::sum);
        }

        void doStep(Map<String, Long> seen) {
            long left = jmd.control().get(ControlBlock.PAGES_LEFT);
            int op = r.nextInt(100);
            long end = jmd.control().get(ControlBlock.END_PAGE);
            long first = jmd.control().get(ControlBlock.FIRST_PAGE);
            if (op < 6 && left == 0 && owned.isEmpty()) {
                pause();
            } else if (op < 22) { // a virtual thread claims a run now and builds it later
                long p = first + r.nextLong(Math.max(1, end - first));
                boolean stale = !oldEpochs.isEmpty() && r.nextInt(4) == 0;
                long e = stale ? oldEpochs.get(r.nextInt(oldEpochs.size())) : epoch;
                long max = 1 + r.nextInt(6);
                long jr = java.claimRun(p, max, end, e);
                long cr = Native.claimRun(c, p, max, end, e);
                same("claimRun(" + p + ", " + max + ", epoch " + e + ")", jr, cr);
                count(seen, jr < 0 ? "claim.STALE" : jr == 0 ? "claim.TAKEN" : "claim.OK");
                if (jr > 0) {
                    owned.add(new long[] {p, jr, 0});
                }
            } else if (op < 40 && !owned.isEmpty()) { // an owner builds, or maps what it built
                int i = r.nextInt(owned.size());
                long[] run = owned.get(i);
                int path = ControlBlock.PATH_COMPACTOR;
                if (run[2] == 0) {
                    long jb = java.buildRun(run[0], run[1], path);
                    long cb = Native.buildRun(c, run[0], run[1], path);
                    same("buildRun(" + run[0] + ", " + run[1] + ")", jb, cb);
                    if (jb < run[1]) {
                        count(seen, "build.FAILED");
                        run[1] = jb; // the built prefix still gets mapped
                    }
                    run[2] = 1;
                } else {
                    long jm = java.mapRun(run[0], run[1], path);
                    long cm = Native.mapRun(c, run[0], run[1], path);
                    same("mapRun(" + run[0] + ", " + run[1] + ")", jm, cm);
                    if (jm < run[1]) {
                        count(seen, "mapRun.partial");
                    }
                    if (failed()) {
                        count(seen, "install.FAILED");
                    }
                    owned.remove(i);
                }
            } else if (op < 60) { // a fault: thread delivery (never waits), or SIGBUS on a page nobody owns
                long p = first + r.nextLong(Math.max(1, end - first));
                int st = jmd.pageStates().stateAcquire(p);
                boolean wait = r.nextBoolean() && st != PageStates.PROCESSING && st != PageStates.MAPPING;
                int path = wait ? ControlBlock.PATH_FAULT_SIGBUS : ControlBlock.PATH_FAULT_THREAD;
                long hint = jmd.control().get(ControlBlock.FAULT_HINT);
                int jf = java.serveFault(p, wait, path);
                int cf = Native.serveFault(c, p, wait, path);
                same("serveFault(" + p + (wait ? ", waiting)" : ")"), jf, cf);
                count(seen, "fault." + faultName(jf));
                if (jmd.control().get(ControlBlock.FAULT_HINT) != hint) {
                    count(seen, "fault.HINT");
                }
            } else if (op < 65) { // a fault that waits for a page another thread builds helps ahead
                long p = first + r.nextLong(Math.max(1, end - first));
                long jh = java.helpAhead(p, ControlBlock.PATH_FAULT_SIGBUS);
                long ch = Native.helpAhead(c, p, ControlBlock.PATH_FAULT_SIGBUS);
                same("helpAhead(" + p + ")", jh, ch);
                if (jh > 0) {
                    count(seen, "help.BUILT");
                }
            } else if (op < 78) {
                long max = 1 + r.nextInt(8);
                boolean hinted = jmd.control().get(ControlBlock.FAULT_HINT) != 0;
                same("compactStep(" + max + ")", java.compactStep(max), Native.compactStep(c, max));
                if (hinted && jmd.control().get(ControlBlock.FAULT_HINT) == 0) {
                    count(seen, "hint.TAKEN");
                }
            } else if (op < 86) {
                long max = 1 + r.nextInt(8);
                boolean stale = !oldEpochs.isEmpty() && r.nextInt(3) == 0;
                long e = stale ? oldEpochs.get(r.nextInt(oldEpochs.size())) : epoch;
                same("sweep(" + max + ", epoch " + e + ")", java.sweep(max, e, ControlBlock.PATH_BACKSTOP),
                    Native.sweep(c, max, e, ControlBlock.PATH_BACKSTOP));
            } else if (op < 92) {
                int path = r.nextBoolean() ? ControlBlock.PATH_COMPACTOR : ControlBlock.PATH_FAULT_SIGBUS;
                java.advanceFrontier(path);
                Native.advanceFrontier(c, path);
            } else {
                same("activeEpoch", java.activeEpoch(), Native.activeEpoch(c));
            }
        }

        /** A pause: new epoch, new to-space range, first objects, failures to inject, settings. */
        void pause() {
            if (epoch > 0) {
                oldEpochs.add(epoch);
            }
            epoch++;
            long first = r.nextInt(4);
            long end = Math.min(PAGES, first + r.nextInt(1, 40));
            long fromTop = (long) PAGES * PAGE;
            long runPages = 1 + r.nextInt(5);
            long faultAround = r.nextInt(4);
            long releaseBatch = (1 + r.nextInt(3)) * (long) PAGE;
            for (GcMetadata md : new GcMetadata[] {jmd, cmd}) {
                ControlBlock cb = md.control();
                cb.set(ControlBlock.EPOCH, epoch);
                cb.set(ControlBlock.FROM_TOP, fromTop);
                cb.set(ControlBlock.NEW_TOP, end * PAGE);
                cb.set(ControlBlock.FIRST_PAGE, first);
                cb.set(ControlBlock.END_PAGE, end);
                cb.set(ControlBlock.NEXT_PAGE, first);
                cb.set(ControlBlock.FRONTIER_PAGE, first);
                cb.set(ControlBlock.CONSUMED, 0);
                cb.set(ControlBlock.RELEASED, 0);
                cb.set(ControlBlock.FAULT_HINT, 0);
                cb.set(ControlBlock.RELEASE_BATCH, releaseBatch);
                cb.set(ControlBlock.RUN_PAGES, runPages);
                cb.set(ControlBlock.FAULT_AROUND, faultAround);
            }
            SplittableRandom fo = r.split();
            for (long p = first; p < end; p++) {
                long obj = fo.nextInt(4) == 0 ? -1 : Math.min(fromTop - 8, p * PAGE + fo.nextLong(2L * PAGE) & -8L);
                jmd.firstObjects().set(p, obj);
                cmd.firstObjects().set(p, obj);
            }
            jpages.failures.clear();
            Native.fail(c, -1, 0);
            if (r.nextInt(3) == 0) { // a build that will fail, or an install
                long p = first + r.nextLong(Math.max(1, end - first));
                int errno = r.nextBoolean() ? 0 : 12; // 0: EUCLEAN build failure; 12: ENOMEM install
                jpages.failures.put(p, errno);
                Native.fail(c, p, errno);
            }
            for (long p = first; p < end; p++) {
                jmd.pageStates().publish(p, PageStates.UNPROCESSED);
                cmd.pageStates().publish(p, PageStates.UNPROCESSED);
            }
            for (GcMetadata md : new GcMetadata[] {jmd, cmd}) {
                md.control().set(ControlBlock.PAGES_LEFT, end - first);
                md.control().set(ControlBlock.ACTIVE_EPOCH, epoch);
            }
            compare();
        }

        void same(String what, long java, long c) {
            if (java != c) {
                throw new AssertionError("step " + step + ": " + what + ": java " + java + ", C " + c);
            }
        }

        /** Every page state, control word and backend counter must be equal on both sides. */
        void compare() {
            for (long p = 0; p < PAGES; p++) {
                int js = jmd.pageStates().stateAcquire(p);
                int cs = cmd.pageStates().stateAcquire(p);
                if (js != cs) {
                    throw new AssertionError("step " + step + ": page " + p + " is " + PageStates.name(js) + " in Java, "
                        + PageStates.name(cs) + " in C");
                }
            }
            for (long off = 0; off < ControlBlock.BYTES; off += 8) {
                same("control word at offset " + off, jmd.control().get(off), cmd.control().get(off));
            }
            long[] jc = jpages.counts;
            for (int w = 0; w < jc.length; w++) {
                same("test backend count " + w + " (builds, installs, pages installed, bytes released, poisoned, supplied)",
                    jc[w], Native.count(c, w));
            }
        }

        @Override
        public void close() {
            Native.free(c);
            jmd.close();
            cmd.close();
        }
    }

    static String faultName(int r) {
        return switch (r) {
            case PageProtocol.FAULT_MAPPED -> "MAPPED";
            case PageProtocol.FAULT_BUILT -> "BUILT";
            case PageProtocol.FAULT_MAPPED_RUN -> "MAPPED_RUN";
            case PageProtocol.FAULT_OWNED -> "OWNED";
            case PageProtocol.FAULT_STALE -> "STALE";
            case PageProtocol.FAULT_FAILED -> "FAILED";
            default -> "ABANDONED";
        };
    }

    /** The Java twin of fl_protocol_test.c's backend. */
    static final class JavaPages implements PageProtocol.Pages {
        /** Page -> 0 (its build fails with EUCLEAN) or an errno (its install fails). */
        final Map<Long, Integer> failures = new HashMap<>();
        final long[] counts = new long[6];

        @Override
        public void supply(long first, long n) {
            counts[5] += n;
        }

        @Override
        public void build(long page) {
            counts[0]++;
            Integer f = failures.get(page);
            if (f != null && f == 0) {
                throw new PageBuildException(page, page * PAGE, "injected");
            }
        }

        @Override
        public int install(long first, long n) {
            counts[1]++;
            for (long q = first; q < first + n; q++) {
                Integer f = failures.get(q);
                if (f != null && f != 0) {
                    return f;
                }
            }
            counts[2] += n;
            return 0;
        }

        @Override
        public int release(long offset, long bytes) {
            counts[3] += bytes;
            return 0;
        }

        @Override
        public void poison(long page) {
            counts[4]++;
        }
    }

    /** Downcalls to fl_protocol_test.c. */
    static final class Native {
        static final MethodHandle NEW = NativeLibrary.downcall("fl_ptest_new",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
        static final MethodHandle FREE = NativeLibrary.downcall("fl_ptest_free", FunctionDescriptor.ofVoid(JAVA_LONG));
        static final MethodHandle FAIL = NativeLibrary.downcall("fl_ptest_fail",
            FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_INT));
        static final MethodHandle CLAIM_RUN = NativeLibrary.downcall("fl_ptest_claim_run",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle BUILD_RUN = NativeLibrary.downcall("fl_ptest_build_run",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        static final MethodHandle MAP_RUN = NativeLibrary.downcall("fl_ptest_map_run",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        static final MethodHandle COMPACT_STEP = NativeLibrary.downcall("fl_ptest_compact_step",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle SWEEP = NativeLibrary.downcall("fl_ptest_sweep",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        static final MethodHandle SERVE_FAULT = NativeLibrary.downcall("fl_ptest_serve_fault",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT));
        static final MethodHandle HELP_AHEAD = NativeLibrary.downcall("fl_ptest_help_ahead",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        static final MethodHandle ADVANCE = NativeLibrary.downcall("fl_ptest_advance_frontier",
            FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_INT));
        static final MethodHandle ACTIVE_EPOCH = NativeLibrary.downcall("fl_ptest_active_epoch",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        static final MethodHandle COUNT = NativeLibrary.downcall("fl_ptest_count",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT));

        static long newTest(GcMetadata md) {
            try {
                return (long) NEW.invokeExact(md.pageStates().segment(), md.control().segment(),
                    md.firstObjects().segment(), (long) md.pageSize());
            } catch (Throwable t) {
                throw NativeLibrary.rethrow(t);
            }
        }

        static void free(long t) {
            try {
                FREE.invokeExact(t);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static void fail(long t, long page, int errno) {
            try {
                FAIL.invokeExact(t, page, errno);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long claimRun(long t, long first, long max, long limit, long epoch) {
            try {
                return (long) CLAIM_RUN.invokeExact(t, first, max, limit, epoch);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long buildRun(long t, long first, long n, int path) {
            try {
                return (long) BUILD_RUN.invokeExact(t, first, n, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long mapRun(long t, long first, long n, int path) {
            try {
                return (long) MAP_RUN.invokeExact(t, first, n, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long compactStep(long t, long max) {
            try {
                return (long) COMPACT_STEP.invokeExact(t, max);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long sweep(long t, long max, long epoch, int path) {
            try {
                return (long) SWEEP.invokeExact(t, max, epoch, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static int serveFault(long t, long page, boolean wait, int path) {
            try {
                return (int) SERVE_FAULT.invokeExact(t, page, wait ? 1 : 0, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long helpAhead(long t, long page, int path) {
            try {
                return (long) HELP_AHEAD.invokeExact(t, page, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static void advanceFrontier(long t, int path) {
            try {
                ADVANCE.invokeExact(t, path);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long activeEpoch(long t) {
            try {
                return (long) ACTIVE_EPOCH.invokeExact(t);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }

        static long count(long t, int what) {
            try {
                return (long) COUNT.invokeExact(t, what);
            } catch (Throwable e) {
                throw NativeLibrary.rethrow(e);
            }
        }
    }
}
