package io.faultline.bench;

import io.faultline.bench.CompareHarness.Breakdown;
import io.faultline.bench.CompareHarness.Floors;
import io.faultline.bench.CompareHarness.Percentiles;
import io.faultline.bench.CompareHarness.Result;
import io.faultline.bench.CompareHarness.Row;
import io.faultline.bench.CompareHarness.SweepPoint;
import io.faultline.uffd.HugePages;
import io.faultline.uffd.UffdOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The texts of {@code faultline compare} from one {@link Result}: the table printed on stdout,
 * the JSON document and the CSV files. All of them show the same rows with the same numbers; the
 * JSON has everything, each CSV one table (rows with their cost breakdown; the run-length sweep;
 * the binary-trees reference).
 */
public final class CompareReport {
    private CompareReport() {
    }

    // ---- the table ------------------------------------------------------------------------------

    /** The table: floors first, then one row per variant, the cost breakdown, the sweep, binary-trees, warnings. */
    public static String table(Result r) {
        StringBuilder out = new StringBuilder();
        Floors f = r.floors();
        if (f.unavailable() != null) {
            out.append("floors: native floors unavailable: ").append(f.unavailable())
                    .append(String.format(Locale.ROOT, "; MemorySegment.copy 4k %.3fus; copy %.0f MB/s%n", f.memcpy4kUs(), f.memcpyMBps()));
        } else {
            out.append("floors (same run, us per page; round trip: p50 over every pass; thread: a resolver thread that waits as the "
                    + "fault-service thread does, on the faulting thread's CPU (-unpinned: where the scheduler puts it, not a floor); "
                    + "sigbus: a handler in the faulting thread (-busy: while another thread of the process spins on another CPU, "
                    + "as a compactor runs during the heap's faults, not a floor)):\n  round trip:");
            f.faults().forEach((k, v) -> out.append(String.format(Locale.ROOT, " %s %.2f;", k, v.p50())));
            out.append("\n  install, one ioctl per N contiguous pages, no fault (best round; N = ");
            out.append(String.join(" / ", CompareHarness.INSTALL_RUNS.stream().map(String::valueOf).toList())).append("):");
            f.install().forEach((mode, us) -> out.append(' ').append(mode).append(' ')
                    .append(String.join(" / ", us.stream().map(u -> String.format(Locale.ROOT, "%.3f", u)).toList())).append(';'));
            out.append(String.format(Locale.ROOT, "%n  memcpy-4k %.3fus; memcpy %.0f MB/s (1 MiB pieces; page by page: %.0f MB/s)%n",
                    f.memcpy4kUs(), f.memcpyMBps(), f.memcpyPagesMBps()));
        }
        out.append("host transparent huge pages: ").append(HugePages.describe())
                .append(" (shmem_enabled decides whether CONTINUE's memfd is in 2 MiB folios with page supply keep; see docs/results.md)\n");
        out.append("JIT: ").append(r.jit()).append(r.settings().idleJit()
                ? " (--jit idle, the default: a compilation seldom preempts the measured threads, and briefly; see docs/results.md)\n" : "\n");
        int w = labelWidth(r.rows());
        String head = "%-" + w + "s %11s %9s %9s %26s %9s %11s %11s %12s %3s %12s %9s %9s %9s%n";
        out.append(String.format(Locale.ROOT, head, "mode", "touch p50", "p99", "stall/pg", "floor (same rounds)", "p50/floor",
                "stall/floor", "(p50 round)", "faults", "fa", "compaction", "x memcpy", "pause p50", "peak RSS"));
        for (Row row : r.rows()) {
            if (!row.available()) {
                out.append(String.format(Locale.ROOT, "%-" + w + "s unavailable: %s%n", row.label(), row.unavailable()));
                continue;
            }
            out.append(String.format(Locale.ROOT, "%-" + w + "s %9.2fus %7.2fus %7.2fus %26s %9s %11s %11s %12s %3d %7.0f MB/s %8.3fx %7.2fms %6s MB%n",
                    row.label(), row.fault().p50(), row.fault().p99(), row.fault().mean(),
                    String.format(Locale.ROOT, "%s %.2fus", row.floorName(), row.floorUs()), times(row.ratio()), times(row.stallRatio()),
                    times(row.stallRoundRatio()),
                    row.faultsServed() + "/" + row.touches(), row.faultAroundPages(), row.compactionMBps(),
                    row.compactionMBps() / f.memcpyMBps(), row.pauseP50Ms(),
                    Double.isFinite(row.peakRssMB()) ? String.format(Locale.ROOT, "%.0f", row.peakRssMB()) : "n/a"));
        }
        out.append("  (touch: one read of a to-space page right after a pause, ascending; p50/floor only where nearly every touch "
                + "faulted (fa, fault-around, 0); stall/pg: mean per touch, the stall amortised over the pages each fault maps; "
                + "p50 round: the same ratio for the median fault round, which a round where the scheduler took the CPU does not move)\n");
        if (r.rows().stream().anyMatch(row -> row.breakdown() != null)) {
            out.append("cost per page (us; build, supply, wall: per compacted page, install: per installed page, over the compaction "
                    + "rounds; install floor: one ioctl per run of the heap's length, best of the rounds measured after each compaction round; "
                    + "fault: service time per fault served, and of it the build and the install ioctls of the pages it built "
                    + "(pages/fault), over the fault rounds):\n");
            String bh = "%-" + w + "s %8s %8s %8s %15s %12s %9s %12s %14s %11s %9s%n";
            out.append(String.format(Locale.ROOT, bh, "mode", "build", "supply", "install", "install floor", "ioctls/page", "fault",
                    "fault build", "fault install", "pages/fault", "wall"));
            for (Row row : r.rows()) {
                Breakdown b = row.breakdown();
                if (b == null) {
                    continue;
                }
                out.append(String.format(Locale.ROOT, bh, row.label(), us(b.buildUs()),
                        us(b.supplyUs()), us(b.installUs()), us(b.installFloorUs()) + " @" + b.installFloorRun(), ratio(b.ioctlsPerPage()),
                        us(b.faultUs()), us(b.faultBuildUs()), us(b.faultInstallUs()), row.faultsServed() == 0 ? "-"
                                : String.format(Locale.ROOT, "%.1f", (double) row.faultBuiltPages() / row.faultsServed()),
                        us(b.wallUsPerPage())));
            }
        }
        if (r.settings().sweep()) {
            out.append("run-length sweep (the compaction rounds again on a fresh heap per run length, each with its install floor):\n");
            String sh = "%-" + w + "s %9s %10s %9s %12s %9s %15s%n";
            out.append(String.format(Locale.ROOT, sh, "mode", "run pages", "MB/s", "x memcpy", "ioctls/page", "install", "install floor"));
            for (Row row : r.rows()) {
                for (SweepPoint s : row.sweep()) {
                    if (s.unavailable() != null) {
                        out.append(String.format(Locale.ROOT, "%-" + w + "s %9d %s%n", row.label(), s.runPages(), s.unavailable()));
                        continue;
                    }
                    out.append(String.format(Locale.ROOT, sh, row.label(), s.runPages(), String.format(Locale.ROOT, "%.0f", s.compactionMBps()),
                            String.format(Locale.ROOT, "%.3fx", s.compactionMBps() / f.memcpyMBps()), ratio(s.ioctlsPerPage()),
                            us(s.installUs()), Double.isFinite(s.installFloorUs()) ? us(s.installFloorUs()) + " @" + s.installFloorRun() : "-"));
                }
            }
        }
        BinaryTreesReference.Result t = r.binaryTrees();
        if (t != null) {
            StringBuilder heaps = new StringBuilder();
            for (BinaryTreesReference.Run heap : t.faultline()) {
                double[] range = t.ratioRange(heap);
                heaps.append(String.format(Locale.ROOT, "Faultline %s %s (%s), ", heap.label(), run(heap),
                        !Double.isFinite(t.ratio(heap)) ? "no ratio"
                                : t.repeats() > 1 ? String.format(Locale.ROOT, "%.2fx; each run %.2fx to %.2fx", t.ratio(heap), range[0], range[1])
                                : String.format(Locale.ROOT, "%.2fx", t.ratio(heap))));
            }
            out.append(String.format(Locale.ROOT, "binary-trees %d, heap %s (same run, each child JVM times its own work%s): %s"
                            + "HotSpot %s %s: %s%n", t.depth(), mib(t.heapBytes()),
                    t.repeats() > 1 ? ", " + t.repeats() + " runs of each, alternating, medians" : "", heaps,
                    t.hotspot().label(), run(t.hotspot()),
                    Double.isFinite(t.ratio()) ? String.format(Locale.ROOT, "Faultline / HotSpot = %.2fx (%s)", t.ratio(), t.best().label())
                            : "no ratio"));
        }
        out.append(r.peakRssMethod()).append('\n');
        for (Row row : r.rows()) {
            if (row.available() && (row.faultRounds() < r.plan().faultRounds() || row.compactionRounds() < r.plan().compactionRounds())) {
                out.append(String.format(Locale.ROOT, "note: %s: %d of %d fault rounds and %d of %d compaction rounds (each phase stops "
                                + "after %d s once a quarter is done)%n", row.label(), row.faultRounds(), r.plan().faultRounds(),
                        row.compactionRounds(), r.plan().compactionRounds(), r.plan().phaseSeconds()));
            }
            String hotLoop = hotLoopNote(row);
            if (hotLoop != null) {
                out.append(hotLoop).append('\n');
            }
        }
        for (String warning : r.warnings()) {
            out.append("WARNING: ").append(warning).append('\n');
        }
        return out.toString();
    }

