package io.faultline.cli;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackends;
import io.faultline.uffd.UffdProbe;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The one place that turns {@code --backend} and {@code --mode} into a {@link HeapBackend.Factory}.
 *
 * <ul>
 *   <li>{@code java}: {@link JavaBackend}.</li>
 *   <li>{@code uffd}: {@link UffdBackend} in the given mode (default {@code continue}); a
 *       {@link BackendUnavailableException} with the probe's reason if the mode cannot be used
 *       here.</li>
 *   <li>{@code auto}: uffd in the given mode (default {@code continue}) if the probe finds it
 *       usable, else java; says which and why in one stderr line.</li>
 * </ul>
 *
 * @param requested what the user asked for ({@code java}, {@code uffd}, {@code auto})
 * @param backend   what will run: {@code java} or {@code uffd}
 * @param mode      the uffd mode in lower case, null for java
 * @param factory   creates the backend for a heap
 */
public record BackendChoice(String requested, String backend, String mode, HeapBackend.Factory factory) {

    /**
     * Resolves the user's choice. {@code mode} may be null (uffd's default, {@code continue}).
     * Writes auto's one-line explanation to {@code err}.
     */
    public static BackendChoice resolve(String requested, String mode, PrintStream err) {
        return resolve(requested, mode, UffdProbe::probe, err);
    }

    /** {@link #resolve(String, String, PrintStream)} with the probe report from {@code probe}. */
    static BackendChoice resolve(String requested, String mode, Supplier<UffdProbe.Report> probe, PrintStream err) {
        UffdProbe.Mode uffdMode = mode == null ? UffdProbe.Mode.CONTINUE : UffdProbe.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        return switch (requested) {
            case "java" -> java(requested);
            case "uffd" -> {
                UffdProbe.ModeStatus status = probe.get().mode(uffdMode);
                if (!status.available()) {
                    throw new BackendUnavailableException("--backend uffd --mode " + name(uffdMode)
                            + ": not available here: " + status.detail() + " (run 'faultline probe')");
                }
                yield uffd(requested, uffdMode);
            }
            case "auto" -> {
                if (mode == null) {
                    UffdBackends.Selection s = UffdBackends.auto(probe.get());
                    err.println("faultline: --backend auto: " + s.explanation());
                    yield s.name().equals("java") ? java(requested) : uffd(requested, UffdProbe.Mode.CONTINUE);
                }
                UffdProbe.ModeStatus status = probe.get().mode(uffdMode);
                if (status.available()) {
                    err.println("faultline: --backend auto: backend uffd/" + name(uffdMode) + ": userfaultfd "
                            + uffdMode + " available (" + status.detail() + ")");
                    yield uffd(requested, uffdMode);
                }
                err.println("faultline: --backend auto: backend java: userfaultfd " + uffdMode + " unavailable ("
                        + status.detail() + ")");
                yield java(requested);
            }
            default -> throw new UsageException("--backend '" + requested + "' is not one of "
                    + String.join(", ", RunOptions.BACKENDS));
        };
    }

    private static BackendChoice java(String requested) {
        return new BackendChoice(requested, "java", null, JavaBackend.factory());
    }

    private static BackendChoice uffd(String requested, UffdProbe.Mode mode) {
        return new BackendChoice(requested, "uffd", name(mode), UffdBackend.factory(mode));
    }

    private static String name(UffdProbe.Mode mode) {
        return mode.name().toLowerCase(Locale.ROOT);
    }
}
