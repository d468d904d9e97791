package io.faultline.cli;

import io.faultline.bench.BenchSupport;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
                available or the exact reason not; and last whether the backend can deliver
                faults by SIGBUS (--delivery sigbus), tried on a small heap per mode.
                """;
    }

    /**
     * The {@code SIGBUS delivery} line: available if the kernel offers {@code UFFD_FEATURE_SIGBUS}
     * and the backend accepts {@link UffdOptions.Delivery#SIGBUS} in every available mode (tried on
     * a small heap), else the reason (per mode when they differ).
     */
    static String sigbusDelivery(UffdProbe.Report report) {
        String state;
        String detail;
        List<String> available = new ArrayList<>();
        Map<String, List<String>> refused = new LinkedHashMap<>();
        if (!report.sigbusAvailable()) {
            state = "unavailable";
            detail = "UFFD_FEATURE_SIGBUS unavailable: " + report.sigbusDetail();
        } else {
            UffdOptions sigbus = UffdOptions.defaults().withDelivery(UffdOptions.Delivery.SIGBUS);
            for (UffdProbe.Mode mode : UffdProbe.Mode.values()) {
                String name = mode.name().toLowerCase(Locale.ROOT);
                if (!report.available(mode)) {
                    continue;
                }
                String why = BenchSupport.unavailableReason(name, sigbus);
                if (why == null) {
                    available.add(name);
                } else {
                    refused.computeIfAbsent(why, k -> new ArrayList<>()).add(name);
                }
            }
            if (available.isEmpty() && refused.isEmpty()) {
                state = "unavailable";
                detail = "no userfaultfd mode is available here";
            } else if (refused.isEmpty()) {
                state = "available";
                detail = "the faulting thread serves its own faults in " + String.join(", ", available);
            } else {
                state = available.isEmpty() ? "unavailable" : "partial";
                List<String> parts = new ArrayList<>();
                if (!available.isEmpty()) {
                    parts.add("works in " + String.join(", ", available));
                }
                refused.forEach((why, modes) -> parts.add(
                        (refused.size() == 1 && available.isEmpty() ? "" : String.join(", ", modes) + ": ") + why));
                detail = String.join("; ", parts);
            }
        }
        return String.format("%-15s %-12s %s%n", "SIGBUS delivery", state, detail);
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
            UffdProbe.Report report = UffdProbe.probe();
            out.print(report.toTable());
            out.print(sigbusDelivery(report));
            return Main.EXIT_OK;
        } catch (RuntimeException | LinkageError e) {
            err.println("faultline: probe failed: " + e);
            return Main.EXIT_FAILED;
        }
    }
}