    /**
     * The Java heap bytes the touch loops of a row may allocate without a note: the JVM's one-time
     * work on the measuring thread, not the heap's. When a method's invocation counter asks for a
     * C2 compilation, HotSpot first interns every string constant of the method's class, as String
     * objects allocated on the thread that asked (CompileBroker::compile_method), once per class.
     * The unit tests' allocation checks ({@code AllocationFreeTest}, {@code AccessPathTest}) allow
     * the same. A path that allocates once per touch or per fault allocates more than this in one
     * run of the default plan (25,600 touches, 1,600 faults or more).
     */
    static final long HOT_LOOP_ALLOWANCE_BYTES = 4096;

    /** The note for a row whose touch loops allocated more than {@link #HOT_LOOP_ALLOWANCE_BYTES}, else null. */
    static String hotLoopNote(Row row) {
        if (!row.available() || row.hotLoopAllocated() <= HOT_LOOP_ALLOWANCE_BYTES) {
            return null;
        }
        return String.format(Locale.ROOT, "note: %s: the touch loops allocated %d bytes on the Java heap over %d touches, more than "
                + "the %d bytes the JIT's one-time work explains: something on the touch or fault path allocates", row.label(),
                row.hotLoopAllocated(), row.touches(), HOT_LOOP_ALLOWANCE_BYTES);
    }

