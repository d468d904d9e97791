package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.model.ObjectType;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Several mutators allocate mostly garbage into a small heap whose live data never exceeds a
 * third of it. No allocation may fail: an allocation that finds the heap full after another
 * thread's collection must collect again rather than report exhaustion. Each mutator keeps a
 * window of live objects whose contents it checks against its own model after every allocation
 * burst; the verifier runs after every cycle. Seeded: a failure prints the seed;
 * {@code -Dfaultline.seed=N} replays it.
 */
class AllocationPressureTest {
    static final ObjectType CELL = ObjectType.builder("pressure.Cell").refs("next").i64("v").build();

    @ParameterizedTest(name = "{0} mutators, concurrent={1}")
    @CsvSource({"2,true", "4,true", "4,false"})
    void mutatorsThatKeepLittleLiveNeverSeeHeapExhausted(int threads, boolean concurrent) throws Exception {
        long base = Long.getLong("faultline.seed", System.nanoTime());
        long capacity = 8L << 20;
        HeapConfig cfg = HeapConfig.builder().capacity(capacity).tlabBytes(16 << 10).verifyAfterGc(true)
                .concurrentCompaction(concurrent).compactorThreads(2).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] seeds = new long[threads];
        try (Heap heap = Heap.create(cfg)) {
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                long seed = base + t;
                seeds[t] = seed;
                // Each thread's live window: at most 256 cells + one 64 KiB array = ~70 KiB.
                ts[t] = Thread.ofPlatform().name("pressure-" + t).start(() -> {
                    try (Mutator m = heap.attach()) {
                        run(m, new SplittableRandom(seed));
                    } catch (Throwable e) {
                        failure.compareAndSet(null, new AssertionError("seed " + seed + " (replay: -Dfaultline.seed="
                                + base + "): " + e, e));
                    }
                });
            }
            for (Thread t : ts) {
                t.join(120_000);
                assertTrue(!t.isAlive(), "mutator " + t.getName() + " hung; seeds from " + base);
            }
            if (failure.get() != null) {
                fail(failure.get());
            }
            HeapStats s = heap.stats();
            assertTrue(s.gcCycles() >= 5, "the workload must collect repeatedly: " + s);
            heap.awaitCompaction();
            assertTrue(heap.verify().ok(), "verifies at the end; seed " + base);
        }
    }

    private static void run(Mutator m, SplittableRandom rnd) {
        final int window = 256;
        long next = CELL.field("v");
        int ring = m.push(m.allocateRefArray(window));
        long[] model = new long[window];
        int big = m.push(0);
        long bigValue = 0;
        for (int i = 0; i < 60_000; i++) {
            int slot = rnd.nextInt(window);
            long v = rnd.nextLong();
            int cell = m.allocate(CELL);
            m.setLong(cell, next, v);
            m.setRef(m.handle(ring), slot, cell);
            model[slot] = v;
            // garbage of varied sizes, some above half a TLAB (direct allocation)
            int kind = rnd.nextInt(100);
            if (kind < 2) {
                int arr = m.allocateLongArray(8 << 10); // 64 KiB: the live big array is replaced
                bigValue = rnd.nextLong();
                m.setLongAt(arr, 8191, bigValue);
                m.setHandle(big, arr);
            } else if (kind < 30) {
                m.allocateByteArray(rnd.nextInt(1, 3000));
            }
            if ((i & 1023) == 0) {
                int r = m.handle(ring);
                for (int s = 0; s < window; s++) {
                    int c = m.getRef(r, s);
                    assertEquals(model[s], c == 0 ? 0 : m.getLong(c, next), "ring slot " + s + " at step " + i);
                }
                if (m.handle(big) != 0) {
                    assertEquals(bigValue, m.getLongAt(m.handle(big), 8191), "big array at step " + i);
                }
            }
        }
    }
}
