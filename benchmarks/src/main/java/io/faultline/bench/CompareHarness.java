package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The measurements behind {@code faultline compare}. For the java backend and each uffd mode x
 * delivery (x page supply) variant: the fault service cost per page right after a pause, against
 * that variant's floor measured in the same rounds (one floor pass after each fault round, once
 * its compaction is done, so both see the same minutes of the machine); the compaction throughput with no mutator faults; the
 * pause; the peak resident memory; a per-page cost breakdown from the backend's native counters
 * (build, page supply, install ioctl, fault service); optionally a run-length sweep of the
 * compaction, and a binary-trees reference row against HotSpot G1 ({@link BinaryTreesReference}).
 * Floors measured up front: a raw round trip per mode and delivery, batched installs (N pages per
 * ioctl), a plain minor fault, an anonymous first touch and memcpy.
 *
 * <p>Every heap is closed and every compaction awaited before the next variant starts; a variant
 * that cannot run here gets a row that says why. The touch loop allocates nothing on the Java heap
 * (the histogram is preallocated; the bytes allocated are measured and reported). A figure of the
 * heap below its floor means the floor is not the cheapest way after all: {@link Result#warnings()}
 * says so.
 */
public final class CompareHarness {
    /** Rounds of the batched-install floor after each compaction round (the best one counts). */
    static final int INSTALL_FLOOR_ROUNDS = 4;
    /** Run lengths of the batched-install floor (pages per ioctl). */
    public static final List<Long> INSTALL_RUNS = List.of(1L, 8L, 64L, 512L);
    /** Default heap of the binary-trees reference row. */
    public static final long DEFAULT_BINARYTREES_HEAP = 512L << 20;
    /** How many times the binary-trees reference row runs each runtime (alternating); the median counts. */
    public static final int DEFAULT_BINARYTREES_RUNS = 3;

    /**
     * How much to measure.
     *
     * @param floorPasses    passes of every fault floor before the variants (each variant then adds
     *                       one pass of its own floor per fault round)
     * @param installPages   pages per round of the batched-install floor
     * @param installRounds  rounds of it per mode and run length (the best round is the floor)
     * @param phaseSeconds   a variant's fault rounds, and its compaction rounds, stop early once
     *                       they have taken this long and done a quarter of their rounds (0: never),
     *                       so that one slow mode cannot stretch the run without bound; the rounds
     *                       done are reported
     */
    public record Plan(String name, int heapMb, int pages, int warmupRounds, int faultRounds, int compactionRounds,
                       int floorPasses, int installPages, int installRounds, int phaseSeconds) {
        public static final Plan DEFAULT = new Plan("default", 128, 256, 5, 100, 30, 6, 4096, 5, 40);
        public static final Plan QUICK = new Plan("quick", 32, 128, 2, 16, 6, 3, 1024, 3, 5);
        /** Tiny: proves the machinery works (tests), numbers meaningless. */
        public static final Plan SMOKE = new Plan("smoke", 16, 32, 0, 2, 2, 1, 64, 1, 0);

        /** True if a phase that started at {@code startNanos} and measured {@code done} of {@code planned} rounds may stop. */
        boolean timeUp(long startNanos, int done, int planned) {
            return phaseSeconds > 0 && done >= (planned + 3) / 4 && System.nanoTime() - startNanos > phaseSeconds * 1_000_000_000L;
        }

        long liveBytes() {
            return ((long) heapMb << 20) * 3 / 8;
        }
    }

    /**
     * What to compare.
     *
     * @param modes            a subset of {@link BenchSupport#BACKENDS}, in that order
     * @param deliveries       deliveries of the uffd rows
     * @param supplies         page supplies of the uffd rows: each mode gets a row per supply that
     *                         applies to it (one row that says why, if none does)
     * @param faultAroundPages {@link HeapConfig.Builder#faultAroundPages} of every heap; null: the default
     * @param runPages         one value: {@link HeapConfig.Builder#runPages} of every heap; several: the
     *                         rows use the default and a sweep repeats the compaction per value;
     *                         empty: the default
     * @param binaryTreesDepth 0, or the depth of the binary-trees reference row
     * @param binaryTreesHeap  the heap (and HotSpot -Xmx) of that row
     * @param idleJit          move this JVM's JIT compiler threads to SCHED_IDLE before measuring
     *                         ({@link CompilerThreads}): a compilation then seldom preempts the
     *                         measured threads, and briefly; it cannot be undone in this JVM
     */
    public record Settings(List<String> modes, List<UffdOptions.Delivery> deliveries, List<UffdOptions.PageSupply> supplies,
                           Long faultAroundPages, List<Long> runPages, int binaryTreesDepth, long binaryTreesHeap,
                           int binaryTreesRuns, boolean idleJit) {
        public Settings {
            modes = List.copyOf(modes);
            deliveries = List.copyOf(deliveries);
            supplies = List.copyOf(supplies);
            runPages = List.copyOf(runPages);
        }

        /**
         * The page supplies of the default rows: every mode with fresh pages, and CONTINUE and MOVE
         * again with the resident pages each can reuse ({@code keep}, {@code recycle}), so that the
         * modes are also compared with the page supply equal, not only with the kernel allocating
         * a page per page built ({@code fallocate} only with {@code --supply all}).
         */
        public static final List<UffdOptions.PageSupply> DEFAULT_SUPPLIES = List.of(UffdOptions.PageSupply.FRESH,
                UffdOptions.PageSupply.KEEP, UffdOptions.PageSupply.RECYCLE);

        /**
         * Every mode, both deliveries, {@link #DEFAULT_SUPPLIES}, the heap's run length and
         * fault-around, no extras, the JIT compiler threads in SCHED_IDLE.
         */
        public static Settings defaults() {
            return new Settings(BenchSupport.BACKENDS, List.of(UffdOptions.Delivery.values()), DEFAULT_SUPPLIES, null, List.of(), 0,
                    DEFAULT_BINARYTREES_HEAP, DEFAULT_BINARYTREES_RUNS, true);
        }

        public Settings withModes(List<String> m) {
            return new Settings(m, deliveries, supplies, faultAroundPages, runPages, binaryTreesDepth, binaryTreesHeap, binaryTreesRuns,
                    idleJit);
        }

        /** True if several run lengths were given: the compaction is repeated per value. */
        public boolean sweep() {
            return runPages.size() > 1;
        }

        /** The run length of the rows' heaps: the single value given, else null (the heap's default). */
        public Long rowRunPages() {
            return runPages.size() == 1 ? runPages.getFirst() : null;
        }

        /** The rows, in table order: java, then per mode, per delivery, per supply that applies. */
        public List<Variant> variants() {
            List<Variant> out = new ArrayList<>();
            for (String mode : modes) {
                UffdProbe.Mode m = BenchSupport.mode(mode);
                if (m == null) {
                    out.add(new Variant(mode, null));
                    continue;
                }
                for (UffdOptions.Delivery d : deliveries) {
                    List<UffdOptions.PageSupply> applicable = supplies.stream().filter(s -> s.appliesTo(m)).toList();
                    // None applies: one row, whose options the mode refuses (it says why).
                    for (UffdOptions.PageSupply s : applicable.isEmpty() ? List.of(supplies.getFirst()) : applicable) {
                        out.add(new Variant(mode, UffdOptions.defaults().withDelivery(d).withSupply(s)));
                    }
                }
            }
            return out;
        }
    }

    /** One row's backend: {@code java}, or a uffd mode with its options. */
    public record Variant(String mode, UffdOptions options) {
        /** {@code java}, {@code copy/thread}, {@code continue/sigbus/keep} (the supply only when not fresh). */
        public String label() {
            if (options == null) {
                return mode;
            }
            return mode + "/" + options.delivery().label()
                    + (options.supply() == UffdOptions.PageSupply.FRESH ? "" : "/" + options.supply().label());
        }

        public boolean uffd() {
            return options != null;
        }

        /** The name of this variant's fault floor. */
        public String floorName() {
            return options == null ? "memcpy-4k" : "uffd-" + mode + "/" + options.delivery().label();
        }
    }

    /**
     * Latency percentiles in microseconds. {@code bestPassP50}: the lowest median of one pass of
     * {@code pages} touches (NaN if not tracked).
     */
    public record Percentiles(long count, double p50, double p99, double p999, double max, double mean, double bestPassP50) {
        static Percentiles of(Histogram h) {
            return of(h, Double.NaN);
        }

        static Percentiles of(Histogram h, double bestPassP50) {
            return new Percentiles(h.getTotalCount(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, h.getMean() / 1e3, bestPassP50);
        }
    }

    /**
     * Per-page costs of one variant from the backend's native counters, over the measured
     * compaction rounds (per compacted or installed page) and fault rounds (per fault served).
     *
     * @param wallUsPerPage   the compaction phase's duration per compacted page (all its threads)
     * @param buildUs         {@code BUILD_NS} per compacted page
     * @param supplyUs        {@code SUPPLY_NS} per compacted page
     * @param installUs       {@code INSTALL_NS} per installed page
     * @param installFloorUs  the batched-install floor of this mode at {@code installFloorRun} pages per
     *                        ioctl: the best of one floor round after each compaction round
     * @param installFloorRun the heap's run length
     * @param faultUs         {@code FAULT_NS} per fault served, over the fault rounds
     * @param faultBuildUs    of that, {@code FAULT_BUILD_NS} per fault served: building the fault's
     *                        pages (its own, its fault-around, a run built ahead while waiting)
     * @param faultInstallUs  of that, {@code FAULT_INSTALL_NS} per fault served: their install ioctls
     */
    public record Breakdown(long pagesCompacted, double wallUsPerPage, double buildUs, double supplyUs, long pagesInstalled,
                            long installRuns, double installUs, double installFloorUs, long installFloorRun, long faults,
                            double faultUs, double faultBuildUs, double faultInstallUs, long recycledPages, long sigbusFaults) {
        /** Install calls per installed page (INSTALL_RUNS / PAGES_INSTALLED). */
        public double ioctlsPerPage() {
            return pagesInstalled == 0 ? Double.NaN : (double) installRuns / pagesInstalled;
        }
    }

    /** One run length of the sweep: the compaction with {@code runPages} pages per claimed run. */
    public record SweepPoint(long runPages, String unavailable, double compactionMBps, double compactionMs, double ioctlsPerPage,
                             double installUs, double installFloorUs, long installFloorRun) {
    }

    /**
     * One variant's row. Null numbers when {@code unavailable} (then it says why).
     *
     * @param floorName        what the fault cost is compared with (same run)
     * @param floorUs          that floor's p50 over the passes interleaved with this row's fault rounds, us per page
     * @param floor            those passes' percentiles (null for the java backend's memcpy floor)
     * @param faultsServed     faults the backend served during the measured touches
     * @param touches          pages touched in measured rounds
     * @param hotLoopAllocated Java heap bytes the touch loops allocated: 0, or the JIT's one-time work
     *                         ({@code CompareReport.HOT_LOOP_ALLOWANCE_BYTES})
     * @param peakRssMB        the process's resident high-water mark over the fault and compaction
     *                         rounds minus its resident set before the heap was created (MB); NaN if unknown
     * @param breakdown        null for the java backend (no native counters)
     * @param sweep            the run-length sweep, empty without one
     * @param faultRounds      measured fault rounds (fewer than planned if the phase ran out of time)
     * @param compactionRounds measured compaction rounds (likewise)
     * @param faultAroundPages the heap's fault-around
     * @param faultBuiltPages  pages built by the measured faults (the faulting page and its fault-around)
     * @param stallRoundMedianUs the median over the measured fault rounds of each round's mean stall
     *                         per touch, us: the amortised stall of a typical round, which one
     *                         round where the scheduler took the CPU (the mean's largest share of
     *                         noise on a small machine) does not move
     */
    public record Row(Variant variant, String unavailable, Percentiles fault, String floorName, double floorUs, Percentiles floor,
                      long faultsServed, long touches, long hotLoopAllocated, double compactionMBps, double compactionMs,
                      double pauseP50Ms, double pauseMaxMs, double liveMB, double peakRssMB, Breakdown breakdown,
                      List<SweepPoint> sweep, int faultRounds, int compactionRounds, long faultAroundPages,
                      long faultBuiltPages, double stallRoundMedianUs) {
        public boolean available() {
            return unavailable == null;
        }

        public String label() {
            return variant.label();
        }

        /**
         * True if (almost) every touch was a fault of its own, so that the touch's p50 is the
         * fault's round trip and compares with the floor's (with fault-around, most touches find
         * their page mapped by an earlier fault).
         */
        public boolean perFault() {
            return touches > 0 && faultsServed * 10 >= touches * 9;
        }

        /** Fault p50 over the floor's p50: the per-fault ratio (NaN unless {@link #perFault()}). */
        public double ratio() {
            return perFault() ? fault.p50() / floorUs : Double.NaN;
        }

        /** Mean stall per touched page over the floor's p50: the amortised ratio (fault-around's figure). */
        public double stallRatio() {
            return fault.mean() / floorUs;
        }

        /** The median round's mean stall per touch over the floor's p50 ({@link #stallRoundMedianUs}). */
        public double stallRoundRatio() {
            return stallRoundMedianUs / floorUs;
        }

        static Row unavailable(Variant v, String why) {
            return new Row(v, why, null, v.floorName(), Double.NaN, null, 0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, null, List.of(), 0, 0, 0, 0, Double.NaN);
        }
    }

    /**
     * Machine floors measured in the same run.
     *
     * @param faults  per floor name, the percentiles over every pass of the run (up front and
     *                interleaved with the rows)
     * @param install per uffd mode, us per installed page at each of {@link #INSTALL_RUNS} pages per ioctl
     * @param memcpyMBps      the compaction floor: memcpy over a live-set-sized buffer in 1 MiB pieces
     * @param memcpyPagesMBps the same copy one 4 KiB page at a time, as a page builder copies (not a
     *                        floor: it shows what copying page by page costs on this machine)
     */
    public record Floors(Map<String, Percentiles> faults, Map<String, List<Double>> install, double memcpy4kUs, double memcpyMBps,
                         double memcpyPagesMBps, String unavailable) {
    }

    /**
     * What a run measured.
     *
     * @param jit what the run did with the JIT compiler threads ({@link CompilerThreads.Demotion#describe},
     *            or that it left them alone)
     */
    public record Result(Plan plan, Settings settings, Floors floors, List<Row> rows, BinaryTreesReference.Result binaryTrees,
                         List<String> warnings, String peakRssMethod, double seconds, String jit) {
    }

    private final Plan plan;
    private final Settings settings;
    private final PrintStream progress;
    /** Every fault-floor pass of the run, per floor name. */
    private final Map<String, Histogram> floorPasses = new LinkedHashMap<>();
    private final Map<String, Double> bestFloorPass = new LinkedHashMap<>();
    private final Histogram onePass = Latencies.newHistogram();
    /** Consumes the touch loop's sum so the JIT cannot drop the loads (and with them the faults). */
    static volatile long sink;

    public CompareHarness(Plan plan, PrintStream progress) {
        this(plan, Settings.defaults(), progress);
    }

    /** Measures only {@code backends} (a subset of {@link BenchSupport#BACKENDS}), both deliveries, fresh pages. */
    public CompareHarness(Plan plan, List<String> backends, PrintStream progress) {
        this(plan, Settings.defaults().withModes(backends), progress);
    }

    public CompareHarness(Plan plan, Settings settings, PrintStream progress) {
        this.plan = plan;
        this.settings = settings;
        this.progress = progress;
    }

    public Result run() {
        long t0 = System.nanoTime();
        List<Variant> variants = settings.variants();
        progress.printf(Locale.ROOT, "compare: plan %s: heap %d MiB (live %.1f MiB), %d pages/round, %d fault rounds, "
                        + "%d compaction rounds, %d rows%n", plan.name(), plan.heapMb(), plan.liveBytes() / 1048576.0, plan.pages(),
                plan.faultRounds(), plan.compactionRounds(), variants.size());
        String jit = jitBeforeMeasuring();
        Floors floors = floors();
        String peakMethod = ResidentMemory.resetPeak();
        peakMethod = peakMethod == null
                ? "peak RSS: the kernel's resident high-water mark (VmHWM, reset through /proc/self/clear_refs once the live set "
                        + "is built) over the fault and compaction rounds, minus the process's resident set (VmRSS) before the heap "
                        + "was created; in this JVM, one variant after the other"
                : "peak RSS: unavailable (" + peakMethod + ")";
        List<Row> rows = new ArrayList<>();
        int i = 0;
        for (Variant v : variants) {
            i++;
            long b0 = System.nanoTime();
            progress.printf(Locale.ROOT, "compare: [%d/%d] %s ...%n", i, variants.size(), v.label());
            jit = jitBeforeMeasuring();
            Row row = measure(v, floors);
            progress.printf(Locale.ROOT, "compare: [%d/%d] %s %s (%.1f s)%n", i, variants.size(), v.label(),
                    row.available() ? "done" : "skipped: " + row.unavailable(), (System.nanoTime() - b0) / 1e9);
            rows.add(row);
        }
        Map<String, Percentiles> faults = new LinkedHashMap<>();
        floorPasses.forEach((k, h) -> faults.put(k, Percentiles.of(h, bestFloorPass.getOrDefault(k, Double.NaN))));
        floors = new Floors(faults, floors.install(), floors.memcpy4kUs(), floors.memcpyMBps(), floors.memcpyPagesMBps(),
                floors.unavailable());
        BinaryTreesReference.Result trees = settings.binaryTreesDepth() > 0 ? binaryTrees(rows) : null;
        return new Result(plan, settings, floors, rows, trees, warnings(rows, floors, trees), peakMethod,
                (System.nanoTime() - t0) / 1e9, jit);
    }

    /**
     * With {@link Settings#idleJit}, moves the JIT compiler threads to SCHED_IDLE (again before
     * each row: the JVM may have started more); returns what the report says about them.
     */
    private String jitBeforeMeasuring() {
        if (!settings.idleJit()) {
            return "JIT compiler threads left at their normal priority (--jit normal)";
        }
        return CompilerThreads.toIdle().describe();
    }

    // ---- floors -----------------------------------------------------------------------------

    private Floors floors() {
        String why = NativeFloors.unavailableReason();
        if (why != null) {
            // No native floors; the java backend's floor (a 4 KiB copy) is measured in Java instead.
            progress.println("compare: floors: native library unavailable (" + why + "); memcpy floors with MemorySegment.copy");
            try (Arena arena = Arena.ofConfined()) {
                long bytes = Math.max(plan.liveBytes(), 4 << 20);
                MemorySegment src = arena.allocate(bytes, 4096);
                MemorySegment dst = arena.allocate(bytes, 4096);
                double best4k = Double.MAX_VALUE;
                double bestMBps = 0;
                for (int r = 0; r < 5; r++) {
                    long t0 = System.nanoTime();
                    for (int k = 0; k < 200; k++) {
                        for (long o = 0; o < (1 << 20); o += 4096) {
                            MemorySegment.copy(src, o, dst, o, 4096);
                        }
                    }
                    best4k = Math.min(best4k, (System.nanoTime() - t0) / (200.0 * 256) / 1e3);
                    long t1 = System.nanoTime();
                    MemorySegment.copy(src, 0, dst, 0, bytes);
                    bestMBps = Math.max(bestMBps, bytes / 1e6 / ((System.nanoTime() - t1) / 1e9));
                }
                return new Floors(Map.of(), Map.of(), best4k, bestMBps, Double.NaN, why);
            }
        }
        // Batched installs: per mode and run length, the best of a few rounds, taken round-robin
        // (every mode and run length once per round) so that a slow phase of the machine cannot
        // spoil all the rounds of one of them.
        progress.println("compare: floors: batched installs (1, 8, 64, 512 pages per ioctl) ...");
        Map<String, double[]> best = new LinkedHashMap<>();
        for (String mode : uffdModes()) {
            double[] b = new double[INSTALL_RUNS.size()];
            Arrays.fill(b, Double.MAX_VALUE);
            best.put(mode, b);
        }
        for (int round = 0; round < plan.installRounds(); round++) {
            for (Map.Entry<String, double[]> e : best.entrySet()) {
                for (int i = 0; i < INSTALL_RUNS.size(); i++) {
                    // Two rounds per call: the first in fresh mappings also pays for their page tables.
                    long[] ns = NativeFloors.installNanos(BenchSupport.mode(e.getKey()), INSTALL_RUNS.get(i), plan.installPages(), 2);
                    e.getValue()[i] = Math.min(e.getValue()[i], Math.min(ns[0], ns[1]) / 1e3 / plan.installPages());
                }
            }
        }
        Map<String, List<Double>> install = new LinkedHashMap<>();
        best.forEach((mode, b) -> install.put(mode, Arrays.stream(b).boxed().toList()));
        // Fault round trips, round-robin pass after pass, so that a slow phase of the machine (the
        // VM's vCPU wake-ups are bimodal) does not land on one kind only.
        progress.println("compare: floors: fault round trips per mode and delivery, minor fault, first touch ...");
        int n = plan.pages();
        Map<String, NativeFloors.Region> regions = new LinkedHashMap<>();
        try (NativeFloors.Buffer buf = new NativeFloors.Buffer(n)) {
            for (String mode : uffdModes()) {
                for (UffdOptions.Delivery d : settings.deliveries()) {
                    if (d == UffdOptions.Delivery.SIGBUS && !BenchSupport.probe().sigbusAvailable()) {
                        continue;
                    }
                    int kind = NativeFloors.roundTripKind(BenchSupport.mode(mode), d);
                    String name = new Variant(mode, UffdOptions.defaults().withDelivery(d)).floorName();
                    regions.put(name, new NativeFloors.Region(kind, n));
                    if (d == UffdOptions.Delivery.THREAD) {
                        // Not a floor: the same round trip with the resolver where the scheduler puts it.
                        regions.put(name + "-unpinned", new NativeFloors.Region(kind | NativeFloors.UNPINNED, n));
                    } else if (Runtime.getRuntime().availableProcessors() > 1) {
                        // Not a floor: the same round trip while another thread runs, as a compactor does.
                        regions.put(name + "-busy", new NativeFloors.Region(kind | NativeFloors.BUSY, n));
                    }
                }
            }
            regions.put("minor-fault", new NativeFloors.Region(NativeFloors.FLOOR_SHMEM_MINOR, n));
            regions.put("anon-first-touch", new NativeFloors.Region(NativeFloors.FLOOR_ANON_FIRST_TOUCH, n));
            for (int pass = 0; pass <= plan.floorPasses(); pass++) {
                for (Map.Entry<String, NativeFloors.Region> e : regions.entrySet()) {
                    e.getValue().touch(buf);
                    if (pass > 0) { // the first pass warms up
                        record(e.getKey(), buf, n, null);
                    }
                }
            }
        } finally {
            regions.values().forEach(NativeFloors.Region::close);
        }
        // 4 KiB memcpy, cache-warm 1 MiB ring: best of a few.
        double best4k = Double.MAX_VALUE;
        for (int r = 0; r < 5; r++) {
            long ns = NativeFloors.memcpyNanos(4096, 1 << 20, 200);
            best4k = Math.min(best4k, ns / (200.0 * 256) / 1e3);
        }
        // Bandwidth over a live-set-sized buffer (1 MiB pieces).
        long bytes = Math.max(plan.liveBytes(), 4 << 20);
        double bestMBps = 0;
        double bestPagesMBps = 0;
        for (int r = 0; r < 3; r++) {
            long ns = NativeFloors.memcpyNanos(1 << 20, bytes, 2);
            bestMBps = Math.max(bestMBps, 2.0 * bytes / 1e6 / (ns / 1e9));
            ns = NativeFloors.memcpyNanos(4096, bytes, 2);
            bestPagesMBps = Math.max(bestPagesMBps, 2.0 * bytes / 1e6 / (ns / 1e9));
        }
        return new Floors(Map.of(), install, best4k, bestMBps, bestPagesMBps, null);
    }

    /** The uffd modes among the settings' that the probe finds usable. */
    private List<String> uffdModes() {
        return settings.modes().stream().filter(m -> BenchSupport.mode(m) != null && BenchSupport.unavailableReason(m) == null)
                .toList();
    }

    /** Adds one floor pass (in {@code buf}) to the run's tally of {@code name} and to {@code row}, if not null. */
    private void record(String name, NativeFloors.Buffer buf, int n, Histogram row) {
        Histogram all = floorPasses.computeIfAbsent(name, k -> Latencies.newHistogram());
        Histogram pass = onePass;
        pass.reset();
        for (int i = 0; i < n; i++) {
            long ns = buf.get(i);
            Latencies.record(all, ns);
            Latencies.record(pass, ns);
            if (row != null) {
                Latencies.record(row, ns);
            }
        }
        bestFloorPass.merge(name, pass.getValueAtPercentile(50) / 1e3, Math::min);
    }

    // ---- one variant ----------------------------------------------------------------------------

    private HeapConfig.Builder config(Variant v, Long runPages) {
        HeapConfig.Builder b = BenchSupport.config(v.mode(), v.options(), (long) plan.heapMb() << 20, 1);
        if (runPages != null) {
            b.runPages(runPages);
        }
        if (settings.faultAroundPages() != null) {
            b.faultAroundPages(settings.faultAroundPages());
        }
        return b;
    }

    private Row measure(Variant v, Floors floors) {
        String why = BenchSupport.unavailableReason(v.mode(), v.options());
        if (why != null) {
            return Row.unavailable(v, why);
        }
        Heap heap = null;
        Mutator m = null;
        NativeFloors.Region floorRegion = null;
        NativeFloors.Buffer floorBuf = null;
        try {
            if (v.uffd() && floors.unavailable() == null) {
                floorRegion = new NativeFloors.Region(NativeFloors.roundTripKind(BenchSupport.mode(v.mode()), v.options().delivery()),
                        plan.pages());
                floorBuf = new NativeFloors.Buffer(plan.pages());
            }
            long rssBefore = ResidentMemory.rssBytes();
            heap = Heap.create(config(v, settings.rowRunPages()).build());
            m = heap.attach();
            BenchSupport.LiveSet live = BenchSupport.LiveSet.build(m, plan.liveBytes(), plan.pages());
            boolean peakTracked = ResidentMemory.resetPeak() == null && rssBefore > 0;
            List<Double> pauses = new ArrayList<>();

            // Fault service: pause, then touch the top pages (the compactor reaches them last), in
            // ascending order (fault-around maps the pages after the faulting one). After each
            // round, once its compaction is done, one pass of the variant's floor: the same machine
            // minutes, nothing else running in the process (the cheapest conditions for the floor).
            Histogram hist = Latencies.newHistogram();
            Histogram roundHist = Latencies.newHistogram(); // this round's touches, then added to hist
            List<Double> roundStalls = new ArrayList<>();
            Histogram floorHist = Latencies.newHistogram();
            long faultsServed = 0;
            long faultBuilt = 0;
            long touches = 0;
            long hotAllocated = 0;
            Map<String, Long> c0 = heap.backendCounters();
            int rounds = plan.warmupRounds() + plan.faultRounds();
            int faultRounds = 0;
            long phase = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                boolean measured = r >= plan.warmupRounds();
                if (r == plan.warmupRounds()) {
                    phase = System.nanoTime();
                }
                if (measured && plan.timeUp(phase, faultRounds, plan.faultRounds())) {
                    progress.printf(Locale.ROOT, "compare:   %s: %d of %d fault rounds in %d s, the phase's time; going on%n", v.label(),
                            faultRounds, plan.faultRounds(), plan.phaseSeconds());
                    break;
                }
                if (measured) {
                    faultRounds++;
                }
                long p0 = heap.stats().pauseTotalNanos();
                m.collect();
                if (measured) {
                    pauses.add((heap.stats().pauseTotalNanos() - p0) / 1e6);
                }
                live.refreshTopRefs();
                long f0 = BenchSupport.faults(heap);
                long b0 = heap.faultBuiltPages();
                long a0 = Latencies.threadAllocatedBytes();
                sink += touchAll(m, live.topRefs, measured ? roundHist : null);
                long allocated = Latencies.threadAllocatedBytes() - a0;
                if (measured) {
                    roundStalls.add(roundHist.getMean() / 1e3);
                    hist.add(roundHist);
                    roundHist.reset();
                    faultsServed += BenchSupport.faults(heap) - f0;
                    faultBuilt += heap.faultBuiltPages() - b0;
                    touches += live.topRefs.length;
                    hotAllocated += allocated;
                }
                heap.awaitCompaction();
                floorPass(v, floorRegion, floorBuf, measured ? floorHist : null);
                if (r % 5 == 4) {
                    progress.printf(Locale.ROOT, "compare:   %s fault rounds %d/%d%n", v.label(), r + 1, rounds);
                }
            }
            Map<String, Long> c1 = heap.backendCounters();

            // Compaction throughput: pause, then sleep until the compactor has built every page.
            Compaction compaction = compactionRounds(heap, m, pauses, v, floors);
            progress.printf(Locale.ROOT, "compare:   %s compaction rounds %d done%n", v.label(), compaction.cycles());
            double peakRssMB = peakTracked ? (ResidentMemory.peakBytes() - rssBefore) / 1e6 : Double.NaN;
            long faultAround = heap.config().faultAroundPages();
            BenchSupport.closeAll(m, heap);
            m = null;
            heap = null;

            double liveMB = live.liveBytes / 1e6;
            double[] p = pauses.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            String floorName = v.floorName();
            double floorUs;
            Percentiles floorP = null;
            if (!v.uffd()) {
                floorUs = floors.memcpy4kUs();
            } else if (floorHist.getTotalCount() > 0) {
                floorP = Percentiles.of(floorHist);
                floorUs = floorP.p50();
            } else {
                floorUs = Double.NaN;
            }
            Breakdown breakdown = v.uffd() ? breakdown(c0, c1, compaction) : null;
            List<SweepPoint> sweep = settings.sweep() ? sweep(v, floors, live.liveBytes) : List.of();
            return new Row(v, null, Percentiles.of(hist), floorName, floorUs, floorP, faultsServed, touches, hotAllocated,
                    liveMB / (compaction.msPerCycle() / 1e3), compaction.msPerCycle(), median(p),
                    p.length == 0 ? Double.NaN : p[p.length - 1], liveMB, peakRssMB, breakdown, sweep, faultRounds,
                    (int) compaction.cycles(), faultAround, faultBuilt,
                    median(roundStalls.stream().mapToDouble(Double::doubleValue).sorted().toArray()));
        } catch (BenchSupport.Skipped e) {
            return Row.unavailable(v, e.getMessage());
        } catch (RuntimeException | OutOfMemoryError e) {
            progress.println("compare: " + v.label() + " failed: " + e);
            return Row.unavailable(v, "failed: " + e);
        } finally {
            BenchSupport.closeAll(m, heap);
            if (floorRegion != null) {
                floorRegion.close();
            }
            if (floorBuf != null) {
                floorBuf.close();
            }
        }
    }

    private void floorPass(Variant v, NativeFloors.Region region, NativeFloors.Buffer buf, Histogram row) {
        if (region == null) {
            return;
        }
        region.touch(buf);
        if (row != null) {
            record(v.floorName(), buf, plan.pages(), row);
        }
    }

    /**
     * The measured compaction rounds: totals over them, the native counters at their ends, and the
     * batched-install floor at the heap's run length (the best of {@link #INSTALL_FLOOR_ROUNDS}
     * rounds after each compaction round, so that floor and heap see the same minutes of the
     * machine; NaN for java).
     */
    private record Compaction(long nanos, long cycles, long pages, Map<String, Long> before, Map<String, Long> after,
                              long runPages, double installFloorUs) {
        double msPerCycle() {
            return nanos / 1e6 / Math.max(1, cycles);
        }
    }

    /** One warm-up and {@link Plan#compactionRounds()} measured cycles, each with no mutator access. */
    private Compaction compactionRounds(Heap heap, Mutator m, List<Double> pauses, Variant v, Floors floors) {
        long runPages = heap.config().runPages();
        UffdProbe.Mode floorMode = v.uffd() && floors.unavailable() == null ? BenchSupport.mode(v.mode()) : null;
        double installFloor = Double.MAX_VALUE;
        long nanos = 0;
        long cycles = 0;
        long pages = 0;
        Map<String, Long> before = null;
        long phase = System.nanoTime();
        for (int r = 0; r < plan.compactionRounds() + 1; r++) {
            if (r == 1) {
                before = heap.backendCounters();
                phase = System.nanoTime();
            }
            if (r > 1 && plan.timeUp(phase, r - 1, plan.compactionRounds())) {
                progress.printf(Locale.ROOT, "compare:   %d of %d compaction rounds in %d s, the phase's time; going on%n", r - 1,
                        plan.compactionRounds(), plan.phaseSeconds());
                break;
            }
            HeapStats s0 = heap.stats();
            m.collect();
            HeapStats s1 = heap.stats();
            // Sleep, not help (awaitCompaction builds pages). A loop of 20 us naps woke this thread
            // on the other CPU so often that each of MOVE's installs had to interrupt it to flush
            // its TLB, which doubled to tripled their cost (docs/results.md, "Later the same day").
            heap.awaitCompactors();
            heap.awaitCompaction();
            HeapStats s2 = heap.stats();
            if (r > 0) { // the first is a warm-up
                nanos += s2.compactionNanos() - s0.compactionNanos();
                cycles += s2.gcCycles() - s0.gcCycles();
                pages += s2.pagesCompacted() - s0.pagesCompacted();
                if (pauses != null) {
                    pauses.add((s1.pauseTotalNanos() - s0.pauseTotalNanos()) / 1e6);
                }
                if (floorMode != null) {
                    // Several rounds per call, the best kept: one round's time moves by 20% or more
                    // on this project's hosts, and with few compaction rounds (--quick) two rounds
                    // per call left the floor above what the heap paid in some runs.
                    for (long ns : NativeFloors.installNanos(floorMode, runPages, plan.installPages(), INSTALL_FLOOR_ROUNDS)) {
                        installFloor = Math.min(installFloor, ns / 1e3 / plan.installPages());
                    }
                }
            }
        }
        return new Compaction(nanos, cycles, pages, before == null ? heap.backendCounters() : before, heap.backendCounters(),
                runPages, installFloor == Double.MAX_VALUE ? Double.NaN : installFloor);
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String counter) {
        return after.getOrDefault(counter, 0L) - before.getOrDefault(counter, 0L);
    }

    private static double per(long total, long n) {
        return n == 0 ? Double.NaN : total / 1e3 / n;
    }

    private static Breakdown breakdown(Map<String, Long> faultsBefore, Map<String, Long> faultsAfter, Compaction c) {
        long pages = c.pages();
        long installed = delta(c.before(), c.after(), "pages_installed");
        long runs = delta(c.before(), c.after(), "install_runs");
        long faults = delta(faultsBefore, faultsAfter, "faults") + delta(faultsBefore, faultsAfter, "sigbus_faults");
        return new Breakdown(pages, pages == 0 ? Double.NaN : c.nanos() / 1e3 / pages,
                per(delta(c.before(), c.after(), "build_ns"), pages), per(delta(c.before(), c.after(), "supply_ns"), pages),
                installed, runs, per(delta(c.before(), c.after(), "install_ns"), installed),
                c.installFloorUs(), c.runPages(), faults,
                per(delta(faultsBefore, faultsAfter, "fault_ns"), faults), per(delta(faultsBefore, faultsAfter, "fault_build_ns"), faults),
                per(delta(faultsBefore, faultsAfter, "fault_install_ns"), faults), delta(c.before(), c.after(), "recycled_pages"),
                delta(faultsBefore, faultsAfter, "sigbus_faults"));
    }

    /** The compaction again, on a fresh heap per run length. */
    private List<SweepPoint> sweep(Variant v, Floors floors, long liveBytes) {
        List<SweepPoint> points = new ArrayList<>();
        for (long runPages : settings.runPages()) {
            Heap heap = null;
            Mutator m = null;
            try {
                heap = Heap.create(config(v, runPages).build());
                m = heap.attach();
                BenchSupport.LiveSet.build(m, plan.liveBytes(), 1);
                Compaction c = compactionRounds(heap, m, null, v, floors);
                long installed = delta(c.before(), c.after(), "pages_installed");
                long runs = delta(c.before(), c.after(), "install_runs");
                points.add(new SweepPoint(runPages, null, liveBytes / 1e6 / (c.msPerCycle() / 1e3), c.msPerCycle(),
                        installed == 0 ? Double.NaN : (double) runs / installed, per(delta(c.before(), c.after(), "install_ns"), installed),
                        c.installFloorUs(), runPages));
                progress.printf(Locale.ROOT, "compare:   %s sweep: %d pages per run done%n", v.label(), runPages);
            } catch (RuntimeException | OutOfMemoryError e) {
                points.add(new SweepPoint(runPages, "failed: " + e, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0));
            } finally {
                BenchSupport.closeAll(m, heap);
            }
        }
        return points;
    }

    /** The hot loop: one read per page, each timed, ascending addresses (refs are highest first); allocates nothing. */
    private static long touchAll(Mutator m, int[] refs, Histogram h) {
        long sum = 0;
        for (int i = refs.length - 1; i >= 0; i--) {
            sum += BenchSupport.LiveSet.timedTouch(m, refs[i], h);
        }
        return sum;
    }

    private static double median(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    // ---- binary-trees -------------------------------------------------------------------------

    /**
     * The reference row on each uffd mode of this run, with the settings of that mode's
     * fastest-compacting row (java if no uffd row ran): the modes differ in what the mutator pays
     * (its allocation pages, its faults), which compaction throughput does not show.
     */
    private BinaryTreesReference.Result binaryTrees(List<Row> rows) {
        Map<String, Row> bestOfMode = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.available() && r.variant().uffd()) {
                bestOfMode.merge(r.variant().mode(), r, (a, b) -> b.compactionMBps() > a.compactionMBps() ? b : a);
            }
        }
        List<BinaryTreesReference.Target> targets = new ArrayList<>();
        for (Row r : bestOfMode.values()) {
            targets.add(new BinaryTreesReference.Target(r.variant().mode(), r.variant().options()));
        }
        if (targets.isEmpty()) {
            targets.add(new BinaryTreesReference.Target("java", null));
        }
        return BinaryTreesReference.measure(settings.binaryTreesDepth(), settings.binaryTreesHeap(), targets,
                settings.rowRunPages(), settings.faultAroundPages(), settings.binaryTreesRuns(), progress);
    }

    // ---- floors that are not floors ------------------------------------------------------------

    /**
     * A heap figure below its same-run floor means the floor is not the cheapest way to do that
     * work after all: one line each, printed under the table (never hidden). Also failed parts.
     */
    static List<String> warnings(List<Row> rows, Floors floors, BinaryTreesReference.Result trees) {
        List<String> w = new ArrayList<>();
        for (Row r : rows) {
            if (!r.available()) {
                continue;
            }
            if (r.perFault() && Double.isFinite(r.floorUs()) && r.fault().p50() < r.floorUs()) {
                w.add(String.format(Locale.ROOT, "%s: fault p50 %.2f us is below its floor %s %.2f us measured in the same rounds: "
                        + "that floor is not the cheapest way to do this round trip (the floor is wrong, not the heap fast)",
                        r.label(), r.fault().p50(), r.floorName(), r.floorUs()));
            }
            Breakdown b = r.breakdown();
            if (b != null && Double.isFinite(b.installUs()) && Double.isFinite(b.installFloorUs()) && b.installUs() < b.installFloorUs()) {
                w.add(String.format(Locale.ROOT, "%s: install %.3f us/page (%.1f pages per ioctl on average) is below the batched-install "
                        + "floor %.3f us/page at %d pages per ioctl: that floor is wrong", r.label(), b.installUs(),
                        1 / b.ioctlsPerPage(), b.installFloorUs(), b.installFloorRun()));
            }
            for (SweepPoint s : r.sweep()) {
                if (s.unavailable() != null) {
                    w.add(r.label() + ": sweep at " + s.runPages() + " pages per run " + s.unavailable());
                } else if (Double.isFinite(s.installUs()) && Double.isFinite(s.installFloorUs()) && s.installUs() < s.installFloorUs()) {
                    w.add(String.format(Locale.ROOT, "%s: sweep at %d pages per run: install %.3f us/page is below the batched-install "
                            + "floor %.3f us/page at %d pages per ioctl: that floor is wrong", r.label(), s.runPages(), s.installUs(),
                            s.installFloorUs(), s.installFloorRun()));
                }
            }
        }
        if (trees != null) {
            for (BinaryTreesReference.Run run : trees.runs()) {
                if (!run.ok()) {
                    w.add("binary-trees " + trees.depth() + " on " + run.runtime() + " (" + run.label() + "): " + run.error());
                }
            }
        }
        return w;
    }
}
