package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.testing.RecordingBackend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The concurrent cycle's phases and their edges, each made deterministic by holding the
 * collector with {@link MarkingHooks} at a chosen point while a mutator acts: objects allocated
 * during marking and between remark and flip survive (allocated black); a mutator that attaches
 * during marking gets the barrier and hands its log over when it detaches; full barrier buffers
 * circulate; an allocation that does not fit waits for the cycle in progress (a stall), and if
 * the cycle does not flip in time a full pause abandons it; close() during marking returns;
 * several marking threads agree on deep and wide graphs. Verifier after every cycle.
 */
class ConcurrentCycleTest {
    static final ObjectType BOX = ObjectType.builder("cycle.Box").ref("slot").i64("value").build();
    static final int SLOT = BOX.refSlot("slot");
    static final long VALUE = BOX.field("value");

    /** Holds the collector at one chosen point. */
    static final class Hold implements MarkingHooks {
        enum At { TRACED, INITIAL_MARK_DONE, BEFORE_FLIP }

        final At at;
        volatile int ref = -1;
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        Hold(At at) {
            this.at = at;
        }

        @Override
        public void initialMarkDone(long cycle) {
            hold(at == At.INITIAL_MARK_DONE);
        }

        @Override
        public void traced(int r) {
            hold(at == At.TRACED && r == ref);
        }

        @Override
        public void beforeFlip(long cycle) {
            hold(at == At.BEFORE_FLIP);
        }

        private void hold(boolean here) {
            if (here && reached.getCount() > 0) {
                reached.countDown();
                LostObjectRaceTest.await(release);
            }
        }
    }

    private static Heap heap(MarkingHooks hooks, int markers, long capacity, List<String> log) {
        return Heap.create(HeapConfig.builder().capacity(capacity).pageSize(4096).checkedAccess(true).verifyAfterGc(true)
                .concurrentMarking(true).markingThreads(markers).markingHooks(hooks)
                .gcLog(log == null ? null : log::add).build());
    }

    /** Starts heap.collect() on another thread; its failure goes to {@code failed}. */
    private static Thread startCollect(Heap heap, AtomicReference<Throwable> failed) {
        return Thread.ofPlatform().name("explicit-collect").start(() -> {
            try {
                heap.collect();
            } catch (Throwable e) {
                failed.set(e);
            }
        });
    }

    /** Starts heap.collect() on another thread; the caller polls until the hook is reached. */
    private static Thread collectUntilHeld(Heap heap, Mutator m, Hold hold, AtomicReference<Throwable> failed) {
        Thread t = startCollect(heap, failed);
        while (hold.reached.getCount() > 0 && t.isAlive()) {
            m.poll(); // takes or parks for the pauses on the way
        }
        assertEquals(0, hold.reached.getCount(), "the collector never reached the hold: " + failed.get());
        return t;
    }

    private static void releaseAndJoin(Mutator m, Hold hold, Thread t, AtomicReference<Throwable> failed) throws Exception {
        m.enterSafeRegion();
        hold.release.countDown();
        assertTrue(t.join(Duration.ofSeconds(60)), "the collection hung");
        m.leaveSafeRegion();
        if (failed.get() != null) {
            throw new AssertionError(failed.get());
        }
    }

    private static int box(Mutator m, long value) {
        int b = m.allocate(BOX);
        m.setLong(b, VALUE, value);
        return b;
    }

    /** Pushes a list of n boxes (values 0..n-1 from the head) and returns its handle. */
    private static int list(Mutator m, int n) {
        int h = m.push(0);
        for (int i = n - 1; i >= 0; i--) {
            int b = box(m, i);
            m.setRef(b, SLOT, m.handle(h));
            m.setHandle(h, b);
        }
        return h;
    }

    private static void checkList(Mutator m, int head, int n) {
        int i = 0;
        for (int b = head; b != 0; b = m.getRef(b, SLOT)) {
            assertEquals(i, m.getLong(b, VALUE), "node " + i);
            i++;
        }
        assertEquals(n, i, "list length");
    }

