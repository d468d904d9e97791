package io.faultline.uffd.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The C library as seen through FFM: symbol lookup, downcall factories and errno capture.
 * Package-private plumbing shared by the wrapper classes.
 */
@SuppressWarnings("restricted") // the point of this class; callers need --enable-native-access
final class Libc {
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LOOKUP = LINKER.defaultLookup();

    /** Layout of the call state written by {@code captureCallState("errno")}. */
    static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final long ERRNO_OFFSET =
        CAPTURE_LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final ThreadLocal<MemorySegment> CAPTURE =
        ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private Libc() {
    }

    /** Downcall to {@code name} whose first parameter is the errno capture segment. */
    static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO);
    }

    /** As {@link #downcall(String, FunctionDescriptor)}, for a variadic C function. */
    static MethodHandle downcallVariadic(String name, FunctionDescriptor descriptor, int firstVariadicArg) {
        return LINKER.downcallHandle(
            symbol(name), descriptor, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadicArg));
    }

    /** Downcall to a function that does not report through errno. */
    static MethodHandle downcallPlain(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /** Downcall to a function that may be missing from this C library. */
    static Optional<MethodHandle> downcallOptional(String name, FunctionDescriptor descriptor) {
        return LOOKUP.find(name).map(address -> LINKER.downcallHandle(address, descriptor));
    }

    static MemorySegment allocateCapture(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /**
     * The calling thread's errno capture segment, allocated at its first call and reused after. A
     * confined arena per call cost 208 bytes a call on the Java heap until C2 compiled the wrapper
     * and removed it; this costs nothing. A wrapper reads errno from it right after its downcall,
     * before it makes another on this thread.
     */
    static MemorySegment capture() {
        return CAPTURE.get();
    }

    static int errno(MemorySegment capture) {
        return capture.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }

    private static MemorySegment symbol(String name) {
        return LOOKUP.find(name).orElseThrow(
            () -> new UnsupportedOperationException("C library has no symbol " + name));
    }

    /** Rethrows what a downcall handle's {@code invokeExact} declared but cannot throw. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a downcall", t);
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
