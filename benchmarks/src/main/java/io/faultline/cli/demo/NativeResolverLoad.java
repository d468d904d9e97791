package io.faultline.cli.demo;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.verify.VerifyReport;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The same load as {@link JavaResolverDeadlock}, on Faultline's own fault path: a uffd heap in
 * CONTINUE mode, whose faults are resolved by a native pthread that HotSpot's safepoints cannot
 * stop. Started in a child JVM by {@code faultline demo safepoint-hazard}.
 *
 * <p>A {@code mutator} walks and checks a linked list of 15,000 objects without pause, replacing
 * its head and allocating garbage, so that after each collection's pause it touches to-space
 * pages before the compactor has built them and takes real userfaults. A {@code collector-driver}
 * runs collections back to back (concurrent compaction, one compactor thread). After a second,
 * a {@code garbage} thread starts allocating on the Java heap, as in the Java-resolver case, so
 * that G1 needs a safepoint every few milliseconds while mutators are blocked in userfaults.
 *
 * <p>Argument: {@code durationMillis} (default 5000). Output: a {@code ready} line, a
 * {@code progress cycles=N faults=M hostGcs=K} line every 200 ms, a {@code garbage thread started}
 * line, then {@code finished cycles=N faults=M hostGcs=K maxCycleMs=X verified=ok} and exit 0, or
 * {@code failed: ...} and exit 1.
 */
public final class NativeResolverLoad {
    static final ObjectType NODE = ObjectType.builder("HazardNode").refs("next", "data").i32("id").build();
    static final int LIST_LENGTH = 15_000;

    private static volatile boolean stop;

    private NativeResolverLoad() {
    }

    public static void main(String[] args) {
        long durationMillis = args.length > 0 ? Long.parseLong(args[0]) : 5_000;
        try {
            System.out.println(run(durationMillis));
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("failed: " + t);
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    private static String run(long durationMillis) throws Exception {
        HeapConfig config = HeapConfig.builder().capacity(32L << 20).pageSize(4096).verifyAfterGc(false)
            .concurrentCompaction(true).compactorThreads(1).backend(UffdBackend.factory(Mode.CONTINUE)).build();
        try (Heap heap = Heap.create(config)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong cycles = new AtomicLong();
            AtomicLong maxCycleMillis = new AtomicLong();
            Thread mutator = Thread.ofPlatform().name("mutator").start(() -> {
                try (Mutator m = heap.attach()) {
                    mutate(m);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            Thread driver = Thread.ofPlatform().name("collector-driver").start(() -> {
                try {
                    while (!stop && failure.get() == null) {
                        long t0 = System.nanoTime();
                        heap.collect();
                        heap.awaitCompaction();
                        maxCycleMillis.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                        cycles.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            System.out.println("ready: uffd heap " + heap.backendName() + ", 32 MiB; mutator and collector-driver started;"
                + " host GC: " + gcNames());

            long gcBefore = hostGcs();
            long start = System.nanoTime();
            long deadline = start + durationMillis * 1_000_000;
            boolean garbageStarted = false;
            while (System.nanoTime() < deadline && failure.get() == null) {
                Thread.sleep(JavaResolverDeadlock.PROGRESS_MILLIS);
                System.out.println("progress cycles=" + cycles.get() + " faults=" + heap.stats().faults() + " hostGcs="
                    + (hostGcs() - gcBefore));
                if (!garbageStarted && System.nanoTime() - start > JavaResolverDeadlock.QUIET_MILLIS * 1_000_000) {
                    garbageStarted = true;
                    System.out.println("garbage thread started after " + heap.stats().faults()
                        + " faults: G1 now needs safepoints");
                    Thread.ofPlatform().daemon().name("garbage").start(() -> {
                        byte[][] keep = new byte[64][];
                        for (int i = 0; !stop; i++) {
                            keep[i & 63] = new byte[64 << 10];
                        }
                    });
                }
            }
            stop = true;
            for (Thread t : new Thread[] {mutator, driver}) {
                if (!t.join(Duration.ofSeconds(30))) {
                    throw new AssertionError(t.getName() + " did not stop within 30 s");
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("load failed", failure.get());
            }
            VerifyReport report = heap.verify();
            if (!report.ok()) {
                throw new AssertionError("heap verification: " + report);
            }
            return "finished cycles=" + cycles.get() + " faults=" + heap.stats().faults() + " hostGcs="
                + (hostGcs() - gcBefore) + " maxCycleMs=" + maxCycleMillis.get() + " verified=ok";
        }
    }

    /** Keeps a list of {@link #LIST_LENGTH} nodes; walks and checks it, replacing its head, until stopped. */
    private static void mutate(Mutator m) {
        long idField = NODE.field("id");
        int head = m.push(0);
        for (int i = 0; i < LIST_LENGTH; i++) {
            pushNode(m, head, i, idField);
        }
        int nextId = LIST_LENGTH;
        while (!stop) {
            int count = 0;
            for (int x = m.handle(head); x != 0; x = m.getRef(x, 0)) {
                int id = m.getInt(x, idField);
                int data = m.getRef(x, 1);
                if (m.getByteAt(data, 0) != (byte) id || m.getByteAt(data, 63) != (byte) ~id) {
                    throw new AssertionError("node " + id + " has wrong data");
                }
                count++;
            }
            if (count != LIST_LENGTH) {
                throw new AssertionError("list has " + count + " nodes, expected " + LIST_LENGTH);
            }
            m.setHandle(head, m.getRef(m.handle(head), 0));
            pushNode(m, head, nextId++, idField);
            for (int g = 0; g < 200; g++) {
                m.allocateByteArray(100);
            }
            m.poll();
        }
    }

    private static void pushNode(Mutator m, int head, int id, long idField) {
        int data = m.allocateByteArray(64);
        m.setByteAt(data, 0, (byte) id);
        m.setByteAt(data, 63, (byte) ~id);
        int keep = m.push(data);
        int node = m.allocate(NODE);
        m.setInt(node, idField, id);
        m.setRef(node, 1, m.handle(keep));
        m.setRef(node, 0, m.handle(head));
        m.setHandle(head, node);
        m.popTo(keep);
    }

    private static long hostGcs() {
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, b.getCollectionCount());
        }
        return n;
    }

    private static String gcNames() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName)
            .reduce((a, b) -> a + ", " + b).orElse("?");
    }
}
