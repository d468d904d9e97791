package io.faultline.testing;

import io.faultline.backend.HeapBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Liveness under host (HotSpot) GC pressure: mutators fault continuously during concurrent
 * compaction while another thread churns the Java heap and forces HotSpot collections. With a
 * fault path that runs Java code this deadlocks (docs/uffd-modes.md, "The safepoint hazard, and why the fault path is native"); here
 * every cycle must complete within a generous bound.
 */
public final class HostGcChurn {
    static final ObjectType CELL = ObjectType.builder("churn.Cell").ref("next").i64("v").build();

    /** What a run observed. */
    public record Result(long cycles, long faults, long hostGcs, long slowestCycleMillis) {}

    private HostGcChurn() {}

    /**
     * Runs until {@code cycles} collections have completed; fails if any single cycle takes
     * longer than {@code perCycleBound}.
     */
    public static Result run(HeapBackend.Factory backend, int mutators, int cycles, Duration perCycleBound) throws Exception {
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).checkedAccess(false).verifyAfterGc(true)
                .concurrentCompaction(true).compactorThreads(1).backend(backend).build();
        long hostGcsBefore = hostGcCount();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread churn = Thread.ofPlatform().daemon().name("java-heap-churn").start(() -> {
            List<byte[]> keep = new ArrayList<>();
            int i = 0;
            while (!stop.get()) {
                keep.add(new byte[64 << 10]);
                if (keep.size() > 256) {
                    keep.clear();
                }
                if (++i % 200 == 0) {
                    System.gc();
                }
            }
        });
        long slowest = 0;
        long faults;
        long done;
        try (Heap heap = Heap.create(cfg)) {
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < mutators; t++) {
                int id = t;
                ts.add(Thread.ofPlatform().name("churn-mutator-" + t).start(() -> {
                    try (Mutator m = heap.attach()) {
                        int list = m.push(0);
                        long v = 0;
                        while (!stop.get()) {
                            // Keep ~1 MiB live per mutator and walk it, so every cycle leaves
                            // unmapped pages for this thread to fault on.
                            for (int k = 0; k < 2000; k++) {
                                int c = m.allocate(CELL);
                                m.setLong(c, CELL.field("v"), v++);
                                if (k % 4 == id % 4) {
                                    m.setRef(c, 0, m.handle(list));
                                    m.setHandle(list, c);
                                }
                            }
                            long n = 0;
                            for (int c = m.handle(list); c != 0 && n < 20_000; c = m.getRef(c, 0)) {
                                n++;
                            }
                            if (n >= 20_000) {
                                m.setHandle(list, 0);
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            long last = heap.stats().gcCycles();
            long lastChange = System.nanoTime();
            while (heap.stats().gcCycles() < cycles) {
                if (failure.get() != null) {
                    break;
                }
                long c = heap.stats().gcCycles();
                long now = System.nanoTime();
                if (c != last) {
                    slowest = Math.max(slowest, (now - lastChange) / 1_000_000);
                    last = c;
                    lastChange = now;
                } else if (Duration.ofNanos(now - lastChange).compareTo(perCycleBound) > 0) {
                    stop.set(true);
                    throw new AssertionError("no GC cycle completed for " + perCycleBound + " after cycle " + c
                            + " (stall); " + heap.stats());
                }
                Thread.sleep(1);
            }
            stop.set(true);
            for (Thread t : ts) {
                if (!t.join(perCycleBound)) {
                    throw new AssertionError("mutator " + t.getName() + " did not stop (stall)");
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("mutator failed: " + failure.get(), failure.get());
            }
            if (!heap.verify().ok()) {
                throw new AssertionError("heap damaged after churn");
            }
            faults = heap.stats().faults();
            done = heap.stats().gcCycles();
        } finally {
            stop.set(true);
            churn.join(perCycleBound);
        }
        return new Result(done, faults, hostGcCount() - hostGcsBefore, slowest);
    }

    static long hostGcCount() {
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, b.getCollectionCount());
        }
        return n;
    }
}
