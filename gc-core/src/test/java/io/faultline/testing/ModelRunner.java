package io.faultline.testing;

import io.faultline.backend.HeapBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.verify.VerifyReport;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs seeded {@link RandomProgram}s on a fresh heap: one or several mutator threads, each with
 * its own program and model, plus shared read-only objects behind global roots. The heap runs
 * with checked access and the verifier after every collection. A failure is rethrown with the
 * seed and the command that replays it.
 *
 * <p>With concurrent marking the seed also picks the marking threads (1..3), the headroom at
 * which cycles start by themselves (10..70%, so that they start often while mutators run) and
 * {@link JitteryMarking} hooks that hold the collector for a few tens of microseconds at random
 * points, so that mutators rewire, drop and allocate while the marker is mid-way.
 *
 * <p>Reused by uffd-backend's tests (gc-core's test-jar) with their own backend factories.
 */
public final class ModelRunner {
    /** What one program run observed. */
    public record Outcome(long seed, HeapStats stats, long exhausted) {}

    /** Sums of outcomes over a test's programs. */
    public static final class Totals {
        public long cycles;
        public long faults;
        public long exhausted;
        public long concurrentCycles;
        public long youngCycles;
        public long abandonedCycles;
        public long fullPauses;
        public long blackBytes;
        public long satbEntries;

        public void add(Outcome o) {
            HeapStats s = o.stats();
            cycles += s.gcCycles();
            faults += s.faults();
            exhausted += o.exhausted();
            concurrentCycles += s.concurrentCycles();
            youngCycles += s.youngCycles();
            abandonedCycles += s.abandonedCycles();
            fullPauses += s.fullPauses().count();
            blackBytes += s.blackBytes();
            satbEntries += s.satbEntries();
        }

        @Override
        public String toString() {
            return cycles + " GC cycles (" + concurrentCycles + " concurrent, " + youngCycles + " young, " + fullPauses + " full pauses, "
                    + abandonedCycles + " concurrent cycles abandoned), " + faults + " faults, " + exhausted
                    + " heap-exhausted recoveries, " + satbEntries + " SATB entries, " + blackBytes
                    + " bytes allocated black (floating garbage at most that)";
        }
    }

    private final String replayHint;
    private final HeapBackend.Factory backend;
    private final boolean concurrent;
    private final boolean concurrentMarking;

    /**
     * Concurrent marking on (the heap's default).
     *
     * @param replayHint how to replay, e.g. {@code mvn -pl gc-core test -Dtest=ModelTest}; the
     *                   runner appends {@code -Dfaultline.seed=N}
     * @param concurrent concurrent compaction
     */
    public ModelRunner(String replayHint, HeapBackend.Factory backend, boolean concurrent) {
        this(replayHint, backend, concurrent, true);
    }

    /** As above, choosing concurrent or stop-the-world marking. */
    public ModelRunner(String replayHint, HeapBackend.Factory backend, boolean concurrent, boolean concurrentMarking) {
        this.replayHint = replayHint;
        this.backend = backend;
        this.concurrent = concurrent;
        this.concurrentMarking = concurrentMarking;
    }

    /** The seed given with {@code -Dfaultline.seed}, or -1. */
    public static long replaySeed() {
        String s = System.getProperty("faultline.seed");
        return s == null || s.isBlank() ? -1 : Long.parseLong(s.trim());
    }

    /** Runs one program with {@code threads} mutators; every parameter derives from the seed. */
    public Outcome run(long seed, int threads) {
        try {
            return runUnchecked(seed, threads);
        } catch (Throwable t) {
            AssertionError e = new AssertionError("model test failed for seed " + seed + " (threads=" + threads
                    + ", concurrent=" + concurrent + ", concurrentMarking=" + concurrentMarking + "); replay: " + replayHint + " -Dfaultline.seed=" + seed
                    + " : " + t, t);
            System.err.println(e.getMessage());
            throw e;
        }
    }

    private Outcome runUnchecked(long seed, int threads) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        int pages = new int[] {16, 32, 64, 96}[r.nextInt(4)] * threads;
        int tlab = new int[] {256, 1024, 4096}[r.nextInt(3)];
        boolean hoard = r.nextInt(10) == 0; // some programs hoard until the heap is exhausted
        int steps = hoard ? r.nextInt(1500, 3000) : r.nextInt(150, 450);
        int maxRoots = hoard ? r.nextInt(300, 800) : r.nextInt(4, 40);
        int collectPercent = r.nextInt(0, 4);
        int compactors = r.nextInt(1, 3);
        int markers = r.nextInt(1, 4);
        int headroom = r.nextInt(10, 71);
        long jitterSeed = r.nextLong();
        long runPages = new long[] {1, 4, 64}[r.nextInt(3)];
        long faultAround = new long[] {0, 3, 16}[r.nextInt(3)];
        HeapConfig cfg = HeapConfig.builder()
                .capacity((long) pages * 4096)
                .pageSize(4096)
                .tlabBytes(tlab)
                .checkedAccess(true)
                .verifyAfterGc(true)
                .concurrentCompaction(concurrent)
                .compactorThreads(compactors)
                .concurrentMarking(concurrentMarking)
                .markingThreads(markers)
                .markingHeadroomPercent(headroom)
                .youngCycles((jitterSeed & 1) == 0) // half the programs: cycles that start by themselves may be young
                .markingHooks(concurrentMarking ? new JitteryMarking(jitterSeed) : io.faultline.gc.MarkingHooks.NONE)
                .runPages(runPages)
                .faultAroundPages(faultAround)
                .backend(backend)
                .build();
        try (Heap heap = Heap.create(cfg)) {
            int nShared = threads > 1 ? r.nextInt(1, 8) : r.nextInt(0, 3);
            int[] slots = new int[nShared];
            List<ModelObject> shared;
            try (Mutator m = heap.attach()) {
                shared = RandomProgram.buildShared(m, nShared, r.nextLong(), slots);
            }
            long[] seeds = new long[threads];
            for (int i = 0; i < threads; i++) {
                seeds[i] = r.nextLong();
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long[] exhausted = new long[threads];
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int id = i;
                ts.add(Thread.ofPlatform().name("mutator-" + i).start(() -> {
                    try (Mutator m = heap.attach()) {
                        RandomProgram p = new RandomProgram(heap, m, seeds[id], maxRoots, shared, slots);
                        p.run(steps, collectPercent);
                        exhausted[id] = p.exhaustedCount();
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            for (Thread t : ts) {
                if (!t.join(java.time.Duration.ofSeconds(120))) {
                    throw new AssertionError("mutator " + t.getName() + " did not finish within 120 s (hang)");
                }
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get().toString(), failure.get());
            }
            heap.awaitCompaction(); // a concurrent cycle the programs requested finishes first
            VerifyReport report = heap.verify();
            if (!report.ok()) {
                throw new AssertionError("final verification: " + report);
            }
            HeapStats st = heap.stats();
            if (st.verifiedCycles() != st.gcCycles()) {
                throw new AssertionError("verifier ran after " + st.verifiedCycles() + " of " + st.gcCycles() + " cycles");
            }
            long ex = 0;
            for (long e : exhausted) {
                ex += e;
            }
            return new Outcome(seed, st, ex);
        }
    }

}
