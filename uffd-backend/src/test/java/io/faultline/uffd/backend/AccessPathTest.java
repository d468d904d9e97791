package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * In uffd mode the mutator's field access is a plain memory access: the kernel, not the
 * accessor, traps unbuilt pages. Shown by behaviour, not by timing: with a page's state forced to
 * UNPROCESSED outside any compaction, a java-backend access takes a software fault (and the
 * counter moves), while a uffd-backend access reads the value and leaves the state table alone.
 * Also: uffd field access allocates nothing on the Java heap.
 */
class AccessPathTest {
    static final ObjectType CELL = ObjectType.builder("access.Cell").refs("next").i64("v").build();

    /** Forces the state of {@code obj}'s page to UNPROCESSED, reads its field, restores MAPPED. */
    private static long readWithPageMarkedUnbuilt(Heap heap, Mutator m, int obj, long field) {
        PageStates states = HeapInternals.metadata(heap).pageStates();
        long page = io.faultline.model.ObjectLayout.refToOffset(obj) / heap.config().pageSize();
        states.publish(page, PageStates.UNPROCESSED);
        try {
            return m.getLong(obj, field);
        } finally {
            assertTrue(states.stateAcquire(page) == PageStates.UNPROCESSED || HeapInternals.backend(heap).accessNeedsPageCheck(),
                    "the uffd accessor must not touch the page-state table");
            states.publish(page, PageStates.MAPPED);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void uffdAccessorsDoNotConsultPageStates(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).backend(UffdBackend.factory(mode)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            long v = CELL.field("v");
            int c = m.allocate(CELL);
            m.setLong(c, v, 42);
            assertEquals(42, readWithPageMarkedUnbuilt(heap, m, c, v));
            assertEquals(0, heap.stats().faults(), "no software fault in uffd mode");
        }
    }

    @Test
    void javaAccessorsTakeASoftwareFaultOnAnUnbuiltPage() {
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).backend(JavaBackend.factory()).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            long v = CELL.field("v");
            int c = m.allocate(CELL);
            m.setLong(c, v, 42);
            PageStates states = HeapInternals.metadata(heap).pageStates();
            long page = io.faultline.model.ObjectLayout.refToOffset(c) / heap.config().pageSize();
            // MAPPED -> PROCESSING by hand: the accessor must see "not mapped" and wait for the
            // owner; we publish from another thread, as an owner would.
            states.publish(page, PageStates.PROCESSING);
            Thread owner = Thread.ofPlatform().start(() -> {
                while (heap.stats().faults() == 0) {
                    Thread.onSpinWait();
                }
                states.publish(page, PageStates.MAPPED);
            });
            assertEquals(42, m.getLong(c, v));
            assertEquals(1, heap.stats().faults(), "the java accessor checked the page state and faulted");
            try {
                owner.join(10_000);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void uffdFieldAccessAllocatesNothing(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).backend(UffdBackend.factory(mode)).build();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            long v = CELL.field("v");
            int[] cells = new int[1024];
            int root = m.push(m.allocateRefArray(cells.length));
            for (int i = 0; i < cells.length; i++) {
                int c = m.allocate(CELL);
                m.setLong(c, v, i);
                m.setRef(m.handle(root), i, c);
            }
            long sum = 0;
            for (int round = 0; round < 6; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int rep = 0; rep < 200; rep++) {
                    int arr = m.handle(root);
                    for (int i = 0; i < cells.length; i++) {
                        int c = m.getRef(arr, i);
                        m.setLong(c, v, m.getLong(c, v) + 1);
                        sum += m.getLong(c, v);
                    }
                }
                long bytes = threads.getCurrentThreadAllocatedBytes() - before;
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": 600k uffd field accesses allocated " + bytes
                            + " bytes (sum " + sum + ")");
                }
            }
        }
    }
}
