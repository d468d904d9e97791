package io.faultline.cli;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import java.io.PrintStream;

/**
 * The one place that turns {@code --backend} and {@code --mode} into a {@link HeapBackend.Factory}.
 *
 * <ul>
 *   <li>{@code java}: {@link JavaBackend}.</li>
 *   <li>{@code uffd}: the userfaultfd backend in the given mode (default {@code continue}); a
 *       {@link UsageException} if it cannot be used here.</li>
 *   <li>{@code auto}: uffd if it can be used, else java; says which and why in one stderr line.</li>
 * </ul>
 *
 * @param requested what the user asked for ({@code java}, {@code uffd}, {@code auto})
 * @param backend   what will run: {@code java} or {@code uffd}
 * @param mode      the uffd mode, null for java
 * @param factory   creates the backend for a heap
 */
public record BackendChoice(String requested, String backend, String mode, HeapBackend.Factory factory) {

    /** Why uffd cannot be selected in this build. */
    static final String UFFD_UNAVAILABLE = "uffd backend not built yet";

    /**
     * Resolves the user's choice. {@code mode} may be null (uffd's default, {@code continue}).
     * Writes auto's one-line explanation to {@code err}.
     */
    public static BackendChoice resolve(String requested, String mode, PrintStream err) {
        return switch (requested) {
            case "java" -> java(requested);
            case "uffd" -> throw new UsageException("--backend uffd: " + UFFD_UNAVAILABLE);
            case "auto" -> {
                err.println("faultline: --backend auto: using java (" + UFFD_UNAVAILABLE + ")");
                yield java(requested);
            }
            default -> throw new UsageException("--backend '" + requested + "' is not one of "
                    + String.join(", ", RunOptions.BACKENDS));
        };
    }

    private static BackendChoice java(String requested) {
        return new BackendChoice(requested, "java", null, JavaBackend.factory());
    }
}
