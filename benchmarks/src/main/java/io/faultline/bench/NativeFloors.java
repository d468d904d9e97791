package io.faultline.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The machine's floors, measured natively ({@code fl_bench.c} in libfaultline): a raw userfaultfd
 * round trip per mode and delivery with no compaction work, batched installs (N contiguous pages
 * per ioctl, no fault), a plain shmem minor fault, an anonymous first-touch fault, and memcpy.
 * Each call runs in one downcall (the faulting thread is in native; the resolver is a pthread or,
 * in SIGBUS delivery, a native handler in the faulting thread), so no Java code runs while a fault
 * is pending.
 *
 * <p>A floor is the cheapest known way to do the heap's own round trip: in thread delivery the
 * resolver waits exactly as the heap's fault-service thread does (poll on the uffd and an eventfd,
 * up to 16 messages per read, every signal blocked) and lives as long as its {@link Region}, as
 * the service thread lives as long as its heap, and for each pass it is placed on the faulting
 * thread's CPU (the cheapest hand-over; {@link #UNPINNED} measures it placed by the scheduler);
 * serving copies 4 KiB into an already resident page and installs it with the mode's ioctl. If a heap's fault path beats its floor in the same run,
 * the floor is wrong, and {@code faultline compare} says so.
 *
 * <p>Latencies are written into a caller-owned native buffer ({@link Buffer}) so a measurement
 * allocates nothing on the Java heap.
 */
public final class NativeFloors {
    /** Floor kinds of {@code fl_bench_uffd_roundtrip} (FL_BENCH_* in faultline.h). */
    public static final int RT_CONTINUE = 0;
    public static final int RT_COPY = 1;
    public static final int RT_MOVE = 2;
    public static final int RT_CONTINUE_CACHED = 3;
    /** Or'ed with a round-trip kind: SIGBUS delivery ({@code FL_BENCH_SIGBUS}). */
    public static final int SIGBUS = 0x10;
    /**
     * Or'ed with a round-trip kind, thread delivery: the resolver is not placed on the faulting
     * thread's CPU but left where the scheduler puts it, as a heap's service thread is
     * ({@code FL_BENCH_UNPINNED}). Not a floor: what the placement costs.
     */
    public static final int UNPINNED = 0x20;
    /**
     * Or'ed with a round-trip kind and {@link #SIGBUS}: during each pass a second thread of the
     * process spins on another CPU, as a compactor runs while the heap's mutators fault
     * ({@code FL_BENCH_BUSY}). Not a floor: what a running sibling costs a fault (a MOVE pays a
     * TLB shootdown of its CPU). A touch fails with {@code ENXIO} where no other CPU is allowed.
     */
    public static final int BUSY = 0x40;
    /** Region floors beyond the four round trips ({@code FL_BENCH_FLOOR_*}). */
    public static final int FLOOR_SHMEM_MINOR = 4;
    public static final int FLOOR_ANON_FIRST_TOUCH = 5;
    /** Kinds of {@code fl_bench_plain_fault}. */
    public static final int SHMEM_MINOR = 0;
    public static final int ANON_FIRST_TOUCH = 1;

