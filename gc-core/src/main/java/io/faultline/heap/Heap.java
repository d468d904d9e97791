package io.faultline.heap;

import io.faultline.backend.FaultLatencies;
import io.faultline.backend.HeapBackend;
import io.faultline.gc.Collector;
import io.faultline.gc.CollectorSettings;
import io.faultline.gc.GcCause;
import io.faultline.gc.GcEvents;
import io.faultline.gc.GcLog;
import io.faultline.gc.GcStats;
import io.faultline.gc.MutatorEvents;
import io.faultline.gc.PauseKind;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.model.TypeRegistry;
import io.faultline.verify.VerifyReport;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * A managed object heap outside the Java heap, collected by a concurrent mark-compact collector.
 *
 * <pre>{@code
 * try (Heap heap = Heap.create(HeapConfig.builder().capacity(64 << 20).build());
 *      Mutator m = heap.attach()) {
 *     int h = m.push(m.allocate(NODE));     // keep it across allocations in a handle
 *     ...
 * }
 * }</pre>
 *
 * Allocation is bump-pointer: each mutator carves objects out of its thread-local allocation
 * buffer (TLAB), refilled from the shared top by CAS. When the heap is full the allocating mutator
 * runs a collection; if that does not free enough, {@link HeapExhaustedException}.
 *
 * <p><b>Threading:</b> {@link #attach()} binds a {@link Mutator} to the calling thread (once per
 * thread). Other methods are safe from any thread. {@link #close()} does not wait for mutators:
 * it abandons an in-flight compaction, stops the collector's threads and releases all memory; a
 * mutator still attached fails on its next operation with an exception (never a crash).
 */
public final class Heap implements AutoCloseable {
    final HeapConfig config;
    final HeapBackend backend;
    final GcMetadata metadata;
    final TypeRegistry types = new TypeRegistry();
    final GlobalRoots globals = new GlobalRoots();
    final Safepoints safepoints;
    final Allocator allocator;
    final Collector collector;
    final GcEvents events;
    private final GcLog log;
    private final ControlBlock control;
    /** The mutator view; replaced only inside pauses. */
    MemorySegment view;
    /** {@link #view}'s address: mutators access the heap at {@code viewAddress + offset} (see {@code Mutator.raw}). */
    long viewAddress;
    /**
     * Where mutators read the POLL word ({@code Mutator.poll}): the control block's, until
     * {@link #close()} points it at {@link ControlBlock#closedPollAddress} before it frees
     * anything. A mutator of another thread may still read the old address; the control block
     * stays allocated until the last of them detaches ({@link #releaseViewIfNoOtherMutator}).
     */
    long pollAddress;
    /**
     * {@link #view}'s size, which every mutator access is checked against; 0 from the start of
     * {@link #close()}, so that every access from then on throws. Volatile so that a mutator that
     * never reaches a safepoint still sees the close at its next access.
     */
    volatile long viewBytes;
    /** Guarded by {@code this}: the backend is closed and its view not yet released ({@link #releaseViewIfNoOtherMutator}). */
    private boolean viewKept;
    /**
     * The write barrier's state for mutators that attach: set in pauses
     * ({@link CollectorBinding#setSatbBarrier}), read when a mutator attaches (under the
     * safepoint lock, after the pause that set it ended).
     */
    boolean satbBarrierOn;
    long satbNewObjectsFrom;
    /**
     * Young cycles: a reference store into an object below this offset sets its card (the old
     * objects between cycles, every object that existed at the initial mark while one runs).
     */
    long cardLimit;
    /**
     * With young cycles: one byte per 512 bytes of the heap, set by reference stores into
     * objects below {@link #cardLimit}; else null. Replaced (by a clean table) only in pauses.
     */
    byte[] cards;
    private volatile boolean closed;

    private Heap(HeapConfig config) {
        this.config = config;
        this.cards = config.youngCycles() && config.concurrentMarking() && !config.relocateEveryObject()
                ? new byte[(int) Math.ceilDiv(config.capacity(), MetadataDescriptor.CHUNK_BYTES)] : null;
        this.backend = config.backend().create(config.capacity(), config.pageSize());
        GcMetadata md = null;
        GcEvents ev = null;
        try {
            md = new GcMetadata(config.capacity(), config.pageSize());
            this.metadata = md;
            this.control = md.control();
            this.pollAddress = control.pollAddress();
            setView(backend.view());
            HeapConfig.Trace trace = config.trace();
            ev = new GcEvents(md, trace.firstCycle(), trace.lastCycle(), trace.ringRecords(), trace.sink());
            this.events = ev;
            GcLog log = new GcLog(config.gcLog(), ev);
            this.log = log;
            this.safepoints = new Safepoints(control, config.safepointTimeout(), config.failOnSafepointTimeout(), log,
                    this::lastWords);
            CollectorSettings settings = new CollectorSettings(config.concurrentCompaction(), config.compactorThreads(),
                    config.compactionStepPages(), config.runPages(), config.faultAroundPages(), config.releaseBatchBytes(),
                    config.verifyAfterGc(), config.relocateEveryObject(), config.concurrentMarking(),
                    config.markingThreads(), config.markingHeadroomPercent(), config.youngCycles(), config.markingHooks());
            this.collector = new Collector(new CollectorBinding(this), backend, md, settings, log);
            // The null guard: a permanent two-word object at offset 0 so no object has reference 0.
            ObjectLayout.writeHeader(view, 0, ObjectLayout.MIN_OBJECT_WORDS, 0, ObjectLayout.TYPE_NULL_GUARD, 0);
            this.allocator = new Allocator(this, config.tlabBytes(), ObjectLayout.HEADER_BYTES, collector.allocationLimit(0));
        } catch (RuntimeException | Error e) {
            backend.close();
            backend.releaseView();
            if (ev != null) {
                ev.close();
            }
            if (md != null) {
                md.close();
                md.closeControl();
            }
            throw e;
        }
    }

    /** Inside pauses (and at creation): the mutators' view is {@code v} from now on. */
    synchronized void setView(MemorySegment v) {
        view = v;
        viewAddress = v.address();
        if (!closed) {
            viewBytes = v.byteSize();
        }
    }

    /** What a detaching mutator leaves behind: its TLAB is retired, its barrier log handed over. Nothing once closed. */
    private void lastWords(Mutator m) {
        if (closed) {
            return;
        }
        allocator.retire(m);
        m.flushSatbBuffer();
    }

    public static Heap create(HeapConfig config) {
        return new Heap(config);
    }

    public HeapConfig config() {
        return config;
    }

    public TypeRegistry types() {
        return types;
    }

    /** Registers {@code type} ahead of allocation (optional: allocation registers it too). */
    public void register(ObjectType type) {
        types.register(type);
    }

    public GlobalRoots globals() {
        return globals;
    }

    /**
     * Attaches the calling thread as a mutator. Waits while a pause is in progress. A thread
     * attaches at most once: a second call throws {@link IllegalStateException}.
     */
    public Mutator attach() {
        checkUsable();
        Mutator m = new Mutator(this);
        safepoints.register(m);
        return m;
    }

    void detach(Mutator m) {
        safepoints.deregister(m, () -> lastWords(m));
        if (closed) {
            releaseViewIfNoOtherMutator();
        }
    }

    /**
     * After the backend closed: unmaps the view unless a mutator of another live thread is still
     * attached. Such a mutator may be between its check of {@link #viewBytes} and its access, so
     * the view stays mapped until the last of them detaches (its next access throws, so it
     * touches nothing). Runs at the end of {@link #close()} and after every detach once closed.
     * Returns the threads it waits for (empty once the view is released, or before close).
     */
    private synchronized List<String> releaseViewIfNoOtherMutator() {
        if (!viewKept) {
            return List.of();
        }
        List<String> others = safepoints.otherLiveThreads();
        if (others.isEmpty()) {
            viewKept = false;
            try {
                backend.releaseView();
            } finally {
                metadata.closeControl();
            }
        }
        return others;
    }

    /**
     * Runs a full collection from any thread (attached or not): everything unreachable when it is
     * called is reclaimed. With concurrent marking the calling thread runs a concurrent cycle
     * (initial-mark, remark and flip pauses; a calling mutator waits in a safe region meanwhile,
     * while other mutators run); otherwise one stop-the-world pause. Returns after the flip: with
     * concurrent compaction, pages may still be unmapped; {@link #awaitCompaction()} waits for
     * them. If a compaction is in flight when called, first helps finish it.
     */
    public void collect() {
        checkUsable();
        collector.collect(GcCause.EXPLICIT);
    }

    /**
     * Asks for a collection without waiting for it (not a safepoint: raw references stay valid).
     * With concurrent marking the collector's background thread starts a concurrent cycle unless
     * one is in progress; with stop-the-world marking this does nothing (the next allocation that
     * does not fit collects). Any thread.
     */
    public void requestCollection() {
        checkUsable();
        collector.requestCollection();
    }

    /**
     * Returns once no concurrent compaction is in flight: the calling thread helps build the
     * remaining pages, then waits (an attached mutator waits in a safe region, so a pause is never
     * blocked by it). Throws {@link io.faultline.gc.HeapCorruptedException} if the heap has failed.
     */
    public void awaitCompaction() {
        checkUsable();
        collector.awaitCompaction();
    }

    /**
     * Returns once the compaction in flight, if any, has completed, without building a page: the
     * compactor threads do all of it while the caller sleeps (an attached mutator in a safe
     * region), woken when the last page is mapped or at the latest every millisecond. For
     * measuring the compactors alone; {@link #awaitCompaction} helps instead. Unlike a loop over
     * {@link #isCompacting} with short naps, it leaves the other CPUs idle, so a MOVE install need
     * not interrupt the waiter to flush its TLB. Throws
     * {@link io.faultline.gc.HeapCorruptedException} if the heap has failed. Any thread.
     */
    public void awaitCompactors() {
        checkUsable();
        collector.awaitCompactors();
    }

    /**
     * Stops the world, verifies the heap and returns the report. For a heap that has failed, the
     * report names the failure instead (it is not walked).
     */
    public VerifyReport verify() {
        checkOpen();
        return collector.verify();
    }

    public HeapStats stats() {
        long base = allocator.base();
        GcStats gc = collector.stats();
        return new HeapStats(config.capacity(), allocator.top() - base, gc.liveAfterLastGc(), gc.blackAfterLastGc(),
                collector.cycles(),
                gc.pagesCompacted(), control.get(ControlBlock.FAULTS), gc.pauseMaxNanos(), gc.pauseTotalNanos(),
                gc.compactionNanos(), gc.compactionMaxNanos(), collector.verifiedCycles(), pauses(gc, PauseKind.INITIAL_MARK),
                pauses(gc, PauseKind.REMARK), pauses(gc, PauseKind.FLIP), pauses(gc, PauseKind.FULL), gc.concurrentCycles(),
                gc.abandonedCycles(), gc.youngCycles(), gc.concurrentMarkNanos(), gc.concurrentPlanNanos(), gc.blackBytes(), gc.satbEntries(),
                new HeapStats.Pauses(gc.stalls(), gc.stallMaxNanos(), gc.stallTotalNanos(), gc.stallPercentiles()),
                faultLatency(backend.faultLatencies()));
    }

    private static HeapStats.Pauses pauses(GcStats gc, PauseKind kind) {
        return new HeapStats.Pauses(gc.pauseCount(kind), gc.pauseMaxNanos(kind), gc.pauseTotalNanos(kind),
                gc.pausePercentiles(kind));
    }

    private static HeapStats.Latency faultLatency(FaultLatencies f) {
        Histogram h = f.histogram();
        long[] p = GcStats.percentiles(h, f.maxNanos());
        return new HeapStats.Latency(f.delivery(), h.getTotalCount(), p[0], p[1], p[2], p[3], f.maxNanos());
    }

    /**
     * A live, read-only view of the page states, the phase in progress and a few counters, for a
     * page map that watches the heap while it runs (it reads racily and never stops the heap).
     * Valid until {@link #close()}.
     */
    public PageMap pageMap() {
        return new PageMap(this, metadata, events);
    }

    /** Trace records lost because the trace ring was full (0 without tracing; final after close). */
    public long traceRecordsDropped() {
        return events.droppedTraceRecords();
    }

    /** Trace records written to the trace ring (final after close). */
    public long traceRecordsWritten() {
        return events.writtenTraceRecords();
    }

    /** The backend's name and mode, e.g. {@code java} or {@code uffd/continue}. */
    public String backendName() {
        return backend.mode() == null ? backend.name() : backend.name() + "/" + backend.mode();
    }

    /** The backend's own counters by name (uffd: ioctls by kind, faults by kind, ...; java: none). */
    public Map<String, Long> backendCounters() {
        return backend.counters();
    }

    /** Pages built by faulting threads (fault-around included), over the heap's life. */
    public long faultBuiltPages() {
        return control.get(ControlBlock.FAULT_BUILT_PAGES);
    }

    /** True while a concurrent compaction is in flight (pages not yet all mapped). */
    public boolean isCompacting() {
        return collector.isCompacting();
    }

    /** Throws if the heap has failed ({@link io.faultline.gc.HeapCorruptedException}) or is closed. */
    void checkUsable() {
        collector.throwIfFailed();
        checkOpen();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("heap is closed");
        }
    }

    /**
     * A mutator's poll found bits set in the POLL word {@code w}. Once the heap is closed the word
     * may come from {@link ControlBlock#closedPollAddress}: nothing here reads the control
     * block before the CLOSED bit is looked at, except for a failure the word itself reports.
     */
    void pollSlow(Mutator m, long w) {
        if ((w & ControlBlock.POLL_FAILED) != 0) {
            collector.throwIfFailed();
        }
        if ((w & ControlBlock.POLL_CLOSED) != 0) {
            throw new IllegalStateException("heap is closed");
        }
        if ((w & ControlBlock.POLL_PAUSE) != 0) {
            safepoints.parkForPause(m);
        } else if ((w & MutatorEvents.POLL_OFFER) != 0) {
            collector.events().atPoll();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Makes pending and future pauses give up, abandons an in-flight compaction (each compactor
     * finishes at most the run it holds), stops the collector's threads, waits for a pause in
     * progress, then releases the backend's memory, fds and threads and the metadata. Never waits
     * for a mutator; one still attached fails on its next operation. Idempotent; any thread.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            viewBytes = 0; // every mutator access from now on throws "heap is closed"
            pollAddress = ControlBlock.closedPollAddress(); // and every poll on this thread sees CLOSED
        }
        control.setPollBits(ControlBlock.POLL_CLOSED);
        safepoints.shutdown(); // and no mutator attaches any more
        try {
            collector.close();
        } finally {
            try {
                backend.close();
            } finally {
                synchronized (this) {
                    viewKept = true;
                }
                try {
                    events.close(); // every trace writer has stopped: drain the rest
                    if (config.gcLog() != null) {
                        summary(stats());
                    }
                } finally {
                    try {
                        metadata.close();
                    } finally {
                        List<String> others = releaseViewIfNoOtherMutator();
                        if (!others.isEmpty()) {
                            log.warning("heap closed while mutators of threads " + others + " are still attached: their"
                                    + " next access throws, and the view stays mapped until the last of them detaches");
                        }
                    }
                }
            }
        }
    }

    /** The GC log's last lines: the pause and fault-latency distributions of the heap's life. */
    private void summary(HeapStats s) {
        summaryLine("Pause Init Mark", s.initialMarkPauses());
        summaryLine("Pause Remark", s.remarkPauses());
        summaryLine("Pause Flip", s.flipPauses());
        summaryLine("Pause Full", s.fullPauses());
        summaryLine("Allocation Stall", s.allocationStalls());
        HeapStats.Latency f = s.faultLatency();
        log.summary(String.format(Locale.ROOT, "Summary: Fault latency (%s) %d: p50 %.3fus p90 %.3fus p99 %.3fus p99.9 %.3fus"
                + " max %.3fus", f.delivery(), f.count(), f.p50Nanos() / 1e3, f.p90Nanos() / 1e3, f.p99Nanos() / 1e3,
                f.p999Nanos() / 1e3, f.maxNanos() / 1e3));
    }

    private void summaryLine(String kind, HeapStats.Pauses p) {
        if (p.count() > 0) {
            log.summary(String.format(Locale.ROOT, "Summary: %s %d: p50 %.3fms p90 %.3fms p99 %.3fms p99.9 %.3fms max %.3fms",
                    kind, p.count(), p.p50Nanos() / 1e6, p.p90Nanos() / 1e6, p.p99Nanos() / 1e6, p.p999Nanos() / 1e6,
                    p.maxNanos() / 1e6));
        }
    }
}
