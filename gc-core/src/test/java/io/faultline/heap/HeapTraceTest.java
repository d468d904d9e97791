package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.gc.GcPhase;
import io.faultline.meta.PageStates;
import io.faultline.meta.TraceRing;
import io.faultline.testing.TestTypes;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A traced heap: the traced cycles' records reach the sink (every to-space page's walk from the
 * pause's bulk UNPROCESSED to MAPPED, and the cycle's phases), untraced cycles do not, and close()
 * stops the drain thread after draining the rest.
 */
class HeapTraceTest {

    @Test
    void tracedCyclesReachTheSinkAndCloseStopsTheDrainThread() {
        List<TraceRing.Event> events = new CopyOnWriteArrayList<>();
        HeapConfig cfg = HeapConfig.builder().capacity(4 << 20).concurrentCompaction(true)
                .trace(1, 2, 4096, events::add).build();
        long cycles;
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int head = m.push(0);
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 20_000; i++) {
                    int n = m.allocate(TestTypes.NODE);
                    if (i % 4 == 0) {
                        m.setRef(n, 0, m.handle(head));
                        m.setHandle(head, n);
                    }
                }
                m.collect();
                heap.awaitCompaction();
            }
            assertTrue(drainThreadAlive(), "the drain thread runs while tracing");
            cycles = heap.stats().gcCycles();
        }
        assertFalse(drainThreadAlive(), "close() stopped the drain thread");
        assertTrue(cycles >= 3, "cycles: " + cycles);

        Set<Long> tracedCycles = new HashSet<>();
        for (TraceRing.Event e : events) {
            tracedCycles.add(e.epoch());
        }
        assertEquals(Set.of(1L, 2L), tracedCycles, "cycles 1 and 2 only");
        for (long cycle = 1; cycle <= 2; cycle++) {
            long c = cycle;
            List<TraceRing.Event> ofCycle = events.stream().filter(e -> e.epoch() == c).toList();
            List<TraceRing.Event> ranges = ofCycle.stream().filter(e -> e.kind() == TraceRing.KIND_STATE_RANGE).toList();
            assertEquals(1, ranges.size(), "one bulk MAPPED -> UNPROCESSED per cycle");
            TraceRing.Event range = ranges.getFirst();
            assertEquals(PageStates.MAPPED, range.a());
            assertEquals(PageStates.UNPROCESSED, range.b());
            Map<Long, Integer> last = new HashMap<>();
            for (TraceRing.Event e : ofCycle) {
                if (e.kind() == TraceRing.KIND_STATE) {
                    last.put(e.page(), e.b());
                }
            }
            for (long p = range.page(); p < range.page() + range.value(); p++) {
                assertEquals(PageStates.MAPPED, last.get(p), "cycle " + c + " page " + p + " ends MAPPED");
            }
            Set<Integer> phases = new HashSet<>();
            ofCycle.stream().filter(e -> e.kind() == TraceRing.KIND_PHASE_END).forEach(e -> phases.add(e.a()));
            assertTrue(phases.containsAll(Set.of(GcPhase.COMPACTION.ordinal(), GcPhase.RELEASE.ordinal())), phases::toString);
        }
    }

    private static boolean drainThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("faultline-trace-drain") && t.isAlive());
    }
}
