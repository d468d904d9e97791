package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.PageProtocol;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectType;
import io.faultline.testing.RecordingBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Targeted races of concurrent compaction on the java backend. Compactor threads are held inside
 * the backend (see {@link RecordingBackend}) so that mutators meet unbuilt pages on purpose;
 * to-space is poisoned at every pause, so reading an unbuilt page cannot go unnoticed.
 */
class ConcurrentCompactionRaceTest {
    static final ObjectType ITEM = ObjectType.builder("race.Item").ref("next").i64("value").build();
    static final int PAGE = 4096;

    private RecordingBackend backend;

    private Heap heap(int compactors) {
        HeapConfig cfg = HeapConfig.builder().capacity(512 * PAGE).pageSize(PAGE).checkedAccess(true)
                .verifyAfterGc(true).concurrentCompaction(true).compactorThreads(compactors)
                .backend((cap, ps) -> backend = new RecordingBackend(cap, ps)).build();
        return Heap.create(cfg);
    }

    /** Builds a list of n items (value = index), with garbage between them, in a new handle; returns it. */
    private static int buildList(Mutator m, int n) {
        int h = m.push(0);
        for (int i = n - 1; i >= 0; i--) {
            m.allocateLongArray(7); // garbage, so everything moves
            int it = m.allocate(ITEM);
            m.setLong(it, ITEM.field("value"), i);
            m.setRef(it, 0, m.handle(h));
            m.setHandle(h, it);
        }
        return h;
    }

    private static void checkList(Mutator m, int list, int n) {
        int i = 0;
        for (int it = m.handle(list); it != 0; it = m.getRef(it, 0)) {
            assertEquals(i, m.getLong(it, ITEM.field("value")), "item " + i);
            i++;
        }
        assertEquals(n, i);
    }

    @Test
    void twoMutatorsFaultingTheSamePageBuildItOnce() throws Exception {
        try (Heap heap = heap(1)) {
            CountDownLatch hold = new CountDownLatch(1);
            backend.compactorHook = p -> await(hold);
            int n = 3000;
            try (Mutator m = heap.attach()) {
                // Ballast fills to-space pages [0, CLAIM_AHEAD_PAGES) exactly (16-byte null guard,
                // 16-byte array header, the elements), so the held compactor, which claims that many
                // pages before it builds the first, owns pages the readers never touch: they build
                // every other page.
                heap.globals().add(m.allocateLongArray((PageProtocol.CLAIM_AHEAD_PAGES * PAGE - 32) / 8));
                int list = buildList(m, n);
                int shared = heap.globals().add(m.handle(list));
                m.popTo(list);
                m.collect(); // compactors are held: every page is left to faulting mutators
                CountDownLatch start = new CountDownLatch(1);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    ts.add(Thread.ofPlatform().start(() -> {
                        try (Mutator mm = heap.attach()) {
                            await(start);
                            checkList(mm, mm.push(heap.globals().get(shared)), n);
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                    }));
                }
                m.enterSafeRegion();
                start.countDown();
                for (Thread t : ts) {
                    assertTrue(t.join(Duration.ofSeconds(60)), "mutator hung");
                }
                m.leaveSafeRegion();
                if (failure.get() != null) {
                    throw new AssertionError(failure.get());
                }
                assertTrue(heap.stats().faults() >= 2, heap.stats().toString());
                backend.builds.forEach((page, count) -> assertEquals(1, count.get(), "page " + page + " built more than once"));
                hold.countDown();
            }
        }
    }