    private static int labelWidth(List<Row> rows) {
        return Math.max(9, rows.stream().mapToInt(row -> row.label().length()).max().orElse(0) + 1);
    }

    private static String run(BinaryTreesReference.Run run) {
        if (run.error() != null && !Double.isFinite(run.workMs())) {
            return "failed (" + run.error() + ")";
        }
        String output = run.outputExact() ? "exact" : "WRONG";
        if (run.repeatsMs().size() < 2) {
            return String.format(Locale.ROOT, "%.2f s (output %s)", run.workMs() / 1e3, output);
        }
        double lo = run.repeatsMs().stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double hi = run.repeatsMs().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return String.format(Locale.ROOT, "%.2f s (%.2f to %.2f s, output %s)", run.workMs() / 1e3, lo / 1e3, hi / 1e3, output);
    }

    private static String mib(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + "m" : bytes + " B";
    }

    private static String times(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.2fx", d) : "-";
    }

    private static String us(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "-";
    }

    private static String ratio(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "-";
    }

    // ---- JSON -------------------------------------------------------------------------------------

    /** The raw numbers as one JSON document. */
    public static String json(Result r) {
        StringBuilder j = new StringBuilder(4096);
        CompareHarness.Plan p = r.plan();
        j.append("{\n  \"plan\": {\"name\": ").append(Json.quote(p.name())).append(", \"heapMb\": ").append(p.heapMb())
                .append(", \"pagesPerRound\": ").append(p.pages()).append(", \"warmupRounds\": ").append(p.warmupRounds())
                .append(", \"faultRounds\": ").append(p.faultRounds()).append(", \"compactionRounds\": ").append(p.compactionRounds())
                .append(", \"floorPasses\": ").append(p.floorPasses()).append(", \"installPages\": ").append(p.installPages())
                .append(", \"installRounds\": ").append(p.installRounds()).append(", \"phaseSeconds\": ").append(p.phaseSeconds())
                .append("},\n");
        CompareHarness.Settings s = r.settings();
        j.append("  \"settings\": {\"modes\": ").append(strings(s.modes())).append(", \"deliveries\": ")
                .append(strings(s.deliveries().stream().map(UffdOptions.Delivery::label).toList())).append(", \"supplies\": ")
                .append(strings(s.supplies().stream().map(UffdOptions.PageSupply::label).toList())).append(", \"faultAroundPages\": ")
                .append(s.faultAroundPages() == null ? "null" : s.faultAroundPages().toString()).append(", \"runPages\": ")
                .append(s.runPages()).append(", \"rowRunPages\": ").append(s.rowRunPages() == null ? "null" : s.rowRunPages().toString())
                .append(", \"binaryTreesDepth\": ").append(s.binaryTreesDepth()).append(", \"binaryTreesHeapBytes\": ")
                .append(s.binaryTreesHeap()).append(", \"binaryTreesRuns\": ").append(s.binaryTreesRuns())
                .append(", \"idleJit\": ").append(s.idleJit()).append("},\n");
        j.append("  \"seconds\": ").append(num(r.seconds())).append(",\n");
        j.append("  \"machine\": {\"cpus\": ").append(Runtime.getRuntime().availableProcessors()).append(", \"kernel\": ")
                .append(Json.quote(System.getProperty("os.version"))).append(", \"java\": ").append(Json.quote(System.getProperty("java.version")))
                .append(", \"hugePages\": ").append(Json.quote(HugePages.describe())).append(", \"jit\": ").append(Json.quote(r.jit()))
                .append("},\n");
        Floors f = r.floors();
        j.append("  \"floors\": {\"unavailable\": ").append(f.unavailable() == null ? "null" : Json.quote(f.unavailable()))
                .append(", \"memcpy4kUs\": ").append(num(f.memcpy4kUs())).append(", \"memcpyMBps\": ").append(num(f.memcpyMBps()))
                .append(", \"memcpyPagesMBps\": ").append(num(f.memcpyPagesMBps()))
                .append(", \"faults\": {");
        List<String> parts = new ArrayList<>();
        f.faults().forEach((k, v) -> parts.add(Json.quote(k) + ": " + percentiles(v)));
        j.append(String.join(", ", parts)).append("}, \"installUsPerPage\": {");
        parts.clear();
        f.install().forEach((mode, us) -> {
            List<String> at = new ArrayList<>();
            for (int i = 0; i < us.size(); i++) {
                at.add("\"" + CompareHarness.INSTALL_RUNS.get(i) + "\": " + num(us.get(i)));
            }
            parts.add(Json.quote(mode) + ": {" + String.join(", ", at) + "}");
        });
        j.append(String.join(", ", parts)).append("}},\n  \"rows\": [\n");
        for (int i = 0; i < r.rows().size(); i++) {
            Row row = r.rows().get(i);
            UffdOptions o = row.variant().options();
            j.append("    {\"label\": ").append(Json.quote(row.label())).append(", \"mode\": ").append(Json.quote(row.variant().mode()))
                    .append(", \"delivery\": ").append(o == null ? "null" : Json.quote(o.delivery().label()))
                    .append(", \"supply\": ").append(o == null ? "null" : Json.quote(o.supply().label()));
            if (!row.available()) {
                j.append(", \"available\": false, \"reason\": ").append(Json.quote(row.unavailable()));
            } else {
                j.append(", \"available\": true, \"faultUs\": ").append(percentiles(row.fault()))
                        .append(", \"floor\": ").append(Json.quote(row.floorName())).append(", \"floorUs\": ").append(num(row.floorUs()))
                        .append(", \"floorPasses\": ").append(row.floor() == null ? "null" : percentiles(row.floor()))
                        .append(", \"ratio\": ").append(num(row.ratio()))
                        .append(", \"stallRatio\": ").append(num(row.stallRatio()))
                        .append(", \"stallRoundMedianUs\": ").append(num(row.stallRoundMedianUs()))
                        .append(", \"stallRoundRatio\": ").append(num(row.stallRoundRatio()))
                        .append(", \"perFault\": ").append(row.perFault())
                        .append(", \"faultAroundPages\": ").append(row.faultAroundPages())
                        .append(", \"faultBuiltPages\": ").append(row.faultBuiltPages())
                        .append(", \"faultRounds\": ").append(row.faultRounds())
                        .append(", \"compactionRounds\": ").append(row.compactionRounds())
                        .append(", \"faultsServed\": ").append(row.faultsServed()).append(", \"touches\": ").append(row.touches())
                        .append(", \"hotLoopAllocatedBytes\": ").append(row.hotLoopAllocated())
                        .append(", \"liveMB\": ").append(num(row.liveMB()))
                        .append(", \"compactionMs\": ").append(num(row.compactionMs()))
                        .append(", \"compactionMBps\": ").append(num(row.compactionMBps()))
                        .append(", \"pauseP50Ms\": ").append(num(row.pauseP50Ms()))
                        .append(", \"pauseMaxMs\": ").append(num(row.pauseMaxMs()))
                        .append(", \"peakRssMB\": ").append(num(row.peakRssMB()))
                        .append(", \"breakdown\": ").append(breakdown(row.breakdown()))
                        .append(", \"sweep\": [");
                List<String> points = new ArrayList<>();
                for (SweepPoint sp : row.sweep()) {
                    points.add("{\"runPages\": " + sp.runPages() + ", \"unavailable\": "
                            + (sp.unavailable() == null ? "null" : Json.quote(sp.unavailable())) + ", \"compactionMBps\": "
                            + num(sp.compactionMBps()) + ", \"compactionMs\": " + num(sp.compactionMs()) + ", \"ioctlsPerPage\": "
                            + num(sp.ioctlsPerPage()) + ", \"installUs\": " + num(sp.installUs()) + ", \"installFloorUs\": "
                            + num(sp.installFloorUs()) + ", \"installFloorRun\": " + sp.installFloorRun() + "}");
                }
                j.append(String.join(", ", points)).append(']');
            }
            j.append(i + 1 < r.rows().size() ? "},\n" : "}\n");
        }
        j.append("  ],\n  \"binaryTrees\": ");
        BinaryTreesReference.Result t = r.binaryTrees();
        if (t == null) {
            j.append("null");
        } else {
            j.append("{\"depth\": ").append(t.depth()).append(", \"heapBytes\": ").append(t.heapBytes())
                    .append(", \"runs\": ").append(t.repeats())
                    .append(", \"ratio\": ").append(num(t.ratio())).append(", \"ratioRange\": ").append(range(t.ratioRange(t.best())))
                    .append(", \"faultline\": ").append(treeRun(t.best()))
                    .append(", \"faultlineRuns\": [");
            for (int i = 0; i < t.faultline().size(); i++) {
                j.append(i == 0 ? "" : ", ").append(treeRun(t.faultline().get(i)));
            }
            j.append("]")
                    .append(", \"hotspot\": ").append(treeRun(t.hotspot())).append('}');
        }
        j.append(",\n  \"peakRssMethod\": ").append(Json.quote(r.peakRssMethod()));
        j.append(",\n  \"warnings\": ").append(strings(r.warnings())).append("\n}\n");
        return j.toString();
    }

