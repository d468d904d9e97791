package io.faultline.gc;

import io.faultline.backend.HeapBackend;
import io.faultline.meta.ControlBlock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The compaction of one cycle, from the end of its pause until every to-space page is MAPPED:
 * driving the page protocol in bounded steps ({@link HeapBackend#compactStep}), completing the
 * cycle exactly once, and letting threads wait for that. Claiming, building, mapping, fault
 * service and from-space release are the page protocol's ({@code PageProtocol}, or its C half).
 *
 * <p><b>Assumptions and Guarantees:</b> {@link #begin} runs in the pause, after the page states
 * are published. Exactly one thread completes a cycle: the winner of the CAS of
 * {@code completedCycle} from an older cycle to this one, after it saw PAGES_LEFT reach zero;
 * since the page protocol releases from-space before it subtracts from PAGES_LEFT, nothing reads
 * this cycle's from-space once the count is zero. A waiter never waits silently: past
 * {@link #REPORT_AFTER_NANOS} it logs what it waits for, then again at growing intervals.
 */
final class Compaction {
    /** How long a waiter polls between checks (native builders cannot notify Java). */
    static final long WAIT_POLL_MILLIS = 1;
    /** How long a wait for a compaction runs before it is logged. */
    static final long REPORT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final HeapBinding heap;
    private final HeapBackend backend;
    private final ControlBlock control;
    private final GcStats stats;
    private final GcLog log;
    private final HeapFailure failure;
    private final long stepPages;
    private final AtomicLong completedCycle = new AtomicLong();
    private final Object completion = new Object();
    private volatile boolean active;
    private volatile boolean abandoned;
    private volatile long cycle;
    private long pages;
    private long startNanos;
    private long faultsAtStart;

    Compaction(HeapBinding heap, HeapBackend backend, ControlBlock control, GcStats stats, GcLog log, HeapFailure failure,
               long stepPages) {
        this.heap = heap;
        this.backend = backend;
        this.control = control;
        this.stats = stats;
        this.log = log;
        this.failure = failure;
        this.stepPages = stepPages;
    }

    /** In the pause: cycle {@code cycle} compacts {@code pages} pages from now on. */
    void begin(long cycle, long pages) {
        this.cycle = cycle;
        this.pages = pages;
        this.faultsAtStart = control.get(ControlBlock.FAULTS);
        this.startNanos = System.nanoTime();
        this.active = true;
    }

    /** True from the end of a pause until the cycle's last page is MAPPED. */
    boolean active() {
        return active;
    }

    /**
     * Claims, builds and maps pages in bounded steps until nothing is left to claim (other
     * threads may still hold pages). Any thread; returns the pages built.
     */
    long help() {
        long built = 0;
        while (active && !abandoned && !failure.failed()) {
            long b = backend.compactStep(stepPages);
            if (b <= 0) {
                break;
            }
            built += b;
        }
        return built;
    }

    /**
     * Completes the cycle if every page is MAPPED: drops from-space, records the compaction and
     * wakes every waiter. Any thread; returns true in the one that completed it.
     */
    boolean tryComplete() {
        long c = cycle; // read first: PAGES_LEFT and active are set before it in the pause
        if (!active || control.get(ControlBlock.PAGES_LEFT) != 0) {
            return false;
        }
        long done = completedCycle.get();
        if (done >= c || !completedCycle.compareAndSet(done, c)) {
            return false;
        }
        long end = System.nanoTime();
        long nanos = end - startNanos;
        try {
            backend.endCompaction();
            heap.recycleAllocationPages();
        } catch (RuntimeException e) {
            // the view may have lost a range it maps (see UffdBackend#recycleAllocationPages): fail
            // loud, and still complete the cycle, so that nobody waits for it forever
            failure.record(HeapCorruptedException.collectorFailure("GC(" + c + ") releasing from-space", e));
        }
        long releaseNanos = System.nanoTime() - end;
        stats.compaction(pages, nanos);
        log.concurrent(c, pages, nanos, control.get(ControlBlock.FAULTS) - faultsAtStart, releaseNanos);
        synchronized (completion) {
            active = false;
            completion.notifyAll();
        }
        return true;
    }

    /**
     * Returns once no compaction is in flight: helps, then waits (through {@code heap}, in a safe
     * region if the caller is a mutator). Throws {@link HeapCorruptedException} if the heap fails.
     */
    void await(HeapBinding heap) {
        failure.throwIfFailed();
        if (!active) {
            return;
        }
        help();
        tryComplete();
        awaitWithoutHelping(heap);
    }

    /**
     * Waits until the compaction in flight, if any, has completed, building nothing: for a thread
     * that measures the compactor threads alone. Throws the heap's failure, if any.
     */
    void awaitWithoutHelping(HeapBinding heap) {
        failure.throwIfFailed();
        if (active) {
            heap.inSafeRegion(this::waitForCompletion);
        }
        failure.throwIfFailed();
    }

    /** In a pause: finishes a compaction still in flight (pages another thread holds included). */
    void finishInPause() {
        if (active) {
            help();
            waitForCompletion();
        }
    }

    private void waitForCompletion() {
        long start = System.nanoTime();
        long reportAt = start + REPORT_AFTER_NANOS;
        synchronized (completion) {
            while (active && !abandoned && !failure.failed()) {
                if (tryComplete()) {
                    break;
                }
                try {
                    completion.wait(WAIT_POLL_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the compaction of GC(" + cycle + ")", e);
                }
                long now = System.nanoTime();
                if (now >= reportAt) {
                    log.warning(String.format("%s has waited %d s for the compaction of GC(%d): %d of %d pages not yet mapped",
                            Thread.currentThread().getName(), TimeUnit.NANOSECONDS.toSeconds(now - start), cycle,
                            control.get(ControlBlock.PAGES_LEFT), pages));
                    reportAt = now + 2 * (now - start);
                }
            }
        }
    }

    /** The heap is closing: stop stepping, wake every waiter. */
    void abandon() {
        abandoned = true;
        control.set(ControlBlock.ABANDON, 1);
        synchronized (completion) {
            active = false;
            completion.notifyAll();
        }
    }
}
