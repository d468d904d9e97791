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
            collector.compactSome();
            if (id == 0) {
                synchronized (lock) {
                    while (!stopping && collector.isCompacting()) {
                        collector.advanceFrontier();
                        collector.tryComplete();
                        waitOn(1);
                    }
                    if (stopping) {
                        return;
                    }
                }
                collector.verifyAfterCompaction();
            }
        }
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
