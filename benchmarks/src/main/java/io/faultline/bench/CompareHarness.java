package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The measurements behind {@code faultline compare}: for each backend (java, copy, continue,
 * move) the fault service cost per page right after a pause, the compaction throughput with no
 * mutator faults, and the pause; and the floors, in the same process and run: a raw userfaultfd
 * round trip per mode, a plain minor fault, an anonymous first touch and memcpy.
 *
 * <p>Every heap is closed and every compaction awaited before the next backend starts; a backend
 * that cannot run here gets a row that says why. The touch loop allocates nothing on the Java
 * heap (the histogram is preallocated; the bytes allocated are measured and reported).
 */
public final class CompareHarness {

    /** How much to measure. */
    public record Plan(String name, int heapMb, int pages, int warmupRounds, int faultRounds, int compactionRounds,
                       int floorRounds) {
        public static final Plan DEFAULT = new Plan("default", 128, 256, 5, 100, 30, 60);
        public static final Plan QUICK = new Plan("quick", 64, 256, 3, 40, 12, 60);
        /** Tiny: proves the machinery works (tests), numbers meaningless. */
        public static final Plan SMOKE = new Plan("smoke", 16, 32, 0, 2, 2, 2);

        long liveBytes() {
            return ((long) heapMb << 20) * 3 / 8;
        }
    }

    /**
     * Latency percentiles in microseconds. {@code bestPassP50}: for a floor, the lowest median of
     * one pass of {@code pages} touches (NaN otherwise): what the mechanism costs when the VM's
     * scheduler cooperates; uffd round trips on this VM are bimodal from pass to pass.
     */
    public record Percentiles(long count, double p50, double p99, double p999, double max, double mean, double bestPassP50) {
        static Percentiles of(Histogram h) {
            return of(h, Double.NaN);
        }

        static Percentiles of(Histogram h, double bestPassP50) {
            return new Percentiles(h.getTotalCount(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, h.getMean() / 1e3, bestPassP50);
        }

        /** The floor figure: the best pass's median if known, else the median. */
        public double floor() {
            return Double.isNaN(bestPassP50) ? p50 : bestPassP50;
        }
    }

    /**
     * One backend's row. Null numbers when {@code unavailable} (then it says why).
     *
     * @param floorName        what the fault cost is compared with (same run)
     * @param floorUs          that floor's p50, us per page
     * @param faultsServed     faults the backend served during the measured touches
     * @param touches          pages touched in measured rounds
     * @param hotLoopAllocated Java heap bytes the touch loops allocated (expected 0)
     */
    public record Row(String backend, String unavailable, Percentiles fault, String floorName, double floorUs,
                      long faultsServed, long touches, long hotLoopAllocated, double compactionMBps,
                      double compactionMs, double pauseP50Ms, double pauseMaxMs, double liveMB) {
        public boolean available() {
            return unavailable == null;
        }

        public double ratio() {
            return fault.p50() / floorUs;
        }
    }

    /** Machine floors measured in the same run. */
    public record Floors(Map<String, Percentiles> faults, double memcpy4kUs, double memcpyMBps, String unavailable) {
    }

    public record Result(Plan plan, Floors floors, List<Row> rows, double seconds) {
    }

    private final Plan plan;
    private final PrintStream progress;
    /** Consumes the touch loop's sum so the JIT cannot drop the loads (and with them the faults). */
    static volatile long sink;

    private final List<String> backends;

    public CompareHarness(Plan plan, PrintStream progress) {
        this(plan, BenchSupport.BACKENDS, progress);
    }

    /** Measures only {@code backends} (a subset of {@link BenchSupport#BACKENDS}, in that order). */
    public CompareHarness(Plan plan, List<String> backends, PrintStream progress) {
        this.plan = plan;
        this.backends = List.copyOf(backends);
        this.progress = progress;
    }

