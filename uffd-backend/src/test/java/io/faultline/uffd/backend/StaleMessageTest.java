package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.HeapBackend;
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
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A fault message the service thread reads only after the flip that moved the view (thread
 * delivery): the mutator that sent it was woken by a compactor's install long before, and the
 * address lies in a view that is no longer the heap's. The service thread counts it as stale and
 * serves nothing; it is not an error. (Before views moved at every flip this could not happen; a
 * seeded model run caught it as one unexplained native error.)
 */
class StaleMessageTest {
    private static final MethodHandle HOLD = NativeLibrary.downcall("fl_test_set_service_hold", FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MethodHandle HELD_ADDRESS = NativeLibrary.downcall("fl_test_service_held_address", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle HELD = NativeLibrary.downcall("fl_test_service_held_batches", FunctionDescriptor.of(JAVA_LONG));

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aMessageReadAfterTheViewMovedIsStaleNotAnError(Mode mode) throws Throwable {
        UffdTestSupport.assumeAvailable(mode);
        FailedPageBuildTest.Damaging[] holder = {null};
        UffdBackend[] uffd = {null};
        HeapBackend.Factory inner = (c, ps) -> uffd[0] = new UffdBackend(mode,
            UffdOptions.defaults().withDelivery(Delivery.THREAD).withBackstop(Duration.ZERO), c, ps);
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).pageSize(4096).verifyAfterGc(true).compactorThreads(1)
            .backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(inner.create(c, ps), true)).build();
        try (Heap heap = Heap.create(cfg)) {
            int shared;
            try (Mutator m = heap.attach()) {
                shared = heap.globals().add(m.handle(SigbusDeliveryTest.buildList(m, 50))); // one to-space page
                holder[0].damaged = true; // compactors wait for the release from the next compaction on
                m.collect();
            } // detached: a thread that waits must not hold up a pause
            long faultedView = uffd[0].viewAddress();
            long heldBefore = (long) HELD.invokeExact();
            HOLD.invokeExact(1L);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try {
                Thread reader = Thread.ofPlatform().name("stale-faulter").start(() -> {
                    try (Mutator mm = heap.attach()) {
                        SigbusDeliveryTest.checkList(mm, mm.push(heap.globals().get(shared)), 50);
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                });
                // The reader's fault message is read, and held unserved.
                awaitAtLeast("the service thread to read the fault message", () -> {
                    try {
                        return (long) HELD.invokeExact() - heldBefore;
                    } catch (Throwable t) {
                        throw new AssertionError(t);
                    }
                }, 1);
                assertEquals(faultedView, heldAddress() & -4096L, "the held message is the reader's fault on the list's page");
                holder[0].release.countDown(); // a compactor builds and installs the page: the reader wakes
                assertTrue(reader.join(Duration.ofSeconds(20)), () -> "the reader was not woken by the compactor's install: "
                    + Arrays.toString(reader.getStackTrace()) + stats(uffd[0]));
                heap.awaitCompaction();
                try (Mutator m = heap.attach()) {
                    m.collect(); // flips to a new view
                }
                heap.awaitCompaction();
                assertNotEquals(faultedView, uffd[0].viewAddress(), "the flip moved the view");
                assertEquals(0, uffd[0].stat(Stat.STALE_MESSAGES) + uffd[0].stat(Stat.FAULTS), "the message is still held");
            } finally {
                HOLD.invokeExact(0L);
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            awaitAtLeast("the held message to be served", () -> uffd[0].stat(Stat.STALE_MESSAGES) + uffd[0].stat(Stat.ERRORS), 1);
            assertEquals(0, uffd[0].stat(Stat.ERRORS), () -> "the stale message was taken for an error: errno "
                + uffd[0].stat(Stat.LAST_ERRNO) + " at page " + uffd[0].stat(Stat.LAST_ERROR_PAGE));
            assertEquals(1, uffd[0].stat(Stat.STALE_MESSAGES));
            assertEquals(0, uffd[0].stat(Stat.FAULTS), "nothing was served for the stale message");
            try (Mutator m = heap.attach()) {
                SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(shared)), 50);
            }
            assertTrue(heap.verify().ok());
        }
    }

    private static long heldAddress() {
        try {
            return (long) HELD_ADDRESS.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static String stats(UffdBackend b) {
        StringBuilder out = new StringBuilder();
        for (Stat s : Stat.values()) {
            if (b.stat(s) != 0) {
                out.append(' ').append(s.name().toLowerCase()).append('=').append(b.stat(s));
            }
        }
        return out.toString();
    }

    private static void awaitAtLeast(String what, LongSupplier value, long least) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (value.getAsLong() < least) {
            assertTrue(System.nanoTime() < deadline, "waited 30 s for " + what);
            Thread.sleep(1);
        }
    }
}
