package io.faultline.gc;

import io.faultline.backend.PageProtocol;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.PageStates;
import io.faultline.meta.TraceRing;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Where a collection's phases, pauses and faults become visible outside the GC log: the trace ring
 * ({@link TraceRing}) for the cycles being traced, JFR events ({@code faultline.GcPhase},
 * {@code faultline.GcPause}, {@code faultline.PageFault}) while a flight recording runs, and the
 * phase in progress for a live page map. {@link GcLog} reports each phase here as it logs it (so
 * the collector's phase code calls one place), {@link Flip} reports the start of each compaction.
 *
 * <p><b>Tracing</b> ({@code HeapConfig.traceCycles}): for each traced cycle the ring records every
 * page-state transition, every fault, every from-space release (Java and C write them) and the
 * cycle's phases (written here, begin and end, when each phase ends). The ring is switched on for
 * page events in the flip pause (before the pages become UNPROCESSED) and off when the compaction
 * completes. A drain thread ({@code faultline-trace-drain}) copies records out every
 * {@link #DRAIN_MILLIS} ms to the heap's {@link TraceRing.Sink}, and {@link #close} drains the rest
 * once every writer has stopped.
 *
 * <p><b>JFR.</b> Nothing here touches a JFR class until a flight recorder has been initialized (the
 * first load of an event class costs about half a second), so a heap without JFR pays one static
 * call per phase. With a recording running: one phase event per phase and one pause event per
 * pause, committed as they end; fault events come from the trace ring, which then records faults
 * (and only faults, outside traced cycles) <i>sampled</i>: every fault of at least
 * {@link #FAULT_EVENT_THRESHOLD_NANOS}, and one in {@link #FAULT_EVENT_SAMPLE} of the others, so that
 * a run with many cheap faults does not swamp the recording; the heap's fault-latency histogram
 * ({@code HeapStats.faultLatency}) counts every fault either way. During a traced cycle every fault
 * is in the ring, and every one becomes an event. Whether fault events are wanted is checked in each
 * flip pause, so a recording started mid-run gets them from the next cycle on.
 *
 * <p><b>Assumptions and Guarantees:</b> the hooks run in the thread that ends a phase (phases of one
 * heap never overlap: a cycle's compaction ends before the next cycle starts). Hooks allocate only
 * when tracing or recording; the hot paths (page transitions, faults) only write the ring.
 */
public final class GcEvents implements AutoCloseable {
    /** Faults at least this long always become JFR events. */
    public static final long FAULT_EVENT_THRESHOLD_NANOS = 100_000;
    /** Of the shorter faults, one in this many becomes a JFR event. */
    public static final long FAULT_EVENT_SAMPLE = 32;
    /** How often the drain thread empties the ring. */
    public static final long DRAIN_MILLIS = 10;
    /** Ring size when only JFR fault events need it. */
    private static final int JFR_RING_RECORDS = 1 << 14;

    private final TraceRing ring;
    private final ControlBlock control;
    private final int pageSize;
    private final long traceFirst;
    private final long traceLast;
    private final TraceRing.Sink sink;
    private volatile GcPhase phase;
    private volatile long phaseCycle;
    private long causeCycle;
    private GcCause cause;
    /** The flip or full pause whose JFR event waits for its time-to-safepoint (GcLog logs that next). */
    private long pendingPauseCycle = -1;
    private PauseKind pendingKind;
    private long pendingNanos;
    private Thread drainer;
    private volatile boolean closing;
    private long droppedAtClose = -1;
    private long writtenAtClose;

    /**
     * Events of the heap whose tables are {@code metadata}. Cycles {@code [traceFirst, traceLast]}
     * are traced into a ring of {@code ringRecords} records drained to {@code sink}; {@code sink}
     * null: no cycle is traced.
     */
    public GcEvents(GcMetadata metadata, long traceFirst, long traceLast, int ringRecords, TraceRing.Sink sink) {
        this.ring = metadata.traceRing();
        this.control = metadata.control();
        this.pageSize = metadata.pageSize();
        this.sink = sink;
        this.traceFirst = sink == null ? 0 : traceFirst;
        this.traceLast = sink == null ? -1 : traceLast;
        if (sink != null) {
            ring.allocate(ringRecords);
            startDrainer();
        }
    }

    /** No tracing. */
    public static GcEvents untraced(GcMetadata metadata) {
        return new GcEvents(metadata, 0, -1, 0, null);
    }

    /** True if cycle {@code cycle} is traced. */
    public boolean traced(long cycle) {
        return cycle >= traceFirst && cycle <= traceLast;
    }

    /** The phase in progress (null: none), as a live view reads it; racy. */
    public GcPhase phase() {
        return phase;
    }

    /** The cycle of {@link #phase()}. */
    public long phaseCycle() {
        return phaseCycle;
    }

    /** Trace records lost because the ring was full (final once the heap is closed). */
    public synchronized long droppedTraceRecords() {
        return droppedAtClose >= 0 ? droppedAtClose : ring.dropped();
    }

    /** Trace records written (final once the heap is closed). */
    public synchronized long writtenTraceRecords() {
        return droppedAtClose >= 0 ? writtenAtClose : ring.written();
    }

    // ---- hooks: GcLog reports every phase as it logs it ------------------------------------------

    void initialMark(long cycle, GcCause why, long roots, long nanos, long safepointNanos) {
        rememberCause(cycle, why);
        ended(cycle, GcPhase.INIT_MARK, nanos, 0, roots, GcPhase.CONCURRENT_MARK);
        pauseEvent(cycle, PauseKind.INITIAL_MARK, nanos, safepointNanos);
    }

    void concurrentMark(long cycle, long objects, long nanos) {
        ended(cycle, GcPhase.CONCURRENT_MARK, nanos, 0, objects, GcPhase.REMARK);
    }

    void remark(long cycle, long satbEntries, long nanos, long safepointNanos) {
        ended(cycle, GcPhase.REMARK, nanos, 0, satbEntries, GcPhase.PLAN);
        pauseEvent(cycle, PauseKind.REMARK, nanos, safepointNanos);
    }

    void concurrentPlan(long cycle, long plannedBytes, long nanos) {
        ended(cycle, GcPhase.PLAN, nanos, plannedBytes, 0, GcPhase.FLIP);
    }

    /** A flip ({@code full} false) or full pause ended; its JFR event follows with {@link #pauseSafepoint}. */
    void flipOrFull(long cycle, boolean full, GcCause why, long usedBefore, long nanos) {
        rememberCause(cycle, why);
        ended(cycle, full ? GcPhase.FULL : GcPhase.FLIP, nanos, usedBefore, 0, GcPhase.COMPACTION);
        pendingPauseCycle = cycle;
        pendingKind = full ? PauseKind.FULL : PauseKind.FLIP;
        pendingNanos = nanos;
    }

    void pauseSafepoint(long cycle, long safepointNanos) {
        if (pendingPauseCycle == cycle) {
            pauseEvent(cycle, pendingKind, pendingNanos, safepointNanos);
            pendingPauseCycle = -1;
        }
    }

    /**
     * In the flip (or full) pause, after the EPOCH store and before the to-space pages become
     * UNPROCESSED: switches the ring's page events on for a traced cycle (and records the bulk
     * MAPPED to UNPROCESSED of {@code [firstPage, endPage)}), or its sampled fault events for JFR,
     * or off.
     */
    void compactionStarting(long cycle, long firstPage, long endPage) {
        if (traced(cycle)) {
            ring.enable(TraceRing.allKinds(), 0, 1);
            ring.record(TraceRing.KIND_STATE_RANGE, cycle, firstPage, endPage - firstPage, PageStates.MAPPED,
                    PageStates.UNPROCESSED);
        } else if (jfrFaultEventsWanted()) {
            ring.allocate(JFR_RING_RECORDS);
            ring.enable(TraceRing.bit(TraceRing.KIND_FAULT), FAULT_EVENT_THRESHOLD_NANOS, FAULT_EVENT_SAMPLE);
            startDrainer();
        } else {
            ring.enable(0, 0, 1);
        }
    }

    /**
     * A compaction completed: every page mapped after {@code nanos}, then from-space released in
     * {@code releaseNanos}. Records both phases and switches the ring's page events off.
     */
    void compactionEnded(long cycle, long pages, long nanos, long releaseNanos) {
        long end = System.nanoTime();
        long mapped = end - releaseNanos;
        phase(cycle, GcPhase.COMPACTION, mapped - nanos, mapped, pages * pageSize, pages);
        phase(cycle, GcPhase.RELEASE, mapped, end, Math.max(0, control.get(ControlBlock.FROM_TOP) - control.get(ControlBlock.RELEASED)), 0);
        ring.enable(0, 0, 1);
        setPhase(cycle, null);
    }

    private void rememberCause(long cycle, GcCause why) {
        causeCycle = cycle;
        cause = why;
    }

    private GcCause causeOf(long cycle) {
        return causeCycle == cycle ? cause : null;
    }

    private void ended(long cycle, GcPhase ended, long nanos, long bytes, long count, GcPhase next) {
        long end = System.nanoTime();
        phase(cycle, ended, end - nanos, end, bytes, count);
        setPhase(cycle, next);
    }

    private void setPhase(long cycle, GcPhase p) {
        phaseCycle = cycle;
        phase = p;
    }

    private void phase(long cycle, GcPhase p, long begin, long end, long bytes, long count) {
        GcCause c = causeOf(cycle);
        int causeOrdinal = c == null ? -1 : c.ordinal();
        if (traced(cycle)) {
            ring.recordAt(begin, TraceRing.KIND_PHASE_BEGIN, cycle, -1, 0, p.ordinal(), causeOrdinal);
            ring.recordAt(end, TraceRing.KIND_PHASE_END, cycle, -1, bytes, p.ordinal(), causeOrdinal);
        }
        if (recording()) {
            GcPhaseEvent e = new GcPhaseEvent();
            if (e.shouldCommit()) {
                e.gcId = cycle;
                e.phase = p.label();
                e.cause = c == null ? "" : c.label();
                e.pause = p.pause();
                e.phaseDuration = end - begin;
                e.bytes = bytes;
                e.count = count;
                e.commit();
            }
        }
    }

    private void pauseEvent(long cycle, PauseKind kind, long nanos, long safepointNanos) {
        if (recording()) {
            GcPauseEvent e = new GcPauseEvent();
            if (e.shouldCommit()) {
                GcCause c = causeOf(cycle);
                e.gcId = cycle;
                e.kind = kind.key();
                e.cause = c == null ? "" : c.label();
                e.pauseDuration = nanos;
                e.timeToSafepoint = safepointNanos;
                e.commit();
            }
        }
    }

    /**
     * True if the jdk.jfr module is in the boot layer (on the class path always; on the module path
     * only if some module requires it or {@code --add-modules jdk.jfr} was given). Without it, no
     * JFR class is ever touched.
     */
    private static final boolean JFR_PRESENT = ModuleLayer.boot().findModule("jdk.jfr").isPresent();

    /** True if a flight recorder has been initialized (so events may be wanted). */
    private static boolean recording() {
        return JFR_PRESENT && jdk.jfr.FlightRecorder.isInitialized();
    }

    private static boolean jfrFaultEventsWanted() {
        return recording() && new PageFaultEvent().isEnabled();
    }

    // ---- the drain ----------------------------------------------------------------------------

    private synchronized void startDrainer() {
        if (drainer == null && !closing) {
            drainer = Thread.ofPlatform().daemon().name("faultline-trace-drain").start(this::drainLoop);
        }
    }

    private void drainLoop() {
        while (!closing) {
            ring.drain(this::dispatch);
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS));
        }
    }

    private void dispatch(TraceRing.Event e) {
        if (sink != null && traced(e.epoch())) {
            sink.accept(e);
        }
        if (e.kind() == TraceRing.KIND_FAULT && recording()) {
            PageFaultEvent f = new PageFaultEvent();
            if (f.shouldCommit()) {
                f.gcId = e.epoch();
                f.page = e.page();
                f.delivery = deliveryName(e.a());
                f.result = faultResultName(e.b());
                f.latency = e.value();
                f.commit();
            }
        }
    }

    /** {@code TraceRing.DELIVERY_*} as the trace and JFR name it. */
    public static String deliveryName(int delivery) {
        return switch (delivery) {
            case TraceRing.DELIVERY_THREAD -> "thread";
            case TraceRing.DELIVERY_SIGBUS -> "sigbus";
            case TraceRing.DELIVERY_JAVA -> "java";
            default -> "delivery-" + delivery;
        };
    }

    /** {@code PageProtocol.FAULT_*} as the trace and JFR name it. */
    public static String faultResultName(int result) {
        return switch (result) {
            case PageProtocol.FAULT_MAPPED -> "mapped";
            case PageProtocol.FAULT_BUILT -> "built";
            case PageProtocol.FAULT_MAPPED_RUN -> "mapped-run";
            case PageProtocol.FAULT_OWNED -> "owned";
            case PageProtocol.FAULT_STALE -> "stale";
            case PageProtocol.FAULT_FAILED -> "failed";
            case PageProtocol.FAULT_ABANDONED -> "abandoned";
            default -> "result-" + result;
        };
    }

    /**
     * Once every writer has stopped (the backend is closed) and before the metadata is freed: stops
     * the drain thread and drains what is left. Idempotent.
     */
    @Override
    public void close() {
        Thread d;
        synchronized (this) {
            if (droppedAtClose >= 0) {
                return;
            }
            closing = true;
            d = drainer;
        }
        if (d != null) {
            LockSupport.unpark(d);
            try {
                d.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ring.enable(0, 0, 1);
        ring.drain(this::dispatch);
        synchronized (this) {
            droppedAtClose = ring.dropped();
            writtenAtClose = ring.written();
        }
    }
}