    public Result run() {
        long t0 = System.nanoTime();
        progress.printf(Locale.ROOT, "compare: plan %s: heap %d MiB (live %.1f MiB), %d pages/round, %d fault rounds, %d compaction rounds%n",
                plan.name(), plan.heapMb(), plan.liveBytes() / 1048576.0, plan.pages(), plan.faultRounds(), plan.compactionRounds());
        Floors floors = floors();
        List<Row> rows = new ArrayList<>();
        int i = 0;
        for (String backend : backends) {
            i++;
            long b0 = System.nanoTime();
            progress.printf(Locale.ROOT, "compare: [%d/%d] %s ...%n", i, backends.size(), backend);
            Row row = measure(backend, floors);
            progress.printf(Locale.ROOT, "compare: [%d/%d] %s %s (%.1f s)%n", i, backends.size(), backend,
                    row.available() ? "done" : "skipped: " + row.unavailable(), (System.nanoTime() - b0) / 1e9);
            rows.add(row);
        }
        return new Result(plan, floors, rows, (System.nanoTime() - t0) / 1e9);
    }

    // ---- floors -----------------------------------------------------------------------------

    private Floors floors() {
        String why = NativeFloors.unavailableReason();
        Map<String, Percentiles> faults = new LinkedHashMap<>();
        if (why != null) {
            // No native floors; the java backend's floor (a 4 KiB copy) is measured in Java instead.
            progress.println("compare: floors: native library unavailable (" + why + "); memcpy floors with MemorySegment.copy");
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                long bytes = Math.max(plan.liveBytes(), 4 << 20);
                java.lang.foreign.MemorySegment src = arena.allocate(bytes, 4096);
                java.lang.foreign.MemorySegment dst = arena.allocate(bytes, 4096);
                double best4k = Double.MAX_VALUE;
                double bestMBps = 0;
                for (int r = 0; r < 5; r++) {
                    long t0 = System.nanoTime();
                    for (int k = 0; k < 200; k++) {
                        for (long o = 0; o < (1 << 20); o += 4096) {
                            java.lang.foreign.MemorySegment.copy(src, o, dst, o, 4096);
                        }
                    }
                    best4k = Math.min(best4k, (System.nanoTime() - t0) / (200.0 * 256) / 1e3);
                    long t1 = System.nanoTime();
                    java.lang.foreign.MemorySegment.copy(src, 0, dst, 0, bytes);
                    bestMBps = Math.max(bestMBps, bytes / 1e6 / ((System.nanoTime() - t1) / 1e9));
                }
                return new Floors(faults, best4k, bestMBps, why);
            }
        }
        progress.println("compare: floors: uffd round trips, minor fault, first touch, memcpy ...");
        int n = plan.pages();
        // The kinds are measured round-robin, pass after pass, so that a slow phase of the
        // machine (the VM's vCPU wake-ups are bimodal) does not land on one kind only.
        Map<String, Runnable> kinds = new LinkedHashMap<>();
        try (NativeFloors.Buffer buf = new NativeFloors.Buffer(n)) {
            for (String backend : List.of("copy", "continue", "move")) {
                if (BenchSupport.unavailableReason(backend) == null) {
                    int kind = NativeFloors.roundTripKind(BenchSupport.mode(backend));
                    kinds.put("uffd-" + backend, () -> NativeFloors.uffdRoundTrip(kind, n, buf));
                }
            }
            if (BenchSupport.unavailableReason("continue") == null) {
                kinds.put("uffd-continue-cached", () -> NativeFloors.uffdRoundTrip(NativeFloors.RT_CONTINUE_CACHED, n, buf));
            }
            kinds.put("minor-fault", () -> NativeFloors.plainFault(NativeFloors.SHMEM_MINOR, n, buf));
            kinds.put("anon-first-touch", () -> NativeFloors.plainFault(NativeFloors.ANON_FIRST_TOUCH, n, buf));
            Map<String, Histogram> hists = new LinkedHashMap<>();
            Map<String, Double> best = new LinkedHashMap<>();
            kinds.keySet().forEach(k -> hists.put(k, Latencies.newHistogram()));
            Histogram pass1 = Latencies.newHistogram();
            int passes = Math.max(1, plan.floorRounds() / 3) + 1;
            for (int pass = 0; pass < passes; pass++) {
                for (Map.Entry<String, Runnable> e : kinds.entrySet()) {
                    e.getValue().run();
                    if (pass == 0 && passes > 1) {
                        continue; // warm-up
                    }
                    Histogram h = hists.get(e.getKey());
                    pass1.reset();
                    for (int i = 0; i < n; i++) {
                        Latencies.record(h, buf.get(i));
                        Latencies.record(pass1, buf.get(i));
                    }
                    best.merge(e.getKey(), pass1.getValueAtPercentile(50) / 1e3, Math::min);
                }
            }
            hists.forEach((k, h) -> faults.put(k, Percentiles.of(h, best.getOrDefault(k, Double.NaN))));
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
        for (int r = 0; r < 3; r++) {
            long ns = NativeFloors.memcpyNanos(1 << 20, bytes, 2);
            bestMBps = Math.max(bestMBps, 2.0 * bytes / 1e6 / (ns / 1e9));
        }
        return new Floors(faults, best4k, bestMBps, null);
    }

