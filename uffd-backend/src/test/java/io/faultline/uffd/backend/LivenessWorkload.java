package io.faultline.uffd.backend;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The case that deadlocks a Java fault resolver (docs/uffd-modes.md, "The safepoint hazard, and why the fault path is native"): two
 * mutators walk their lists continuously, faulting on every to-space page they reach before the
 * compactor, while another thread churns the Java heap so that HotSpot pauses (G1 or ZGC) keep
 * coming; a driver runs {@code cycles} collections, each of which must finish within
 * {@code boundMillis}. Run in its own JVM by {@link LivenessTest} (a deadlock there cannot take the
 * test JVM with it). Prints one {@code LIVENESS OK ...} line and exits 0, or exits 1.
 */
public final class LivenessWorkload {
    static final ObjectType NODE = ObjectType.builder("LivenessNode").refs("next", "data").i32("id").build();

    public static void main(String[] args) throws Exception {
        Mode mode = Mode.valueOf(args[0]);
        int cycles = Integer.parseInt(args[1]);
        long boundMillis = args.length > 2 ? Long.parseLong(args[2]) : 30_000;
        Delivery delivery = args.length > 3 ? Delivery.valueOf(args[3]) : Delivery.THREAD;
        try {
            System.out.println(run(mode, delivery, cycles, boundMillis));
            System.exit(0);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    static String run(Mode mode, Delivery delivery, int cycles, long boundMillis) throws Exception {
        long gcBefore = hostGcs();
        UffdBackend[] created = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(32L << 20).pageSize(4096).verifyAfterGc(false)
            .concurrentCompaction(true).compactorThreads(1)
            .backend((cap, ps) -> created[0] = new UffdBackend(mode, UffdOptions.defaults().withDelivery(delivery), cap, ps))
            .build();
        try (Heap heap = Heap.create(cfg)) {
            UffdBackend backend = created[0];
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            long[] walks = new long[2];
            for (int t = 0; t < 2; t++) {
                int id = t;
                threads.add(Thread.ofPlatform().name("mutator-" + t).start(() -> {
                    try (Mutator m = heap.attach()) {
                        walks[id] = mutate(heap, m, 15_000);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            Thread churn = Thread.ofPlatform().daemon().name("java-heap-churn").start(() -> {
                // About 4 MiB retained and a high allocation rate: HotSpot collects (and stops the
                // world) continuously. A collector that cannot keep up in a small -Xmx (ZGC at 64 MiB)
                // may throw OutOfMemoryError here: drop everything and go on churning.
                byte[][] keep = new byte[16][];
                int i = 0;
                while (!heap.isClosed() && failure.get() == null) {
                    try {
                        keep[i++ & 15] = new byte[256 << 10];
                    } catch (OutOfMemoryError e) {
                        java.util.Arrays.fill(keep, null);
                    }
                }
            });
            long maxCycle = 0;
            Thread.sleep(200);
            for (int c = 0; c < cycles && failure.get() == null; c++) {
                long t0 = System.nanoTime();
                heap.collect();
                long ms = (System.nanoTime() - t0) / 1_000_000;
                maxCycle = Math.max(maxCycle, ms);
                if (ms > boundMillis) {
                    throw new AssertionError("cycle " + c + " took " + ms + " ms (bound " + boundMillis + " ms)");
                }
            }
            long faults = heap.stats().faults();
            long gcCycles = heap.stats().gcCycles();
            stop = true;
            for (Thread t : threads) {
                if (!t.join(java.time.Duration.ofSeconds(30))) {
                    throw new AssertionError(t.getName() + " did not stop");
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("mutator failed", failure.get());
            }
            var report = heap.verify();
            if (!report.ok()) {
                throw new AssertionError("verify: " + report);
            }
            String native_ = "ioctls continue/copy/move/wake=" + backend.stat(UffdBackend.Stat.IOCTL_CONTINUE) + "/"
                + backend.stat(UffdBackend.Stat.IOCTL_COPY) + "/" + backend.stat(UffdBackend.Stat.IOCTL_MOVE) + "/"
                + backend.stat(UffdBackend.Stat.IOCTL_WAKE) + " faultBuilt=" + backend.stat(UffdBackend.Stat.FAULT_BUILT)
                + " sigbusFaults=" + backend.stat(UffdBackend.Stat.SIGBUS_FAULTS)
                + " errors=" + backend.stat(UffdBackend.Stat.ERRORS) + " viewVmas="
                + HygieneSupport.mappingsOverlapping(backend.viewAddress(), heap.config().capacity()).size();
            churn.join(100);
            return "LIVENESS OK mode=" + mode + " delivery=" + delivery + " gc=" + gcNames() + " cycles=" + gcCycles + " maxCycleMs=" + maxCycle
                + " faults=" + faults + " walks=" + (walks[0] + walks[1]) + " hostGcs=" + (hostGcs() - gcBefore) + " "
                + native_;
        }
    }

    private static volatile boolean stop;

    /** Keeps a list of {@code n} nodes; walks and checks it, replacing its head, until stopped. */
    private static long mutate(Heap heap, Mutator m, int n) {
        long idField = NODE.field("id");
        int head = m.push(0);
        for (int i = 0; i < n; i++) {
            pushNode(m, head, i, idField);
        }
        int nextId = n;
        long walks = 0;
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
            if (count != n) {
                throw new AssertionError("list has " + count + " nodes, expected " + n);
            }
            walks++;
            // Replace the tail-most... simply: drop the head, push a new one (garbage for compaction).
            m.setHandle(head, m.getRef(m.handle(head), 0));
            pushNode(m, head, nextId++, idField);
            for (int g = 0; g < 200; g++) {
                m.allocateByteArray(100);
            }
            m.poll();
        }
        return walks;
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
            .reduce((a, b) -> a + "+" + b).orElse("?");
    }
}
