package io.faultline.cli;

import io.faultline.bench.BenchSupport;
import io.faultline.bench.CompareChart;
import io.faultline.bench.CompareHarness;
import io.faultline.bench.CompareReport;
import io.faultline.uffd.UffdOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code faultline compare}: measures each way a compacted page can reach the mutator (java;
 * uffd COPY, CONTINUE, MOVE, each by thread and by SIGBUS delivery) against floors measured in
 * the same run, prints a table (progress on stderr), writes {@code compare.png},
 * {@code compare.json} and {@code compare.csv} (and the sweep's and binary-trees' CSV when they
 * ran) into a results folder and names that folder on the last stdout line.
 */
public final class CompareCommand {
    /** The largest binary-trees depth {@code --binarytrees} takes. */
    public static final int MAX_BINARYTREES_DEPTH = 24;
    /** The most repetitions {@code --binarytrees-runs} takes. */
    public static final int MAX_BINARYTREES_RUNS = 15;

    private CompareCommand() {
    }

    public static String usage() {
        return """
                Usage: faultline compare [--quick] [--out DIR] [--modes LIST] [--deliveries LIST]
                                         [--supply LIST] [--fault-around N] [--run-pages LIST]
                                         [--binarytrees N [--binarytrees-heap SIZE]
                                                          [--binarytrees-runs N]] [--jit idle|normal]

                Compares the java backend and the uffd modes (copy, continue, move), each with
                thread and SIGBUS delivery, CONTINUE and MOVE also with resident pages (keep,
                recycle) beside fresh ones: fault service cost per page right after a pause and
                its ratio to the floor of the same mode and delivery, measured in the same
                rounds (the cheapest known way to do that round trip: a raw userfaultfd round
                trip whose resolver waits as the heap's service thread does, or whose SIGBUS
                handler serves the faulting thread; memcpy 4 KiB for java); compaction MB/s of
                live data; the pause; peak RSS; and per uffd row a cost breakdown per page from
                the backend's own counters (build, page supply, install ioctl and its
                batched-install floor, fault service, ioctls per page). A row that cannot run
                here says why; a heap figure below its floor is printed as a WARNING (the floor
                is wrong then).

                Options:
                  --quick          a shorter run (about 10 s on 2 cores for the default rows, against about
                                   a minute; more rows, --supply all, --binarytrees take longer)
                  --out DIR        results folder (default results/<timestamp>)
                  --modes LIST     comma-separated subset of java,copy,continue,move (default all)
                  --deliveries LIST  thread,sigbus or one of them (default both)
                  --supply LIST    page supplies of the uffd rows: fresh, recycle, keep, fallocate
                                   or all (default fresh,keep,recycle: each mode with fresh
                                   pages, CONTINUE and MOVE also with resident ones); each mode
                                   gets a row per supply that applies to it (%s)
                  --fault-around N pages a fault builds after the faulting one, 0..4095 (default:
                                   the heap's default)
                  --run-pages LIST pages per compaction run (one ioctl each), 1..4096: one value
                                   sets every heap's run length; several (e.g. 1,8,64,512) keep
                                   the default for the rows and add a sweep that repeats the
                                   compaction per value (MB/s, ioctls per page, install cost)
                  --binarytrees N  add the binary-trees reference row: depth N (e.g. 21) on a
                                   Faultline heap per uffd mode (that mode's row with the best
                                   compaction MB/s; java without a uffd row) and the same
                                   program on plain Java objects in a HotSpot G1 child JVM with
                                   the same -Xmx, outputs checked (tens of seconds each)
                  --binarytrees-heap SIZE  that row's heap and -Xmx (default 512m)
                  --binarytrees-runs N  how many times that row runs HotSpot and each heap,
                                   alternating, 1..15 (default 3): each time is the median,
                                   and the ratio of each run is given as a range
                  --jit idle|normal  idle (default): this JVM's JIT compiler threads run in
                                   SCHED_IDLE while it measures, so a late compilation of
                                   the collector's per-cycle code seldom preempts the measured
                                   mutator or compactor, and briefly (docs/results.md);
                                   normal: leave them as the JVM made them
                  -h, --help       print this help

                Writes compare.png (chart), compare.json and compare.csv (raw numbers; with a
                sweep compare-sweep.csv, with binary-trees compare-binarytrees.csv) into the
                results folder; its path is the last line on stdout. Progress goes to stderr.
                """.formatted(BenchSupport.supplyChoices());
    }

