package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A SIGBUS fault on a page whose install another thread began and does not finish (its thread
 * preempted, here a test hook that makes the compactor's first install sleep two seconds with its
 * run MAPPING) maps the page itself after {@code FL_MAP_EARLY_NS} instead of waiting for that
 * install: the mutator reads the whole heap, right, while the install still sleeps, and the
 * owner's install, when it wakes, skips the pages mapped early. CONTINUE only (its built pages
 * are in the page cache; a COPY or MOVE fault waits for the owner).
 */
class MapEarlyTest {
    static final ObjectType CELL = ObjectType.builder("early.Cell").i64("v").bytes("pad", 48).build();
    static final int CELLS = 3000; // with the table, about 60 to-space pages: the compactor's first run
    static final long STALL_NANOS = 2_000_000_000L;

    @ParameterizedTest
    @EnumSource(value = PageSupply.class, names = {"FRESH", "KEEP", "FALLOCATE"})
    void aFaultMapsThePagesOfAStalledInstallItself(PageSupply supply) throws Throwable {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        MethodHandle stallNext = NativeLibrary.downcall("fl_test_stall_next_install", FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));
        MethodHandle stalled = NativeLibrary.downcall("fl_test_install_stalled", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).pageSize(4096).compactorThreads(1).concurrentCompaction(true)
                .verifyAfterGc(true)
                .backend(UffdBackend.factory(Mode.CONTINUE,
                        UffdOptions.defaults().withDelivery(UffdOptions.Delivery.SIGBUS).withSupply(supply)))
                .build();
        long v = CELL.field("v");
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int table = m.push(m.allocateRefArray(CELLS)); // first: the bottom of to-space, the compactor's first run
            for (int i = 0; i < CELLS; i++) {
                m.allocateLongArray(6); // garbage before every cell: every cell moves
                int c = m.allocate(CELL);
                m.setLong(c, v, i);
                m.setRef(m.handle(table), i, c);
            }
            long earlyBefore = heap.backendCounters().get("mapped_early");
            stallNext.invokeExact(STALL_NANOS);
            try {
                m.collect();
                long deadline = System.nanoTime() + 30_000_000_000L;
                while ((long) stalled.invokeExact() == 0) {
                    if (System.nanoTime() > deadline) {
                        fail(supply + ": the compactor never reached its first install in 30 s");
                    }
                    Thread.onSpinWait();
                }
                // the table's page and the cells after it are MAPPING, their install asleep
                for (int i = 0; i < CELLS; i++) {
                    assertEquals(i, m.getLong(m.getRef(m.handle(table), i), v), supply + ": cell " + i);
                }
                assertEquals(1L, (long) stalled.invokeExact(),
                        supply + ": every cell was read while the install still slept (no fault waited for it)");
                Map<String, Long> c = heap.backendCounters();
                assertTrue(c.get("mapped_early") - earlyBefore > 0, supply + ": pages mapped early: " + c);
            } finally {
                stallNext.invokeExact(0L);
            }
            heap.awaitCompaction(); // the install wakes, skips what was mapped early, and completes
            Map<String, Long> c = heap.backendCounters();
            assertEquals(0L, c.get("errors"), supply + ": " + c);
            assertTrue(heap.verify().ok(), heap.verify().toString());
            for (int i = 0; i < CELLS; i++) {
                assertEquals(i, m.getLong(m.getRef(m.handle(table), i), v), supply + ": cell " + i + " after the compaction");
            }
        }
    }
}