    private static final class Handles {
        static final MethodHandle ROUNDTRIP = NativeLibrary.downcall("fl_bench_uffd_roundtrip",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
        static final MethodHandle PLAIN = NativeLibrary.downcall("fl_bench_plain_fault",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
        static final MethodHandle MEMCPY = NativeLibrary.downcall("fl_bench_memcpy",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle REGION_NEW = NativeLibrary.downcall("fl_bench_region_new",
                FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS));
        static final MethodHandle REGION_TOUCH = NativeLibrary.downcall("fl_bench_region_touch",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle REGION_FREE = NativeLibrary.downcall("fl_bench_region_free",
                FunctionDescriptor.ofVoid(ADDRESS));
        static final MethodHandle INSTALL = NativeLibrary.downcall("fl_bench_install",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
    }

    private NativeFloors() {
    }

    /** Null if the floors can be measured, else why not (the native library's failure reason). */
    public static String unavailableReason() {
        return NativeLibrary.isLoaded() ? null : NativeLibrary.failureReason();
    }

    /** The round-trip kind for a uffd mode (thread delivery). */
    public static int roundTripKind(UffdProbe.Mode mode) {
        return switch (mode) {
            case CONTINUE -> RT_CONTINUE;
            case COPY -> RT_COPY;
            case MOVE -> RT_MOVE;
        };
    }

    /** The round-trip kind for a uffd mode and a delivery. */
    public static int roundTripKind(UffdProbe.Mode mode, UffdOptions.Delivery delivery) {
        return roundTripKind(mode) | (delivery == UffdOptions.Delivery.SIGBUS ? SIGBUS : 0);
    }

    /**
     * Batched installs: {@code totalPages} pages installed with {@code mode}'s ioctl in runs of
     * {@code runPages} contiguous pages, one ioctl per run, no fault, sources resident and each
     * run's written just before its ioctl, as a builder writes them; returns the ns of each of
     * {@code rounds} rounds' ioctls (the writes untimed).
     */
    public static long[] installNanos(UffdProbe.Mode mode, long runPages, long totalPages, int rounds) {
        if (runPages < 1 || totalPages < 1 || rounds < 1) {
            throw new IllegalArgumentException("installNanos: runPages " + runPages + ", totalPages " + totalPages
                    + ", rounds " + rounds + " must be positive");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(8L * rounds, 8);
            int rc;
            try {
                rc = (int) Handles.INSTALL.invokeExact(roundTripKind(mode), runPages, totalPages, (long) rounds, out);
            } catch (Throwable t) {
                throw NativeLibrary.rethrow(t);
            }
            if (rc < 0) {
                throw new IllegalStateException("fl_bench_install(" + mode + ", " + runPages + " pages per ioctl): errno " + -rc);
            }
            return out.toArray(JAVA_LONG);
        }
    }

    /** A native array of per-touch latencies in ns. Close it. */
    public static final class Buffer implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        final MemorySegment seg;
        final int capacity;

        public Buffer(int capacity) {
            this.capacity = capacity;
            this.seg = arena.allocate(8L * capacity, 8);
        }

        public long get(int i) {
            return seg.getAtIndex(JAVA_LONG, i);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * A floor's pages, set up (mapped, registered, resolver thread started or SIGBUS handler
     * armed) but not touched yet, so that only {@link #touch} is timed. Touch as often as needed
     * (each pass after the first re-arms the pages first, untimed, with the same resolver), then
     * close (joins the resolver, closes the uffd, unmaps).
     */
    public static final class Region implements AutoCloseable {
        private MemorySegment handle;
        private final int pages;

        public Region(int floor, int pages) {
            this.pages = pages;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment err = a.allocate(JAVA_INT);
                MemorySegment h;
                try {
                    h = (MemorySegment) Handles.REGION_NEW.invokeExact(floor, (long) pages, err);
                } catch (Throwable t) {
                    throw NativeLibrary.rethrow(t);
                }
                if (h.address() == 0) {
                    throw new IllegalStateException("fl_bench_region_new(floor " + floor + "): errno " + err.get(JAVA_INT, 0));
                }
                handle = h;
            }
        }

        /** One pass: touches every page once, one at a time; per-touch ns into {@code out}. */
        public void touch(Buffer out) {
            if (handle == null) {
                throw new IllegalStateException("floor region is closed");
            }
            check(pages, out);
            int rc;
            try {
                rc = (int) Handles.REGION_TOUCH.invokeExact(handle, out.seg);
            } catch (Throwable t) {
                throw NativeLibrary.rethrow(t);
            }
            if (rc < 0) {
                throw new IllegalStateException("fl_bench_region_touch: errno " + -rc);
            }
        }

        @Override
        public void close() {
            if (handle != null) {
                try {
                    Handles.REGION_FREE.invokeExact(handle);
                } catch (Throwable t) {
                    throw NativeLibrary.rethrow(t);
                } finally {
                    handle = null;
                }
            }
        }
    }

    /** Touches {@code n} fresh pages of a registered range resolved the {@code kind} way; fills {@code out}. */
    public static void uffdRoundTrip(int kind, int n, Buffer out) {
        check(n, out);
        int rc;
        try {
            rc = (int) Handles.ROUNDTRIP.invokeExact(kind, (long) n, out.seg);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        if (rc < 0) {
            throw new IllegalStateException("fl_bench_uffd_roundtrip(kind " + kind + "): errno " + -rc);
        }
    }

    /** {@link #SHMEM_MINOR} or {@link #ANON_FIRST_TOUCH}, {@code n} pages; fills {@code out}. */
    public static void plainFault(int kind, int n, Buffer out) {
        check(n, out);
        int rc;
        try {
            rc = (int) Handles.PLAIN.invokeExact(kind, (long) n, out.seg);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        if (rc < 0) {
            throw new IllegalStateException("fl_bench_plain_fault(kind " + kind + "): errno " + -rc);
        }
    }

    /** Nanoseconds to memcpy {@code total} bytes in {@code chunk}-byte pieces, {@code reps} times. */
    public static long memcpyNanos(long chunk, long total, long reps) {
        long ns;
        try {
            ns = (long) Handles.MEMCPY.invokeExact(chunk, total, reps);
        } catch (Throwable t) {
            throw NativeLibrary.rethrow(t);
        }
        if (ns < 0) {
            throw new IllegalStateException("fl_bench_memcpy: errno " + -ns);
        }
        return ns;
    }

    private static void check(int n, Buffer out) {
        if (n <= 0 || n > out.capacity) {
            throw new IllegalArgumentException("pages " + n + " not in [1, " + out.capacity + "]");
        }
    }
}