    private static <T> List<T> list(String option, String text, Function<String, T> parse) {
        List<T> out = new ArrayList<>();
        for (String item : text.split(",", -1)) {
            try {
                T value = parse.apply(item.trim());
                if (!out.contains(value)) {
                    out.add(value);
                }
            } catch (IllegalArgumentException e) {
                throw new UsageException(option + " '" + text + "': " + e.getMessage());
            }
        }
        return out;
    }

    private static List<String> modes(String list) {
        List<String> given = list("--modes", list, m -> {
            if (!BenchSupport.BACKENDS.contains(m)) {
                throw new IllegalArgumentException("'" + m + "' is not one of " + String.join(", ", BenchSupport.BACKENDS));
            }
            return m;
        });
        return BenchSupport.BACKENDS.stream().filter(given::contains).toList();
    }

    private static long number(String option, String text, long min, long max) {
        long n;
        try {
            n = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(option + " '" + text + "' is not an integer");
        }
        if (n < min || n > max) {
            throw new UsageException(option + " '" + text + "' is out of range [" + min + ", " + max + "]");
        }
        return n;
    }

    /** Runs the command; returns the exit status. Throws {@link UsageException} for a bad command line. */
    public static int execute(List<String> args, PrintStream out, PrintStream err) {
        CompareHarness.Plan plan = CompareHarness.Plan.DEFAULT;
        String planOption = null;
        String outDir = null;
        CompareHarness.Settings d = CompareHarness.Settings.defaults();
        List<String> modes = d.modes();
        List<UffdOptions.Delivery> deliveries = d.deliveries();
        List<UffdOptions.PageSupply> supplies = d.supplies();
        Long faultAround = null;
        List<Long> runPages = List.of();
        int treesDepth = 0;
        long treesHeap = d.binaryTreesHeap();
        int treesRuns = d.binaryTreesRuns();
        boolean idleJit = d.idleJit();
        Map<String, String> given = new java.util.LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        Set<String> valued = Set.of("--out", "--modes", "--deliveries", "--supply", "--fault-around", "--run-pages", "--binarytrees",
                "--binarytrees-heap", "--binarytrees-runs", "--jit");
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (name.equals("-h") || name.equals("--help")) {
                out.print(usage());
                return Main.EXIT_OK;
            }
            if (!seen.add(name)) {
                throw new UsageException(name + " given twice; give it once");
            }
            if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                        throw new UsageException(name + " needs a value (see the usage)");
                    }
                    value = args.get(++i);
                }
                if (value.isEmpty()) {
                    throw new UsageException(name + " needs a value (see the usage)");
                }
                given.put(name, value);
            }
            switch (name) {
                case "--quick", "--smoke" -> { // --smoke is for tests: tiny, numbers meaningless
                    if (value != null) {
                        throw new UsageException(name + " takes no value (got '" + a + "')");
                    }
                    if (planOption != null) {
                        throw new UsageException(planOption + " and " + name + " both choose the run length; give one");
                    }
                    planOption = name;
                    plan = name.equals("--quick") ? CompareHarness.Plan.QUICK : CompareHarness.Plan.SMOKE;
                }
                case "--out" -> outDir = value;
                case "--modes" -> modes = modes(value);
                case "--deliveries" -> deliveries = list(name, value, BenchSupport::delivery);
                case "--supply" -> supplies = value.trim().equalsIgnoreCase("all") ? List.of(UffdOptions.PageSupply.values())
                        : list(name, value, BenchSupport::supply);
                case "--fault-around" -> faultAround = number(name, value, 0, 4095);
                case "--run-pages" -> runPages = list(name, value, v -> {
                    try {
                        long n = Long.parseLong(v);
                        if (n < 1 || n > 4096) {
                            throw new IllegalArgumentException("'" + v + "' is out of range [1, 4096]");
                        }
                        return n;
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("'" + v + "' is not an integer");
                    }
                });
                case "--binarytrees" -> treesDepth = (int) number(name, value, 1, MAX_BINARYTREES_DEPTH);
                case "--binarytrees-heap" -> {
                    try {
                        treesHeap = ByteSize.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--binarytrees-heap " + e.getMessage());
                    }
                }
                case "--binarytrees-runs" -> treesRuns = (int) number(name, value, 1, MAX_BINARYTREES_RUNS);
                case "--jit" -> idleJit = switch (value.trim()) {
                    case "idle" -> true;
                    case "normal" -> false;
                    default -> throw new UsageException("--jit '" + value + "' is not one of idle, normal");
                };
                default -> throw new UsageException(a.startsWith("-") ? "unknown option '" + a + "' for compare"
                        : "unexpected argument '" + a + "' for compare");
            }
        }
        for (String treesOnly : List.of("--binarytrees-heap", "--binarytrees-runs")) {
            if (given.containsKey(treesOnly) && treesDepth == 0) {
                throw new UsageException(treesOnly + " '" + given.get(treesOnly) + "' needs --binarytrees N");
            }
        }
        List<String> uffdModes = modes.stream().filter(m -> BenchSupport.mode(m) != null).toList();
        if (uffdModes.isEmpty()) {
            for (String uffdOnly : List.of("--deliveries", "--supply")) {
                if (given.containsKey(uffdOnly)) {
                    throw new UsageException(uffdOnly + " '" + given.get(uffdOnly) + "' applies to the uffd modes; --modes '"
                            + given.get("--modes") + "' has none");
                }
            }
        } else if (given.containsKey("--supply")) {
            Set<String> unused = new LinkedHashSet<>();
            for (UffdOptions.PageSupply s : supplies) {
                if (uffdModes.stream().noneMatch(m -> s.appliesTo(BenchSupport.mode(m)))) {
                    unused.add(s.label());
                }
            }
            if (unused.size() == supplies.size()) {
                throw new UsageException("--supply '" + given.get("--supply") + "' applies to none of the modes measured ("
                        + String.join(", ", uffdModes) + "; " + BenchSupport.supplyChoices() + ")");
            }
        }
        Path dir = outDir != null ? Path.of(outDir)
                : Path.of("results", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try {
            Files.createDirectories(dir);
        } catch (IOException | RuntimeException e) {
            throw new UsageException("--out '" + dir + "': cannot create the directory: " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new UsageException("--out '" + dir + "': not writable");
        }
        CompareHarness.Settings settings = new CompareHarness.Settings(modes, deliveries, supplies, faultAround, runPages, treesDepth,
                treesHeap, treesRuns, idleJit);
        CompareHarness.Result result;
        ProgressLine progress = ProgressLine.on(err, "compare");
        try {
            result = new CompareHarness(plan, settings, progress.lines()).run();
            progress.done();
        } catch (RuntimeException | LinkageError e) {
            progress.done();
            err.println("faultline: compare failed: " + e);
            e.printStackTrace(err);
            return Main.EXIT_FAILED;
        }
        out.print(CompareReport.table(result));
        out.flush();
        try {
            for (Map.Entry<String, String> f : CompareReport.files(result).entrySet()) {
                Files.writeString(dir.resolve(f.getKey()), f.getValue());
            }
            CompareChart.write(result, dir.resolve("compare.png"));
        } catch (IOException | RuntimeException | LinkageError e) {
            err.println("faultline: compare: cannot write results into " + dir + ": " + e);
            return Main.EXIT_FAILED;
        }
        err.printf(java.util.Locale.ROOT, "compare: done in %.1f s%n", result.seconds());
        out.println("results: " + dir.toAbsolutePath().normalize());
        out.flush();
        return Main.EXIT_OK;
    }
}
