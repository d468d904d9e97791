package io.faultline.cli;

import io.faultline.cli.demo.ChildJvm;
import io.faultline.cli.demo.JavaResolverDeadlock;
import io.faultline.cli.demo.NativeResolverLoad;
import io.faultline.uffd.UffdProbe;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code faultline demo safepoint-hazard}: reproduces, in a child JVM, the deadlock of a design in
 * which a Java thread resolves userfaults (a mutator blocked in a userfault keeps HotSpot from
 * reaching a safepoint; the Java resolver stops at that safepoint), then runs the same load on
 * Faultline's native fault path and shows it survive HotSpot's collections. Exit status 0 when
 * the demo behaved as described (part 1 deadlocked, or honestly did not within the timeout; part
 * 2 completed), 1 when part 2 failed, a child failed, or userfaultfd is unavailable here.
 */
public final class DemoCommand {
    public static final String SAFEPOINT_HAZARD = "safepoint-hazard";
    public static final long DEFAULT_TIMEOUT_MS = 10_000;
    public static final long DEFAULT_STALL_MS = 2_000;
    public static final long DEFAULT_NATIVE_MS = 5_000;
    /** How long {@code jcmd Thread.print} may take on the hung child. */
    static final long THREAD_DUMP_TIMEOUT_MS = 3_000;
    /** How long the hung child gets to end after SIGTERM, before SIGKILL. */
    static final long SIGTERM_GRACE_MS = 1_000;
    /** Extra time part 2's child gets beyond its load's duration: JVM start, joining threads, verifying. */
    static final long NATIVE_SLACK_MS = 20_000;
    /** Part 1's child JVM start-up allowance before its first line. */
    static final long STARTUP_SLACK_MS = 10_000;
    /** At most one progress line per this interval is echoed. */
    static final long ECHO_PROGRESS_MS = 1_000;

    private static final List<String> CHILD_JVM_FLAGS = List.of("-XX:+UseG1GC", "-Xmx64m");
    private static final Set<String> THREADS_OF_INTEREST =
        Set.of("mutator", "java-resolver", "garbage", "VM Thread", "collector-drive");
    private static final Pattern FAULTS = Pattern.compile("faults=(\\d+)");

    private DemoCommand() {
    }

    public static String usage() {
        return """
                Usage: faultline demo safepoint-hazard [--timeout-ms N] [--stall-ms N] [--native-ms N]

                Shows why Faultline resolves userfaults in native code, never in a Java thread.

                Part 1 starts a child JVM (G1, 64 MiB Java heap) with three Java threads: a
                mutator reading memfd pages registered MISSING|MINOR with a userfaultfd, a
                java-resolver that reads each fault message, writes the page through an alias
                and issues UFFDIO_CONTINUE, and, after one quiet second, a garbage thread that
                makes G1 collect every few milliseconds. To HotSpot, a thread blocked in a
                userfault is running Java code that has not reached a safepoint poll; once a
                safepoint begins while the mutator waits, the VM thread waits for the mutator,
                the resolver stops at the safepoint, and nothing moves again. The child prints
                progress every 200 ms; when it has printed nothing for --stall-ms, the demo shows
                each thread's kernel wait channel, tries jcmd Thread.print and SIGTERM (neither
                can work: both need the stuck safepoint), then kills the child with SIGKILL.

                Part 2 runs the same load on a Faultline heap (uffd CONTINUE): a mutator faulting
                on to-space pages during concurrent compaction, collections back to back, and
                the same garbage thread. Its faults are served by a native pthread that
                HotSpot's safepoints do not stop, so it runs to the end and verifies the heap.

                Options:
                  --timeout-ms N  how long part 1 waits for the deadlock (default 10000)
                  --stall-ms N    no output for this long means stuck (default 2000)
                  --native-ms N   how long part 2's load runs (default 5000)
                  -h, --help      print this help

                Prints one verdict line per part ("Part 1 verdict: deadlocked: ..." or
                "Part 1 verdict: no deadlock within ..."; "Part 2 verdict: survived: ..." or
                "Part 2 verdict: FAILED: ..."). Exit status 0 when part 2 survived, 1 when it
                did not, when a child failed, or when userfaultfd MINOR faults or the native
                library are unavailable here (the reason is printed). Needs Linux 5.14+
                (MINOR faults on shmem).
                """;
    }

