package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.testing.ModelRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Mutator#allocatedBytes()} counts every byte allocated, exactly once: the allocation fast
 * path counts nothing, a TLAB's used part is counted when it is retired (by the mutator's refill,
 * by a pause, by its detach), and objects outside TLABs when they are allocated. Seeded mixes of
 * small objects and arrays larger than half a TLAB, across concurrent and full collections.
 */
class AllocatedBytesTest {
    static final ObjectType PAIR = ObjectType.builder("bytes.Pair").refs("a", "b").i64("x").build();

    @Test
    void everyAllocatedByteIsCountedOnce() {
        long replay = ModelRunner.replaySeed();
        long seed = replay >= 0 ? replay : System.nanoTime();
        try {
            SplittableRandom random = new SplittableRandom(seed);
            HeapConfig cfg = HeapConfig.builder().capacity(4L << 20).tlabBytes(4096).verifyAfterGc(true).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                long expected = 0;
                for (int i = 0; i < 200_000; i++) {
                    assertEquals(expected, m.allocatedBytes(), "after " + i + " allocations");
                    int kind = random.nextInt(100);
                    if (kind < 90) {
                        m.allocate(PAIR);
                        expected += PAIR.sizeWords() << ObjectLayout.LOG_WORD_BYTES;
                    } else if (kind < 98) {
                        int length = random.nextInt(64);
                        m.allocateLongArray(length);
                        expected += ObjectLayout.objectWords(0, 8L * length) << ObjectLayout.LOG_WORD_BYTES;
                    } else {
                        int length = 300 + random.nextInt(2000); // more than half a TLAB: outside TLABs
                        m.allocateLongArray(length);
                        expected += ObjectLayout.objectWords(0, 8L * length) << ObjectLayout.LOG_WORD_BYTES;
                    }
                    if (i % 50_000 == 49_999) {
                        m.collect(); // a full pause retires the TLAB
                    }
                }
                assertEquals(expected, m.allocatedBytes());
                assertTrue(heap.stats().gcCycles() >= 4, heap.stats().toString());
            }
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
        }
    }
}