    // ---- one backend ----------------------------------------------------------------------------

    private Row measure(String backend, Floors floors) {
        String why = BenchSupport.unavailableReason(backend);
        if (why != null) {
            return unavailable(backend, why);
        }
        Heap heap = null;
        Mutator m = null;
        try {
            heap = BenchSupport.newHeap(backend, (long) plan.heapMb() << 20, 1);
            m = heap.attach();
            BenchSupport.LiveSet live = BenchSupport.LiveSet.build(m, plan.liveBytes(), plan.pages());
            List<Double> pauses = new ArrayList<>();

            // Fault service: pause, then touch the top pages (the compactor reaches them last).
            Histogram hist = Latencies.newHistogram();
            long faultsServed = 0;
            long touches = 0;
            long hotAllocated = 0;
            int rounds = plan.warmupRounds() + plan.faultRounds();
            for (int r = 0; r < rounds; r++) {
                boolean measured = r >= plan.warmupRounds();
                long p0 = heap.stats().pauseTotalNanos();
                m.collect();
                if (measured) {
                    pauses.add((heap.stats().pauseTotalNanos() - p0) / 1e6);
                }
                live.refreshTopRefs();
                long f0 = BenchSupport.faults(heap);
                long a0 = Latencies.threadAllocatedBytes();
                sink += touchAll(m, live.topRefs, measured ? hist : null);
                long allocated = Latencies.threadAllocatedBytes() - a0;
                if (measured) {
                    faultsServed += BenchSupport.faults(heap) - f0;
                    touches += live.topRefs.length;
                    hotAllocated += allocated;
                }
                heap.awaitCompaction();
                if (r % 5 == 4) {
                    progress.printf(Locale.ROOT, "compare:   %s fault rounds %d/%d%n", backend, r + 1, rounds);
                }
            }

            // Compaction throughput: pause, then park until the compactor has built every page.
            long compactionNanos = 0;
            long cycles = 0;
            for (int r = 0; r < plan.compactionRounds() + 1; r++) {
                HeapStats s0 = heap.stats();
                m.collect();
                HeapStats s1 = heap.stats();
                while (heap.isCompacting()) {
                    LockSupport.parkNanos(20_000);
                }
                heap.awaitCompaction();
                HeapStats s2 = heap.stats();
                if (r > 0) { // the first is a warm-up
                    compactionNanos += s2.compactionNanos() - s0.compactionNanos();
                    cycles += s2.gcCycles() - s0.gcCycles();
                    pauses.add((s1.pauseTotalNanos() - s0.pauseTotalNanos()) / 1e6);
                }
            }
            progress.printf(Locale.ROOT, "compare:   %s compaction rounds %d done%n", backend, plan.compactionRounds());
            double liveMB = live.liveBytes / 1e6;
            double compactionMs = compactionNanos / 1e6 / Math.max(1, cycles);
            double[] p = pauses.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            String floorName;
            double floorUs;
            if (backend.equals("java")) {
                floorName = "memcpy-4k";
                floorUs = floors.memcpy4kUs();
            } else {
                floorName = "uffd-" + backend;
                Percentiles fp = floors.faults().get(floorName);
                floorUs = fp == null ? Double.NaN : fp.floor();
            }
            return new Row(backend, null, Percentiles.of(hist), floorName, floorUs, faultsServed, touches, hotAllocated,
                    liveMB / (compactionMs / 1e3), compactionMs, median(p), p.length == 0 ? Double.NaN : p[p.length - 1], liveMB);
        } catch (BenchSupport.Skipped e) {
            return unavailable(backend, e.getMessage());
        } catch (RuntimeException | OutOfMemoryError e) {
            progress.println("compare: " + backend + " failed: " + e);
            return unavailable(backend, "failed: " + e);
        } finally {
            BenchSupport.closeAll(m, heap);
        }
    }