    private record Options(long timeoutMs, long stallMs, long nativeMs) {
    }

    /** Runs the command; returns the exit status. Throws {@link UsageException} for a bad command line. */
    public static int execute(List<String> args, PrintStream out, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(usage());
            return Main.EXIT_OK;
        }
        if (args.isEmpty()) {
            throw new UsageException("demo needs a name: " + SAFEPOINT_HAZARD + " (see 'faultline demo --help')");
        }
        if (!args.getFirst().equals(SAFEPOINT_HAZARD)) {
            throw new UsageException("unknown demo '" + args.getFirst() + "' (known: " + SAFEPOINT_HAZARD + ")");
        }
        Options options = parse(args.subList(1, args.size()));
        try {
            return safepointHazard(options, out, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("faultline: demo interrupted");
            return Main.EXIT_FAILED;
        } catch (IOException | RuntimeException e) {
            err.println("faultline: demo " + SAFEPOINT_HAZARD + " failed: " + e);
            return Main.EXIT_FAILED;
        }
    }

    private static Options parse(List<String> args) {
        long timeout = DEFAULT_TIMEOUT_MS;
        long stall = DEFAULT_STALL_MS;
        long nativeMs = DEFAULT_NATIVE_MS;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (!name.equals("--timeout-ms") && !name.equals("--stall-ms") && !name.equals("--native-ms")) {
                throw new UsageException(arg.startsWith("-") ? "unknown option '" + arg + "' for demo " + SAFEPOINT_HAZARD
                    : "unexpected argument '" + arg + "' for demo " + SAFEPOINT_HAZARD);
            }
            if (value == null) {
                if (i + 1 >= args.size()) {
                    throw new UsageException(name + " needs a value in milliseconds");
                }
                value = args.get(++i);
            }
            long ms = milliseconds(name, value);
            switch (name) {
                case "--timeout-ms" -> timeout = ms;
                case "--stall-ms" -> stall = ms;
                default -> nativeMs = ms;
            }
        }
        if (stall >= timeout) {
            throw new UsageException("--stall-ms '" + stall + "' must be below --timeout-ms '" + timeout
                + "' (a stall is detected within the timeout)");
        }
        return new Options(timeout, stall, nativeMs);
    }

    private static long milliseconds(String option, String value) {
        long ms;
        try {
            ms = Long.parseLong(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException(option + " '" + value + "' is not an integer");
        }
        if (ms < 100 || ms > 3_600_000) {
            throw new UsageException(option + " '" + value + "' is out of range [100, 3600000]");
        }
        return ms;
    }

    private static int safepointHazard(Options options, PrintStream out, PrintStream err)
        throws IOException, InterruptedException {
        UffdProbe.Report probe = UffdProbe.probe();
        if (!probe.uffdAvailable()) {
            err.println("faultline: demo " + SAFEPOINT_HAZARD + " needs userfaultfd: " + probe.uffdDetail());
            return Main.EXIT_FAILED;
        }
        UffdProbe.ModeStatus minor = probe.mode(UffdProbe.Mode.CONTINUE);
        if (!minor.available()) {
            err.println("faultline: demo " + SAFEPOINT_HAZARD + " needs uffd CONTINUE (MINOR faults on a memfd and the "
                + "native library): " + minor.detail());
            return Main.EXIT_FAILED;
        }

        out.println("Part 1: a Java thread resolves the userfaults (the design Faultline avoids)");
        Verdict first = javaResolver(options, out);
        out.println("Part 1 verdict: " + first.text());
        out.println();
        out.println("Part 2: the same load on Faultline's native fault path (uffd CONTINUE)");
        Verdict second = nativeResolver(options, out);
        out.println("Part 2 verdict: " + second.text());
        return first.ok() && second.ok() ? Main.EXIT_OK : Main.EXIT_FAILED;
    }

    private record Verdict(boolean ok, String text) {
    }

    private static Verdict javaResolver(Options options, PrintStream out) throws IOException, InterruptedException {
        Path faultCount = Files.createTempFile("faultline-demo-faults-", ".bin");
        try (ChildJvm child = ChildJvm.start(JavaResolverDeadlock.class, CHILD_JVM_FLAGS,
            List.of(Long.toString(options.timeoutMs()), faultCount.toString()))) {
            out.println("  child JVM, pid " + child.pid() + ": " + child.commandLine());
            ChildJvm.Outcome outcome = child.watch(options.timeoutMs() + STARTUP_SLACK_MS, options.stallMs(), echo(out));
            long faults = Math.max(lastFaults(outcome), servedFaults(faultCount));
            return switch (outcome.ending()) {
                case STALLED -> {
                    out.println("  no output for " + options.stallMs() + " ms after " + faults + " faults: the child is stuck");
                    boolean blockedInUserfault = inspectHungChild(child, out);
                    yield new Verdict(true, "deadlocked: mutator blocked in a userfault, Java resolver blocked at a "
                        + "safepoint, after " + faults + " faults"
                        + (blockedInUserfault ? "" : " (the kernel view above could not confirm the userfault)"));
                }
                case TIMED_OUT -> {
                    child.kill();
                    yield new Verdict(true, "no deadlock within " + options.timeoutMs() + " ms (" + faults + " faults,"
                        + " still progressing); the hazard is a race that this run did not lose: run it again or"
                        + " raise --timeout-ms");
                }
                case EXITED -> outcome.exitCode() == 0 && outcome.lastLineStartingWith("finished").isPresent()
                    ? new Verdict(true, "no deadlock within " + options.timeoutMs() + " ms (" + faults + " faults);"
                        + " the hazard is a race that this run did not lose: run it again or raise --timeout-ms")
                    : new Verdict(false, "FAILED: the child exited with status " + outcome.exitCode() + ": "
                        + outcome.lines().stream().reduce((a, b) -> b).orElse("(no output)"));
            };
        } finally {
            Files.deleteIfExists(faultCount);
        }
    }

    /** The count the child's resolver keeps in {@code file} (a big-endian long), 0 if unreadable. */
    private static long servedFaults(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return bytes.length >= Long.BYTES ? ByteBuffer.wrap(bytes).getLong() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static Verdict nativeResolver(Options options, PrintStream out) throws IOException, InterruptedException {
        try (ChildJvm child = ChildJvm.start(NativeResolverLoad.class, CHILD_JVM_FLAGS,
            List.of(Long.toString(options.nativeMs())))) {
            out.println("  child JVM, pid " + child.pid() + ": " + child.commandLine());
            ChildJvm.Outcome outcome = child.watch(options.nativeMs() + NATIVE_SLACK_MS, options.stallMs(), echo(out));
            Optional<String> finished = outcome.lastLineStartingWith("finished");
            if (outcome.ending() == ChildJvm.Ending.EXITED && outcome.exitCode() == 0 && finished.isPresent()) {
                String line = finished.get();
                return new Verdict(true, "survived: " + field(line, "cycles") + " Faultline collections, "
                    + field(line, "faults") + " userfaults served by the native fault path, " + field(line, "hostGcs")
                    + " HotSpot collections (each stops the world at a safepoint), heap verified; longest silence "
                    + outcome.longestSilenceMillis() + " ms (stall threshold " + options.stallMs() + " ms)");
            }
            if (outcome.ending() == ChildJvm.Ending.STALLED) {
                out.println("  no output for " + options.stallMs() + " ms after " + lastFaults(outcome)
                    + " faults: the child is stuck");
                inspectHungChild(child, out);
                return new Verdict(false, "FAILED: stalled after " + lastFaults(outcome) + " faults");
            }
            child.kill();
            return new Verdict(false, "FAILED: " + (outcome.ending() == ChildJvm.Ending.TIMED_OUT
                ? "still running " + outcome.elapsedMillis() + " ms after it started"
                : "the child exited with status " + outcome.exitCode() + ": "
                    + outcome.lines().stream().reduce((a, b) -> b).orElse("(no output)")));
        }
    }

    /**
     * Shows the hung child's threads as the kernel sees them, tries a thread dump and SIGTERM,
     * then kills it. Returns whether the mutator was seen waiting in {@code handle_userfault}.
     */
    private static boolean inspectHungChild(ChildJvm child, PrintStream out) throws InterruptedException {
        List<ChildJvm.KernelThread> threads = child.kernelThreads(THREADS_OF_INTEREST);
        boolean blockedInUserfault = false;
        if (threads.isEmpty()) {
            out.println("  (the child's threads are not readable under /proc/" + child.pid() + "/task)");
        } else {
            out.println("  the child's threads as the kernel sees them (/proc/" + child.pid() + "/task/TID/wchan):");
            for (ChildJvm.KernelThread t : threads) {
                String where = t.wchan().equals("0") ? "not in a kernel wait at this instant" : "waiting in " + t.wchan();
                out.printf("    %-16s tid %-8d state %c  %s%s%n", t.name(), t.tid(), t.state(), where, explain(t));
                blockedInUserfault |= t.name().equals("mutator") && t.wchan().equals("handle_userfault");
            }
        }
        out.println("  jcmd " + child.pid() + " Thread.print (up to " + THREAD_DUMP_TIMEOUT_MS + " ms)...");
        Optional<String> dump = child.threadDump(THREAD_DUMP_TIMEOUT_MS);
        if (dump.isPresent()) {
            out.println("  thread dump:");
            dump.get().lines().forEach(l -> out.println("    " + l));
        } else {
            out.println("  no thread dump: jcmd did not answer within " + THREAD_DUMP_TIMEOUT_MS + " ms. A thread dump is"
                + " a VM operation run at a safepoint, and this safepoint never completes.");
        }
        if (child.terminate(SIGTERM_GRACE_MS)) {
            out.println("  SIGTERM ended the child");
        } else {
            out.println("  SIGTERM: still alive after " + SIGTERM_GRACE_MS + " ms (JVM shutdown runs Java code and"
                + " needs a safepoint too)");
            out.println("  SIGKILL: " + (child.kill() ? "the child is gone" : "the child did not end within 10 s"));
        }
        return blockedInUserfault;
    }

    private static String explain(ChildJvm.KernelThread t) {
        return switch (t.name()) {
            case "mutator" -> t.wchan().equals("handle_userfault") ? "  <- blocked in a userfault, \"in Java\" to HotSpot" : "";
            case "java-resolver" -> t.wchan().startsWith("futex") ? "  <- parked at the safepoint, holding no fault" : "";
            case "garbage" -> t.wchan().startsWith("futex") ? "  <- waiting for the collection it asked for" : "";
            case "VM Thread" -> "  <- polls, sleeping in between, until every Java thread reaches the safepoint";
            default -> "";
        };
    }

    /** Echoes the child's lines, indented; at most one progress line per {@link #ECHO_PROGRESS_MS}. */
    private static Consumer<String> echo(PrintStream out) {
        long[] lastProgress = {Long.MIN_VALUE};
        return line -> {
            long now = System.nanoTime();
            if (line.startsWith("progress ")) {
                if (lastProgress[0] != Long.MIN_VALUE && now - lastProgress[0] < ECHO_PROGRESS_MS * 1_000_000) {
                    return;
                }
                lastProgress[0] = now;
            }
            out.println("    child| " + line);
        };
    }

    private static long lastFaults(ChildJvm.Outcome outcome) {
        for (int i = outcome.lines().size() - 1; i >= 0; i--) {
            Matcher m = FAULTS.matcher(outcome.lines().get(i));
            if (m.find()) {
                return Long.parseLong(m.group(1));
            }
        }
        return 0;
    }

    private static String field(String line, String key) {
        Matcher m = Pattern.compile("\\b" + key + "=(\\S+)").matcher(line);
        return m.find() ? m.group(1) : "?";
    }
}
