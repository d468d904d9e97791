package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
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
 * each, in ascending address order; the score is time per page (with fault-around, the amortised
 * stall per page). Each iteration is one pause followed by one pass. Delivery, page supply and
 * fault-around are parameters. The floors are {@link FaultFloorBench} (same mode and delivery) and
 * {@link MemcpyBench}, in the same JMH run.
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

    /** uffd: {@code thread} (the fault-service thread) or {@code sigbus} (a handler in the faulting thread); java: thread. */
    @Param({"thread", "sigbus"})
    public String delivery;

    /** Where to-space pages are built (uffd: fresh, recycle, keep, fallocate; java: fresh). */
    @Param({"fresh"})
    public String supply;

    /** Pages a fault builds after its own: 0 (off) and 8 (one fault maps 9 pages). */
    @Param({"0", "8"})
    public String faultAround;

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
        heap = Heap.create(BenchSupport.config(backend, BenchSupport.options(backend, delivery, supply), (long) heapMb << 20,
                compactorThreads).faultAroundPages(BenchSupport.pagesParam(faultAround, HeapConfig.DEFAULT_FAULT_AROUND_PAGES)).build());
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
        for (int i = refs.length - 1; i >= 0; i--) { // ascending addresses: refs are highest first
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
                System.out.println("[fault-service " + backend + " delivery=" + delivery + " supply=" + supply + " fault-around="
                        + faultAround + " heap=" + heapMb + "m] per-page " + Latencies.summary(hist)
                        + "; faults served " + faultsServed + " of " + touches + " touches; hot loop allocated "
                        + hotAllocated + " B");
            }
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }
}
