package io.faultline.cli;

import io.faultline.backend.HeapBackend;
import io.faultline.bench.BenchSupport;
import io.faultline.backend.JavaBackend;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackends;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The one place that turns {@code --backend}, {@code --mode}, {@code --delivery} and
 * {@code --page-supply} into a {@link HeapBackend.Factory}.
 *
 * <ul>
 *   <li>{@code java}: {@link JavaBackend}.</li>
 *   <li>{@code uffd}: {@link UffdBackend} in the given mode (default {@code continue}) with the
 *       given {@link UffdOptions}; a {@link BackendUnavailableException} with the probe's reason if
 *       the mode cannot be used here, or with the reason the delivery or supply cannot (e.g.
 *       {@code UFFD_FEATURE_SIGBUS} missing, or a delivery the backend does not implement).</li>
 *   <li>{@code auto}: uffd in the given mode (default {@code continue}) and options if they are
 *       usable here, else java; says which and why in one stderr line.</li>
 * </ul>
 *
 * @param requested what the user asked for ({@code java}, {@code uffd}, {@code auto})
 * @param backend   what will run: {@code java} or {@code uffd}
 * @param mode      the uffd mode in lower case, null for java
 * @param options   the uffd options, null for java
 * @param factory   creates the backend for a heap
 */
public record BackendChoice(String requested, String backend, String mode, UffdOptions options, HeapBackend.Factory factory) {

    /**
     * Resolves the user's choice. {@code mode} may be null (uffd's default, {@code continue}).
     * Writes auto's one-line explanation to {@code err}.
     */
    public static BackendChoice resolve(String requested, String mode, PrintStream err) {
        return resolve(requested, mode, UffdOptions.defaults(), UffdProbe::probe, err);
    }

    /** As {@link #resolve(String, String, PrintStream)}, with the uffd {@code options} of the command line. */
    public static BackendChoice resolve(String requested, String mode, UffdOptions options, PrintStream err) {
        return resolve(requested, mode, options, UffdProbe::probe, err);
    }

    /** {@link #resolve(String, String, PrintStream)} with the probe report from {@code probe}. */
    static BackendChoice resolve(String requested, String mode, Supplier<UffdProbe.Report> probe, PrintStream err) {
        return resolve(requested, mode, UffdOptions.defaults(), probe, err);
    }

    static BackendChoice resolve(String requested, String mode, UffdOptions options, Supplier<UffdProbe.Report> probe,
                                 PrintStream err) {
        UffdProbe.Mode uffdMode = mode == null ? UffdProbe.Mode.CONTINUE : UffdProbe.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        return switch (requested) {
            case "java" -> java(requested);
            case "uffd" -> {
                UffdProbe.ModeStatus status = probe.get().mode(uffdMode);
                if (!status.available()) {
                    throw new BackendUnavailableException("--backend uffd --mode " + name(uffdMode)
                            + ": not available here: " + status.detail() + " (run 'faultline probe')");
                }
                String why = optionsUnavailable(uffdMode, options, probe.get());
                if (why != null) {
                    throw new BackendUnavailableException("--backend uffd --mode " + name(uffdMode) + " " + describe(options)
                            + ": not available here: " + why + " (run 'faultline probe')");
                }
                yield uffd(requested, uffdMode, options);
            }
            case "auto" -> {
                String ignored = options.equals(UffdOptions.defaults()) ? ""
                        : " (" + describe(options) + " apply to uffd only: not used)";
                if (mode == null) {
                    UffdBackends.Selection s = UffdBackends.auto(probe.get());
                    String why = s.name().equals("java") ? null : optionsUnavailable(UffdProbe.Mode.CONTINUE, options, probe.get());
                    if (why != null) {
                        err.println("faultline: --backend auto: backend java: uffd/continue " + describe(options) + " unavailable ("
                                + why + ")");
                        yield java(requested);
                    }
                    err.println("faultline: --backend auto: " + s.explanation() + (s.name().equals("java") ? ignored : ""));
                    yield s.name().equals("java") ? java(requested) : uffd(requested, UffdProbe.Mode.CONTINUE, options);
                }
                UffdProbe.ModeStatus status = probe.get().mode(uffdMode);
                String why = status.available() ? optionsUnavailable(uffdMode, options, probe.get()) : null;
                if (status.available() && why == null) {
                    err.println("faultline: --backend auto: backend uffd/" + name(uffdMode) + ": userfaultfd "
                            + uffdMode + " available (" + status.detail() + ")");
                    yield uffd(requested, uffdMode, options);
                }
                if (why != null) {
                    err.println("faultline: --backend auto: backend java: uffd/" + name(uffdMode) + " " + describe(options)
                            + " unavailable (" + why + ")");
                    yield java(requested);
                }
                err.println("faultline: --backend auto: backend java: userfaultfd " + uffdMode + " unavailable ("
                        + status.detail() + ")" + ignored);
                yield java(requested);
            }
            default -> throw new UsageException("--backend '" + requested + "' is not one of "
                    + String.join(", ", RunOptions.BACKENDS));
        };
    }

    /**
     * Null if {@code options} can be used with {@code mode} here, else why not. The defaults need
     * nothing beyond the mode; anything else is tried on a small heap (once per JVM).
     */
    private static String optionsUnavailable(UffdProbe.Mode mode, UffdOptions options, UffdProbe.Report report) {
        if (options.equals(UffdOptions.defaults())) {
            return null;
        }
        if (options.delivery() == UffdOptions.Delivery.SIGBUS && !report.sigbusAvailable()) {
            return "UFFD_FEATURE_SIGBUS unavailable: " + report.sigbusDetail();
        }
        return BenchSupport.unavailableReason(name(mode), options);
    }

    private static String describe(UffdOptions options) {
        return "--delivery " + options.delivery().label() + " --page-supply " + options.supply().label();
    }

    private static BackendChoice java(String requested) {
        return new BackendChoice(requested, "java", null, null, JavaBackend.factory());
    }

    private static BackendChoice uffd(String requested, UffdProbe.Mode mode, UffdOptions options) {
        return new BackendChoice(requested, "uffd", name(mode), options, UffdBackend.factory(mode, options));
    }

    private static String name(UffdProbe.Mode mode) {
        return mode.name().toLowerCase(Locale.ROOT);
    }
}