    private static String breakdown(Breakdown b) {
        if (b == null) {
            return "null";
        }
        return "{\"pagesCompacted\": " + b.pagesCompacted() + ", \"wallUsPerPage\": " + num(b.wallUsPerPage()) + ", \"buildUs\": "
                + num(b.buildUs()) + ", \"supplyUs\": " + num(b.supplyUs()) + ", \"pagesInstalled\": " + b.pagesInstalled()
                + ", \"installRuns\": " + b.installRuns() + ", \"ioctlsPerPage\": " + num(b.ioctlsPerPage()) + ", \"installUs\": "
                + num(b.installUs()) + ", \"installFloorUs\": " + num(b.installFloorUs()) + ", \"installFloorRun\": " + b.installFloorRun()
                + ", \"faults\": " + b.faults() + ", \"faultUs\": " + num(b.faultUs()) + ", \"faultBuildUs\": " + num(b.faultBuildUs())
                + ", \"faultInstallUs\": " + num(b.faultInstallUs()) + ", \"recycledPages\": " + b.recycledPages()
                + ", \"sigbusFaults\": " + b.sigbusFaults() + "}";
    }

    private static String treeRun(BinaryTreesReference.Run run) {
        return "{\"runtime\": " + Json.quote(run.runtime()) + ", \"label\": " + Json.quote(run.label()) + ", \"workMs\": "
                + num(run.workMs()) + ", \"processMs\": " + num(run.processMs()) + ", \"outputExact\": " + run.outputExact()
                + ", \"error\": " + (run.error() == null ? "null" : Json.quote(run.error())) + ", \"workMsRuns\": "
                + "[" + String.join(", ", run.repeatsMs().stream().map(CompareReport::num).toList()) + "]"
                + ", \"command\": " + strings(run.command()) + "}";
    }

