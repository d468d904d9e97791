package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
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
 * (1) Fault service: right after a compaction pause, the mutator touches {@value #PAGES}
 * distinct to-space pages (the top ones, which the ascending compactor reaches last), one read
 * each; the score is time per page. Each iteration is one pause followed by one pass. The floors
 * are {@link FaultFloorBench} and {@link MemcpyBench}, in the same JMH run.
 *
 * <p>Per-touch latencies go to an HdrHistogram (measurement iterations only), printed at the end
 * of the trial with the number of faults actually served (a page the compactor built first is a
 * plain access) and the bytes the hot loop allocated on the Java heap (expected: 0).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5)
@Measurement(iterations = 30)
public class FaultServiceBench {
    public static final int PAGES = 256;

    @Param({"java", "copy", "continue", "move"})
    public String backend;

    /** Heap capacity in MiB; the live set is 3/8 of it. */
    @Param({"64"})
    public int heapMb;

    @Param({"1"})
    public int compactorThreads;

    private Heap heap;
    private BenchSupport.LiveSet live;
    private Mutator m;
    private Histogram hist;
    private boolean recording;
    private long faultsAtStart;
    private long faultsServed;
    private long touches;
    private long hotAllocated;

    @Setup(Level.Trial)
    public void setUp() {
        heap = BenchSupport.newHeap(backend, (long) heapMb << 20, compactorThreads);
        Mutator t = heap.attach();
        try {
            live = BenchSupport.LiveSet.build(t, ((long) heapMb << 20) * 3 / 8, PAGES);
        } finally {
            t.close();
        }
        hist = Latencies.newHistogram();
    }

    @Setup(Level.Iteration)
    public void pause(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
        m = heap.attach();
        m.collect();
        live.refreshTopRefs();
        faultsAtStart = BenchSupport.faults(heap);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long touchPages() {
        long a0 = Latencies.threadAllocatedBytes();
        int[] refs = live.topRefs;
        Mutator mu = m;
        Histogram h = recording ? hist : null;
        long sum = 0;
        for (int i = 0; i < refs.length; i++) {
            sum += BenchSupport.LiveSet.timedTouch(mu, refs[i], h);
        }
        hotAllocated += Latencies.threadAllocatedBytes() - a0;
        return sum;
    }

    @TearDown(Level.Iteration)
    public void finishCycle() {
        if (recording) {
            faultsServed += BenchSupport.faults(heap) - faultsAtStart;
            touches += PAGES;
        }
        heap.awaitCompaction();
        m.close();
        m = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (hist != null && hist.getTotalCount() > 0) {
                System.out.println();
                System.out.println("[fault-service " + backend + " heap=" + heapMb + "m] per-page " + Latencies.summary(hist)
                        + "; faults served " + faultsServed + " of " + touches + " touches; hot loop allocated "
                        + hotAllocated + " B");
            }
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }
}