    @Test
    void mutatorWaitsForAPageACompactorOwns() throws Exception {
        try (Heap heap = heap(1)) {
            HeldBuild held = holdBuildOfPage0();
            try (Mutator m = heap.attach()) {
                int list = buildList(m, 50); // everything fits on page 0 after compaction
                m.collect();
                held.awaitInside();
                long faultsBefore = heap.stats().faults();
                int g = heap.globals().add(m.handle(list)); // global 0, for the reader: set before it starts
                assertEquals(0, g);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread reader = Thread.ofPlatform().start(() -> {
                    try (Mutator mm = heap.attach()) {
                        checkList(mm, mm.push(heap.globals().get(0)), 50);
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                m.enterSafeRegion();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (heap.stats().faults() == faultsBefore && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                assertTrue(heap.stats().faults() > faultsBefore, "reader never faulted (reader failure: " + failure.get() + ")");
                assertTrue(reader.isAlive(), "reader must wait while the compactor owns the page");
                held.release().countDown();
                assertTrue(reader.join(Duration.ofSeconds(30)), "reader hung");
                m.leaveSafeRegion();
                if (failure.get() != null) {
                    throw new AssertionError(failure.get());
                }
                assertEquals(1, backend.builds.get(0L).get(), "page 0 built exactly once");
            }
        }
    }

    /**
     * A compactor claims a batch of {@link PageProtocol#CLAIM_AHEAD_PAGES} pages before it builds
     * the first (claims are CASes, kept away from the copies), and no more: the page after the
     * batch stays UNPROCESSED for a faulting mutator to build itself.
     */
    @Test
    void aCompactorClaimsOneBatchAheadOfItsBuild() throws Exception {
        try (Heap heap = heap(1)) {
            HeldBuild held = holdBuildOfPage0();
            try (Mutator m = heap.attach()) {
                int list = buildList(m, 3000); // live data on more than CLAIM_AHEAD_PAGES pages
                m.collect();
                held.awaitInside();
                PageStates states = HeapInternals.metadata(heap).pageStates();
                int batch = PageProtocol.CLAIM_AHEAD_PAGES;
                for (int p = 0; p < batch; p++) {
                    assertEquals(PageStates.PROCESSING, states.stateAcquire(p), "page " + p + " of the compactor's first batch");
                }
                assertEquals(PageStates.UNPROCESSED, states.stateAcquire(batch), "page " + batch + ", after the batch");
                held.release().countDown();
                heap.awaitCompaction();
                checkList(m, list, 3000);
            }
        }
    }

    @Test
    void writesToMappedPagesSurviveWhileCompactorsContinue() {
        try (Heap heap = heap(2)) {
            backend.compactorHook = p -> sleepMicros(300); // keep compaction in flight
            int n = 6000;
            try (Mutator m = heap.attach()) {
                int list = buildList(m, n);
                for (int round = 0; round < 3; round++) {
                    m.collect();
                    // Walk and rewrite every item while compactors are still building pages.
                    int i = 0;
                    for (int it = m.handle(list); it != 0; it = m.getRef(it, 0)) {
                        m.setLong(it, ITEM.field("value"), m.getLong(it, ITEM.field("value")) + 1000);
                        i++;
                    }
                    assertEquals(n, i);
                }
                assertTrue(heap.verify().ok());
                int i = 0;
                for (int it = m.handle(list); it != 0; it = m.getRef(it, 0)) {
                    assertEquals(i + 3000, m.getLong(it, ITEM.field("value")), "item " + i);
                    i++;
                }
                assertTrue(heap.stats().faults() > 0);
            }
        }
    }

    @Test
    void aSecondCollectionWaitsForThePreviousCompaction() {
        try (Heap heap = heap(1)) {
            backend.compactorHook = p -> sleepMicros(500);
            try (Mutator m = heap.attach()) {
                int list = buildList(m, 4000);
                for (int i = 0; i < 4; i++) {
                    m.collect(); // back to back: each must finish the previous compaction first
                }
                heap.verify();
                List<String> ev = new ArrayList<>(backend.events);
                for (int i = 0; i + 1 < ev.size(); i += 2) {
                    assertTrue(ev.get(i).startsWith("begin " + (i / 2 + 1)), ev.toString());
                    assertTrue(ev.get(i + 1).startsWith("end " + (i / 2 + 1)), ev.toString());
                    String pages = ev.get(i).substring(ev.get(i).indexOf("pages=") + 6);
                    assertEquals("built=" + pages, ev.get(i + 1).substring(ev.get(i + 1).indexOf("built=")), ev.toString());
                }
                checkList(m, list, 4000);
            }
        }
    }

    @Test
    void aFailedPageBuildFailsTheMutatorsWaitingForItInsteadOfHangingThem() throws Exception {
        try (Heap heap = heap(1)) {
            CountDownLatch failed = new CountDownLatch(1);
            backend.compactorHook = p -> {
                failed.countDown();
                throw new IllegalStateException("injected build failure on page " + p);
            };
            try (Mutator m = heap.attach()) {
                int list = buildList(m, 50); // everything fits on page 0 after compaction
                m.collect();
                assertTrue(failed.await(30, TimeUnit.SECONDS), "compactor never tried page 0");
                HeapCorruptedException e = assertThrows(HeapCorruptedException.class, () -> checkList(m, list, 50));
                assertTrue(e.getMessage().contains("to-space page 0"), "names the page: " + e);
                assertThrows(HeapCorruptedException.class, m::collect, "a collection cannot wait for the page either");
            }
        }
    }

    @Test
    void closeDuringCompactionReturnsPromptlyAndStopsCompactors() throws Exception {
        Heap heap = heap(2);
        CountDownLatch go = new CountDownLatch(1); // the compactors build nothing until the test has looked
        backend.compactorHook = p -> {
            await(go);
            sleepMicros(2000);
        };
        Mutator m = heap.attach();
        int list = buildList(m, 8000);
        m.collect();
        assertTrue(heap.isCompacting(), "compaction should still be in flight");
        go.countDown(); // close now lands among 2 ms page builds
        long t0 = System.nanoTime();
        heap.close();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 5000, "close took " + ms + " ms");
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("faultline-compactor") && t.isAlive()) {
                assertTrue(t.join(Duration.ofSeconds(5)), "compactor thread " + t.getName() + " survived close()");
            }
        }
        assertThrowsClosed(m);
    }

    private static void assertThrowsClosed(Mutator m) {
        try {
            m.allocate(ITEM);
            throw new AssertionError("allocation after close() must fail");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("closed"), expected.getMessage());
        }
    }

    /** The compactor, inside the build of page 0, waiting for {@code release}. */
    private record HeldBuild(CountDownLatch inside, CountDownLatch release) {
        void awaitInside() throws InterruptedException {
            assertTrue(inside.await(30, TimeUnit.SECONDS), "compactor never claimed page 0");
        }
    }

    /** Holds the compactor inside its build of page 0 until the returned latch is released. */
    private HeldBuild holdBuildOfPage0() {
        HeldBuild held = new HeldBuild(new CountDownLatch(1), new CountDownLatch(1));
        backend.compactorHook = p -> {
            if (p == 0) {
                held.inside().countDown();
                await(held.release());
            }
        };
        return held;
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

    static void sleepMicros(long us) {
        java.util.concurrent.locks.LockSupport.parkNanos(us * 1000);
    }
}
