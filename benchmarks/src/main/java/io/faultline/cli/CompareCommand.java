package io.faultline.cli;

import io.faultline.bench.BenchSupport;
import io.faultline.bench.CompareChart;
import io.faultline.bench.CompareHarness;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code faultline compare}: measures each way a compacted page can reach the mutator (java,
 * uffd COPY, CONTINUE, MOVE) against floors measured in the same run, prints a table (progress
 * on stderr), writes {@code compare.png}, {@code compare.json} and {@code compare.csv} into a
 * results folder and names that folder on the last stdout line.
 */
public final class CompareCommand {
    private CompareCommand() {
    }

    public static String usage() {
        return """
                Usage: faultline compare [--quick] [--out DIR] [--modes LIST]

                Compares the java backend and the uffd delivery modes (copy, continue, move):
                fault service cost per page right after a pause, its ratio to the floor measured
                in the same run (raw userfaultfd round trip of the same mode; memcpy 4 KiB for
                java), compaction throughput in MB/s of live data, and the pause. A mode that
                cannot run here gets a row that says why.

                Options:
                  --quick      a shorter run (under a minute on 2 cores; default: under 3 minutes)
                  --out DIR    results folder (default results/<timestamp>)
                  --modes LIST comma-separated subset of java,copy,continue,move (default all)
                  -h, --help   print this help

                Writes compare.png (chart), compare.json and compare.csv (raw numbers) into the
                results folder; its path is the last line on stdout. Progress goes to stderr.
                """;
    }

    private static List<String> modes(String list) {
        List<String> given = java.util.Arrays.stream(list.split(",", -1)).map(String::trim).toList();
        for (String m : given) {
            if (!BenchSupport.BACKENDS.contains(m)) {
                throw new UsageException("--modes '" + list + "': '" + m + "' is not one of " + String.join(", ", BenchSupport.BACKENDS));
            }
        }
        return BenchSupport.BACKENDS.stream().filter(given::contains).toList();
    }

    /** Runs the command; returns the exit status. Throws {@link UsageException} for a bad command line. */
    public static int execute(List<String> args, PrintStream out, PrintStream err) {
        CompareHarness.Plan plan = CompareHarness.Plan.DEFAULT;
        String planOption = null;
        String outDir = null;
        List<String> modes = BenchSupport.BACKENDS;
        Set<String> seen = new HashSet<>();
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
                case "--out" -> {
                    if (value == null) {
                        if (i + 1 >= args.size() || args.get(i + 1).startsWith("-")) {
                            throw new UsageException("--out needs a directory");
                        }
                        value = args.get(++i);
                    }
                    if (value.isEmpty()) {
                        throw new UsageException("--out needs a directory");
                    }
                    outDir = value;
                }
                case "--modes" -> {
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw new UsageException("--modes needs a list, e.g. java,copy");
                        }
                        value = args.get(++i);
                    }
                    modes = modes(value);
                }
                default -> throw new UsageException(a.startsWith("-") ? "unknown option '" + a + "' for compare"
                        : "unexpected argument '" + a + "' for compare");
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
        CompareHarness.Result result;
        try {
            result = new CompareHarness(plan, modes, err).run();
        } catch (RuntimeException | LinkageError e) {
            err.println("faultline: compare failed: " + e);
            e.printStackTrace(err);
            return Main.EXIT_FAILED;
        }
        out.print(CompareHarness.table(result));
        out.flush();
        try {
            Files.writeString(dir.resolve("compare.json"), CompareHarness.json(result));
            Files.writeString(dir.resolve("compare.csv"), CompareHarness.csv(result));
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
