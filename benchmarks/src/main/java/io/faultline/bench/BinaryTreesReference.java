package io.faultline.bench;

import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import io.faultline.workload.BinaryTrees;
import io.faultline.workload.PlainBinaryTrees;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The binary-trees reference row of {@code faultline compare --binarytrees N}: the benchmark on
 * Faultline heaps ({@code faultline run --workload binarytrees} in a child JVM, once per backend and
 * settings given) and the same program on plain Java objects ({@link PlainBinaryTrees}) in a child
 * HotSpot JVM with G1 and {@code -Xmx} equal to the Faultline heap, one after the other in the same
 * compare run, so that their ratio comes from one run. Each output is checked against the published
 * one ({@link BinaryTrees#expectedOutput}); each child times its own work (the workload, not JVM
 * start-up), and the wall time of each child process is reported too.
 *
 * <p>The whole sequence (HotSpot, then each heap) is repeated a number of times and each runtime's
 * time is the median of its repetitions: on this project's 2-CPU virtual machines one child's time
 * moved by 15% or more from one run to the next (HotSpot 2.9 to 3.7 s, a heap 8.4 to 10.9 s, a few
 * minutes apart), so the ratio of one pair could fall anywhere from 2.3x to 3.8x. Alternating the
 * runtimes puts each in the same minutes of the machine as the others.
 */
public final class BinaryTreesReference {
    /** How long a child may run before it is killed. */
    public static final Duration TIMEOUT = Duration.ofMinutes(15);
    private static final Pattern WALL_MS = Pattern.compile("\"wallMs\":([0-9.]+)");
    private static final Pattern PLAIN_MS = Pattern.compile("binarytrees: ([0-9.]+) ms");

    /**
     * One child's run.
     *
     * @param runtime     {@code faultline} or {@code hotspot}
     * @param label       what ran, e.g. {@code uffd copy/thread} or {@code G1 -Xmx512m}
     * @param command     the child's command line
     * @param workMs      the work's time as the child measured it (the median over the
     *                    repetitions), NaN if any repetition failed
     * @param processMs   the child process's wall time (JVM start-up included; the median)
     * @param outputExact every repetition's output equals the published output
     * @param error       why a repetition failed (the first), or null
     * @param repeatsMs   each repetition's work time, in the order they ran
     */
    public record Run(String runtime, String label, List<String> command, double workMs, double processMs,
                      boolean outputExact, String error, List<Double> repeatsMs) {
        public Run {
            repeatsMs = List.copyOf(repeatsMs);
        }

        public boolean ok() {
            return error == null && outputExact;
        }

        /** One repetition's run, its work time the only one. */
        static Run single(String runtime, String label, List<String> command, double workMs, double processMs,
                          boolean outputExact, String error) {
            return new Run(runtime, label, command, workMs, processMs, outputExact, error, List.of(workMs));
        }

        /** The repetitions of one runtime as one run: median times, the first error, exact only if every output was. */
        static Run of(List<Run> repeats) {
            Run first = repeats.getFirst();
            String error = repeats.stream().map(Run::error).filter(java.util.Objects::nonNull).findFirst().orElse(null);
            boolean exact = repeats.stream().allMatch(Run::outputExact);
            List<Double> work = repeats.stream().map(Run::workMs).toList();
            double median = error == null ? median(work) : Double.NaN;
            return new Run(first.runtime(), first.label(), first.command(), median,
                    median(repeats.stream().map(Run::processMs).toList()), exact, error, work);
        }
    }

    /** The median of {@code xs} (the mean of the middle two for an even count); NaN if any is NaN or there are none. */
    static double median(List<Double> xs) {
        if (xs.isEmpty() || xs.stream().anyMatch(x -> !Double.isFinite(x))) {
            return Double.NaN;
        }
        double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** A heap to run it on: {@code java} (options null) or a uffd mode with its options. */
    public record Target(String backend, UffdOptions options) {
    }

    /**
     * Every run; {@link #ratio()} is the fastest exact Faultline run's work time over HotSpot's.
     *
     * @param faultline one run per {@link Target}, in their order
     */
    public record Result(int depth, long heapBytes, List<Run> faultline, Run hotspot) {
        /** The fastest Faultline run whose output was exact, else the first. */
        public Run best() {
            Run best = null;
            for (Run r : faultline) {
                if (r.ok() && (best == null || r.workMs() < best.workMs())) {
                    best = r;
                }
            }
            return best != null ? best : faultline.getFirst();
        }

        public double ratio() {
            return ratio(best());
        }

        /** Every child's run: the Faultline heaps in order, then HotSpot. */
        public List<Run> runs() {
            List<Run> all = new ArrayList<>(faultline);
            all.add(hotspot);
            return all;
        }

        /** {@code run}'s work time over HotSpot's (medians). */
        public double ratio(Run run) {
            return run.workMs() / hotspot.workMs();
        }

        /** How many times each runtime ran. */
        public int repeats() {
            return hotspot.repeatsMs().size();
        }

        /**
         * The smallest and largest ratio of one repetition: {@code run}'s i-th work time over
         * HotSpot's i-th (they ran minutes apart at most); NaNs if a repetition failed.
         */
        public double[] ratioRange(Run run) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            int n = Math.min(run.repeatsMs().size(), hotspot.repeatsMs().size());
            for (int i = 0; i < n; i++) {
                double q = run.repeatsMs().get(i) / hotspot.repeatsMs().get(i);
                if (!Double.isFinite(q)) {
                    return new double[] {Double.NaN, Double.NaN};
                }
                lo = Math.min(lo, q);
                hi = Math.max(hi, q);
            }
            return n == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {lo, hi};
        }
    }

    private BinaryTreesReference() {
    }

    /**
     * Runs binary-trees {@code depth} on HotSpot G1, then in a {@code heapBytes} Faultline heap on
     * each of {@code targets} ({@code runPages} and {@code faultAround} null for the heap's
     * defaults), one child JVM at a time, and all that {@code repeats} times.
     */
    public static Result measure(int depth, long heapBytes, List<Target> targets, Long runPages,
                                 Long faultAround, int repeats, PrintStream progress) {
        if (repeats < 1) {
            throw new IllegalArgumentException("binary-trees: " + repeats + " repetitions; at least 1");
        }
        List<Run> hotspot = new ArrayList<>();
        List<List<Run>> heaps = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            heaps.add(new ArrayList<>());
        }
        for (int k = 0; k < repeats; k++) {
            if (repeats > 1) {
                progress.printf(Locale.ROOT, "compare: binary-trees %d: run %d of %d%n", depth, k + 1, repeats);
            }
            Result once = measureOnce(depth, heapBytes, targets, runPages, faultAround, progress);
            hotspot.add(once.hotspot());
            for (int i = 0; i < targets.size(); i++) {
                heaps.get(i).add(once.faultline().get(i));
            }
        }
        return new Result(depth, heapBytes, heaps.stream().map(Run::of).toList(), Run.of(hotspot));
    }

    private static Result measureOnce(int depth, long heapBytes, List<Target> targets, Long runPages,
                                      Long faultAround, PrintStream progress) {
        String expected = BinaryTrees.expectedOutput(depth);
        String xmx = "-Xmx" + (heapBytes % (1 << 20) == 0 ? (heapBytes >> 20) + "m" : heapBytes / 1024 + "k");
        progress.printf(Locale.ROOT, "compare: binary-trees %d: HotSpot G1 %s ...%n", depth, xmx);
        Run hotspot = child("hotspot", "G1 " + xmx, List.of(xmx, "-XX:+UseG1GC", PlainBinaryTrees.class.getName(),
                Integer.toString(depth)), expected, false);
        progress.printf(Locale.ROOT, "compare: binary-trees %d: HotSpot %s%n", depth, describe(hotspot));
        List<Run> runs = new ArrayList<>();
        for (Target t : targets) {
            runs.add(faultline(depth, heapBytes, t.backend(), t.options(), runPages, faultAround, expected, progress));
        }
        return new Result(depth, heapBytes, List.copyOf(runs), hotspot);
    }

    private static Run faultline(int depth, long heapBytes, String backend, UffdOptions options, Long runPages,
                                 Long faultAround, String expected, PrintStream progress) {
        List<String> run = new ArrayList<>(List.of("io.faultline.cli.Main", "run"));
        String label;
        if (BenchSupport.mode(backend) == null) {
            run.addAll(List.of("--backend", "java"));
            label = "java";
        } else {
            UffdOptions o = options != null ? options : UffdOptions.defaults();
            String pages = o.allocationPages(UffdProbe.Mode.valueOf(backend.toUpperCase(Locale.ROOT))).label();
            run.addAll(List.of("--backend", "uffd", "--mode", backend, "--delivery", o.delivery().label(),
                    "--page-supply", o.supply().label(), "--alloc-pages", pages));
            label = "uffd " + backend + "/" + o.delivery().label() + "/" + o.supply().label() + " " + pages + " pages";
        }
        if (runPages != null) {
            run.addAll(List.of("--run-pages", Long.toString(runPages)));
            label += " run " + runPages;
        }
        if (faultAround != null) {
            run.addAll(List.of("--fault-around", Long.toString(faultAround)));
            label += " fault-around " + faultAround;
        }
        run.add("--young-cycles"); // binary-trees' long-lived tree is what young cycles are for
        label += " young cycles";
        run.addAll(List.of("--workload", "binarytrees", "--depth", Integer.toString(depth), "--heap", Long.toString(heapBytes),
                "--json"));
        progress.printf(Locale.ROOT, "compare: binary-trees %d: Faultline %s ...%n", depth, label);
        Run faultline = child("faultline", label, run, expected, true);
        progress.printf(Locale.ROOT, "compare: binary-trees %d: Faultline %s%n", depth, describe(faultline));
        return faultline;
    }

    private static String describe(Run r) {
        return r.error() != null ? "failed: " + r.error()
                : String.format(Locale.ROOT, "%.1f s (output %s)", r.workMs() / 1e3, r.outputExact() ? "exact" : "WRONG");
    }

    /** Runs a child JVM; its stdout must be the published output (faultline: followed by one JSON line). */
    private static Run child(String runtime, String label, List<String> args, String expected, boolean jsonLast) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(args);
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("faultline-binarytrees-", ".out");
            err = Files.createTempFile("faultline-binarytrees-", ".err");
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                return Run.single(runtime, label, command, Double.NaN, (System.nanoTime() - t0) / 1e6, false,
                        "still running after " + TIMEOUT.toMinutes() + " min, killed");
            }
            double processMs = (System.nanoTime() - t0) / 1e6;
            List<String> lines = Files.readAllLines(out);
            String stderr = Files.readString(err);
            if (p.exitValue() != 0) {
                return Run.single(runtime, label, command, Double.NaN, processMs, false,
                        "exit status " + p.exitValue() + ": " + lastLines(stderr));
            }
            double workMs;
            List<String> published = lines;
            if (jsonLast) {
                String json = lines.isEmpty() ? "" : lines.getLast();
                published = lines.subList(0, Math.max(0, lines.size() - 1));
                workMs = number(WALL_MS.matcher(json));
            } else {
                workMs = number(PLAIN_MS.matcher(stderr));
            }
            String text = published.isEmpty() ? "" : String.join("\n", published) + "\n";
            boolean exact = text.equals(expected);
            return Run.single(runtime, label, command, workMs, processMs, exact,
                    Double.isNaN(workMs) ? "no time in its output" : exact ? null : "output differs from the published output");
        } catch (IOException e) {
            return Run.single(runtime, label, command, Double.NaN, Double.NaN, false, "cannot run the child JVM: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Run.single(runtime, label, command, Double.NaN, Double.NaN, false, "interrupted");
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static double number(Matcher m) {
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static String lastLines(String text) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a temp file; the OS cleans it up eventually
            }
        }
    }
}
