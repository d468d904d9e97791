package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
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
 * (4) Pause time vs heap size at a fixed root count: {@code roots} global roots, each on a
 * 64-byte object (the live set is fixed), and before each collection garbage up to
 * {@code fill} of the capacity (so the used region grows with the heap). The score is the
 * mutator's {@link Mutator#collect()} call (stop request to resume, with concurrent compaction);
 * the trial also prints the collector's own pause figure.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2)
@Measurement(iterations = 8)
public class PauseBench {
    @Param({"java", "copy", "continue", "move"})
    public String backend;

    @Param({"16", "64", "256"})
    public int heapMb;

    @Param({"1024"})
    public int roots;

    /** Fraction of the capacity filled with garbage before each collection. */
    @Param({"0.5"})
    public double fill;

    private Heap heap;
    private Mutator m;
    private boolean recording;
    private long pause0;
    private long pauseNanos;
    private long cycles;

    @Setup(Level.Trial)
    public void setUp() {
        heap = BenchSupport.newHeap(backend, (long) heapMb << 20, 1);
        Mutator t = heap.attach();
        try {
            for (int i = 0; i < roots; i++) {
                int obj = t.allocateLongArray(6);
                heap.globals().add(obj);
            }
        } finally {
            t.close();
        }
    }

    @Setup(Level.Iteration)
    public void fillGarbage(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
        m = heap.attach();
        long target = (long) (heap.config().capacity() * fill);
        while (heap.stats().used() < target) {
            m.allocateLongArray(510);
        }
        pause0 = heap.stats().pauseTotalNanos();
    }

    @Benchmark
    public void pause() {
        m.collect();
    }

    @TearDown(Level.Iteration)
    public void finish() {
        HeapStats s = heap.stats();
        if (recording) {
            pauseNanos += s.pauseTotalNanos() - pause0;
            cycles++;
        }
        heap.awaitCompaction();
        m.close();
        m = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (cycles > 0) {
                System.out.println();
                System.out.println(String.format(Locale.ROOT, "[pause %s heap=%dm roots=%d fill=%.2f] collector pause mean %.3f ms over %d cycles",
                        backend, heapMb, roots, fill, pauseNanos / 1e6 / cycles, cycles));
            }
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }
}
