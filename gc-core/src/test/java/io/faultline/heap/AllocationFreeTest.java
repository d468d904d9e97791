package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.ObjectType;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The hot paths allocate nothing on the Java heap: the allocation fast path, field access and
 * the software-fault check, the write barrier while marking is on, and page compaction (each
 * collection compacts hundreds of pages).
 * Counted with the JVM's per-thread allocation counter after warm-up; the bound allows a few
 * hundred bytes of JIT/profiling noise over hundreds of thousands of operations.
 */
class AllocationFreeTest {
    static final ObjectType NODE = ObjectType.builder("alloc.Node").refs("l", "r").i32("v").build();

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void allocationAndFieldAccessDoNotAllocateOnTheJavaHeap() {
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            long v = NODE.field("v");
            int keep = m.push(0);
            long sum = 0;
            for (int round = 0; round < 6; round++) {
                long before = allocatedBytes();
                for (int i = 0; i < 200_000; i++) {
                    int n = m.allocate(NODE);
                    m.setInt(n, v, i);
                    m.setRef(n, 0, m.handle(keep));
                    sum += m.getInt(n, v) + m.getRef(n, 1);
                    if ((i & 1023) == 0) {
                        m.setHandle(keep, n);
                    } else {
                        m.setHandle(keep, 0);
                    }
                }
                long bytes = allocatedBytes() - before;
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": 200k allocations + accesses allocated " + bytes
                            + " bytes on the Java heap (sum " + sum + ")");
                }
            }
        }
    }

    @Test
    void theWriteBarrierWhileMarkingDoesNotAllocateOnTheJavaHeap() throws Exception {
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        io.faultline.gc.MarkingHooks hooks = new io.faultline.gc.MarkingHooks() {
            @Override
            public void beforeRemark(long cycle) {
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).markingHooks(hooks).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int n = 1024;
            int arr = m.push(m.allocateRefArray(n));
            for (int i = 0; i < n; i++) {
                m.setRef(m.handle(arr), i, m.allocate(NODE));
            }
            Thread collector = Thread.ofPlatform().start(heap::collect);
            while (held.getCount() > 0) {
                m.poll(); // takes the offered initial-mark pause
            }
            // The barrier is on and every object is marked: each store loads the old value and
            // tests its mark bit (the filter), or stops at a null old value.
            int a = m.handle(arr);
            long sum = 0;
            for (int round = 0; round < 6; round++) {
                long before = allocatedBytes();
                for (int i = 0; i < 200_000; i++) {
                    int j = i & (n - 1);
                    int other = m.getRef(a, (j + 1) & (n - 1));
                    m.setRef(a, j, other);
                    m.setRef(other, 1, 0);
                    sum += other;
                }
                long bytes = allocatedBytes() - before;
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": 400k barrier stores allocated " + bytes + " bytes (" + sum + ")");
                }
            }
            m.enterSafeRegion();
            release.countDown();
            collector.join();
            m.leaveSafeRegion();
        }
    }

    @Test
    void pageCompactionDoesNotAllocateOnTheJavaHeap() {
        io.faultline.testing.RecordingBackend[] backend = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).concurrentCompaction(false)
                .backend((cap, ps) -> {
                    backend[0] = new io.faultline.testing.RecordingBackend(cap, ps);
                    backend[0].snapshotFromSpace = true;
                    return backend[0];
                }).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int keep = m.push(0);
            for (int i = 0; i < 100_000; i++) {
                int n = m.allocate(NODE);
                if (i % 2 == 0) {
                    m.setRef(n, 0, m.handle(keep));
                    m.setHandle(keep, n);
                }
            }
            io.faultline.meta.GcMetadata md = heap.metadata;
            int ps = md.pageSize();
            io.faultline.gc.compact.PageCompactor pc = new io.faultline.gc.compact.PageCompactor(md.bitmap(), md.offsets(),
                    md.firstObjects(), ps);
            for (int round = 0; round < 6; round++) {
                m.collect(); // plans the cycle; then rebuild every page again from its from-space
                io.faultline.meta.ControlBlock c = md.control();
                pc.setCycle(c.get(io.faultline.meta.ControlBlock.FROM_TOP), c.get(io.faultline.meta.ControlBlock.NEW_TOP));
                long pages = c.get(io.faultline.meta.ControlBlock.END_PAGE);
                java.lang.foreign.MemorySegment from = backend[0].fromSpaceSnapshot;
                java.lang.foreign.MemorySegment scratch = java.lang.foreign.Arena.ofAuto().allocate(ps, ps);
                java.lang.foreign.MemorySegment view = heap.view;
                long before = allocatedBytes();
                for (int rep = 0; rep < 20; rep++) {
                    for (long p = 0; p < pages; p++) {
                        pc.build(from, p, scratch, 0);
                    }
                }
                long bytes = allocatedBytes() - before;
                // The rebuilt page is the page the collector built: the check is doing real work.
                assertTrue(scratch.mismatch(view.asSlice((pages - 1) * ps, ps)) == -1, "last page rebuilt identically");
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": compacting " + 20 * pages + " pages allocated " + bytes + " bytes");
                }
            }
        }
    }
}
