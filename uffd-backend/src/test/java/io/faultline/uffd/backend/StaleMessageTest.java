package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.function.LongSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A fault message the service thread reads only after the flip that moved the view (thread
 * delivery): its mutator was woken by an install before the flip could stop it, and the address
 * lies in a view that is no longer the heap's. The service thread counts it as stale and serves
 * nothing; it is not an error. A test hook makes one: the service thread serves a copy of the
 * mutator's fault message again after the next flip. (Before views moved at every flip this could
 * not happen; the hook does not hold the original, since then only a Java thread could wake the
 * mutator, and a HotSpot safepoint would wait for the mutator.)
 */
class StaleMessageTest {
    private static final MethodHandle REPLAY = NativeLibrary.downcall("fl_test_replay_next_message", FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle REPLAYED = NativeLibrary.downcall("fl_test_replayed_messages", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle REPLAYED_ADDRESS = NativeLibrary.downcall("fl_test_replayed_address", FunctionDescriptor.of(JAVA_LONG));

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aMessageReadAfterTheViewMovedIsStaleNotAnError(Mode mode) throws Throwable {
        UffdTestSupport.assumeAvailable(mode);
        UffdBackend[] uffd = {null};
        FailedPageBuildTest.Damaging[] holder = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).pageSize(4096).verifyAfterGc(true).compactorThreads(1)
            .backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(uffd[0] = new UffdBackend(mode,
                UffdOptions.defaults().withDelivery(Delivery.THREAD).withBackstop(Duration.ZERO), c, ps), true)).build();
        try (Heap heap = Heap.create(cfg)) {
            int shared;
            try (Mutator m = heap.attach()) {
                shared = heap.globals().add(m.handle(SigbusDeliveryTest.buildList(m, 50))); // one to-space page
                holder[0].damaged = true; // hold the compactors: the reader's fault builds the page
                m.collect();
            }
            long faultedView = uffd[0].viewAddress();
            long replayedBefore = (long) REPLAYED.invokeExact();
            REPLAY.invokeExact(1L);
            try {
                try (Mutator m = heap.attach()) {
                    SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(shared)), 50); // faults, served
                }
                assertEquals(1, (long) REPLAYED.invokeExact() - replayedBefore, "the reader's fault message was kept");
                assertEquals(faultedView, (long) REPLAYED_ADDRESS.invokeExact() & -4096L, "on the list's page");
                assertEquals(1, uffd[0].stat(Stat.FAULTS), "served once so far");
                holder[0].release.countDown();
                heap.awaitCompaction();
                try (Mutator m = heap.attach()) {
                    m.collect(); // flips to a new view: the service thread serves the copy
                }
                assertNotEquals(faultedView, uffd[0].viewAddress(), "the flip moved the view");
            } finally {
                REPLAY.invokeExact(0L);
            }
            awaitAtLeast("the copy to be served", () -> uffd[0].stat(Stat.STALE_MESSAGES) + uffd[0].stat(Stat.ERRORS));
            assertEquals(0, uffd[0].stat(Stat.ERRORS), () -> "the stale message was taken for an error: errno "
                + uffd[0].stat(Stat.LAST_ERRNO) + " at page " + uffd[0].stat(Stat.LAST_ERROR_PAGE));
            assertEquals(1, uffd[0].stat(Stat.STALE_MESSAGES));
            heap.awaitCompaction();
            try (Mutator m = heap.attach()) {
                SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(shared)), 50);
            }
            assertTrue(heap.verify().ok());
        }
    }

    /** Polls until value reaches 1; fails after 30 s (the service thread polls every 10 ms). */
    private static void awaitAtLeast(String what, LongSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (value.getAsLong() < 1) {
            assertTrue(System.nanoTime() < deadline, "waited 30 s for " + what);
            Thread.sleep(1);
        }
    }
}
