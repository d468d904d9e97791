package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code libfaultline.so}, the backend's C code, loaded once per JVM and never unloaded.
 *
 * <p>The Maven build compiles it into the class path resource
 * {@code native/<platform>/libfaultline.so} (platform e.g. {@code linux-x86_64}) when gcc is
 * available. At first use it is extracted to a temporary file, opened with
 * {@link SymbolLookup#libraryLookup(Path, Arena)} in the global arena, and the file is deleted
 * right away: the loaded mapping stays valid without it, and a JVM that is killed (SIGKILL, no
 * exit hooks) leaves nothing behind in the temporary directory. {@link #source()} says where the
 * library came from. The system property {@value #PATH_PROPERTY} names a library file to load
 * instead (that file is left alone). If anything fails, {@link #isLoaded()} is false and
 * {@link #failureReason()} says why; nothing throws until a caller asks for a symbol.
 */
@SuppressWarnings("restricted") // loading and binding a native library; callers need --enable-native-access
public final class NativeLibrary {
    /** The {@code FL_VERSION} this Java code was written against (see faultline.h). */
    public static final int EXPECTED_VERSION = 11;
    /** System property: path of a libfaultline.so to load instead of the packaged one. */
    public static final String PATH_PROPERTY = "faultline.native.path";
    public static final String LIBRARY_NAME = "libfaultline.so";

    private static final class Holder {
        static final Status STATUS = load("/native/" + platform() + "/" + LIBRARY_NAME, System.getProperty(PATH_PROPERTY),
            Path.of(System.getProperty("java.io.tmpdir")));
    }

    /**
     * Outcome of loading: a lookup and where it came from, or the reason there is none.
     *
     * @param file      the {@value #PATH_PROPERTY} file it was loaded from; null for the packaged library
     * @param extracted the temporary copy of the packaged library, deleted once opened; null otherwise
     * @param source    where it came from, in words, for reports
     */
    record Status(SymbolLookup lookup, Path file, Path extracted, String source, int version, String failureReason) {
        boolean loaded() {
            return lookup != null;
        }
    }

    private NativeLibrary() {
    }

    /** Whether the library is loaded and has the {@link #EXPECTED_VERSION}. */
    public static boolean isLoaded() {
        return Holder.STATUS.loaded();
    }

    /** Why the library is not available, or {@code null} if it is. */
    public static String failureReason() {
        return Holder.STATUS.failureReason();
    }

    /**
     * The file the library was loaded from, if that file is meant to stay: the
     * {@value #PATH_PROPERTY} file. Empty for the packaged library, whose extracted copy is deleted
     * as soon as it is opened; {@link #source()} names it.
     */
    public static Optional<Path> path() {
        return Optional.ofNullable(Holder.STATUS.file());
    }

    /**
     * Where the library came from, for reports: the {@value #PATH_PROPERTY} file, or e.g.
     * {@code class path resource /native/linux-x86_64/libfaultline.so (extracted to
     * /tmp/libfaultline-123.so, deleted once loaded)}; null if nothing was found to load.
     */
    public static String source() {
        return Holder.STATUS.source();
    }

    /** {@code fl_version()} of the loaded library. */
    public static int version() {
        requireLoaded();
        return Holder.STATUS.version();
    }

    /** The library's symbols; throws {@link IllegalStateException} with the failure reason if not loaded. */
    public static SymbolLookup lookup() {
        requireLoaded();
        return Holder.STATUS.lookup();
    }

    /** A downcall handle to the library function {@code name}. */
    public static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = lookup().find(name).orElseThrow(
            () -> new IllegalStateException(LIBRARY_NAME + " has no symbol " + name));
        return Linker.nativeLinker().downcallHandle(symbol, descriptor, options);
    }

    /**
     * For the {@code catch (Throwable t)} around a {@link #downcall} handle's {@code invokeExact}:
     * rethrows an unchecked {@code t} as it is and wraps anything else (which a downcall cannot
     * throw). Use as {@code throw NativeLibrary.rethrow(t)}.
     */
    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** The resource directory name for this JVM's platform, e.g. {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).replace(" ", "");
        String arch = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> System.getProperty("os.arch", "unknown");
        };
        return os + "-" + arch;
    }

    private static void requireLoaded() {
        if (!Holder.STATUS.loaded()) {
            throw new IllegalStateException(Holder.STATUS.failureReason());
        }
    }

    /**
     * Loads the library from {@code file} if given, else from class path {@code resource}, extracted
     * into {@code tempDir} and deleted from there as soon as it has been opened (or has failed to open).
     */
    static Status load(String resource, String file, Path tempDir) {
        Path path;
        Path extracted = null;
        if (file != null) {
            path = Path.of(file);
            if (!Files.isRegularFile(path)) {
                return failed(null, null, null, "native library not found: " + PATH_PROPERTY + "=" + file + " is not a file");
            }
        } else {
            try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
                if (in == null) {
                    return failed(null, null, null, "native library not built: no class path resource " + resource
                        + " (was gcc missing at build time, or is " + platform() + " unsupported?)");
                }
                extracted = Files.createTempFile(tempDir, "libfaultline-", ".so");
                Files.copy(in, extracted, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                String undeleted = extracted == null ? null : discard(extracted);
                return failed(null, extracted, null, "native library not extracted: " + resource + " into " + tempDir
                    + ": " + e + (undeleted == null ? "" : "; " + undeleted));
            }
            path = extracted;
        }
        SymbolLookup lookup;
        String undeleted;
        try {
            lookup = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            undeleted = extracted == null ? null : discard(extracted);
            return failed(file == null ? null : path, extracted, null, "native library not loaded: " + path + ": "
                + e.getMessage() + (undeleted == null ? "" : "; " + undeleted));
        }
        String source;
        if (extracted == null) {
            source = path.toString();
        } else {
            undeleted = discard(extracted);
            source = "class path resource " + resource + " (extracted to " + extracted + ", "
                + (undeleted == null ? "deleted once loaded" : undeleted) + ")";
        }
        Path loadedFile = file == null ? null : path;
        int[] version = new int[1];
        String why = callIntNoArgs(lookup, "fl_version", source, version);
        if (why != null) {
            return failed(loadedFile, extracted, source, why);
        }
        if (version[0] != EXPECTED_VERSION) {
            return failed(loadedFile, extracted, source, "native library version mismatch: " + source
                + " has fl_version() = " + version[0] + ", expected " + EXPECTED_VERSION + " (stale build?)");
        }
        int[] cpuSupported = new int[1];
        why = callIntNoArgs(lookup, "fl_cpu_supported", source, cpuSupported);
        if (why != null) {
            return failed(loadedFile, extracted, source, why);
        }
        if (cpuSupported[0] != 1) {
            return failed(loadedFile, extracted, source, "native library not loaded: this CPU lacks the POPCNT instruction, which "
                + source + " is compiled for (gcc -mpopcnt)");
        }
        return new Status(lookup, loadedFile, extracted, source, version[0], null);
    }

    /**
     * Calls the library's {@code int name(void)} and stores its result in {@code result[0]}; returns
     * null, or why the library cannot be used (no such symbol, or the call failed).
     */
    private static String callIntNoArgs(SymbolLookup lookup, String name, String source, int[] result) {
        Optional<MemorySegment> symbol = lookup.find(name);
        if (symbol.isEmpty()) {
            return "native library not loaded: " + source + " has no " + name;
        }
        try {
            result[0] = (int) Linker.nativeLinker().downcallHandle(symbol.get(), FunctionDescriptor.of(JAVA_INT)).invokeExact();
            return null;
        } catch (Throwable t) {
            return "native library not loaded: " + name + " failed: " + t;
        }
    }

    /**
     * Deletes the extracted copy. Returns null if it is gone, else what went wrong (the file is
     * then left for deletion at JVM exit).
     */
    private static String discard(Path extracted) {
        try {
            Files.delete(extracted);
            return null;
        } catch (IOException e) {
            extracted.toFile().deleteOnExit();
            return "could not delete " + extracted + " (" + e + "), left for deletion at JVM exit";
        }
    }

    private static Status failed(Path file, Path extracted, String source, String reason) {
        return new Status(null, file, extracted, source, 0, reason);
    }
}
