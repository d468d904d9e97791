package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.uffd.UffdOptions;
import io.faultline.workload.BinaryTrees;
import io.faultline.workload.GcBench;
import io.faultline.workload.GcOld;
import io.faultline.workload.Workload;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * (5) End-to-end workloads on a fresh heap per iteration: binary-trees (depth {@code depth}),
 * GCBench (published depth 16, stretch 18) and GCOld (16 MiB live, 200 steps), as
 * {@code faultline run} runs them. Score: wall time of the run; the trial prints the GC pauses.
 * Delivery, page supply, run length and fault-around are parameters ({@code default}: the heap's
 * default; a combination a backend does not take is skipped with a one-line reason).
 * Workload text (binary-trees' published output) is discarded here; {@code faultline run} prints it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class WorkloadBench {
    @Param({"java", "copy", "continue", "move"})
    public String backend;

    @Param({"binarytrees", "gcbench", "gcold"})
    public String workload;

    @Param({"1"})
    public int threads;

    /** binary-trees max depth (the CLBG default is 21; 16 keeps a run near a second here). */
    @Param({"16"})
    public int depth;

    /** {@code concurrent}: concurrent marking (the default); {@code stw}: marking and planning in the pause. */
    @Param({"concurrent"})
    public String marking;

    /** Heap capacity in MiB; 0: the workload's default for {@code faultline run}. */
    @Param({"0"})
    public int heapMb;

    /** uffd: thread or sigbus; java: thread. */
    @Param({"thread"})
    public String delivery;

    /** uffd: fresh, recycle, keep or fallocate; java: fresh. */
    @Param({"fresh"})
    public String supply;

    /** Pages per compaction run; {@code default}: the heap's default. */
    @Param({"default"})
    public String runPages;

    /** Pages a fault builds after its own; {@code default}: the heap's default. */
    @Param({"default"})
    public String faultAround;

    private UffdOptions options;

    private Heap heap;
    private Workload w;
    private boolean recording;
    private final PrintStream discard = new PrintStream(OutputStream.nullOutputStream());
    private long cycles;
    private long pauseTotal;
    private long pauseMax;
    private long faults;
    private int runs;

    @Setup(Level.Trial)
    public void setUp() {
        options = BenchSupport.options(backend, delivery, supply);
        BenchSupport.requireAvailable(backend, options);
        w = switch (workload) {
            case "binarytrees" -> new BinaryTrees(depth);
            case "gcbench" -> new GcBench(GcBench.PUBLISHED_DEPTH);
            case "gcold" -> new GcOld(42, 16, 200);
            default -> throw new IllegalArgumentException("workload " + workload);
        };
    }

    @Setup(Level.Iteration)
    public void newHeap(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
        long capacity = heapMb > 0 ? (long) heapMb << 20
                : io.faultline.cli.ByteSize.parse(io.faultline.cli.RunOptions.DEFAULT_HEAP.get(workload));
        heap = Heap.create(BenchSupport.config(backend, options, capacity, 1)
                .concurrentMarking(marking.equals("concurrent"))
                .runPages(BenchSupport.pagesParam(runPages, HeapConfig.DEFAULT_RUN_PAGES))
                .faultAroundPages(BenchSupport.pagesParam(faultAround, HeapConfig.DEFAULT_FAULT_AROUND_PAGES)).build());
    }

    @Benchmark
    public long run() {
        LongAdder allocated = new LongAdder();
        w.run(heap, threads, discard, allocated);
        return allocated.sum();
    }

    @TearDown(Level.Iteration)
    public void closeHeap() {
        try {
            if (recording) {
                HeapStats s = heap.stats();
                cycles += s.gcCycles();
                pauseTotal += s.pauseTotalNanos();
                pauseMax = Math.max(pauseMax, s.pauseMaxNanos());
                faults += s.faults();
                runs++;
            }
        } finally {
            heap.close();
            heap = null;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (heap != null) {
            heap.close();
        }
        if (runs > 0) {
            System.out.println();
            System.out.println(String.format(Locale.ROOT,
                    "[workload %s %s delivery=" + delivery + " supply=" + supply + " run=" + runPages + " fault-around=" + faultAround
                            + " threads=%d marking=%s] per run: %.1f GC cycles, pause total %.1f ms, pause max %.1f ms (over all runs), %.0f faults",
                    workload, backend, threads, marking, (double) cycles / runs, pauseTotal / 1e6 / runs, pauseMax / 1e6, (double) faults / runs));
        }
    }
}