    /** The hot loop: one read per page, each timed; allocates nothing. */
    private static long touchAll(Mutator m, int[] refs, Histogram h) {
        long sum = 0;
        for (int i = 0; i < refs.length; i++) {
            sum += BenchSupport.LiveSet.timedTouch(m, refs[i], h);
        }
        return sum;
    }

    private static Row unavailable(String backend, String why) {
        return new Row(backend, why, null, null, Double.NaN, 0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    private static double median(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    // ---- output --------------------------------------------------------------------------------

    /** The table printed by {@code faultline compare}: floors first, then one row per backend. */
    public static String table(Result r) {
        StringBuilder out = new StringBuilder();
        Floors f = r.floors();
        if (f.unavailable() != null) {
            out.append("floors: native floors unavailable: ").append(f.unavailable())
                    .append(String.format(Locale.ROOT, "; MemorySegment.copy 4k %.3fus; copy %.0f MB/s%n", f.memcpy4kUs(), f.memcpyMBps()));
        } else {
            out.append("floors (same run, us per page, best-pass p50 / overall p50):");
            f.faults().forEach((k, v) -> out.append(String.format(Locale.ROOT, " %s %.2f/%.2f;", k, v.floor(), v.p50())));
            out.append(String.format(Locale.ROOT, " memcpy-4k %.3fus; memcpy %.0f MB/s%n", f.memcpy4kUs(), f.memcpyMBps()));
        }
        out.append(String.format(Locale.ROOT, "%-9s %11s %9s %9s %22s %7s %8s %15s %10s %9s%n", "mode", "fault p50", "p99",
                "mean", "floor (same run)", "ratio", "faults", "compaction", "x memcpy", "pause p50"));
        for (Row row : r.rows()) {
            if (!row.available()) {
                out.append(String.format(Locale.ROOT, "%-9s unavailable: %s%n", row.backend(), row.unavailable()));
                continue;
            }
            out.append(String.format(Locale.ROOT, "%-9s %9.2fus %7.2fus %7.2fus %22s %6.1fx %8s %10.0f MB/s %9.3fx %7.2fms%n",
                    row.backend(), row.fault().p50(), row.fault().p99(), row.fault().mean(),
                    String.format(Locale.ROOT, "%s %.2fus", row.floorName(), row.floorUs()), row.ratio(),
                    row.faultsServed() + "/" + row.touches(), row.compactionMBps(), row.compactionMBps() / f.memcpyMBps(),
                    row.pauseP50Ms()));
        }
        return out.toString();
    }

    /** The raw numbers as one JSON document. */
    public static String json(Result r) {
        StringBuilder j = new StringBuilder(2048);
        j.append("{\n  \"plan\": {\"name\": ").append(Json.quote(r.plan().name())).append(", \"heapMb\": ").append(r.plan().heapMb())
                .append(", \"pagesPerRound\": ").append(r.plan().pages()).append(", \"faultRounds\": ").append(r.plan().faultRounds())
                .append(", \"compactionRounds\": ").append(r.plan().compactionRounds()).append("},\n");
        j.append("  \"seconds\": ").append(num(r.seconds())).append(",\n");
        j.append("  \"machine\": {\"cpus\": ").append(Runtime.getRuntime().availableProcessors()).append(", \"kernel\": ")
                .append(Json.quote(System.getProperty("os.version"))).append(", \"java\": ").append(Json.quote(System.getProperty("java.version")))
                .append("},\n");
        Floors f = r.floors();
        j.append("  \"floors\": {\"unavailable\": ").append(f.unavailable() == null ? "null" : Json.quote(f.unavailable()))
                .append(", \"memcpy4kUs\": ").append(num(f.memcpy4kUs())).append(", \"memcpyMBps\": ").append(num(f.memcpyMBps()));
        f.faults().forEach((k, v) -> j.append(", ").append(Json.quote(k)).append(": ").append(percentiles(v)));
        j.append("},\n  \"rows\": [\n");
        for (int i = 0; i < r.rows().size(); i++) {
            Row row = r.rows().get(i);
            j.append("    {\"mode\": ").append(Json.quote(row.backend()));
            if (!row.available()) {
                j.append(", \"available\": false, \"reason\": ").append(Json.quote(row.unavailable()));
            } else {
                j.append(", \"available\": true, \"faultUs\": ").append(percentiles(row.fault()))
                        .append(", \"floor\": ").append(Json.quote(row.floorName())).append(", \"floorUs\": ").append(num(row.floorUs()))
                        .append(", \"ratio\": ").append(num(row.ratio()))
                        .append(", \"faultsServed\": ").append(row.faultsServed()).append(", \"touches\": ").append(row.touches())
                        .append(", \"hotLoopAllocatedBytes\": ").append(row.hotLoopAllocated())
                        .append(", \"liveMB\": ").append(num(row.liveMB()))
                        .append(", \"compactionMs\": ").append(num(row.compactionMs()))
                        .append(", \"compactionMBps\": ").append(num(row.compactionMBps()))
                        .append(", \"pauseP50Ms\": ").append(num(row.pauseP50Ms()))
                        .append(", \"pauseMaxMs\": ").append(num(row.pauseMaxMs()));
            }
            j.append(i + 1 < r.rows().size() ? "},\n" : "}\n");
        }
        j.append("  ]\n}\n");
        return j.toString();
    }

    /** The rows as CSV (one line per mode; empty cells for an unavailable mode). */
    public static String csv(Result r) {
        StringBuilder c = new StringBuilder();
        c.append("mode,available,reason,fault_p50_us,fault_p99_us,fault_p999_us,fault_max_us,fault_mean_us,floor,floor_p50_us,ratio,"
                + "faults_served,touches,hot_loop_alloc_bytes,live_mb,compaction_ms,compaction_mbps,memcpy_mbps,pause_p50_ms,pause_max_ms\n");
        for (Row row : r.rows()) {
            if (!row.available()) {
                c.append(row.backend()).append(",false,").append(csvText(row.unavailable())).append(",,,,,,,,,,,,,,,,,\n");
                continue;
            }
            Percentiles p = row.fault();
            c.append(String.join(",", List.of(row.backend(), "true", "", num(p.p50()), num(p.p99()), num(p.p999()), num(p.max()),
                    num(p.mean()), row.floorName(), num(row.floorUs()), num(row.ratio()), Long.toString(row.faultsServed()),
                    Long.toString(row.touches()), Long.toString(row.hotLoopAllocated()), num(row.liveMB()), num(row.compactionMs()),
                    num(row.compactionMBps()), num(r.floors().memcpyMBps()), num(row.pauseP50Ms()), num(row.pauseMaxMs()))))
                    .append('\n');
        }
        return c.toString();
    }

    private static String percentiles(Percentiles p) {
        return "{\"n\": " + p.count() + ", \"bestPassP50\": " + num(p.bestPassP50()) + ", \"p50\": " + num(p.p50()) + ", \"p99\": " + num(p.p99()) + ", \"p999\": " + num(p.p999())
                + ", \"max\": " + num(p.max()) + ", \"mean\": " + num(p.mean()) + "}";
    }

    private static String num(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.4f", d) : "null";
    }

    private static String csvText(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    static double[] sorted(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a;
    }
}
