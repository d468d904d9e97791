package io.faultline.heap;

import io.faultline.gc.Collector;
import io.faultline.gc.GcCause;
import io.faultline.gc.GcStats;
import io.faultline.model.ObjectLayout;
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
 * <p><b>The ready frontier.</b> No mutator writes at or above {@code readyTo}. A thread that
 * claimed space reaching past it takes the frontier (swaps it for {@link #PREPARING}), has the
 * backend ready the view from the old frontier to the new one, a whole number of the backend's
 * allocation granules ahead ({@code HeapBackend.prepareAllocation}: populate, or move resident
 * pages in), and only then publishes the new frontier. So everything at or above it is the
 * allocator's to replace, which is also how {@link #recycle} moves the pages the last compaction
 * freed into the view while mutators run: it swaps the frontier for {@link #RECYCLING}, has the
 * backend move the pages in above it, and publishes the new frontier with the recycled range. A
 * thread that needs the frontier while another holds it waits for that one call, and after
 * {@link #FRONTIER_WAIT_LIMIT_NANOS} throws, naming the holder.
 *
 * <p><b>Assumptions and Guarantees:</b> each mutator's TLAB bounds ({@code Mutator.tlabTop},
 * {@code tlabEnd}) are written by its own thread, or by the pausing thread while the mutator is
 * parked ({@link #retire}). {@link #reset} runs only in a pause, and {@link #recycle} never
 * overlaps one (it runs before its cycle counts as complete). Memory handed out is zeroed: the
 * backend says where the view reads as zero after a pause ({@code allocationZeroFrom}), and
 * recycled pages are zeroed here as they are handed out.
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

    /** {@code readyTo} while {@link #recycle} moves pages into the view above the frontier. */
    private static final long RECYCLING = -1;
    /** {@code readyTo} while an allocating thread readies the view above the frontier. */
    private static final long PREPARING = -2;
    /** How long a thread waits for another that holds the ready frontier before it says so and fails. */
    static final long FRONTIER_WAIT_LIMIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);

    private final Heap heap;
    private final int tlabBytes;
    /** Since the last pause the view reads as zero at and above this offset: allocation zeroes below it only. */
    private volatile long zeroFrom;
    /**
     * {@code [recycledFrom, recycledTo)}: the pages {@link #recycle} moved in this cycle, with old
     * bytes: allocation zeroes them. Written before the release store of {@code readyTo} that
     * publishes them, read after an acquiring read that saw it.
     */
    private volatile long recycledFrom;
    private volatile long recycledTo;
    /** The thread holding the frontier ({@link #recycle} or {@link #ready}), for a waiter that gives up. */
    private volatile Thread frontierOwner;
    /** The last frontier published: allocation below it needs no readying. */
    private volatile long published;
    /** Bytes made resident ahead of the top in one call ({@link HeapConfig#populateAheadBytes()}); 0: off. */
    private final long populateAhead;
    /** The frontier moves to multiples of the backend's allocation granule (at least a page). */
    private final long granuleMask;
    /**
     * The ready frontier (reset to the top at every pause): nothing at or above it has been
     * written since, and it moves only up, by CAS, or to {@link #RECYCLING} or {@link #PREPARING} and back.
     */
    private final java.util.concurrent.atomic.AtomicLong readyTo = new java.util.concurrent.atomic.AtomicLong();
    @SuppressWarnings("unused") // accessed through TOP
    private volatile long top;
    private volatile long base;
    private volatile long limit;

    Allocator(Heap heap, int tlabBytes, long top, long limit) {
        this.heap = heap;
        this.tlabBytes = tlabBytes;
        this.zeroFrom = heap.backend.allocationZeroFrom();
        this.populateAhead = heap.config.populateAheadBytes();
        this.granuleMask = -Math.max(heap.config.pageSize(), heap.backend.allocationGranule());
        this.published = top;
        this.top = top;
        this.limit = limit;
        this.readyTo.set(top);
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
        this.zeroFrom = heap.backend.allocationZeroFrom();
        this.recycledFrom = 0;
        this.recycledTo = 0;
        this.readyTo.set(top);
        this.published = top;
        TOP.setRelease(this, top);
    }

    /**
     * After a compaction ended, in the thread that completed it: moves the pages it freed into the
     * view above the ready frontier ({@link io.faultline.backend.HeapBackend#recycleAllocationPages})
     * and moves the frontier past them. Mutators run on; one that needs the frontier meanwhile
     * waits for the move. A backend that recycles nothing leaves the frontier where it was.
     */
    void recycle() {
        long ready = readyTo.get();
        while (ready < 0 || !readyTo.compareAndSet(ready, RECYCLING)) {
            if (ready == RECYCLING) {
                return; // only one completed compaction a cycle: cannot happen
            }
            ready = ready == PREPARING ? awaitFrontier() : readyTo.get();
        }
        frontierOwner = Thread.currentThread();
        long end = ready;
        try {
            end = Math.max(ready, Math.min(limit, heap.backend.recycleAllocationPages(ready, limit)));
        } finally {
            if (end > ready) {
                recycledFrom = ready;
                recycledTo = end;
            }
            frontierOwner = null;
            published = end;
            readyTo.set(end);
        }
    }

    /** The allocation slow path: refill the TLAB or allocate directly, collecting when full. */
    long allocateSlow(Mutator m, long bytes) {
        Collector collector = heap.collector;
        long failedCycles = -1;
        int collections = 0;
        while (true) {
            heap.checkUsable();
            long at = bytes > tlabBytes / 2 ? allocateDirect(m, bytes) : refill(m, bytes);
            if (at >= 0) {
                return at;
            }
            // Out of space. A full pause that ran after an earlier failure of ours reclaimed
            // everything unreachable: if even its to-space leaves no room for this request, the
            // heap is exhausted. A concurrent cycle does not decide that: it keeps everything
            // allocated while it ran (with fast mutators in a small heap, nearly all of it).
            // Otherwise other mutators took the space; collect again, a bounded number of times
            // so that mutators that keep the heap full cannot starve us forever.
            long cycles = collector.cycles();
            GcStats stats = collector.stats();
            long fullCycle = stats.lastFullPauseCycle();
            if (failedCycles >= 0 && ((fullCycle > failedCycles && limit - stats.topAfterLastFullPause() < bytes)
                    || (cycles > failedCycles && collections >= MAX_COLLECTIONS_PER_ALLOCATION))) {
                throw new HeapExhaustedException(bytes, heap.stats());
            }
            failedCycles = cycles;
            collector.collectForAllocation(bytes);
            collections++;
        }
    }

    private long allocateDirect(Mutator m, long bytes) {
        long at = claim(bytes);
        if (at >= 0) {
            prepare(at, at + bytes);
            m.countAllocated(bytes);
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
     * Readies freshly claimed {@code [from, to)} before anything is written there: moves the ready
     * frontier past it, making the view resident some way ahead in one call (instead of a page
     * fault per page: 10-30 us each on this project's VMs, see docs/uffd-modes.md), and zeroes
     * what may hold old bytes: below the backend's zero line, and recycled pages.
     */
    private void prepare(long from, long to) {
        if (to > published) {
            ready(to);
        }
        long z = zeroFrom;
        if (from < z) {
            zero(from, Math.min(to, z));
        }
        long rf = recycledFrom;
        long rt = recycledTo;
        if (from < rt && to > rf) {
            zero(Math.max(from, rf), Math.min(to, rt));
        }
    }

    /**
     * Moves the ready frontier to or past {@code to}: takes it ({@link #PREPARING}), has the
     * backend ready everything from the old frontier to the new one (nothing there has been
     * written, and nobody writes there until the new frontier is published), publishes it.
     */
    private void ready(long to) {
        long ready = readyTo.get();
        while (ready < to) {
            if (ready < 0) {
                ready = awaitFrontier();
                continue;
            }
            if (readyTo.compareAndSet(ready, PREPARING)) {
                long target = Math.min(limit, (to + populateAhead + ~granuleMask) & granuleMask);
                frontierOwner = Thread.currentThread();
                try {
                    if (populateAhead > 0 && target > ready) {
                        heap.backend.prepareAllocation(ready, target - ready);
                    }
                } finally {
                    frontierOwner = null;
                    published = target;
                    readyTo.set(target);
                }
                return;
            }
            ready = readyTo.get();
        }
    }

    /** Waits while another thread holds the frontier; returns the frontier it published. */
    private long awaitFrontier() {
        long start = System.nanoTime();
        long ready;
        while ((ready = readyTo.get()) < 0) {
            if (System.nanoTime() - start > FRONTIER_WAIT_LIMIT_NANOS) {
                Thread t = frontierOwner;
                throw new IllegalStateException("allocation waited " + FRONTIER_WAIT_LIMIT_NANOS / 1_000_000
                        + " ms for " + (t == null ? "a thread" : "thread '" + t.getName() + "'") + " to "
                        + (ready == RECYCLING ? "move recycled pages into the view (HeapBackend.recycleAllocationPages)"
                                : "ready the view above the allocation frontier (HeapBackend.prepareAllocation)"));
            }
            Thread.onSpinWait();
        }
        return ready;
    }

    /** Zeroes {@code [from, to)} of the view. */
    private void zero(long from, long to) {
        heap.view.asSlice(from, to - from).fill((byte) 0);
    }

    /** Plugs the unused tail of {@code m}'s TLAB with a filler and empties it. */
    void retire(Mutator m) {
        if (m.tlabEnd > m.tlabTop) {
            ObjectLayout.writeFiller(heap.view, m.tlabTop, m.tlabEnd - m.tlabTop);
        }
        heap.collector.events().tlabRetired(m.tlabStart, m.tlabEnd); // concurrent marking: black objects' starts
        m.countAllocated(m.tlabTop - m.tlabStart);
        m.tlabStart = 0;
        m.tlabTop = 0;
        m.tlabEnd = 0;
    }
}
