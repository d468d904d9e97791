package io.faultline.heap;

import io.faultline.gc.Collector;
import io.faultline.gc.GcCause;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Bump-pointer allocation: the shared top of the used region (advanced by CAS), thread-local
 * allocation buffers (TLABs) carved from it, direct allocation of large objects, and the slow
 * path that collects and retries when the heap is full.
 *
 * <pre>
 *  base                         top (CAS)                    limit
 *  | objects ... | TLAB of m1 | TLAB of m2 |  free ...         |
 *                 ^tlabTop ^tlabEnd
 * </pre>
 *
 * <p><b>Assumptions and Guarantees:</b> each mutator's TLAB bounds ({@code Mutator.tlabTop},
 * {@code tlabEnd}) are written by its own thread, or by the pausing thread while the mutator is
 * parked ({@link #retire}). {@link #reset} runs only in a pause. Memory handed out is zeroed.
 */
final class Allocator {
    private static final VarHandle TOP;

    static {
        try {
            TOP = MethodHandles.lookup().findVarHandle(Allocator.class, "top", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * How many collections one allocation may run or wait for before it gives up: each one freed
     * enough for it, but other mutators allocated the space first.
     */
    static final int MAX_COLLECTIONS_PER_ALLOCATION = 16;

    private static final MemorySegment ZEROS = Arena.global().allocate(64 << 10, 4096);

    private final Heap heap;
    private final int tlabBytes;
    /** The backend guarantees zero at and above the top after every pause: do not zero again. */
    private final boolean zeroAboveTop;
    /** Bytes made resident ahead of the top in one call ({@link HeapConfig#populateAheadBytes()}); 0: off. */
    private final long populateAhead;
    private final long pageMask;
    /** The view is resident below this offset (reset to the top at every pause); CAS. */
    private final java.util.concurrent.atomic.AtomicLong populatedTo = new java.util.concurrent.atomic.AtomicLong();
    @SuppressWarnings("unused") // accessed through TOP
    private volatile long top;
    private volatile long base;
    private volatile long limit;

    Allocator(Heap heap, int tlabBytes, long top, long limit) {
        this.heap = heap;
        this.tlabBytes = tlabBytes;
        this.zeroAboveTop = heap.backend.allocationAreaIsZero();
        this.populateAhead = heap.config.populateAheadBytes();
        this.pageMask = -(long) heap.config.pageSize();
        this.top = top;
        this.limit = limit;
        this.populatedTo.set(top);
    }

    long top() {
        return (long) TOP.getAcquire(this);
    }

    long base() {
        return base;
    }

    long limit() {
        return limit;
    }

    /** In a pause: objects live in {@code [base, top)} and allocation may grow to {@code limit}. */
    void reset(long base, long top, long limit) {
        this.base = base;
        this.limit = limit;
        this.populatedTo.set(top);
        TOP.setRelease(this, top);
    }

    /** The allocation slow path: refill the TLAB or allocate directly, collecting when full. */
    long allocateSlow(Mutator m, long bytes) {
        Collector collector = heap.collector;
        long failedCycles = -1;
        int collections = 0;
        while (true) {
            heap.checkUsable();
            long at = bytes > tlabBytes / 2 ? allocateDirect(bytes) : refill(m, bytes);
            if (at >= 0) {
                return at;
            }
            // Out of space. A cycle that started after an earlier failure of ours compacted the
            // heap: if even its to-space leaves no room for this request, the heap is exhausted.
            // Otherwise other mutators took the space it freed; collect again, a bounded number
            // of times so that mutators that keep the heap full cannot starve us forever.
            long cycles = collector.cycles();
            if (failedCycles >= 0 && cycles > failedCycles
                    && (limit - collector.stats().topAfterLastGc() < bytes || collections >= MAX_COLLECTIONS_PER_ALLOCATION)) {
                throw new HeapExhaustedException(bytes, heap.stats());
            }
            failedCycles = cycles;
            collector.collectForAllocation(bytes);
            collections++;
        }
    }

    private long allocateDirect(long bytes) {
        long at = claim(bytes);
        if (at >= 0) {
            prepare(at, at + bytes);
            heap.collector.events().allocatedOutsideTlab(at); // concurrent marking: a black object's start
        }
        return at;
    }

    private long refill(Mutator m, long bytes) {
        long size = tlabBytes;
        long start = claim(size);
        if (start < 0) {
            size = bytes;
            start = claim(size);
            if (start < 0) {
                return -1;
            }
        }
        retire(m);
        prepare(start, start + size);
        m.tlabStart = start;
        m.tlabTop = start + bytes;
        m.tlabEnd = start + size;
        return start;
    }

    /** Bumps the shared top by {@code bytes}; returns the old top, or -1 if it does not fit. */
    private long claim(long bytes) {
        while (true) {
            long t = (long) TOP.getVolatile(this);
            if (limit - t < bytes) {
                return -1;
            }
            if (TOP.compareAndSet(this, t, t + bytes)) {
                return t;
            }
        }
    }

    /**
     * Readies freshly claimed {@code [from, to)}: makes the view resident some way ahead of it in
     * one call (instead of a page fault per page: 10-30 us each on this project's VMs, see
     * docs/uffd-modes.md), and zeroes it unless the backend guarantees it reads as zero already.
     */
    private void prepare(long from, long to) {
        if (populateAhead > 0) {
            long done = populatedTo.get();
            if (to > done) {
                long target = Math.min(limit, (Math.max(to, done) + populateAhead + ~pageMask) & pageMask);
                long start = Math.max(done, from) & pageMask;
                if (target > start && populatedTo.compareAndSet(done, target)) {
                    heap.backend.prepareAllocation(start, target - start);
                }
            }
        }
        if (!zeroAboveTop) {
            zero(from, to);
        }
    }

    /** Zeroes {@code [from, to)} of the view by copying from {@link #ZEROS}: no slice object. */
    private void zero(long from, long to) {
        MemorySegment view = heap.view;
        for (long a = from; a < to; a += ZEROS.byteSize()) {
            MemorySegment.copy(ZEROS, 0, view, a, Math.min(ZEROS.byteSize(), to - a));
        }
    }

    /** Plugs the unused tail of {@code m}'s TLAB with a filler and empties it. */
    void retire(Mutator m) {
        if (m.tlabEnd > m.tlabTop) {
            ObjectLayout.writeFiller(heap.view, m.tlabTop, m.tlabEnd - m.tlabTop);
        }
        heap.collector.events().tlabRetired(m.tlabStart, m.tlabEnd); // concurrent marking: black objects' starts
        m.tlabStart = 0;
        m.tlabTop = 0;
        m.tlabEnd = 0;
    }
}
