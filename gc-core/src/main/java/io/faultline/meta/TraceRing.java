package io.faultline.meta;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The heap's trace ring: what happened to each page, each fault and each collector phase, written
 * by Java and by the native fault path into one preallocated ring of fixed-size records, and copied
 * out by one reader (the heap's drain thread). Mirrored by {@code struct fl_trace} in
 * {@code layout.h}; C writes through {@code fl_trace.h}; {@code LayoutAbiTest} compares every
 * constant below with C's.
 *
 * <pre>
 *  header (128 bytes)                              record (64 bytes; slot = index &amp; (capacity - 1))
 *  0   NEXT            records claimed so far      0   SEQ     index + 1 once committed (release store)
 *  8   CAPACITY        records, a power of two     8   TIME    System.nanoTime / CLOCK_MONOTONIC ns
 *  16  MASK            bit 1 &lt;&lt; kind: record it    16  PAGE    page (RELEASE: from-space page)
 *  24  FAULT_THRESHOLD faults this long (ns) or    24  VALUE   FAULT: latency ns; STATE_RANGE: pages;
 *                      longer are always recorded              PHASE_END, RELEASE: bytes
 *  32  FAULT_SAMPLE    and 1 in this many others   32  THREAD  Java thread id, or pthread_self()
 *  40  DROPPED         records lost: ring full     40  EPOCH   the cycle
 *  64  DRAINED         the reader's position       48  KIND    KIND_*
 *                      (its own cache line)        52  A       STATE*: from state; FAULT: DELIVERY_*; PHASE*: phase
 *                                                  56  B       STATE*: to state; FAULT: result (FAULT_*); PHASE*: cause
 *                                                  60  ORIGIN  ORIGIN_JAVA or ORIGIN_NATIVE
 * </pre>
 *
 * <p><b>Writers</b> (any thread, Java or C, the SIGBUS handler included) claim index {@code n} by
 * CAS of NEXT from {@code n} to {@code n + 1}, but only while {@code n - DRAINED < CAPACITY}: a
 * full ring never blocks and never overwrites; the record is counted in DROPPED and lost. The
 * writer then fills slot {@code n & (CAPACITY - 1)} and stores SEQ = {@code n + 1} with release
 * semantics. Nothing allocates, nothing locks, and the only system-call-like cost is reading the
 * monotonic clock (vDSO).
 *
 * <p><b>The reader</b> (one thread) copies records in index order from DRAINED while each slot's
 * SEQ (acquire) says it is committed, stops at the first that is not (its writer is between the
 * claim and the commit: the next drain takes it), and stores DRAINED (release), which frees the
 * slots for writers.
 *
 * <p><b>Enabling.</b> The ring is allocated on first {@link #enable} (in the metadata's arena, so
 * it lives until the heap's metadata is freed, after every writer stopped) and its address stored
 * in {@link ControlBlock#TRACE}. Writers look at MASK first: a C call site costs one load and a
 * predicted branch with no ring, two loads with a ring whose mask excludes the kind; a Java call
 * site ({@link #on}) one volatile read.
 */
public final class TraceRing {
    public static final long HEADER_BYTES = 128;
    public static final long RECORD_BYTES = 64;

    public static final long NEXT = 0;
    public static final long CAPACITY = 8;
    public static final long MASK = 16;
    public static final long FAULT_THRESHOLD = 24;
    public static final long FAULT_SAMPLE = 32;
    public static final long DROPPED = 40;
    public static final long DRAINED = 64;

    public static final long SEQ = 0;
    public static final long TIME = 8;
    public static final long PAGE = 16;
    public static final long VALUE = 24;
    public static final long THREAD = 32;
    public static final long EPOCH = 40;
    public static final long KIND = 48;
    public static final long A = 52;
    public static final long B = 56;
    public static final long ORIGIN = 60;

    /** A page changed state: {@code a} from, {@code b} to ({@link PageStates}). */
    public static final int KIND_STATE = 1;
    /** A pause published pages {@code [page, page + value)} from state {@code a} to {@code b} in bulk. */
    public static final int KIND_STATE_RANGE = 2;
    /** A fault on {@code page} began at TIME and took {@code value} ns; {@code a} delivery, {@code b} result. */
    public static final int KIND_FAULT = 3;
    /** A collector phase ({@code a}, an ordinal of {@code io.faultline.gc.GcPhase}) began; {@code b}: cause ordinal or -1. */
    public static final int KIND_PHASE_BEGIN = 4;
    /** That phase ended; {@code value}: the bytes it concerned (see {@code GcPhase}). */
    public static final int KIND_PHASE_END = 5;
    /** From-space from page {@code page} on, {@code value} bytes, was released. */
    public static final int KIND_RELEASE = 6;

    public static final int ORIGIN_JAVA = 1;
    public static final int ORIGIN_NATIVE = 2;

    /** FAULT deliveries: the fault-service thread, the SIGBUS handler, the java backend's software fault. */
    public static final int DELIVERY_THREAD = 0;
    public static final int DELIVERY_SIGBUS = 1;
    public static final int DELIVERY_JAVA = 2;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final Arena arena;
    private final ControlBlock control;
    private volatile MemorySegment ring;
    private volatile int mask;
    private long capacity;

    TraceRing(Arena arena, ControlBlock control) {
        this.arena = arena;
        this.control = control;
    }

    /** The mask bit of {@code kind}. */
    public static int bit(int kind) {
        return 1 << kind;
    }

    /** Every kind. */
    public static int allKinds() {
        return bit(KIND_STATE) | bit(KIND_STATE_RANGE) | bit(KIND_FAULT) | bit(KIND_PHASE_BEGIN) | bit(KIND_PHASE_END)
                | bit(KIND_RELEASE);
    }

    /**
     * Allocates the ring with room for {@code records} (rounded up to a power of two) unless it
     * exists, and publishes its address in the control block. Idempotent; the first size wins.
     */
    public synchronized void allocate(int records) {
        if (ring != null) {
            return;
        }
        if (records < 2) {
            throw new IllegalArgumentException("trace ring: " + records + " records; need at least 2");
        }
        long cap = Long.highestOneBit(records - 1L) << 1;
        MemorySegment r = arena.allocate(HEADER_BYTES + cap * RECORD_BYTES, 64);
        r.set(ValueLayout.JAVA_LONG, CAPACITY, cap);
        r.set(ValueLayout.JAVA_LONG, FAULT_SAMPLE, 1);
        capacity = cap;
        VarHandle.releaseFence();
        ring = r;
        control.set(ControlBlock.TRACE, r.address());
    }

    /** True once {@link #allocate} ran. */
    public boolean allocated() {
        return ring != null;
    }

    /** Records in the ring (0 before {@link #allocate}). */
    public synchronized long capacity() {
        return capacity;
    }

    /**
     * From now on, record the kinds in {@code kinds} (a mask of {@link #bit}s; 0: none), and of the
     * faults those at least {@code faultThresholdNanos} long plus one in {@code faultSample} of the
     * others (1: every fault). The ring must be allocated unless {@code kinds} is 0.
     */
    public void enable(int kinds, long faultThresholdNanos, long faultSample) {
        MemorySegment r = ring;
        if (r == null) {
            if (kinds == 0) {
                mask = 0;
                return;
            }
            throw new IllegalStateException("trace ring not allocated");
        }
        LONG.setVolatile(r, FAULT_THRESHOLD, faultThresholdNanos);
        LONG.setVolatile(r, FAULT_SAMPLE, Math.max(1, faultSample));
        LONG.setVolatile(r, MASK, (long) kinds);
        mask = kinds;
    }

    /** The kinds being recorded. */
    public int kinds() {
        return mask;
    }

    /** True if records of {@code kind} are wanted now: a Java call site's check (one volatile read). */
    public boolean on(int kind) {
        return (mask & (1 << kind)) != 0;
    }

    /** Writes a record stamped now; allocation-free, never blocks (a full ring drops it and counts it). */
    public void record(int kind, long epoch, long page, long value, int a, int b) {
        recordAt(System.nanoTime(), kind, epoch, page, value, a, b);
    }

    /** Writes a record stamped {@code time} (System.nanoTime). */
    public void recordAt(long time, int kind, long epoch, long page, long value, int a, int b) {
        MemorySegment r = ring;
        if (r == null) {
            return;
        }
        long cap = (long) LONG.get(r, CAPACITY);
        long n = (long) LONG.getVolatile(r, NEXT);
        while (true) {
            if (n - (long) LONG.getAcquire(r, DRAINED) >= cap) {
                LONG.getAndAdd(r, DROPPED, 1L);
                return;
            }
            long witness = (long) LONG.compareAndExchange(r, NEXT, n, n + 1);
            if (witness == n) {
                break;
            }
            n = witness;
        }
        long at = HEADER_BYTES + (n & (cap - 1)) * RECORD_BYTES;
        LONG.set(r, at + TIME, time);
        LONG.set(r, at + PAGE, page);
        LONG.set(r, at + VALUE, value);
        LONG.set(r, at + THREAD, Thread.currentThread().threadId());
        LONG.set(r, at + EPOCH, epoch);
        INT.set(r, at + KIND, kind);
        INT.set(r, at + A, a);
        INT.set(r, at + B, b);
        INT.set(r, at + ORIGIN, ORIGIN_JAVA);
        LONG.setRelease(r, at + SEQ, n + 1);
    }

    /**
     * A fault's record, if faults are wanted and this one passes the threshold or the sample
     * ({@code ordinal}: the fault's number among the heap's faults).
     */
    public void fault(long epoch, long page, long start, long latency, int delivery, int result, long ordinal) {
        MemorySegment r = ring;
        if (r == null || !on(KIND_FAULT)) {
            return;
        }
        long sample = (long) LONG.getVolatile(r, FAULT_SAMPLE);
        if (latency >= (long) LONG.getVolatile(r, FAULT_THRESHOLD) || sample <= 1 || ordinal % sample == 0) {
            recordAt(start, KIND_FAULT, epoch, page, latency, delivery, result);
        }
    }

    /** Records lost because the ring was full. */
    public long dropped() {
        MemorySegment r = ring;
        return r == null ? 0 : (long) LONG.getVolatile(r, DROPPED);
    }

    /** Records claimed so far (committed or about to be). */
    public long written() {
        MemorySegment r = ring;
        return r == null ? 0 : (long) LONG.getVolatile(r, NEXT);
    }

    /** One record, as the reader copied it. */
    public record Event(long index, long time, long page, long value, long thread, long epoch, int kind, int a, int b,
                        int origin) {
    }

    /** Where drained records go. */
    @FunctionalInterface
    public interface Sink {
        void accept(Event e);
    }

    /**
     * The reader: copies every committed record from DRAINED on, in index order, to {@code sink},
     * stopping at the first record not yet committed; frees their slots. One thread at a time.
     * Returns the number of records copied.
     */
    public synchronized int drain(Sink sink) {
        MemorySegment r = ring;
        if (r == null) {
            return 0;
        }
        long cap = (long) LONG.get(r, CAPACITY);
        long pos = (long) LONG.getAcquire(r, DRAINED);
        long end = (long) LONG.getAcquire(r, NEXT);
        int copied = 0;
        while (pos < end) {
            long at = HEADER_BYTES + (pos & (cap - 1)) * RECORD_BYTES;
            if ((long) LONG.getAcquire(r, at + SEQ) != pos + 1) {
                break;
            }
            Event e = new Event(pos, (long) LONG.get(r, at + TIME), (long) LONG.get(r, at + PAGE),
                    (long) LONG.get(r, at + VALUE), (long) LONG.get(r, at + THREAD), (long) LONG.get(r, at + EPOCH),
                    (int) INT.get(r, at + KIND), (int) INT.get(r, at + A), (int) INT.get(r, at + B), (int) INT.get(r, at + ORIGIN));
            pos++;
            copied++;
            if ((copied & 255) == 0) {
                LONG.setRelease(r, DRAINED, pos);
            }
            sink.accept(e);
        }
        LONG.setRelease(r, DRAINED, pos);
        return copied;
    }
}
