package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import java.util.Locale;
import java.util.Map;
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
 * (2) Compaction throughput: one collection of a {@code 3/8 x heap} live set, then the mutator
 * sleeps ({@code Heap.awaitCompactors}: it touches nothing, so no faults, and builds nothing)
 * until the compactor threads have built every page.
 * The score is the whole cycle (pause + concurrent compaction) in ms; the trial prints the
 * collector's compaction phase alone as MB of live data per second, and (uffd) ioctls per page and
 * install time per page from the backend's counters. Floor: {@link MemcpyBench}'s bandwidth over a
 * buffer of the same size. Run length and page supply are parameters: {@code -p runPages=1,8,64,512}
 * sweeps the run length, {@code -p supply=fresh,recycle} (copy, move) or {@code fresh,keep,fallocate}
 * (continue) the supplies (a supply a mode does not take is skipped with a one-line reason).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3)
@Measurement(iterations = 10)
public class CompactionBench {
    @Param({"java", "copy", "continue", "move"})
    public String backend;

    @Param({"64"})
    public int heapMb;

    @Param({"1", "2"})
    public int compactorThreads;

    /**
     * Pages per native compaction step (uffd only): the default 64, and "all in one call"
     * (from-space released only at the end), to measure what progressive release costs.
     */
    @Param({"64", "9223372036854775807"})
    public long stepPages;

    /** Pages per claimed run, one install ioctl each ({@code default}: the heap's default). */
    @Param({"1", "64"})
    public String runPages;

    /** Where to-space pages are built (uffd: {@code fresh}, {@code recycle}, {@code keep}, {@code fallocate}; java: fresh). */
    @Param({"fresh"})
    public String supply;

    private Heap heap;
    private BenchSupport.LiveSet live;
    private Mutator m;
    private boolean recording;
    private long compactionNanos0;
    private long cycles0;
    private long faults0;
    private long measuredNanos;
    private long measuredCycles;
    private long measuredFaults;
    private Map<String, Long> counters0;
    private long installed;
    private long installRuns;
    private long installNs;

    @Setup(Level.Trial)
    public void setUp() {
        heap = Heap.create(BenchSupport.config(backend, BenchSupport.options(backend, "thread", supply), (long) heapMb << 20,
                compactorThreads).compactionStepPages(stepPages)
                .runPages(BenchSupport.pagesParam(runPages, HeapConfig.DEFAULT_RUN_PAGES)).build());
        Mutator t = heap.attach();
        try {
            live = BenchSupport.LiveSet.build(t, ((long) heapMb << 20) * 3 / 8, 1);
        } finally {
            t.close();
        }
    }

    @Setup(Level.Iteration)
    public void begin(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
        m = heap.attach();
        HeapStats s = heap.stats();
        compactionNanos0 = s.compactionNanos();
        cycles0 = s.gcCycles();
        faults0 = BenchSupport.faults(heap);
        counters0 = heap.backendCounters();
    }

    @Benchmark
    public void collectAndCompact() {
        m.collect();
        heap.awaitCompactors(); // sleeps: a waiter that wakes often makes every MOVE interrupt it
    }

    @TearDown(Level.Iteration)
    public void end() {
        heap.awaitCompaction();
        m.close();
        m = null;
        if (recording) {
            HeapStats s = heap.stats();
            measuredNanos += s.compactionNanos() - compactionNanos0;
            measuredCycles += s.gcCycles() - cycles0;
            measuredFaults += BenchSupport.faults(heap) - faults0;
            Map<String, Long> c = heap.backendCounters();
            installed += c.getOrDefault("pages_installed", 0L) - counters0.getOrDefault("pages_installed", 0L);
            installRuns += c.getOrDefault("install_runs", 0L) - counters0.getOrDefault("install_runs", 0L);
            installNs += c.getOrDefault("install_ns", 0L) - counters0.getOrDefault("install_ns", 0L);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (measuredCycles > 0) {
                double mb = live.liveBytes / 1e6;
                double ms = measuredNanos / 1e6 / measuredCycles;
                System.out.println();
                System.out.println(String.format(Locale.ROOT,
                        "[compaction %s heap=%dm threads=%d run=%s supply=%s] live %.1f MB, compaction phase %.2f ms/cycle = %.0f MB/s "
                                + "(%d cycles, %d faults)%s",
                        backend, heapMb, compactorThreads, runPages, supply, mb, ms, mb / (ms / 1e3), measuredCycles, measuredFaults,
                        installed == 0 ? "" : String.format(Locale.ROOT, "; %.3f ioctls/page, install %.3f us/page",
                                (double) installRuns / installed, installNs / 1e3 / installed)));
            }
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }
}
