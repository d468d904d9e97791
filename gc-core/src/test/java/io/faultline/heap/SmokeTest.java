package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.ObjectType;
import org.junit.jupiter.api.Test;

class SmokeTest {
    static final ObjectType NODE = ObjectType.builder("SmokeNode").refs("left", "right").i32("item").build();

    @Test
    void listSurvivesCollections() {
        for (boolean concurrent : new boolean[] {false, true}) {
            HeapConfig cfg = HeapConfig.builder().capacity(1 << 20).checkedAccess(true).verifyAfterGc(true)
                    .concurrentCompaction(concurrent).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                long item = NODE.field("item");
                int head = m.push(0);
                for (int i = 0; i < 60_000; i++) {
                    int n = m.allocate(NODE);
                    m.setInt(n, item, i);
                    if (i % 3 == 0) {
                        m.setRef(n, 0, m.handle(head));
                        m.setHandle(head, n);
                    }
                }
                m.collect();
                int expect = 59_999 - (59_999 % 3);
                int count = 0;
                for (int n = m.handle(head); n != 0; n = m.getRef(n, 0)) {
                    assertEquals(expect, m.getInt(n, item));
                    expect -= 3;
                    count++;
                }
                assertEquals(20_000, count);
                assertTrue(heap.stats().gcCycles() >= 2, heap.stats().toString());
                assertTrue(heap.verify().ok());
            }
        }
    }
}
