package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.InvalidAccessException;
import io.faultline.model.ObjectType;
import org.junit.jupiter.api.Test;

/** Every checked-mode rejection and configuration error, with the words its message must carry. */
class BadInputTest {
    static final ObjectType PAIR = ObjectType.builder("bad.Pair").refs("first", "second").i32("count").build();

    private static Heap checkedHeap() {
        return Heap.create(HeapConfig.builder().capacity(1 << 20).checkedAccess(true).verifyAfterGc(true).build());
    }

    private static void assertMessage(Throwable t, String... parts) {
        for (String p : parts) {
            assertTrue(t.getMessage().contains(p), "message '" + t.getMessage() + "' should mention '" + p + "'");
        }
    }

    @Test
    void nullReferenceIsRejected() {
        try (Heap heap = checkedHeap(); Mutator m = heap.attach()) {
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getRef(0, 0)), "getRef", "null");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.setInt(0, PAIR.field("count"), 1)), "setInt", "null");
        }
    }

    @Test
    void outOfHeapReferenceIsRejected() {
        try (Heap heap = checkedHeap(); Mutator m = heap.attach()) {
            m.allocate(PAIR);
            InvalidAccessException e = assertThrows(InvalidAccessException.class, () -> m.getRef(0x7fff_0000, 0));
            assertMessage(e, "getRef", "0x7fff0000", "outside the used heap");
        }
    }

    @Test
    void referenceIntoTheMiddleOfAnObjectIsRejected() {
        try (Heap heap = checkedHeap(); Mutator m = heap.attach()) {
            int obj = m.allocate(PAIR);
            m.allocate(PAIR);
            int inside = obj + 1; // 8 bytes into the object: its class word, not a header
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getInt(inside, PAIR.field("count"))),
                    "getInt", "does not point at an object header");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.setRef(obj, 0, inside)),
                    "setRef", "bad.Pair@0x", ".first value", "does not point at an object header");
        }
    }

    @Test
    void slotFieldAndIndexOutOfRangeAreRejected() {
        try (Heap heap = checkedHeap(); Mutator m = heap.attach()) {
            int obj = m.allocate(PAIR);
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getRef(obj, 2)),
                    "getRef", "slot 2", "bad.Pair@0x", "2 reference slots");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getLong(obj, PAIR.field("count"))),
                    "getLong", "field 'count'", "outside the data bytes", "bad.Pair@0x");
            int arr = m.allocateIntArray(5);
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getIntAt(arr, 5)),
                    "getIntAt", "index 5", "int[]@0x", "length 5");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getIntAt(arr, -1)), "index -1");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.getLongAt(arr, 0)),
                    "getLongAt", "is not a long[]");
            assertMessage(assertThrows(InvalidAccessException.class, () -> m.handle(m.handleMark() + 99)), "handle slot", "not live");
        }
    }

    @Test
    void unknownFieldNamesAndBadConfigurationNameTheCulprit() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> PAIR.field("nope")), "bad.Pair", "nope", "count");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> PAIR.refSlot("nope")), "bad.Pair", "nope");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> ObjectType.builder("Dup").ref("a").i32("a")), "duplicate field 'a'");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HeapConfig.builder().capacity(-5)), "capacity", "-5");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HeapConfig.builder().pageSize(3000)), "pageSize", "3000");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HeapConfig.builder().tlabBytes(100)), "tlabBytes", "100");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HeapConfig.builder().compactorThreads(0)), "compactorThreads");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> HeapConfig.builder().compactionStepPages(0)),
                "compactionStepPages");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> HeapConfig.builder().capacity(4096).pageSize(4096).build()), "capacity", "16 pages");
        try (Heap heap = checkedHeap(); Mutator m = heap.attach()) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> m.allocateIntArray(-1)), "int[]", "negative length -1");
        }
    }

    @Test
    void uncheckedModeIsAPlainAccess() {
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(1 << 20).build()); Mutator m = heap.attach()) {
            int obj = m.allocate(PAIR);
            m.setInt(obj, PAIR.field("count"), 42);
            assertEquals(42, m.getInt(obj, PAIR.field("count")));
        }
    }

    @Test
    void exhaustionLeavesAConsistentHeapThatWorksAfterRootsAreDropped() {
        for (boolean concurrent : new boolean[] {false, true}) {
            HeapConfig cfg = HeapConfig.builder().capacity(256 << 10).checkedAccess(true).verifyAfterGc(true)
                    .concurrentCompaction(concurrent).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                int list = m.push(0);
                int kept = 0;
                HeapExhaustedException e = null;
                try {
                    while (true) {
                        int arr = m.allocateRefArray(100);
                        m.setRef(arr, 0, m.handle(list));
                        m.setHandle(list, arr);
                        kept++;
                    }
                } catch (HeapExhaustedException x) {
                    e = x;
                }
                assertTrue(kept > 100);
                assertMessage(e, "heap exhausted", "cannot allocate", "bytes");
                assertTrue(e.stats().liveAfterLastGc() > (200 << 10), e.stats().toString());
                assertTrue(heap.verify().ok());
                int count = 0;
                for (int n = m.handle(list); n != 0; n = m.getRef(n, 0)) {
                    count++;
                }
                assertEquals(kept, count, "every object allocated before the failure survives");
                m.setHandle(list, 0);
                for (int i = 0; i < 10_000; i++) {
                    m.allocateRefArray(100);
                }
                assertTrue(heap.verify().ok());
                assertEquals(heap.stats().gcCycles(), heap.stats().verifiedCycles());
            }
        }
    }
}