    @Test
    void objectsAllocatedDuringMarkingAndBeforeTheFlipSurvive() throws Exception {
        for (Hold.At at : new Hold.At[] {Hold.At.TRACED, Hold.At.BEFORE_FLIP}) {
            Hold hold = new Hold(at);
            try (Heap heap = heap(hold, 1, 8L << 20, null); Mutator m = heap.attach()) {
                int hA = m.push(box(m, 1));
                hold.ref = m.handle(hA);
                AtomicReference<Throwable> failed = new AtomicReference<>();
                Thread t = collectUntilHeld(heap, m, hold, failed);
                // Black allocation: a list hung from A, a large object outside any TLAB, garbage in between.
                int hList = list(m, 2000);
                m.setRef(m.handle(hA), SLOT, m.handle(hList));
                int big = m.allocateLongArray(5000);
                m.setLongAt(big, 4999, 77);
                int hBig = m.push(big);
                for (int i = 0; i < 300; i++) {
                    m.allocateLongArray(20);
                }
                releaseAndJoin(m, hold, t, failed);
                heap.awaitCompaction();
                checkList(m, m.getRef(m.handle(hA), SLOT), 2000);
                assertEquals(77, m.getLongAt(m.handle(hBig), 4999));
                HeapStats st = heap.stats();
                assertTrue(st.blackBytes() > 2000 * 32, at + ": allocation during the cycle counted black: " + st);
                assertEquals(st.blackBytes(), st.blackAfterLastGc(), at + ": the only cycle's black bytes: " + st);
                // Marking found A and what the roots held when it began, not the list allocated after.
                assertTrue(st.liveAfterLastGc() - st.blackAfterLastGc() < 2000 * 32, at + ": marked: " + st);
                assertTrue(heap.verify().ok());
                // The next cycle reclaims the floating garbage: live bytes shrink, and they are
                // all marked (nothing was allocated while it ran).
                long floating = st.liveAfterLastGc();
                m.collect();
                heap.awaitCompaction();
                HeapStats next = heap.stats();
                assertTrue(next.liveAfterLastGc() < floating, "garbage allocated black is reclaimed next time");
                assertEquals(0, next.blackAfterLastGc(), at + ": nothing allocated during the explicit cycle: " + next);
                assertTrue(next.liveAfterLastGc() > 2000 * 32 + 5000 * 8, at + ": the list and the array were marked: " + next);
                checkList(m, m.getRef(m.handle(hA), SLOT), 2000);
            }
        }
    }

    /**
     * A mutator that runs on without polling (a long read-only walk) does not hold the world
     * stopped: the initial mark is offered, not forced, and the mutator runs it at its next poll,
     * so the pause does not contain the time the mutator took to get there.
     */
    @Test
    void theInitialMarkIsOfferedSoAMutatorThatDoesNotPollIsNotWaitedForInThePause() throws Exception {
        Hold hold = new Hold(Hold.At.INITIAL_MARK_DONE);
        List<String> log = new CopyOnWriteArrayList<>();
        try (Heap heap = heap(hold, 1, 8L << 20, log); Mutator m = heap.attach()) {
            int hList = list(m, 200);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = startCollect(heap, failed);
            // Deterministic: the collector is waiting for the pause (offering it, or stopping the world).
            while (t.isAlive() && java.util.Arrays.stream(t.getStackTrace())
                    .noneMatch(e -> e.getClassName().endsWith("PauseOffer") || e.getMethodName().equals("stopTheWorld"))) {
                Thread.onSpinWait();
            }
            long heldUntil = System.nanoTime() + 100_000_000L; // the walk: 100 ms without a poll
            while (System.nanoTime() < heldUntil) {
                checkList(m, m.handle(hList), 200);
            }
            assertTrue(java.util.Arrays.stream(t.getStackTrace()).noneMatch(e -> e.getMethodName().equals("stopTheWorld")),
                    "the collector stopped the world instead of offering the initial mark");
            while (hold.reached.getCount() > 0 && t.isAlive()) {
                m.poll(); // runs the initial mark on this thread
            }
            releaseAndJoin(m, hold, t, failed);
            String initialMark = log.stream().filter(l -> l.contains("Pause Init Mark")).findFirst().orElseThrow();
            java.util.regex.Matcher ms = java.util.regex.Pattern.compile("\\(safepoint ([0-9.]+)ms\\)").matcher(initialMark);
            assertTrue(ms.find(), initialMark);
            assertTrue(Double.parseDouble(ms.group(1)) < 100, "the pause waited for the walk: " + initialMark);
            heap.awaitCompaction();
            checkList(m, m.handle(hList), 200);
        }
    }