    private static String range(double[] lohi) {
        return "[" + num(lohi[0]) + ", " + num(lohi[1]) + "]";
    }

    private static String strings(List<String> xs) {
        return "[" + String.join(", ", xs.stream().map(Json::quote).toList()) + "]";
    }

    private static String percentiles(Percentiles p) {
        return "{\"n\": " + p.count() + ", \"bestPassP50\": " + num(p.bestPassP50()) + ", \"p50\": " + num(p.p50()) + ", \"p99\": "
                + num(p.p99()) + ", \"p999\": " + num(p.p999()) + ", \"max\": " + num(p.max()) + ", \"mean\": " + num(p.mean()) + "}";
    }

    static String num(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.4f", d) : "null";
    }

    // ---- CSV ---------------------------------------------------------------------------------------

    /** The rows as CSV, one line per row of the table, with its cost breakdown (empty cells where none). */
    public static String csv(Result r) {
        List<String> header = List.of("label", "mode", "delivery", "supply", "available", "reason", "fault_p50_us", "fault_p99_us",
                "fault_p999_us", "fault_max_us", "fault_mean_us", "floor", "floor_p50_us", "ratio", "stall_ratio", "stall_round_ratio", "fault_around_pages",
                "fault_built_pages", "faults_served", "touches",
                "hot_loop_alloc_bytes", "live_mb", "compaction_ms", "compaction_mbps", "memcpy_mbps", "pause_p50_ms", "pause_max_ms",
                "peak_rss_mb", "build_us", "supply_us", "install_us", "install_floor_us", "install_floor_run", "ioctls_per_page",
                "fault_service_us", "fault_build_us", "fault_install_us", "wall_us_per_page");
        StringBuilder c = new StringBuilder(String.join(",", header)).append('\n');
        for (Row row : r.rows()) {
            UffdOptions o = row.variant().options();
            List<String> cells = new ArrayList<>(List.of(row.label(), row.variant().mode(), o == null ? "" : o.delivery().label(),
                    o == null ? "" : o.supply().label()));
            if (!row.available()) {
                cells.add("false");
                cells.add(text(row.unavailable()));
                while (cells.size() < header.size()) {
                    cells.add("");
                }
            } else {
                Percentiles p = row.fault();
                cells.addAll(List.of("true", "", csvNum(p.p50()), csvNum(p.p99()), csvNum(p.p999()), csvNum(p.max()), csvNum(p.mean()),
                        row.floorName(), csvNum(row.floorUs()), csvNum(row.ratio()), csvNum(row.stallRatio()),
                        csvNum(row.stallRoundRatio()), Long.toString(row.faultAroundPages()), Long.toString(row.faultBuiltPages()), Long.toString(row.faultsServed()),
                        Long.toString(row.touches()), Long.toString(row.hotLoopAllocated()), csvNum(row.liveMB()),
                        csvNum(row.compactionMs()), csvNum(row.compactionMBps()), csvNum(r.floors().memcpyMBps()),
                        csvNum(row.pauseP50Ms()), csvNum(row.pauseMaxMs()), csvNum(row.peakRssMB())));
                Breakdown b = row.breakdown();
                if (b == null) {
                    while (cells.size() < header.size()) {
                        cells.add("");
                    }
                } else {
                    cells.addAll(List.of(csvNum(b.buildUs()), csvNum(b.supplyUs()), csvNum(b.installUs()), csvNum(b.installFloorUs()),
                            Long.toString(b.installFloorRun()), csvNum(b.ioctlsPerPage()), csvNum(b.faultUs()), csvNum(b.faultBuildUs()),
                            csvNum(b.faultInstallUs()), csvNum(b.wallUsPerPage())));
                }
            }
            c.append(String.join(",", cells)).append('\n');
        }
        return c.toString();
    }

