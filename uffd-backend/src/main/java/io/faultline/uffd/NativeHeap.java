package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into {@code fl_backend.c} ({@code struct fl_heap}). The heap state and the collector's
 * tables are passed as raw addresses ({@code long}): the tables outlive the native state (the heap
 * closes its metadata after its backend). Every method that may wait ({@link #compactStep},
 * {@link #stop}) runs "in native": HotSpot's safepoints proceed while a Java thread is inside it.
 */
final class NativeHeap {
    private static final MethodHandle NEW = NativeLibrary.downcall("fl_heap_new",
        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG,
            JAVA_LONG, JAVA_LONG, ADDRESS));
    private static final MethodHandle ATTACH = NativeLibrary.downcall("fl_heap_attach",
        FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle BEGIN = NativeLibrary.downcall("fl_heap_begin",
        FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MOVE_VIEW = NativeLibrary.downcall("fl_heap_move_view",
        FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
    private static final MethodHandle COMPACT = NativeLibrary.downcall("fl_compact_step",
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle COMPACT_INTO = NativeLibrary.downcall("fl_compact_page_into",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_LONG));
    private static final MethodHandle STOP = NativeLibrary.downcall("fl_heap_stop",
        FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle FREE = NativeLibrary.downcall("fl_heap_free",
        FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle STATS = NativeLibrary.downcall("fl_stats",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_INT));

    private static final MethodHandle FAULT_HISTOGRAM = NativeLibrary.downcall("fl_fault_histogram",
        FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS, JAVA_INT));

    private NativeHeap() {
    }

    /** {@code fl_heap_new}; starts the fault-service thread. Throws with the errno on failure. */
    static long create(int mode, int delivery, int supply, int uffd, int memfd, long view, long alias, long capacity,
                       long pageSize, long backstopMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            long h = (long) NEW.invokeExact(mode, delivery, supply, uffd, memfd, view, alias, capacity, pageSize, backstopMillis,
                err);
            if (h == 0) {
                int errno = err.get(JAVA_INT, 0);
                throw new io.faultline.uffd.sys.SyscallException("fl_heap_new (eventfd, pthread_create"
                    + (delivery == 1 ? ", SIGBUS handler registration: at most 64 SIGBUS heaps per process)" : ")"), errno);
            }
            return h;
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    /** {@code fl_heap_attach}; throws with the errno if the build buffers cannot be mapped. */
    static void attach(long h, long bitmap, long offsets, long first, long states, long control) {
        int errno;
        try {
            errno = (int) ATTACH.invokeExact(h, bitmap, offsets, first, states, control);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        if (errno != 0) {
            throw new io.faultline.uffd.sys.SyscallException("fl_heap_attach (mmap of the build buffers)", errno);
        }
    }

    static void begin(long h, long from, long fromBytes, long fromHalfOffset, long toHalfOffset, long fromSplit) {
        try {
            BEGIN.invokeExact(h, from, fromBytes, fromHalfOffset, toHalfOffset, fromSplit);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    /** {@code fl_heap_move_view}: in the pause, before the to-space is registered. */
    static void moveView(long h, long view) {
        try {
            MOVE_VIEW.invokeExact(h, view);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
    }

    static long compactStep(long h, long maxPages) {
        try {
            return (long) COMPACT.invokeExact(h, maxPages);
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

    /** {@code fl_fault_histogram}: faults per {@code LatencyBuckets} bucket. */
    static long[] faultHistogram(long h, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, n);
            FAULT_HISTOGRAM.invokeExact(h, out, n);
            return out.toArray(JAVA_LONG);
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
