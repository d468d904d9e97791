package io.faultline.workload;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import java.util.concurrent.atomic.LongAdder;

/**
 * Runs a body on N new threads, each attached to a heap as its own {@link Mutator}, and waits
 * for all of them. If the calling thread is itself attached it waits in a safe region, so
 * collections triggered by the workers do not wait for it (its handles stay roots).
 */
public final class MutatorThreads {

    /** Work done by one mutator thread. */
    @FunctionalInterface
    public interface Body {
        void run(Mutator m, int thread);
    }

    private MutatorThreads() {
    }

    /**
     * Runs {@code body} on {@code threads} threads named {@code name-i}, each with a fresh
     * mutator that is closed when the body returns, and adds the bytes each mutator allocated to
     * {@code allocatedBytes} (also when its body fails). {@code caller} is the calling thread's
     * mutator, or null if it is not attached. The first failure is rethrown (others suppressed)
     * after every thread has ended.
     */
    public static void run(Heap heap, int threads, String name, Mutator caller, LongAdder allocatedBytes, Body body) {
        Throwable[] failures = new Throwable[threads];
        Thread[] workers = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            int id = i;
            workers[i] = Thread.ofPlatform().name(name + "-" + i).unstarted(() -> {
                try (Mutator m = heap.attach()) {
                    try {
                        body.run(m, id);
                    } finally {
                        allocatedBytes.add(m.allocatedBytes());
                    }
                } catch (Throwable t) {
                    failures[id] = t;
                }
            });
        }
        if (caller != null) {
            caller.enterSafeRegion();
        }
        try {
            for (Thread w : workers) {
                w.start();
            }
            joinAll(workers);
        } finally {
            if (caller != null) {
                caller.leaveSafeRegion();
            }
        }
        Throwable first = null;
        for (Throwable t : failures) {
            if (t == null) {
                continue;
            }
            if (first == null) {
                first = t;
            } else {
                first.addSuppressed(t);
            }
        }
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    private static void joinAll(Thread[] workers) {
        boolean interrupted = false;
        for (Thread w : workers) {
            while (true) {
                try {
                    w.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
