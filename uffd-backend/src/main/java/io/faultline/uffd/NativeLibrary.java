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
 * available. At first use it is extracted to a temporary file (deleted on exit) and opened with
 * {@link SymbolLookup#libraryLookup(Path, Arena)} in the global arena. The system property
 * {@value #PATH_PROPERTY} names a library file to load instead. If anything fails,
 * {@link #isLoaded()} is false and {@link #failureReason()} says why; nothing throws until a
 * caller asks for a symbol.
 */
@SuppressWarnings("restricted") // loading and binding a native library; callers need --enable-native-access
public final class NativeLibrary {
    /** The {@code FL_VERSION} this Java code was written against (see faultline.h). */
    public static final int EXPECTED_VERSION = 4;
    /** System property: path of a libfaultline.so to load instead of the packaged one. */
    public static final String PATH_PROPERTY = "faultline.native.path";
    public static final String LIBRARY_NAME = "libfaultline.so";

    private static final class Holder {
        static final Status STATUS = load("/native/" + platform() + "/" + LIBRARY_NAME, System.getProperty(PATH_PROPERTY));
    }

    /** Outcome of loading: a lookup and the file it came from, or the reason there is none. */
    record Status(SymbolLookup lookup, Path path, int version, String failureReason) {
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

    /** The file the library was loaded from. */
    public static Optional<Path> path() {
        return Optional.ofNullable(Holder.STATUS.path());
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

    /** Loads the library from {@code file} if given, else from class path {@code resource}. */
    static Status load(String resource, String file) {
        Path path;
        if (file != null) {
            path = Path.of(file);
            if (!Files.isRegularFile(path)) {
                return failed(null, "native library not found: " + PATH_PROPERTY + "=" + file + " is not a file");
            }
        } else {
            try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
                if (in == null) {
                    return failed(null, "native library not built: no class path resource " + resource
                        + " (was gcc missing at build time, or is " + platform() + " unsupported?)");
                }
                path = Files.createTempFile("libfaultline-", ".so");
                path.toFile().deleteOnExit();
                Files.copy(in, path, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                return failed(null, "native library not extracted: " + resource + ": " + e);
            }
        }
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return failed(path, "native library not loaded: " + path + ": " + e.getMessage());
        }
        Optional<MemorySegment> versionSymbol = lookup.find("fl_version");
        if (versionSymbol.isEmpty()) {
            return failed(path, "native library not loaded: " + path + " has no fl_version");
        }
        int version;
        try {
            version = (int) Linker.nativeLinker()
                .downcallHandle(versionSymbol.get(), FunctionDescriptor.of(JAVA_INT))
                .invokeExact();
        } catch (Throwable t) {
            return failed(path, "native library not loaded: fl_version failed: " + t);
        }
        if (version != EXPECTED_VERSION) {
            return failed(path, "native library version mismatch: " + path + " has fl_version() = " + version
                + ", expected " + EXPECTED_VERSION + " (stale build?)");
        }
        return new Status(lookup, path, version, null);
    }

    private static Status failed(Path path, String reason) {
        return new Status(null, path, 0, reason);
    }
}