    @Test
    void aMutatorAttachedDuringMarkingHasTheBarrierAndHandsItsLogOverWhenItDetaches() throws Exception {
        Hold hold = new Hold(Hold.At.TRACED);
        try (Heap heap = heap(hold, 1, 4L << 20, null); Mutator m = heap.attach()) {
            int hA = m.push(box(m, 1));
            int hB = m.push(box(m, 2));
            m.setRef(m.handle(hB), SLOT, box(m, 3)); // C, reachable only from B
            int gA = heap.globals().add(m.handle(hA));
            int gB = heap.globals().add(m.handle(hB));
            hold.ref = m.handle(hA);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = collectUntilHeld(heap, m, hold, failed);
            m.enterSafeRegion();
            Thread late = Thread.ofPlatform().start(() -> {
                try (Mutator l = heap.attach()) {
                    int c = l.getRef(heap.globals().get(gB), SLOT);
                    assertFalse(HeapInternals.metadata(heap).bitmap().isMarked(ObjectLayout.refToOffset(c)), "C unmarked: a race");
                    l.setRef(heap.globals().get(gA), SLOT, c);
                    l.setRef(heap.globals().get(gB), SLOT, 0); // logged in l's buffer, handed over at close
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            assertTrue(late.join(Duration.ofSeconds(30)));
            m.leaveSafeRegion();
            releaseAndJoin(m, hold, t, failed);
            heap.awaitCompaction();
            assertEquals(3, m.getLong(m.getRef(m.handle(hA), SLOT), VALUE));
            assertTrue(heap.verify().ok());
            assertTrue(heap.stats().satbEntries() >= 1, heap.stats().toString());
        }
    }

    @Test
    void fullBarrierBuffersCirculateAndEveryLoggedObjectSurvives() throws Exception {
        int n = 3 * SatbQueue.BUFFER_ENTRIES + 17;
        Hold hold = new Hold(Hold.At.TRACED);
        try (Heap heap = heap(hold, 1, 16L << 20, null); Mutator m = heap.attach()) {
            int hA = m.push(m.allocateRefArray(n)); // traced first, then the marker is held
            int hB = m.push(m.allocateRefArray(n));
            for (int i = 0; i < n; i++) {
                int b = box(m, i);
                m.setRef(m.handle(hB), i, b);
            }
            hold.ref = m.handle(hA);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = collectUntilHeld(heap, m, hold, failed);
            int a = m.handle(hA);
            int b = m.handle(hB);
            for (int i = 0; i < n; i++) {
                m.setRef(a, i, m.getRef(b, i));
                m.setRef(b, i, 0); // every one logged: several full buffers, and a partial one for the remark
            }
            releaseAndJoin(m, hold, t, failed);
            heap.awaitCompaction();
            a = m.handle(hA);
            for (int i = 0; i < n; i++) {
                assertEquals(i, m.getLong(m.getRef(a, i), VALUE), "element " + i);
            }
            assertTrue(heap.stats().satbEntries() >= n, heap.stats().toString());
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void theRemarkTracesAWideSubgraphFromALoggedValue() throws Exception {
        int n = 3000; // more than two work packets: the remark's single marker must keep them all
        Hold hold = new Hold(Hold.At.TRACED);
        try (Heap heap = heap(hold, 1, 16L << 20, null); Mutator m = heap.attach()) {
            int hA = m.push(box(m, 1));
            int hB = m.push(box(m, 2));
            int wide = m.allocateRefArray(n);
            m.setRef(m.handle(hB), SLOT, wide);
            for (int i = 0; i < n; i++) {
                int leaf = m.push(box(m, i)); // each element holds a leaf: an element left unscanned loses it
                int b = box(m, -i);
                m.setRef(b, SLOT, m.handle(leaf));
                m.setRef(m.getRef(m.handle(hB), SLOT), i, b);
                m.popTo(leaf);
            }
            hold.ref = m.handle(hA);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = collectUntilHeld(heap, m, hold, failed);
            m.setRef(m.handle(hA), SLOT, m.getRef(m.handle(hB), SLOT));
            m.setRef(m.handle(hB), SLOT, 0); // logged; left in this mutator's buffer for the remark
            releaseAndJoin(m, hold, t, failed);
            heap.awaitCompaction();
            int w = m.getRef(m.handle(hA), SLOT);
            for (int i = 0; i < n; i++) {
                assertEquals(i, m.getLong(m.getRef(m.getRef(w, i), SLOT), VALUE), "leaf of element " + i);
            }
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void anAllocationThatDoesNotFitWaitsForTheCycleInProgress() throws Exception {
        Hold hold = new Hold(Hold.At.BEFORE_FLIP);
        List<String> log = new CopyOnWriteArrayList<>();
        try (Heap heap = heap(hold, 1, 2L << 20, log); Mutator m = heap.attach()) {
            int hList = list(m, 500);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = collectUntilHeld(heap, m, hold, failed);
            Thread self = Thread.currentThread();
            Thread releaser = Thread.ofPlatform().start(() -> {
                // Deterministic: release the flip once this thread is inside the stall.
                while (java.util.Arrays.stream(self.getStackTrace()).noneMatch(e -> e.getMethodName().equals("stallUntilFlip"))) {
                    Thread.onSpinWait();
                }
                hold.release.countDown();
            });
            long cyclesBefore = heap.stats().gcCycles();
            while (heap.stats().gcCycles() == cyclesBefore) {
                m.allocateLongArray(100); // garbage until the heap is full: the allocation waits for the flip
            }
            assertTrue(releaser.join(Duration.ofSeconds(30)));
            assertTrue(t.join(Duration.ofSeconds(30)));
            if (failed.get() != null) {
                throw new AssertionError(failed.get());
            }
            heap.awaitCompaction();
            HeapStats st = heap.stats();
            assertEquals(1, st.allocationStalls().count(), st.toString());
            assertEquals(0, st.fullPauses().count(), "the stall avoided a full pause: " + st);
            assertEquals(0, st.abandonedCycles(), st.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("Allocation Stall")), log.toString());
            checkList(m, m.handle(hList), 500);
            assertTrue(heap.verify().ok());
        }
    }

    /**
     * The heap fills while a compaction still runs and the next cycle waits for it: the
     * allocation that does not fit waits for that cycle's flip (an allocation stall) instead of
     * running a full pause. The compactor thread and the background cycle thread (which helps the
     * compaction it waits for) are held inside a page build until the allocating thread is in
     * its stall; before the change it ran a full pause instead (the hold then ends after 5 s).
     */
    @Test
    void anAllocationThatDoesNotFitWhileTheNextCycleWaitsForACompactionWaitsForThatCycle() throws Exception {
        RecordingBackend[] backend = {null};
        List<String> log = new CopyOnWriteArrayList<>();
        HeapConfig cfg = HeapConfig.builder().capacity(2L << 20).pageSize(4096).checkedAccess(true).verifyAfterGc(true)
                .concurrentMarking(true).concurrentCompaction(true).compactorThreads(1).gcLog(log::add)
                .backend((cap, ps) -> backend[0] = new RecordingBackend(cap, ps)).build();
        CountDownLatch release = new CountDownLatch(1);
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int hList = list(m, 500);
            java.util.function.LongConsumer hold = page -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            backend[0].compactorHook = hold;
            backend[0].cycleThreadHook = hold;
            m.collect(); // flips; its compaction is held
            Thread self = Thread.currentThread();
            Thread releaser = Thread.ofPlatform().start(() -> {
                long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (System.nanoTime() < end
                        && java.util.Arrays.stream(self.getStackTrace()).noneMatch(e -> e.getMethodName().equals("stallUntilFlip"))) {
                    Thread.onSpinWait();
                }
                backend[0].compactorHook = p -> { };
                backend[0].cycleThreadHook = p -> { };
                release.countDown();
            });
            long cyclesBefore = heap.stats().gcCycles();
            while (heap.stats().gcCycles() == cyclesBefore) {
                m.allocateLongArray(100); // garbage: the trigger starts the next cycle, then the heap is full
            }
            assertTrue(releaser.join(Duration.ofSeconds(30)));
            heap.awaitCompaction();
            HeapStats st = heap.stats();
            assertEquals(0, st.fullPauses().count(), "waited for the cycle on its way, no full pause: " + st + "\n" + log);
            assertTrue(st.allocationStalls().count() >= 1, st.toString());
            checkList(m, m.handle(hList), 500);
            assertTrue(heap.verify().ok());
        }
    }

    @Test
    void anAllocationFailureDuringMarkingAbandonsTheCycleForAFullPause() throws Exception {
        Hold hold = new Hold(Hold.At.INITIAL_MARK_DONE);
        List<String> log = new CopyOnWriteArrayList<>();
        try (Heap heap = heap(hold, 1, 2L << 20, log); Mutator m = heap.attach()) {
            int hList = list(m, 500);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread t = collectUntilHeld(heap, m, hold, failed);
            while (heap.stats().fullPauses().count() == 0) {
                // Garbage until the heap is full: the allocation waits for the held cycle, gives up
                // after the stall limit, and a full pause replaces the cycle.
                m.allocateLongArray(100);
            }
            releaseAndJoin(m, hold, t, failed);
            heap.awaitCompaction();
            HeapStats st = heap.stats();
            assertEquals(1, st.abandonedCycles(), st.toString());
            assertEquals(1, st.allocationStalls().count(), st.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("Concurrent cycle abandoned")), log.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("did not flip in time")), log.toString());
            checkList(m, m.handle(hList), 500);
            assertTrue(heap.verify().ok());
            m.collect(); // the next concurrent cycle runs normally
            heap.awaitCompaction();
            assertTrue(heap.stats().concurrentCycles() >= 1, heap.stats().toString());
            checkList(m, m.handle(hList), 500);
        }
    }

    @Test
    void closeDuringMarkingReturnsAndStopsTheCollectorThreads() throws Exception {
        Hold hold = new Hold(Hold.At.INITIAL_MARK_DONE);
        Heap heap = heap(hold, 3, 4L << 20, null);
        Mutator m = heap.attach();
        list(m, 1000);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = collectUntilHeld(heap, m, hold, failed);
        m.close();
        long t0 = System.nanoTime();
        Thread closer = Thread.ofPlatform().start(heap::close);
        hold.release.countDown();
        assertTrue(closer.join(Duration.ofSeconds(10)), "close() hung");
        assertTrue(t.join(Duration.ofSeconds(10)), "the collection did not return after close()");
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
        for (Thread th : Thread.getAllStackTraces().keySet()) {
            String name = th.getName();
            if (name.startsWith("faultline-marker") || name.startsWith("faultline-concurrent-gc")) {
                assertTrue(th.join(Duration.ofSeconds(5)), name + " survived close()");
            }
        }
    }

    @Test
    void severalMarkingThreadsAgreeOnDeepAndWideGraphs() {
        for (int markers : new int[] {1, 3}) {
            try (Heap heap = heap(MarkingHooks.NONE, markers, 64L << 20, null); Mutator m = heap.attach()) {
                int deep = list(m, 300_000); // deeper than any Java stack
                int wide = m.push(m.allocateRefArray(20_000));
                for (int i = 0; i < 20_000; i++) {
                    int row = m.allocateRefArray(4);
                    m.setRef(m.handle(wide), i, row);
                    for (int j = 0; j < 4; j++) {
                        m.setRef(m.getRef(m.handle(wide), i), j, box(m, i * 4L + j));
                    }
                    m.allocateLongArray(3); // garbage
                }
                for (int round = 0; round < 3; round++) {
                    m.collect();
                    heap.awaitCompaction();
                }
                checkList(m, m.handle(deep), 300_000);
                for (int i = 0; i < 20_000; i += 997) {
                    for (int j = 0; j < 4; j++) {
                        assertEquals(i * 4L + j, m.getLong(m.getRef(m.getRef(m.handle(wide), i), j), VALUE));
                    }
                }
                HeapStats st = heap.stats();
                assertEquals(3, st.concurrentCycles(), st.toString());
                assertTrue(heap.verify().ok());
            }
        }
    }

    static final ObjectType PAIR = ObjectType.builder("cycle.Pair").refs("left", "right").build();

    /** A complete tree of {@code depth}, each node allocated before its children (pre-order). */
    private static int preOrderTree(Mutator m, int depth) {
        int node = m.allocate(PAIR);
        if (depth > 0) {
            int h = m.push(node);
            int left = preOrderTree(m, depth - 1);
            m.setRef(m.handle(h), PAIR.refSlot("left"), left);
            int right = preOrderTree(m, depth - 1);
            m.setRef(m.handle(h), PAIR.refSlot("right"), right);
            node = m.handle(h);
            m.popTo(h);
        }
        return node;
    }

    @Test
    void aMarkerTracesATreeAllocatedInPreOrderInAddressOrder() {
        List<Integer> traced = new CopyOnWriteArrayList<>();
        MarkingHooks record = new MarkingHooks() {
            @Override
            public void traced(int ref) {
                traced.add(ref);
            }
        };
        try (Heap heap = heap(record, 1, 64L << 20, null); Mutator m = heap.attach()) {
            int root = m.push(preOrderTree(m, 7));
            int nodes = (1 << 8) - 1;
            m.collect();
            heap.awaitCompaction();
            assertEquals(nodes, traced.size(), "objects traced: the tree's " + nodes + " nodes");
            for (int i = 1; i < nodes; i++) {
                assertTrue(Integer.compareUnsigned(traced.get(i - 1), traced.get(i)) < 0, "trace step " + i + ": 0x"
                        + Integer.toHexString(traced.get(i - 1)) + " then 0x" + Integer.toHexString(traced.get(i))
                        + ", not in address order (the first slot's object must be traced first)");
            }
            assertEquals(nodes, countTree(m, m.handle(root)));
        }
    }

    private static long countTree(Mutator m, int node) {
        int left = m.getRef(node, PAIR.refSlot("left"));
        return left == 0 ? 1 : 1 + countTree(m, left) + countTree(m, m.getRef(node, PAIR.refSlot("right")));
    }
}
