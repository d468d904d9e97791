package io.faultline.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The trace ring: off by default, a full ring drops and counts instead of blocking, the drain frees slots in order. */
class TraceRingTest {

    @Test
    void fullRingDropsAndCountsAndDrainFreesSlotsInOrder() {
        try (GcMetadata md = new GcMetadata(1 << 20, 4096)) {
            TraceRing ring = md.traceRing();
            assertFalse(ring.on(TraceRing.KIND_STATE), "off until enabled");
            assertEquals(0, md.control().get(ControlBlock.TRACE), "no ring, no address for C");
            ring.allocate(1000);
            assertEquals(1024, ring.capacity(), "rounded up to a power of two");
            assertTrue(md.control().get(ControlBlock.TRACE) != 0);
            ring.enable(TraceRing.bit(TraceRing.KIND_STATE), 0, 1);
            assertTrue(ring.on(TraceRing.KIND_STATE));
            assertFalse(ring.on(TraceRing.KIND_FAULT));
            for (int i = 0; i < 1100; i++) {
                ring.record(TraceRing.KIND_STATE, 7, i, 0, PageStates.UNPROCESSED, PageStates.PROCESSING);
            }
            assertEquals(1024, ring.written());
            assertEquals(76, ring.dropped());
            List<TraceRing.Event> events = new ArrayList<>();
            assertEquals(1024, ring.drain(events::add));
            for (int i = 0; i < events.size(); i++) {
                TraceRing.Event e = events.get(i);
                assertEquals(i, e.index());
                assertEquals(i, e.page());
                assertEquals(7, e.epoch());
                assertEquals(TraceRing.ORIGIN_JAVA, e.origin());
                assertEquals(Thread.currentThread().threadId(), e.thread());
            }
            ring.record(TraceRing.KIND_STATE, 8, 5000, 0, PageStates.PROCESSING, PageStates.PROCESSED);
            assertEquals(76, ring.dropped(), "room again after the drain");
            List<TraceRing.Event> more = new ArrayList<>();
            ring.drain(more::add);
            assertEquals(1, more.size());
            assertEquals(5000, more.getFirst().page());
        }
    }

    @Test
    void faultsBelowTheThresholdAreSampled() {
        try (GcMetadata md = new GcMetadata(1 << 20, 4096)) {
            TraceRing ring = md.traceRing();
            ring.allocate(4096);
            ring.enable(TraceRing.bit(TraceRing.KIND_FAULT), 100_000, 32);
            for (int i = 0; i < 320; i++) {
                ring.fault(1, i, System.nanoTime(), i == 5 ? 200_000 : 1_000, TraceRing.DELIVERY_JAVA, 1, i);
            }
            List<TraceRing.Event> events = new ArrayList<>();
            ring.drain(events::add);
            assertEquals(11, events.size(), "one in 32 of the short ones, and the long one: " + events);
            assertTrue(events.stream().anyMatch(e -> e.page() == 5 && e.value() == 200_000));
        }
    }
}
