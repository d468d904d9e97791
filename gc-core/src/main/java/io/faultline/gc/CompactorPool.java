package io.faultline.gc;

/**
 * The compactor threads of concurrent compaction. At the end of each pause {@link #startCycle()}
 * wakes them; each runs the page protocol in bounded steps until nothing is left to claim.
 * Thread 0 then keeps helping until pages held by faulting threads are mapped too, completes the
 * cycle if nobody else has ({@link Compaction#tryComplete()}), and runs the verification pause
 * when the heap asks for one.
 *
 * <p><b>Assumptions and Guarantees:</b> compactor threads are not mutators: they never park at
 * our safepoints and never wait for a mutator, so a mutator waiting on a page a compactor owns
 * always makes progress. An exception in a compactor thread fails the heap (it is never
 * swallowed) and the thread lives on until {@link #shutdown()} stops and joins it. They are daemon
 * threads named {@code faultline-compactor-N}.
 */
final class CompactorPool {
    /** How long shutdown waits for each thread before it interrupts it. */
    static final long JOIN_GRACE_MILLIS = 1_000;
    /** How long shutdown then waits for each thread before it says which one it is waiting for. */
    static final long JOIN_REPORT_MILLIS = 10_000;
    /** How often thread 0 re-checks for completion while pages are held by others. */
    static final long COMPLETION_POLL_MILLIS = 1;
    /** How often an idle thread re-checks for shutdown. */
    static final long IDLE_POLL_MILLIS = 100;

    private final Collector collector;
    private final Compaction compaction;
    private final HeapFailure failure;
    private final Thread[] threads;
    private final Object lock = new Object();
    private long generation;
    private boolean stopping;

    CompactorPool(Collector collector, Compaction compaction, HeapFailure failure, int n) {
        this.collector = collector;
        this.compaction = compaction;
        this.failure = failure;
        this.threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            threads[i] = Thread.ofPlatform().daemon().name("faultline-compactor-" + i).start(() -> run(id));
        }
    }

    void startCycle() {
        synchronized (lock) {
            generation++;
            lock.notifyAll();
        }
    }

    private void run(int id) {
        long seen = 0;
        while (true) {
            synchronized (lock) {
                while (!stopping && generation == seen) {
                    waitOn(IDLE_POLL_MILLIS);
                }
                if (stopping) {
                    return;
                }
                seen = generation;
            }
            try {
                compaction.help();
                if (id == 0 && !finishCycle()) {
                    return;
                }
            } catch (HeapCorruptedException e) {
                failure.record(e);
            } catch (RuntimeException | Error e) {
                failure.record(HeapCorruptedException.collectorFailure(Thread.currentThread().getName() + " failed", e));
            }
        }
    }

    /**
     * Compactor 0 after its steps: keeps helping (pages of a cycle that started meanwhile, pages
     * whose cursor slot a stale claimer consumed) until no compaction is in flight, then verifies.
     * Returns false when stopping.
     */
    private boolean finishCycle() {
        while (compaction.active() && !failure.failed()) {
            compaction.help();
            compaction.tryComplete();
            synchronized (lock) {
                if (stopping) {
                    return false;
                }
                if (compaction.active()) {
                    waitOn(COMPLETION_POLL_MILLIS);
                }
            }
        }
        collector.verifyAfterCompaction();
        return true;
    }

    private void waitOn(long millis) {
        try {
            lock.wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        }
    }

    /**
     * Stops and joins every thread. A thread still running after {@link #JOIN_GRACE_MILLIS} is
     * interrupted (a thread blocked in Java code, e.g. a backend hook, stops; one inside a native
     * call finishes that call first); one that still does not stop is named with its stack, not
     * waited for forever.
     */
    void shutdown() {
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
        }
        for (Thread t : threads) {
            if (t == Thread.currentThread()) {
                continue;
            }
            try {
                if (!t.join(java.time.Duration.ofMillis(JOIN_GRACE_MILLIS))) {
                    t.interrupt();
                }
                if (!t.join(java.time.Duration.ofMillis(JOIN_REPORT_MILLIS))) {
                    System.getLogger("io.faultline.gc").log(System.Logger.Level.WARNING,
                            "close: " + t.getName() + " did not stop within " + JOIN_REPORT_MILLIS + " ms; it is a daemon thread, left running: "
                                    + java.util.Arrays.toString(t.getStackTrace()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
