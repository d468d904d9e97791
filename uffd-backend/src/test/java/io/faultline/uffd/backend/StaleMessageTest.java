package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.uffd.backend.UffdTestSupport.HeldCompaction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
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
        HeldCompaction held = HeldCompaction.start(mode); // the compactors are held: the reader's fault builds the page
        UffdBackend uffd = held.uffd();
        try (Heap heap = held.heap()) {
            long faultedView = uffd.viewAddress();
            long replayedBefore = (long) REPLAYED.invokeExact();
            REPLAY.invokeExact(1L);
            try {
                try (Mutator m = heap.attach()) {
                    SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(held.list())), HeldCompaction.CELLS); // faults, served
                }
                assertEquals(1, (long) REPLAYED.invokeExact() - replayedBefore, "the reader's fault message was kept");
                assertEquals(faultedView, (long) REPLAYED_ADDRESS.invokeExact() & -4096L, "on the list's page");
                assertEquals(1, uffd.stat(Stat.FAULTS), "served once so far");
                held.compactors().release.countDown();
                heap.awaitCompaction();
                try (Mutator m = heap.attach()) {
                    m.collect(); // flips to a new view: the service thread serves the copy
                }
                assertNotEquals(faultedView, uffd.viewAddress(), "the flip moved the view");
            } finally {
                REPLAY.invokeExact(0L);
            }
            UffdTestSupport.awaitAtLeastOne("the copy to be served", () -> uffd.stat(Stat.STALE_MESSAGES) + uffd.stat(Stat.ERRORS));
            assertEquals(0, uffd.stat(Stat.ERRORS), () -> "the stale message was taken for an error: errno "
                + uffd.stat(Stat.LAST_ERRNO) + " at page " + uffd.stat(Stat.LAST_ERROR_PAGE));
            assertEquals(1, uffd.stat(Stat.STALE_MESSAGES));
            heap.awaitCompaction();
            try (Mutator m = heap.attach()) {
                SigbusDeliveryTest.checkList(m, m.push(heap.globals().get(held.list())), HeldCompaction.CELLS);
            }
            assertTrue(heap.verify().ok());
        }
    }
}
