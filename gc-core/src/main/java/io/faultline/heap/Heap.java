package io.faultline.heap;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.Collector;
import io.faultline.gc.meta.PageStates;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.model.TypeRegistry;
import io.faultline.verify.HeapVerifier;
import io.faultline.verify.VerifyReport;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.IntUnaryOperator;

/**
 * A managed object heap outside the Java heap, collected by a mark-compact collector.
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
 * <p><b>Threading:</b> {@link #attach()} binds a {@link Mutator} to the calling thread. Other
 * methods are safe from any thread unless they say otherwise. {@link #close()} does not wait for
 * mutators: it abandons an in-flight compaction, stops the compactor threads and releases all
 * memory; a mutator still attached fails on its next access with an exception (never a crash).
 */
public final class Heap implements AutoCloseable {
    private static final VarHandle TOP;

    static {
        try {
            TOP = MethodHandles.lookup().findVarHandle(Heap.class, "top", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final HeapConfig config;
    final HeapBackend backend;
    final TypeRegistry types = new TypeRegistry();
    final Safepoints safepoints = new Safepoints();
    final GlobalRoots globals = new GlobalRoots();
    final Collector collector;
    final PageStates pageStates;
    /** The mutator view; replaced only inside pauses. */
    MemorySegment view;
    /** True when accessors must check page states (java backend). */
    final boolean pageCheck;
    /** Bump-pointer top of the used region; CAS. */
    @SuppressWarnings("unused")
    private volatile long top;
    private volatile boolean closed;

    private Heap(HeapConfig config) {
        this.config = config;
        this.backend = config.backend().create(config.capacity(), config.pageSize());
        try {
            this.view = backend.view();
            this.pageCheck = backend.accessNeedsPageCheck();
            this.collector = new Collector(this, backend);
            this.pageStates = collector.pageStates();
            // The null guard: a permanent two-word object at offset 0 so no object has reference 0.
            ObjectLayout.writeHeader(view, 0, ObjectLayout.MIN_OBJECT_WORDS, 0, ObjectLayout.TYPE_NULL_GUARD, 0);
            this.top = ObjectLayout.HEADER_BYTES;
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
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

    /** Attaches the calling thread as a mutator. Waits while a pause is in progress. */
    public Mutator attach() {
        checkOpen();
        Mutator m = new Mutator(this);
        safepoints.register(m);
        return m;
    }

    void detach(Mutator m) {
        safepoints.deregister(m, () -> retireTlab(m));
    }

    /**
     * Runs a full collection from any thread (attached or not). Returns after its pause: with
     * concurrent compaction, pages may still be unmapped; {@link #awaitCompaction()} waits for
     * them. If a compaction is in flight when called, first helps finish it.
     */
    public void collect() {
        checkOpen();
        collector.collect(safepoints.current(), "System.gc()");
    }

    /**
     * Returns once no concurrent compaction is in flight: the calling thread helps build the
     * remaining pages, then waits (an attached mutator waits in a safe region, so a pause is
     * never blocked by it). Any thread. Throws {@link io.faultline.gc.HeapCorruptedException} if
     * the verifier ({@link HeapConfig#verifyAfterGc()}) found damage after a compaction.
     */
    public void awaitCompaction() {
        checkOpen();
        collector.awaitCompaction(safepoints.current());
    }

    /** Stops the world, verifies the heap and returns the report. */
    public VerifyReport verify() {
        checkOpen();
        return collector.verifyInPause(safepoints.current());
    }

    public HeapStats stats() {
        return collector.stats(top());
    }

    /** The backend's name and mode, e.g. {@code java} or {@code uffd/continue}. */
    public String backendName() {
        return backend.mode() == null ? backend.name() : backend.name() + "/" + backend.mode();
    }

    /** True while a concurrent compaction is in flight (pages not yet all mapped). */
    public boolean collectorIsCompacting() {
        return collector.isCompacting();
    }

    public HeapBackend backend() {
        return backend;
    }

    /** Top of the used region (acquire read). */
    public long top() {
        return (long) TOP.getAcquire(this);
    }

    // ---- allocation slow path ---------------------------------------------------------------

    long allocateSlow(Mutator m, long bytes) {
        long failedCycles = -1;
        int collections = 0;
        while (true) {
            checkOpen();
            long at = bytes > config.tlabBytes() / 2 ? allocateDirect(bytes) : refillTlab(m, bytes);
            if (at >= 0) {
                return at;
            }
            // Out of space. A cycle that started after an earlier failure of ours compacted the
            // heap: if even its to-space leaves no room for this request, the heap is exhausted.
            // Otherwise other mutators took the space it freed; collect again, a bounded number
            // of times so that mutators that keep the heap full cannot starve us forever.
            long cycles = collector.cycles();
            if (failedCycles >= 0 && cycles > failedCycles
                    && (config.capacity() - collector.topAfterLastGc() < bytes || collections >= MAX_COLLECTIONS_PER_ALLOCATION)) {
                throw new HeapExhaustedException(bytes, stats());
            }
            failedCycles = cycles;
            collector.collect(m, "Allocation Failure");
            collections++;
        }
    }

    /**
     * How many collections one allocation may run or wait for before it gives up: each one freed
     * enough for it, but other mutators allocated the space first.
     */
    private static final int MAX_COLLECTIONS_PER_ALLOCATION = 16;

    private long allocateDirect(long bytes) {
        long at = claim(bytes);
        if (at >= 0) {
            zero(at, at + bytes);
        }
        return at;
    }

    private long refillTlab(Mutator m, long bytes) {
        long size = config.tlabBytes();
        long start = claim(size);
        if (start < 0) {
            size = bytes;
            start = claim(size);
            if (start < 0) {
                return -1;
            }
        }
        retireTlab(m);
        zero(start, start + size);
        m.tlabTop = start + bytes;
        m.tlabEnd = start + size;
        return start;
    }

    /** Bumps the shared top by {@code bytes}; returns the old top, or -1 if it does not fit. */
    private long claim(long bytes) {
        long cap = config.capacity();
        while (true) {
            long t = (long) TOP.getVolatile(this);
            if (cap - t < bytes) {
                return -1;
            }
            if (TOP.compareAndSet(this, t, t + bytes)) {
                return t;
            }
        }
    }

    /** Zeroes {@code [from, to)} of the view by copying from {@link #ZEROS}: no slice object. */
    private void zero(long from, long to) {
        for (long a = from; a < to; a += ZEROS.byteSize()) {
            MemorySegment.copy(ZEROS, 0, view, a, Math.min(ZEROS.byteSize(), to - a));
        }
    }

    private static final MemorySegment ZEROS = java.lang.foreign.Arena.global().allocate(64 << 10, 4096);

    /** Plugs the unused tail of {@code m}'s TLAB with a filler and empties it. */
    void retireTlab(Mutator m) {
        if (m.tlabEnd > m.tlabTop) {
            ObjectLayout.writeFiller(view, m.tlabTop, m.tlabEnd - m.tlabTop);
        }
        m.tlabTop = 0;
        m.tlabEnd = 0;
    }

    // ---- collector interface: call only inside a pause ---------------------------------------

    /** The safepoint coordinator (collector use). */
    public Safepoints safepoints() {
        return safepoints;
    }

    /** Collector, inside a pause: retires every TLAB so the used region is parsable. */
    public void retireAllTlabs() {
        for (Mutator m : safepoints.mutators()) {
            retireTlab(m);
        }
    }

    /** Collector, inside a pause: visits every root slot, replacing it with {@code f(ref)}. */
    public void updateRoots(IntUnaryOperator f) {
        for (Mutator m : safepoints.mutators()) {
            int[] h = m.handles;
            for (int i = 0, n = m.handleTop; i < n; i++) {
                if (h[i] != 0) {
                    h[i] = f.applyAsInt(h[i]);
                }
            }
        }
        globals.update(f);
    }

    /** Collector, inside a pause: the segment that is now the mutator view. */
    public void setView(MemorySegment view) {
        this.view = view;
    }

    public MemorySegment view() {
        return view;
    }

    /** Collector, inside a pause: resets the top after compaction. */
    public void setTop(long newTop) {
        TOP.setRelease(this, newTop);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("heap is closed");
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Makes pending and future pauses give up, waits for a pause in progress, abandons an
     * in-flight compaction (each compactor finishes at most the page it holds), stops the
     * compactor threads and releases the backend's memory and the metadata. Never waits for a
     * mutator; one still attached fails on its next access. Idempotent; any thread.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        safepoints.shutdown();
        collector.close();
        backend.close();
    }
}
