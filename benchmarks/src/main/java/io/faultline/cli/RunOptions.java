package io.faultline.cli;

import io.faultline.bench.BenchSupport;
import io.faultline.heap.HeapConfig;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The options of {@code faultline run}, parsed and checked. {@link #parse} rejects anything it
 * does not understand with a one-line {@link UsageException} naming the option and the value;
 * an option given twice and options that do not apply to the chosen backend or workload are
 * rejected too, so a typo'd experiment never silently runs with defaults or with the last value.
 *
 * @param backend    {@code java}, {@code uffd} or {@code auto}
 * @param mode       {@code continue}, {@code copy} or {@code move}; null when not given
 * @param delivery   {@code thread} or {@code sigbus} (uffd and auto only); null when not given
 * @param supply     {@code fresh}, {@code recycle}, {@code keep} or {@code fallocate} (uffd and auto
 *                   only; the mode must take it); null when not given
 * @param allocationPages {@code small} or {@code huge} (uffd and auto only; null: huge where it applies)
 * @param runPages   pages per compaction run ({@link io.faultline.heap.HeapConfig.Builder#runPages}); null: the default
 * @param faultAround pages a fault builds after its own ({@link io.faultline.heap.HeapConfig.Builder#faultAroundPages});
 *                   null: the default
 * @param workload   one of {@link #WORKLOADS}
 * @param heapBytes  heap capacity in bytes
 * @param threads    mutator threads
 * @param gcThreads  compactor threads (concurrent compaction only)
 * @param stw        stop-the-world compaction instead of concurrent
 * @param stwMarking marking and planning inside one pause instead of concurrently
 * @param depth      tree depth (binarytrees, gcbench)
 * @param seed       random seed (random, gcold)
 * @param ops        operations per thread (random); 0 when {@code durationMs} is given
 * @param durationMs run time per thread (random); 0 when {@code ops} is used
 * @param liveMb     live tree storage in MiB over all threads (gcold)
 * @param steps      steps per thread, each allocating 1 MiB (gcold)
 * @param verify     run the heap verifier after every collection and at the end
 * @param checked    checked field access
 * @param gcLog      print GC log lines to stderr
 * @param json       print one JSON object as the last stdout line
 * @param injectDamage debug: zero one live object's from-space header at the first concurrent
 *                   compaction, to watch the heap fail loud
 * @param trace      CSV file of page-state transitions and faults ({@code --trace}); null: no trace.
 *                   The timeline PNG goes next to it ({@link #timelinePng()})
 * @param traceFirstCycle first cycle traced (1-based)
 * @param traceLastCycle  last cycle traced (inclusive)
 * @param watch      draw a live page map on stdout while the workload runs
 * @param watchIntervalMs how often the page map is redrawn (0: the default for the output, see
 *                   {@link #DEFAULT_WATCH_TTY_MS} and {@link #DEFAULT_WATCH_PLAIN_MS})
 * @param help       print the usage and do nothing else
 */
public record RunOptions(
        String backend,
        String mode,
        String delivery,
        String supply,
        String allocationPages,
        Long runPages,
        Long faultAround,
        String workload,
        long heapBytes,
        int threads,
        int gcThreads,
        boolean stw,
        boolean stwMarking,
        boolean youngCycles,
        int depth,
        long seed,
        long ops,
        long durationMs,
        int liveMb,
        int steps,
        boolean verify,
        boolean checked,
        boolean gcLog,
        boolean json,
        boolean injectDamage,
        String trace,
        long traceFirstCycle,
        long traceLastCycle,
        boolean watch,
        long watchIntervalMs,
        boolean help) {

    public static final List<String> BACKENDS = List.of("java", "uffd", "auto");
    public static final List<String> MODES = List.of("continue", "copy", "move");
    public static final List<String> DELIVERIES = List.of("thread", "sigbus");
    public static final List<String> SUPPLIES = List.of("fresh", "recycle", "keep", "fallocate");
    /** {@code --alloc-pages} values. */
    public static final List<String> ALLOCATION_PAGES = List.of("small", "huge");
    public static final List<String> WORKLOADS = List.of("random", "binarytrees", "gcbench", "gcold");

    /** Default {@code --heap}, per workload: each makes at least 3 collections at its defaults. */
    public static final Map<String, String> DEFAULT_HEAP = Map.of(
            "random", "64m", "binarytrees", "96m", "gcbench", "64m", "gcold", "64m");
    public static final int DEFAULT_DEPTH = 16;
    public static final long DEFAULT_SEED = 42;
    public static final long DEFAULT_OPS = 4_000_000;
    public static final int DEFAULT_LIVE_MB = 16;
    public static final int DEFAULT_STEPS = 200;
    /** {@code --watch} redraw interval on a terminal. */
    public static final long DEFAULT_WATCH_TTY_MS = 250;
    /** {@code --watch} line interval when stdout is not a terminal. */
    public static final long DEFAULT_WATCH_PLAIN_MS = 1000;

    /** Options that take a value. */
    private static final Set<String> VALUED = Set.of("--backend", "--mode", "--delivery", "--page-supply", "--alloc-pages", "--run-pages",
            "--fault-around", "--workload", "--heap", "--threads", "--gc-threads", "--depth", "--seed", "--ops", "--duration-ms",
            "--live-mb", "--steps", "--trace", "--trace-cycles", "--watch-interval-ms");
    private static final Set<String> FLAGS = Set.of("--stw", "--stw-marking", "--young-cycles", "--verify", "--checked", "--gc-log", "--json", "--inject-damage",
            "--watch", "--help", "-h");

    /** Workload-specific options and the workloads they apply to. */
    private static final Map<String, Set<String>> APPLIES_TO = Map.of(
            "--depth", Set.of("binarytrees", "gcbench"),
            "--seed", Set.of("random", "gcold"),
            "--ops", Set.of("random"),
            "--duration-ms", Set.of("random"),
            "--live-mb", Set.of("gcold"),
            "--steps", Set.of("gcold"));

    /** Parses the arguments that follow {@code run}. */
    public static RunOptions parse(List<String> args) {
        Map<String, String> given = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (VALUED.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException(name + " needs a value");
                    }
                    value = args.get(++i);
                }
            } else if (FLAGS.contains(name)) {
                if (value != null) {
                    throw new UsageException(name + " takes no value (got '" + arg + "')");
                }
                value = "true";
            } else if (arg.startsWith("-")) {
                throw new UsageException("unknown option '" + arg + "'");
            } else {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
            String option = name.equals("-h") ? "--help" : name;
            String earlier = given.put(option, value);
            if (earlier != null && !option.equals("--help")) {
                throw new UsageException(FLAGS.contains(option) ? option + " given twice"
                        : option + " given twice ('" + earlier + "' and '" + value + "'); give it once");
            }
        }
        if (given.containsKey("--help")) {
            return defaults(true);
        }

        String backend = choice(given, "--backend", "java", BACKENDS);
        String workload = choice(given, "--workload", "random", WORKLOADS);
        String mode = given.containsKey("--mode") ? choice(given, "--mode", null, MODES) : null;
        if (mode != null && backend.equals("java")) {
            throw new UsageException("--mode '" + mode + "' applies to --backend uffd or auto, not java");
        }
        String delivery = given.containsKey("--delivery") ? choice(given, "--delivery", null, DELIVERIES) : null;
        String supply = given.containsKey("--page-supply") ? choice(given, "--page-supply", null, SUPPLIES) : null;
        String allocationPages = given.containsKey("--alloc-pages") ? choice(given, "--alloc-pages", null, ALLOCATION_PAGES) : null;
        for (String uffdOnly : List.of("--delivery", "--page-supply", "--alloc-pages")) {
            if (given.containsKey(uffdOnly) && backend.equals("java")) {
                throw new UsageException(uffdOnly + " '" + given.get(uffdOnly) + "' applies to --backend uffd or auto, not java");
            }
        }
        if (supply != null || allocationPages != null) {
            String m = mode != null ? mode : "continue";
            try {
                uffdOptions(delivery, supply, allocationPages).check(UffdProbe.Mode.valueOf(m.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                String option = supply != null && e.getMessage().startsWith("page supply") ? "--page-supply" : "--alloc-pages";
                throw new UsageException(option + " '" + given.get(option) + "': " + e.getMessage()
                        + (mode == null ? " (--mode defaults to continue)" : ""));
            }
        }
        for (Map.Entry<String, Set<String>> e : APPLIES_TO.entrySet()) {
            if (given.containsKey(e.getKey()) && !e.getValue().contains(workload)) {
                throw new UsageException(e.getKey() + " '" + given.get(e.getKey()) + "' does not apply to --workload "
                        + workload + " (only " + String.join(", ", e.getValue().stream().sorted().toList()) + ")");
            }
        }
        boolean stw = given.containsKey("--stw");
        if (stw && given.containsKey("--gc-threads")) {
            throw new UsageException("--gc-threads '" + given.get("--gc-threads")
                    + "' has no effect with --stw (the pause compacts every page)");
        }
        if (stw && given.containsKey("--fault-around")) {
            throw new UsageException("--fault-around '" + given.get("--fault-around")
                    + "' has no effect with --stw (no mutator faults: the pause compacts every page)");
        }
        if (stw && given.containsKey("--inject-damage")) {
            throw new UsageException("--inject-damage damages the first concurrent compaction; with --stw there is none");
        }
        if (given.containsKey("--ops") && given.containsKey("--duration-ms")) {
            throw new UsageException("--ops '" + given.get("--ops") + "' and --duration-ms '"
                    + given.get("--duration-ms") + "' are mutually exclusive");
        }

        int depth = (int) number(given, "--depth", DEFAULT_DEPTH, 1, 24);
        if (workload.equals("gcbench") && depth < 4) {
            throw new UsageException("--depth '" + given.get("--depth") + "' is below gcbench's minimum tree depth 4");
        }

        String heapText = given.getOrDefault("--heap", DEFAULT_HEAP.get(workload));
        long heap;
        try {
            heap = ByteSize.parse(heapText);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--heap " + e.getMessage());
        }
        if (given.containsKey("--trace-cycles") && !given.containsKey("--trace")) {
            throw new UsageException("--trace-cycles '" + given.get("--trace-cycles") + "' needs --trace FILE");
        }
        String trace = given.get("--trace");
        if (trace != null && (trace.isBlank() || trace.endsWith("/"))) {
            throw new UsageException("--trace '" + trace + "' is not a file name");
        }
        long[] cycles = cycles(given.getOrDefault("--trace-cycles", "1"));
        if (given.containsKey("--watch-interval-ms") && !given.containsKey("--watch")) {
            throw new UsageException("--watch-interval-ms '" + given.get("--watch-interval-ms") + "' needs --watch");
        }
        long durationMs = number(given, "--duration-ms", 0, 1, 86_400_000L);
        long ops = durationMs > 0 ? 0 : number(given, "--ops", DEFAULT_OPS, 1, Long.MAX_VALUE);
        return new RunOptions(
                backend,
                mode,
                delivery,
                supply,
                allocationPages,
                given.containsKey("--run-pages") ? number(given, "--run-pages", 0, 1, 4096) : null,
                given.containsKey("--fault-around") ? number(given, "--fault-around", 0, 0, 4095) : null,
                workload,
                heap,
                (int) number(given, "--threads", 1, 1, 256),
                (int) number(given, "--gc-threads", 1, 1, 64),
                stw,
                given.containsKey("--stw-marking"),
                given.containsKey("--young-cycles"),
                depth,
                number(given, "--seed", DEFAULT_SEED, Long.MIN_VALUE, Long.MAX_VALUE),
                ops,
                durationMs,
                (int) number(given, "--live-mb", DEFAULT_LIVE_MB, 1, 16_384),
                (int) number(given, "--steps", DEFAULT_STEPS, 1, Integer.MAX_VALUE),
                given.containsKey("--verify"),
                given.containsKey("--checked"),
                given.containsKey("--gc-log"),
                given.containsKey("--json"),
                given.containsKey("--inject-damage"),
                trace,
                cycles[0],
                cycles[1],
                given.containsKey("--watch"),
                number(given, "--watch-interval-ms", 0, 10, 60_000),
                false);
    }

    /** {@code --trace-cycles N} (cycle N) or {@code N..M} (cycles N to M), 1-based. */
    private static long[] cycles(String spec) {
        String[] parts = spec.split("\\.\\.", -1);
        if (parts.length > 2) {
            throw new UsageException("--trace-cycles '" + spec + "' is not N or N..M");
        }
        long[] c = new long[2];
        try {
            c[0] = Long.parseLong(parts[0].trim());
            c[1] = parts.length == 2 ? Long.parseLong(parts[1].trim()) : c[0];
        } catch (NumberFormatException e) {
            throw new UsageException("--trace-cycles '" + spec + "' is not N or N..M (cycles are numbered from 1)");
        }
        if (c[0] < 1 || c[1] < c[0]) {
            throw new UsageException("--trace-cycles '" + spec + "': need 1 <= N <= M (cycles are numbered from 1)");
        }
        if (c[1] - c[0] >= MAX_TRACED_CYCLES) {
            throw new UsageException("--trace-cycles '" + spec + "': at most " + MAX_TRACED_CYCLES + " cycles");
        }
        return c;
    }

    /** The most cycles one {@code --trace} records (the timeline keeps every interval in memory). */
    public static final int MAX_TRACED_CYCLES = 64;

    /** Where {@code --trace FILE} puts the timeline: FILE with {@code .csv} replaced by (or {@code .png} added). */
    public String timelinePng() {
        if (trace == null) {
            return null;
        }
        return (trace.endsWith(".csv") ? trace.substring(0, trace.length() - 4) : trace) + ".png";
    }

    private static RunOptions defaults(boolean help) {
        return new RunOptions("java", null, null, null, null, null, null, "random", ByteSize.parse(DEFAULT_HEAP.get("random")), 1, 1, false, false, false,
                DEFAULT_DEPTH, DEFAULT_SEED, DEFAULT_OPS, 0, DEFAULT_LIVE_MB, DEFAULT_STEPS, false, false, false, false, false, null, 1, 1,
                false, 0, help);
    }

    /**
     * The uffd options of {@code --delivery}, {@code --page-supply} and {@code --alloc-pages} (null:
     * the default of each).
     */
    static UffdOptions uffdOptions(String delivery, String supply, String allocationPages) {
        UffdOptions o = UffdOptions.defaults();
        if (delivery != null) {
            o = o.withDelivery(UffdOptions.Delivery.valueOf(delivery.toUpperCase(Locale.ROOT)));
        }
        if (supply != null) {
            o = o.withSupply(UffdOptions.PageSupply.valueOf(supply.toUpperCase(Locale.ROOT)));
        }
        if (allocationPages != null) {
            o = o.withAllocationPages(UffdOptions.AllocationPages.valueOf(allocationPages.toUpperCase(Locale.ROOT)));
        }
        return o;
    }

    /** The uffd options this command line asks for. */
    public UffdOptions uffdOptions() {
        return uffdOptions(delivery, supply, allocationPages);
    }

    private static String choice(Map<String, String> given, String option, String dflt, List<String> allowed) {
        String v = given.get(option);
        if (v == null) {
            return dflt;
        }
        String lower = v.toLowerCase(Locale.ROOT);
        if (!allowed.contains(lower)) {
            throw new UsageException(option + " '" + v + "' is not one of " + String.join(", ", allowed));
        }
        return lower;
    }

    private static long number(Map<String, String> given, String option, long dflt, long min, long max) {
        String v = given.get(option);
        if (v == null) {
            return dflt;
        }
        long n;
        try {
            n = Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException(option + " '" + v + "' is not an integer");
        }
        if (n < min || n > max) {
            throw new UsageException(option + " '" + v + "' is out of range [" + min + ", "
                    + (max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? "..." : Long.toString(max)) + "]");
        }
        return n;
    }

    /** Usage text of {@code faultline run}; every option, its default and what it applies to. */
    public static String usage() {
        return """
                Usage: faultline run [options]

                Runs a workload on a Faultline heap and reports what the collector did.

                Heap and collector:
                  --backend java|uffd|auto  where compacted pages come from (default java);
                                            auto: uffd in CONTINUE mode if the probe finds it
                                            usable, else java, saying which and why on stderr
                  --mode continue|copy|move uffd mode: the ioctl that installs a page (uffd and
                                            auto only; default continue)
                  --delivery thread|sigbus  uffd: how a fault reaches the code that serves it:
                                            thread (default; the native fault-service thread) or
                                            sigbus (a handler in the faulting thread, ART's way)
                  --page-supply fresh|recycle|keep|fallocate
                                            uffd: where to-space pages are built (default
                                            fresh); the modes take
                                            %s
                  --alloc-pages small|huge  uffd: the pages mutators allocate in (the view above
                                            the to-space): 4 KiB (the default for continue
                                            with keep), or 2 MiB transparent huge pages
                                            (the default otherwise; not move with recycle)
                  --run-pages N             pages a compactor claims, builds and installs at once
                                            (one ioctl on uffd), 1..4096 (default %d)
                  --fault-around N          pages a fault builds and maps after its own page,
                                            0..4095 (default %d; not with --stw)
                  --heap SIZE               heap capacity, e.g. 512k, 64m, 1g (default 64m;
                                            binarytrees %s)
                  --threads N               mutator threads, 1..256 (default 1)
                  --gc-threads N            compactor threads, 1..64 (default 1)
                  --stw                     compact every page inside the pause instead of
                                            concurrently (no faults then)
                  --stw-marking             mark and plan inside one pause instead of
                                            concurrently (no write barrier then)
                  --young-cycles            a cycle that starts by itself leaves old objects
                                            (kept by two cycles in a row) alone while they fill
                                            at most half the heap (default: every cycle traces
                                            everything)
                  --verify                  verify the heap after every collection and at the end
                  --checked                 checked field access (validates every reference)
                  --gc-log                  print one -Xlog:gc style line per collection to stderr
                  --inject-damage           debug: zero one live object's header in from-space at
                                            the first concurrent compaction, to watch the heap fail
                                            loud (the run exits 1, verified false, with the
                                            HeapCorruptedException's message; not with --stw)

                Workload:
                  --workload NAME           random (default), binarytrees, gcbench or gcold
                  --seed N                  random, gcold: seed; each thread derives its own (default %d)
                  --ops N                   random: operations per thread (default %d)
                  --duration-ms N           random: run each thread for N ms instead of --ops
                  --depth N                 binarytrees: max depth (default %d);
                                            gcbench: long-lived and max tree depth, stretch
                                            depth N+2, array scaled with it (default %d, published)
                  --live-mb N               gcold: live tree storage over all threads (default %d)
                  --steps N                 gcold: steps per thread, 1 MiB of allocation each (default %d)

                Output:
                  --json                    print one JSON object as the last stdout line
                  --trace FILE              record page-state transitions, faults and phases of the
                                            traced cycles as CSV in FILE, and draw them as a
                                            timeline (page x time, colour = state) in FILE with
                                            .csv replaced by .png
                  --trace-cycles N|N..M     cycles to trace, from 1 (default 1; at most %d)
                  --watch                   draw a live page map on stdout while the workload
                                            runs: redrawn in place on a terminal, one plain
                                            line per interval otherwise
                  --watch-interval-ms N     redraw interval, 10..60000 (default %d on a
                                            terminal, %d otherwise)
                  -h, --help                print this help

                Workload text (e.g. binarytrees' published output) goes to stdout first.
                Exit status: 0 done, 1 the run failed or cannot run here (heap exhausted,
                verifier or integrity check failed, the uffd mode is unavailable on this
                machine, output could not be written), 2 bad command line.
                """.formatted(BenchSupport.supplyChoices(), HeapConfig.DEFAULT_RUN_PAGES, HeapConfig.DEFAULT_FAULT_AROUND_PAGES, DEFAULT_HEAP.get("binarytrees"), DEFAULT_SEED, DEFAULT_OPS, DEFAULT_DEPTH, DEFAULT_DEPTH, DEFAULT_LIVE_MB,
                DEFAULT_STEPS, MAX_TRACED_CYCLES, DEFAULT_WATCH_TTY_MS, DEFAULT_WATCH_PLAIN_MS);
    }
}
