package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into {@code fl_backend.c} ({@code struct fl_heap}). The heap state is passed as a raw
 * address ({@code long}); the collector's tables are passed as raw addresses too, except to
 * {@link #holdMetadata}, which takes the segments so that the downcall keeps their arena acquired.
 * Every method that may wait (compactPages, holdMetadata, stop) runs "in native": HotSpot's
 * safepoints proceed while a Java thread is inside it.
 */
final class NativeHeap {
    private static final MethodHandle NEW = NativeLibrary.downcall("fl_heap_new",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
    private static final MethodHandle ATTACH = NativeLibrary.downcall("fl_heap_attach",
        FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle BEGIN = NativeLibrary.downcall("fl_heap_begin",
        FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle HOLD = NativeLibrary.downcall("fl_hold_metadata",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle DETACH = NativeLibrary.downcall("fl_heap_detach",
        FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle COMPACT = NativeLibrary.downcall("fl_compact_pages",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle INSTALL = NativeLibrary.downcall("fl_install_page",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle COMPACT_INTO = NativeLibrary.downcall("fl_compact_page_into",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_LONG));
    private static final MethodHandle STOP = NativeLibrary.downcall("fl_heap_stop",
        FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle FREE = NativeLibrary.downcall("fl_heap_free",
        FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle STATS = NativeLibrary.downcall("fl_stats",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_INT));

    private NativeHeap() {
    }

    /** {@code fl_heap_new}; starts the fault-service thread. Throws with the errno on failure. */
    static long create(int mode, int uffd, int memfd, long view, long capacity, long pageSize) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            long h = (long) NEW.invokeExact(mode, uffd, memfd, view, capacity, pageSize, err);
            if (h == 0) {
                int errno = err.get(JAVA_INT, 0);
                throw new io.faultline.uffd.sys.SyscallException("fl_heap_new (eventfd, mmap, pthread_create)", errno);
            }
            return h;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void attach(long h, long bitmap, long offsets, long first, long states, long control) {
        try {
            ATTACH.invokeExact(h, bitmap, offsets, first, states, control);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void begin(long h, long from, long toAlias, long toAliasFileOffset) {
        try {
            BEGIN.invokeExact(h, from, toAlias, toAliasFileOffset);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void holdMetadata(long h, MemorySegment bitmap, MemorySegment offsets, MemorySegment first,
                             MemorySegment states, MemorySegment control) {
        try {
            HOLD.invokeExact(h, bitmap, offsets, first, states, control);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void detach(long h) {
        try {
            DETACH.invokeExact(h);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static long compactPages(long h, long maxPages) {
        try {
            return (long) COMPACT.invokeExact(h, maxPages);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static int installPage(long h, long page, long src) {
        try {
            return (int) INSTALL.invokeExact(h, page, src);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void compactPageInto(long h, MemorySegment buffer, long page) {
        try {
            COMPACT_INTO.invokeExact(h, buffer, page);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void stop(long h) {
        try {
            STOP.invokeExact(h);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static void free(long h) {
        try {
            FREE.invokeExact(h);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static long[] stats(long h, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, n);
            STATS.invokeExact(h, out, n);
            return out.toArray(JAVA_LONG);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }
}