    /** The run-length sweep as CSV (header only without a sweep). */
    public static String sweepCsv(Result r) {
        StringBuilder c = new StringBuilder("label,run_pages,available,reason,compaction_mbps,x_memcpy,compaction_ms,ioctls_per_page,"
                + "install_us,install_floor_us,install_floor_run\n");
        for (Row row : r.rows()) {
            for (SweepPoint s : row.sweep()) {
                c.append(String.join(",", List.of(row.label(), Long.toString(s.runPages()), Boolean.toString(s.unavailable() == null),
                        s.unavailable() == null ? "" : text(s.unavailable()), csvNum(s.compactionMBps()),
                        csvNum(s.compactionMBps() / r.floors().memcpyMBps()), csvNum(s.compactionMs()), csvNum(s.ioctlsPerPage()),
                        csvNum(s.installUs()), csvNum(s.installFloorUs()), Long.toString(s.installFloorRun())))).append('\n');
            }
        }
        return c.toString();
    }

    /**
     * The binary-trees reference as CSV: one line per runtime, the Faultline heaps first (header
     * only without one); {@code work_ms} and {@code process_ms} are medians over {@code runs},
     * {@code ratio} is the median work time over HotSpot's, {@code ratio_min} and {@code ratio_max}
     * the smallest and largest ratio of one run, {@code work_ms_runs} each run's time (separated by
     * {@code ;}).
     */
    public static String binaryTreesCsv(Result r) {
        StringBuilder c = new StringBuilder(
                "runtime,label,depth,heap_bytes,work_ms,process_ms,output_exact,error,ratio,runs,ratio_min,ratio_max,work_ms_runs\n");
        BinaryTreesReference.Result t = r.binaryTrees();
        if (t != null) {
            for (BinaryTreesReference.Run run : t.runs()) {
                double[] range = t.ratioRange(run);
                c.append(String.join(",", List.of(run.runtime(), text(run.label()), Integer.toString(t.depth()), Long.toString(t.heapBytes()),
                        csvNum(run.workMs()), csvNum(run.processMs()), Boolean.toString(run.outputExact()),
                        run.error() == null ? "" : text(run.error()), csvNum(t.ratio(run)), Integer.toString(run.repeatsMs().size()),
                        csvNum(range[0]), csvNum(range[1]),
                        String.join(";", run.repeatsMs().stream().map(CompareReport::csvNum).toList())))).append('\n');
            }
        }
        return c.toString();
    }

    /** Every output file's name and text. */
    public static Map<String, String> files(Result r) {
        Map<String, String> files = new java.util.LinkedHashMap<>();
        files.put("compare.json", json(r));
        files.put("compare.csv", csv(r));
        if (r.settings().sweep()) {
            files.put("compare-sweep.csv", sweepCsv(r));
        }
        if (r.binaryTrees() != null) {
            files.put("compare-binarytrees.csv", binaryTreesCsv(r));
        }
        return files;
    }

    private static String csvNum(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.4f", d) : "";
    }

    private static String text(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
