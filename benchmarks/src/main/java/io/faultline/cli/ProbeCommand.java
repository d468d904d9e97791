package io.faultline.cli;

import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.util.List;

/** {@code faultline probe}: prints which userfaultfd modes work on this machine, and why not. */
public final class ProbeCommand {
    private ProbeCommand() {
    }

    public static String usage() {
        return """
                Usage: faultline probe

                Opens a userfaultfd, negotiates its features and tries each delivery mode
                (CONTINUE, COPY, MOVE) on a one-page range, then prints one line per finding:
                the native library, userfaultfd itself, the SIGBUS feature and each mode,
                available or the exact reason not.
                """;
    }

    /** Runs the command; returns the exit status. Throws {@link UsageException} for a bad command line. */
    public static int execute(List<String> args, PrintStream out, PrintStream err) {
        for (String arg : args) {
            if (arg.equals("--help") || arg.equals("-h")) {
                out.print(usage());
                return Main.EXIT_OK;
            }
        }
        if (!args.isEmpty()) {
            String arg = args.getFirst();
            throw new UsageException(arg.startsWith("-") ? "unknown option '" + arg + "' for probe"
                    : "unexpected argument '" + arg + "' for probe");
        }
        try {
            out.print(UffdProbe.probe().toTable());
            return Main.EXIT_OK;
        } catch (RuntimeException | LinkageError e) {
            err.println("faultline: probe failed: " + e);
            return Main.EXIT_FAILED;
        }
    }
}
