package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * (7) Pause time vs live-set size at a fixed root count and a fixed used heap: a live set of
 * {@code liveMb} of 32-byte objects (reached from one global root through a directory of
 * arrays), {@code roots} more global roots on small objects, and before each collection garbage
 * up to half the heap, so both live sizes collect the same used heap. The score is the
 * mutator's {@link Mutator#collect()} call (with concurrent marking: the whole cycle up to its
 * flip, concurrent phases included); what matters is what the trial prints: the collector's
 * pauses per cycle, by kind (initial mark, remark, flip, full), and the longest pause of each
 * cycle (median, mean, max over the measured cycles). Compare {@code liveMb=128} with
 * {@code liveMb=3}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@Warmup(iterations = 3)
@Measurement(iterations = 20)
public class LivePauseBench {
    private static final ObjectType BOX = ObjectType.builder("bench.LiveBox").ref("next").i64("value").build();
    private static final int PER_ARRAY = 4096;

    @Param({"java", "copy"})
    public String backend;

    @Param({"3", "128"})
    public int liveMb;

    @Param({"512"})
    public int heapMb;

    @Param({"1024"})
    public int roots;

    @Param({"concurrent", "stw"})
    public String marking;

    private Heap heap;
    private Mutator m;
    private boolean recording;
    private HeapStats before;
    private long cycles;
    private final long[] perKindSum = new long[4];
    private final long[] perKindMax = new long[4];
    private long cycleMaxSum;
    private long cycleMaxMax;
    private final java.util.List<Long> cycleMaxes = new java.util.ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        BenchSupport.requireAvailable(backend);
        heap = Heap.create(HeapConfig.builder().capacity((long) heapMb << 20).backend(BenchSupport.factory(backend))
                .concurrentMarking(marking.equals("concurrent")).build());
        Mutator t = heap.attach();
        try {
            long objects = ((long) liveMb << 20) / 32;
            int arrays = (int) ((objects + PER_ARRAY - 1) / PER_ARRAY);
            int dir = t.push(t.allocateRefArray(arrays));
            for (int a = 0; a < arrays; a++) {
                t.setRef(t.handle(dir), a, t.allocateRefArray(PER_ARRAY));
                for (int i = 0; i < PER_ARRAY; i++) {
                    int b = t.allocate(BOX);
                    t.setLong(b, BOX.field("value"), i);
                    t.setRef(t.getRef(t.handle(dir), a), i, b);
                }
            }
            heap.globals().add(t.handle(dir));
            for (int i = 0; i < roots; i++) {
                heap.globals().add(t.allocateLongArray(6));
            }
            t.collect();
            heap.awaitCompaction();
        } finally {
            t.close();
        }
    }

    @Setup(Level.Iteration)
    public void fillGarbage(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
        m = heap.attach();
        long target = heap.config().capacity() / 2;
        while (heap.stats().used() < target) {
            m.allocateLongArray(510);
        }
        heap.awaitCompaction();
        before = heap.stats();
    }

    @Benchmark
    public void collect() {
        m.collect();
    }

    @TearDown(Level.Iteration)
    public void finish() {
        HeapStats s = heap.stats();
        if (recording && s.gcCycles() == before.gcCycles() + 1) {
            long[] kind = {
                delta(s.initialMarkPauses(), before.initialMarkPauses()),
                delta(s.remarkPauses(), before.remarkPauses()),
                delta(s.flipPauses(), before.flipPauses()),
                delta(s.fullPauses(), before.fullPauses())};
            long cycleMax = 0;
            for (int k = 0; k < 4; k++) {
                perKindSum[k] += kind[k];
                perKindMax[k] = Math.max(perKindMax[k], kind[k]);
                cycleMax = Math.max(cycleMax, kind[k]);
            }
            cycleMaxSum += cycleMax;
            cycleMaxes.add(cycleMax);
            cycleMaxMax = Math.max(cycleMaxMax, cycleMax);
            cycles++;
        }
        heap.awaitCompaction();
        m.close();
        m = null;
    }

    /** The pause of one kind in the one cycle since {@code b} (each kind pauses at most once per cycle). */
    private static long delta(HeapStats.Pauses a, HeapStats.Pauses b) {
        return a.totalNanos() - b.totalNanos();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (cycles > 0) {
                System.out.println();
                java.util.Collections.sort(cycleMaxes);
                System.out.println(String.format(Locale.ROOT,
                        "[livepause %s live=%dm heap=%dm roots=%d marking=%s] over %d cycles: longest pause per cycle median %.3f ms mean %.3f ms max %.3f ms;"
                                + " mean/max by kind: init mark %.3f/%.3f remark %.3f/%.3f flip %.3f/%.3f full %.3f/%.3f ms",
                        backend, liveMb, heapMb, roots, marking, cycles, cycleMaxes.get(cycleMaxes.size() / 2) / 1e6,
                        cycleMaxSum / 1e6 / cycles, cycleMaxMax / 1e6,
                        perKindSum[0] / 1e6 / cycles, perKindMax[0] / 1e6, perKindSum[1] / 1e6 / cycles, perKindMax[1] / 1e6,
                        perKindSum[2] / 1e6 / cycles, perKindMax[2] / 1e6, perKindSum[3] / 1e6 / cycles, perKindMax[3] / 1e6));
            }
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }
}
