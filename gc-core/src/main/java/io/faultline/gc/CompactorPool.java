package io.faultline.gc;

/**
 * The compactor threads of concurrent compaction. At the end of each pause
 * {@link #startCycle()} wakes them; each claims and builds pages until none is left. Thread 0
 * then waits until pages claimed by faulting mutators are published too (completing the cycle
 * itself if nobody else has, see {@link Collector#tryComplete()}), and runs the verification
 * pause when the heap asks for one.
 *
 * <p><b>Assumptions and Guarantees:</b> compactor threads are not mutators: they never park at
 * our safepoints and never wait for a mutator, so a mutator waiting on a page a compactor owns
 * always makes progress. They are daemon threads; {@link #shutdown()} stops and joins them.
 */
final class CompactorPool {
    private final Collector collector;
    private final Thread[] threads;
    private final Object lock = new Object();
    private long generation;
    private boolean stopping;

    CompactorPool(Collector collector, int n) {
        this.collector = collector;
        this.threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            threads[i] = Thread.ofPlatform().daemon().name("faultline-compactor-" + i).unstarted(() -> run(id));
            threads[i].start();
        }
    }

    void startCycle() {
        synchronized (lock) {
            generation++;
            lock.notifyAll();
        }
    }

    void signalAllBuilt() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    private void run(int id) {
        long seen = 0;
        while (true) {
            synchronized (lock) {
                while (!stopping && generation == seen) {
                    waitOn(100);
                }
                if (stopping) {
                    return;
                }
                seen = generation;
            }
            try {
                collector.compactSome();
                if (id == 0 && !finishCycle()) {
                    return;
                }
            } catch (RuntimeException | Error e) {
                // Recorded (waiters fail with it rather than spin); the thread lives on until
                // close() stops it.
                collector.compactorFailed(e);
            }
        }
    }

    /**
     * Compactor 0 after its claim loop: keeps helping (the sweep in {@link
     * Collector#compactSome()} picks up pages whose cursor slot was lost, and pages of a cycle
     * that started meanwhile) until no compaction is in flight, then verifies. Returns false when
     * stopping.
     */
    private boolean finishCycle() {
        while (collector.isCompacting()) {
            synchronized (lock) {
                if (stopping) {
                    return false;
                }
            }
            collector.compactSome();
            collector.advanceFrontier();
            collector.tryComplete();
            synchronized (lock) {
                if (stopping) {
                    return false;
                }
                if (collector.isCompacting()) {
                    waitOn(1);
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

    void shutdown() {
        synchronized (lock) {
            stopping = true;
            lock.notifyAll();
        }
        for (Thread t : threads) {
            if (t != Thread.currentThread()) {
                try {
                    t.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
