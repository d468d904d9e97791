package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdBackends;
import io.faultline.uffd.UffdProbe;
import io.faultline.uffd.UffdProbe.Mode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Nothing of ours survives close(); close() during compaction returns; the auto selection. */
class UffdHygieneTest {
    static final ObjectType NODE = ObjectType.builder("HygieneNode").refs("next").i32("id").bytes("pad", 40).build();

    @ParameterizedTest
    @EnumSource(Mode.class)
    void closeLeavesNothingBehind(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        List<String> fds0 = HygieneSupport.ourFds();
        List<String> maps0 = HygieneSupport.ourMappings();
        long address;
        long capacity;
        try (Heap heap = heap(mode, 1 << 20, 1); Mutator m = heap.attach()) {
            address = ((UffdBackend) io.faultline.heap.HeapInternals.backend(heap)).viewAddress();
            capacity = heap.config().capacity();
            buildList(m, 3000);
            for (int i = 0; i < 3; i++) {
                m.collect();
            }
            assertTrue(HygieneSupport.ourFds().size() > fds0.size(), "the heap holds descriptors while open");
            assertTrue(!HygieneSupport.ourThreads().isEmpty(), "the service thread runs while open");
        }
        assertEquals(fds0, HygieneSupport.ourFds(), "descriptors left behind");
        assertEquals(maps0, HygieneSupport.ourMappings(), "memfd mappings left behind");
        assertEquals(List.of(), HygieneSupport.mappingsOverlapping(address, capacity), "view still mapped");
        assertEquals(List.of(), HygieneSupport.ourThreads(), "threads left behind");
    }

    /**
     * Each flip maps a new view instead of emptying the old one; the old view is unmapped when the
     * compaction ends, and a segment of it kept across the pause throws instead of reading
     * unmapped memory.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void eachFlipMapsANewViewAndAStaleViewSegmentThrows(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        try (Heap heap = heap(mode, 1 << 20, 1); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) io.faultline.heap.HeapInternals.backend(heap);
            int head = buildList(m, 3000);
            for (int cycle = 1; cycle <= 3; cycle++) {
                java.lang.foreign.MemorySegment old = backend.view();
                long oldAddress = backend.viewAddress();
                long firstWord = old.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
                m.collect();
                heap.awaitCompaction();
                assertTrue(backend.viewAddress() != oldAddress, "cycle " + cycle + ": the flip maps a new view");
                IllegalStateException stale = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> old.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), "cycle " + cycle + ": a segment of the old view");
                assertTrue(stale.getMessage().contains("closed"), stale.getMessage());
                assertEquals(firstWord, backend.view().get(java.lang.foreign.ValueLayout.JAVA_LONG, 0),
                    "the null guard's header survives in the new view");
                if (mode == Mode.CONTINUE) {
                    assertEquals(2, HygieneSupport.ourMappings().size(),
                        "view and alias only, the old view is unmapped: " + HygieneSupport.ourMappings());
                }
            }
            long id = NODE.field("id");
            int n = 0;
            for (int x = m.handle(head); x != 0; x = m.getRef(x, 0)) {
                assertEquals(2999 - n, m.getInt(x, id), "node " + n);
                n++;
            }
            assertEquals(3000, n);
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void twoHundredOpenCloseCyclesLeakNothing() {
        Mode[] modes = Mode.values();
        for (Mode m : modes) {
            UffdTestSupport.assumeAvailable(m);
        }
        List<String> fds0 = HygieneSupport.ourFds();
        int maps0 = HygieneSupport.maps().size();
        for (int i = 0; i < 200; i++) {
            Mode mode = modes[i % modes.length];
            try (Heap heap = heap(mode, 256 << 10, 1); Mutator m = heap.attach()) {
                buildList(m, 500);
                if (i % 4 == 0) {
                    m.collect();
                }
            }
        }
        assertEquals(fds0, HygieneSupport.ourFds(), "descriptors leaked");
        assertEquals(List.of(), HygieneSupport.ourMappings(), "memfd mappings leaked");
        assertEquals(List.of(), HygieneSupport.ourThreads(), "threads leaked");
        int maps1 = HygieneSupport.maps().size();
        // The JVM maps memory of its own meanwhile (code cache, thread stacks); 200 leaked views would be 200+.
        assertTrue(maps1 - maps0 < 60, "mappings grew from " + maps0 + " to " + maps1);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void closeDuringCompactionDoesNotHang(Mode mode) throws Exception {
        UffdTestSupport.assumeAvailable(mode);
        for (int round = 0; round < 5; round++) {
            Heap heap = heap(mode, 16 << 20, 2);
            AtomicBoolean built = new AtomicBoolean();
            AtomicLong walked = new AtomicLong();
            List<Thread> mutators = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                mutators.add(Thread.ofPlatform().daemon().start(() -> {
                    try (Mutator m = heap.attach()) {
                        int head = buildList(m, 20_000);
                        built.set(true);
                        while (true) {
                            for (int x = m.handle(head); x != 0; x = m.getRef(x, 0)) {
                                walked.incrementAndGet();
                            }
                            m.poll();
                        }
                    } catch (Throwable expected) {
                        // the heap closed under us: any exception, never a crash or a hang
                    }
                }));
            }
            while (!built.get()) {
                Thread.sleep(1);
            }
            heap.collect(); // returns with the compaction in flight
            Thread closer = Thread.ofPlatform().start(heap::close);
            assertTrue(closer.join(Duration.ofSeconds(20)), "close() hung during compaction (" + mode + ")");
            for (Thread t : mutators) {
                assertTrue(t.join(Duration.ofSeconds(20)), "a mutator hung after close (" + mode + ")");
            }
        }
        assertEquals(List.of(), HygieneSupport.ourThreads(), "threads left behind");
        assertEquals(List.of(), HygieneSupport.ourMappings(), "memfd mappings left behind");
    }

    @Test
    void autoPicksContinueWhenAvailableAndSaysWhy() {
        UffdProbe.Report report = UffdProbe.probe();
        UffdBackends.Selection s = UffdBackends.auto(report);
        System.out.println(s.explanation());
        assertTrue(!s.explanation().contains("\n"), "one line");
        if (report.available(Mode.CONTINUE)) {
            assertEquals("uffd/continue", s.name());
            try (var b = s.factory().create(64 * 4096, 4096)) {
                assertEquals("uffd", b.name());
                assertEquals("continue", b.mode());
            }
        } else {
            assertEquals("java", s.name());
        }
    }

    private static Heap heap(Mode mode, long capacity, int compactors) {
        return Heap.create(HeapConfig.builder().capacity(capacity).pageSize(4096).concurrentCompaction(true)
            .compactorThreads(compactors).verifyAfterGc(false).backend(UffdBackend.factory(mode)).build());
    }

    /** A list of n nodes behind a new handle; returns the handle. */
    private static int buildList(Mutator m, int n) {
        int head = m.push(0);
        long id = NODE.field("id");
        for (int i = 0; i < n; i++) {
            int x = m.allocate(NODE);
            m.setInt(x, id, i);
            m.setRef(x, 0, m.handle(head));
            m.setHandle(head, x);
        }
        return head;
    }
}
