package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.meta.MarkBitmap;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The classic lost-object race of concurrent marking, made deterministic with {@link MarkingHooks}:
 * the marker is held right after it scanned object A (so A is marked and will not be scanned
 * again) while object C is not marked yet; the mutator then copies the only reference to C into
 * a destination and clears the place it came from. Without a barrier C would stay unmarked while
 * it is reachable, and the compaction would forward the reference to it into garbage. Every
 * source (a slot of an unmarked object, a handle, a global root) is combined with every
 * destination (a slot of the marked A, a slot of an object allocated during marking, a new
 * handle, a new global root); C must survive the cycle with its contents, the verifier must pass,
 * and the test checks that the race really happened (C unmarked, A marked at the move).
 */
class LostObjectRaceTest {
    static final ObjectType BOX = ObjectType.builder("race.Box").ref("slot").i64("value").build();
    static final int SLOT = BOX.refSlot("slot");
    static final long VALUE = BOX.field("value");

    enum Source { UNMARKED_OBJECT_SLOT, HANDLE, GLOBAL_ROOT }

    enum Destination { MARKED_OBJECT_SLOT, NEW_OBJECT_SLOT, NEW_HANDLE, NEW_GLOBAL_ROOT }

    static Stream<Arguments> races() {
        return Stream.of(Source.values()).flatMap(s -> Stream.of(Destination.values()).map(d -> Arguments.of(s, d)));
    }

    /** Holds the marker right after it scanned one chosen object. */
    static final class HoldAfter implements MarkingHooks {
        volatile int ref = -1;
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public void traced(int r) {
            if (r == ref) {
                reached.countDown();
                await(release);
            }
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("races")
    void aReferenceMovedDuringMarkingSurvives(Source source, Destination destination) throws Exception {
        HoldAfter hooks = new HoldAfter();
        HeapConfig cfg = HeapConfig.builder().capacity(4L << 20).pageSize(4096).checkedAccess(true).verifyAfterGc(true)
                .concurrentMarking(true).markingThreads(1).markingHooks(hooks).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            // Roots in snapshot order: handle 0 = A (traced first, then the marker is held),
            // handle 1 = B, then C's own root if the source is a root. C is reachable only from the source.
            int hA = m.push(box(m, 1));
            int hB = m.push(box(m, 2));
            int c = box(m, 3);
            int hC = -1;
            int gC = -1;
            switch (source) {
                case UNMARKED_OBJECT_SLOT -> m.setRef(m.handle(hB), SLOT, c);
                case HANDLE -> hC = m.push(c);
                case GLOBAL_ROOT -> gC = heap.globals().add(c);
            }
            for (int i = 0; i < 200; i++) {
                m.allocateLongArray(6); // garbage, so the compaction moves C
            }
            hooks.ref = m.handle(hA);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread collector = Thread.ofPlatform().name("explicit-collect").start(() -> {
                try {
                    heap.collect();
                } catch (Throwable t) {
                    failed.set(t);
                }
            });
            // The initial-mark pause is offered to mutators that poll: this loop runs it or parks for it.
            while (hooks.reached.getCount() > 0 && collector.isAlive()) {
                m.poll();
            }
            assertTrue(hooks.reached.getCount() == 0, "the marker never scanned A: " + failed.get());

            // --- the race: the marker sits right after A; C is not marked yet ---
            MarkBitmap bitmap = HeapInternals.metadata(heap).bitmap();
            int a = m.handle(hA);
            int cRef = switch (source) {
                case UNMARKED_OBJECT_SLOT -> m.getRef(m.handle(hB), SLOT);
                case HANDLE -> m.handle(hC);
                case GLOBAL_ROOT -> heap.globals().get(gC);
            };
            assertTrue(bitmap.isMarked(ObjectLayout.refToOffset(a)), "A is marked");
            assertFalse(bitmap.isMarked(ObjectLayout.refToOffset(cRef)), "C must not be marked yet, or there is no race");
            int hDest = -1;
            int gDest = -1;
            switch (destination) {
                case MARKED_OBJECT_SLOT -> m.setRef(a, SLOT, cRef);
                case NEW_OBJECT_SLOT -> {
                    int n = m.allocate(BOX); // allocated black; a safepoint, so read C again
                    m.setLong(n, VALUE, 4);
                    cRef = switch (source) {
                        case UNMARKED_OBJECT_SLOT -> m.getRef(m.handle(hB), SLOT);
                        case HANDLE -> m.handle(hC);
                        case GLOBAL_ROOT -> heap.globals().get(gC);
                    };
                    m.setRef(n, SLOT, cRef);
                    m.setRef(m.handle(hA), SLOT, n);
                }
                case NEW_HANDLE -> hDest = m.push(cRef);
                case NEW_GLOBAL_ROOT -> gDest = heap.globals().add(cRef);
            }
            switch (source) {
                case UNMARKED_OBJECT_SLOT -> m.setRef(m.handle(hB), SLOT, 0);
                case HANDLE -> m.setHandle(hC, 0);
                case GLOBAL_ROOT -> heap.globals().remove(gC);
            }
            // --- release the marker and let the cycle finish without this mutator ---
            m.enterSafeRegion();
            hooks.release.countDown();
            assertTrue(collector.join(Duration.ofSeconds(60)), "the collection hung");
            m.leaveSafeRegion();
            if (failed.get() != null) {
                throw new AssertionError(failed.get());
            }
            heap.awaitCompaction();

            int found = switch (destination) {
                case MARKED_OBJECT_SLOT -> m.getRef(m.handle(hA), SLOT);
                case NEW_OBJECT_SLOT -> m.getRef(m.getRef(m.handle(hA), SLOT), SLOT);
                case NEW_HANDLE -> m.handle(hDest);
                case NEW_GLOBAL_ROOT -> heap.globals().get(gDest);
            };
            assertTrue(found != 0, "C's new holder lost it");
            assertEquals(3, m.getLong(found, VALUE), "C's contents");
            assertEquals(1, m.getLong(m.handle(hA), VALUE), "A's contents");
            assertTrue(heap.verify().ok(), "the verifier found damage");
            HeapStats st = heap.stats();
            assertEquals(1, st.concurrentCycles(), st.toString());
            assertEquals(st.gcCycles(), st.verifiedCycles(), st.toString());
            if (source == Source.UNMARKED_OBJECT_SLOT) {
                assertTrue(st.satbEntries() >= 1, "clearing B's slot must have logged C: " + st);
            }
        }
    }

    private static int box(Mutator m, long value) {
        int b = m.allocate(BOX);
        m.setLong(b, VALUE, value);
        return b;
    }

    static void await(CountDownLatch l) {
        try {
            if (!l.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("latch timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
