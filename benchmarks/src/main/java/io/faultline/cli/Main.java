package io.faultline.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code faultline} command: {@code run} a workload on a heap, or {@code probe} userfaultfd.
 * Exit status 0 on success, 1 when a run fails or its output cannot be written, 2 for a bad
 * command line (one line on stderr naming the option and value).
 */
public final class Main {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;

    private Main() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("jmh")) {
            // The JMH suite: 'faultline jmh [JMH options]' is org.openjdk.jmh.Main with our benchmark list.
            // On a terminal, JMH's '# Run progress' lines become one progress line redrawn in place.
            PrintStream stdout = System.out;
            ProgressLine progress = Terminal.isTerminal(stdout) ? new ProgressLine(stdout, true, "jmh") : null;
            if (progress != null) {
                System.setOut(progress.lines());
            }
            try {
                org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
            } catch (Exception e) {
                System.err.println("faultline: jmh failed: " + e);
                System.exit(EXIT_FAILED);
            } finally {
                if (progress != null) {
                    System.out.flush();
                    progress.done();
                    System.setOut(stdout);
                }
            }
            System.exit(EXIT_OK);
        }
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs a command line with the given streams; returns the exit status. Never calls exit.
     * Flushes {@code out} at the end: if it reports a write error ({@link PrintStream#checkError()}),
     * says so in one line on {@code err} and returns {@link #EXIT_FAILED}.
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(usage());
            return EXIT_USAGE;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        String command = args[0];
        int status;
        try {
            status = switch (command) {
                case "run" -> RunCommand.execute(rest, out, err);
                case "probe" -> ProbeCommand.execute(rest, out, err);
                case "compare" -> CompareCommand.execute(rest, out, err);
                case "demo" -> DemoCommand.execute(rest, out, err);
                case "help", "--help", "-h" -> {
                    out.print(usage());
                    yield EXIT_OK;
                }
                default -> throw new UsageException((command.startsWith("-") ? "unknown option '" : "unknown command '")
                        + command + "'");
            };
        } catch (UsageException e) {
            String help = command.equals("run") || command.equals("probe") || command.equals("compare") ? "faultline " + command + " --help" : "faultline --help";
            err.println("faultline: " + e.getMessage() + " (see '" + help + "')");
            status = EXIT_USAGE;
        }
        // PrintStream swallows write errors (a full disk, a closed pipe); a result that did not
        // reach its reader is a failed run, not a successful one.
        out.flush();
        if (out.checkError()) {
            err.println("faultline: " + command + ": the output could not be written to stdout (write error)");
            return EXIT_FAILED;
        }
        return status;
    }

    public static String usage() {
        return """
                Usage: faultline COMMAND [options]

                Faultline: a concurrent compacting collector for an off-heap object heap,
                with a pure-Java backend and a userfaultfd backend.

                Commands:
                  run      run a workload on a heap and report collections, faults and pauses
                  probe    print which userfaultfd modes work on this machine, and why not
                  compare  measure java, uffd copy, continue and move (thread and SIGBUS
                           delivery) side by side against this machine's floors measured in
                           the same run; table, PNG chart and raw numbers
                  demo     'demo safepoint-hazard': a Java fault resolver deadlocks a JVM
                  jmh      run the JMH suite (io.faultline.bench.*); JMH's own options, e.g.
                           'faultline jmh -l' or 'faultline jmh FaultService -prof gc'
                  help     print this help

                Run options (see 'faultline run --help' for details and defaults):
                  --backend java|uffd|auto  --mode continue|copy|move  --heap SIZE
                  --delivery thread|sigbus  --page-supply fresh|recycle|keep|fallocate
                  --alloc-pages small|huge  --run-pages N  --fault-around N
                  --threads N  --gc-threads N  --stw  --verify  --checked  --gc-log  --json
                  --inject-damage
                  --workload random|binarytrees|gcbench|gcold
                  --seed N  --ops N  --duration-ms N  --depth N  --live-mb N  --steps N

                Examples:
                  faultline run --workload binarytrees --depth 10
                  faultline run --backend java --workload random --threads 4 --gc-threads 2 --verify --json
                  faultline probe
                  faultline compare --quick
                """;
    }
}
