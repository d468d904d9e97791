package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.gc.HeapCorruptedException;
import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.uffd.backend.UffdTestSupport.HeldCompaction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The fault-service thread (thread delivery) meets an error it cannot go on from, in the middle of
 * a compaction whose compactors are held back. Nobody would read the next fault message, so the
 * heap fails: the unbuilt pages are poisoned, the mutator that touches one gets a
 * {@link HeapCorruptedException} naming the thread and errno instead of waiting for good, and so
 * does every later operation. A test hook makes the thread's next poll fail with EIO.
 */
class ServiceThreadFailureTest {
    private static final MethodHandle FAIL_POLL = NativeLibrary.downcall("fl_test_fail_service_poll", FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final int EIO = 5;

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aServiceThreadThatCannotGoOnFailsTheHeapLoudly(Mode mode) throws Throwable {
        UffdTestSupport.assumeAvailable(mode);
        HeldCompaction held = HeldCompaction.start(mode); // the list's page stays unbuilt
        Heap heap = held.heap();
        UffdBackend uffd = held.uffd();
        try {
            FAIL_POLL.invokeExact((long) EIO);
            UffdTestSupport.awaitAtLeastOne("the service thread to take the injected error", () -> uffd.stat(Stat.ERRORS));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().name("reader-after-failure").start(() -> {
                try (Mutator m = heap.attach()) {
                    SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(held.list())), HeldCompaction.CELLS);
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            boolean done = reader.join(Duration.ofSeconds(20));
            held.compactors().release.countDown(); // lets a waiting reader go, so that a failure here does not hang
            assertTrue(done, "a mutator faulting after the service thread stopped waited for good");
            Throwable t = thrown.get();
            assertTrue(t instanceof HeapCorruptedException, "expected HeapCorruptedException, got " + t);
            assertTrue(t.getMessage().contains("fault-service thread could not go on") && t.getMessage().contains("EIO"),
                t.getMessage());
            assertEquals(EIO, uffd.stat(Stat.LAST_ERRNO));
            try (Mutator m = heap.attach()) {
                assertThrows(HeapCorruptedException.class, () -> m.allocateLongArray(1), "every later operation throws");
            } catch (HeapCorruptedException attachThrew) {
                // attach itself may throw: that is the next operation failing loudly too
            }
        } finally {
            held.compactors().release.countDown();
            FAIL_POLL.invokeExact(0L);
            heap.close(); // no hang on close after the failure
        }
    }
}
