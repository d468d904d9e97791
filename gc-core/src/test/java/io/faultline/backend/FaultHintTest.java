package io.faultline.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.PageStates;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fault-directed compaction, on the protocol alone: a faulting thread that waits for its page
 * (SIGBUS, java) with fault-around on hints the compactors to the run after its own
 * ({@link ControlBlock#FAULT_HINT}), and the next compactor step builds the runs from there
 * before its own slot; such a fault that finds its page under construction builds the next
 * unclaimed run meanwhile. With fault-around off, or for a service thread (which does not
 * wait), neither happens. (ProtocolDifferentialTest checks that the C protocol does the same, step by step.)
 */
class FaultHintTest {
    static final int PAGE = 4096;
    static final int PAGES = 64;

    /** Records the order in which pages are built, and each install as {first, n}; installs always succeed. */
    static final class RecordingPages implements PageProtocol.Pages {
        final List<Long> built = new CopyOnWriteArrayList<>();
        final List<List<Long>> installs = new CopyOnWriteArrayList<>();

        @Override
        public void build(long page) {
            built.add(page);
        }

        @Override
        public int install(long first, long n) {
            installs.add(List.of(first, n));
            return 0;
        }

        @Override
        public int release(long offset, long bytes) {
            return 0;
        }

        @Override
        public void poison(long page) {
        }
    }

    /** A protocol over fresh metadata, in a cycle begun with {@link #begin}. */
    record Cycle(GcMetadata md, RecordingPages pages, PageProtocol protocol) implements AutoCloseable {
        static Cycle of(long runPages, long faultAround) {
            GcMetadata md = new GcMetadata((long) PAGES * PAGE, PAGE);
            RecordingPages pages = new RecordingPages();
            begin(md, runPages, faultAround);
            return new Cycle(md, pages, new PageProtocol(md, pages));
        }

        long hint() {
            return md.control().get(ControlBlock.FAULT_HINT);
        }

        @Override
        public void close() {
            md.close();
        }
    }

    /** A cycle over to-space pages [0, PAGES): every page UNPROCESSED, epoch 1 active. */
    static void begin(GcMetadata md, long runPages, long faultAround) {
        ControlBlock cb = md.control();
        cb.set(ControlBlock.EPOCH, 1);
        cb.set(ControlBlock.FROM_TOP, (long) PAGES * PAGE);
        cb.set(ControlBlock.NEW_TOP, (long) PAGES * PAGE);
        cb.set(ControlBlock.FIRST_PAGE, 0);
        cb.set(ControlBlock.END_PAGE, PAGES);
        cb.set(ControlBlock.NEXT_PAGE, 0);
        cb.set(ControlBlock.FRONTIER_PAGE, 0);
        cb.set(ControlBlock.RELEASE_BATCH, PAGE);
        cb.set(ControlBlock.RUN_PAGES, runPages);
        cb.set(ControlBlock.FAULT_AROUND, faultAround);
        cb.set(ControlBlock.FAULT_HINT, 0);
        for (long p = 0; p < PAGES; p++) {
            md.firstObjects().set(p, p * PAGE);
            md.pageStates().publish(p, PageStates.UNPROCESSED);
        }
        cb.set(ControlBlock.PAGES_LEFT, PAGES);
        cb.set(ControlBlock.ACTIVE_EPOCH, 1);
    }

    @Test
    void aCompactorBuildsTheRunsAfterAFaultBeforeItsOwnSlot() {
        try (Cycle c = Cycle.of(8, 3)) {
            assertEquals(PageProtocol.FAULT_BUILT, c.protocol().serveFault(40, true, ControlBlock.PATH_FAULT_JAVA));
            assertEquals(List.of(40L, 41L, 42L, 43L), c.pages().built, "the fault builds its page and 3 after it");
            assertEquals(44, c.hint(), "hint: the page after the fault's run");

            c.pages().built.clear();
            c.pages().installs.clear();
            long built = c.protocol().compactStep(1);
            int run = PageProtocol.HINT_RUN_FAULT_RUNS * 4;
            int follow = PageProtocol.HINT_FOLLOW_RUNS * run;
            assertEquals(follow + 8, built, "the hinted runs, then the compactor's own slot");
            for (int i = 0; i < PageProtocol.HINT_FOLLOW_RUNS; i++) {
                assertEquals(List.of(44L + (long) i * run, (long) run), c.pages().installs.get(i),
                        "hinted run " + i + ": " + run + " pages (" + PageProtocol.HINT_RUN_FAULT_RUNS
                                + " fault-around runs), one install: " + c.pages().installs);
            }
            for (int i = 0; i < follow; i++) {
                assertEquals(44L + i, c.pages().built.get(i), "build " + i + " follows the fault: " + c.pages().built);
            }
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L), c.pages().built.subList(follow, follow + 8), "then the slot");
            assertEquals(0, c.hint(), "the hint was taken");
            for (long p = 44; p < 44 + follow; p++) {
                assertEquals(PageStates.MAPPED, c.md().pageStates().stateAcquire(p), "page " + p);
            }
        }
    }

    @Test
    void withoutFaultAroundAFaultLeavesNoHint() {
        try (Cycle c = Cycle.of(8, 0)) {
            assertEquals(PageProtocol.FAULT_BUILT, c.protocol().serveFault(40, true, ControlBlock.PATH_FAULT_JAVA));
            assertEquals(0, c.hint());
            c.pages().built.clear();
            c.protocol().compactStep(1);
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L), c.pages().built, "the compactor's slot, from the bottom");
        }
    }

    @Test
    void aServiceThreadNeitherHintsNorHelps() {
        try (Cycle c = Cycle.of(8, 3)) {
            assertEquals(PageProtocol.FAULT_BUILT, c.protocol().serveFault(40, false, ControlBlock.PATH_FAULT_THREAD));
            assertEquals(List.of(40L, 41L, 42L, 43L), c.pages().built);
            assertEquals(0, c.hint(), "no hint from a service thread");
            assertEquals(1, c.protocol().claimRun(10, 1, PAGES, 1), "a compactor owns page 10");
            c.pages().built.clear();
            assertEquals(PageProtocol.FAULT_OWNED, c.protocol().serveFault(10, false, ControlBlock.PATH_FAULT_THREAD));
            assertEquals(List.of(), c.pages().built, "the service thread leaves the fault to the owner and builds nothing");
        }
    }

    @Test
    void aFaultWaitingForAPageUnderConstructionBuildsTheNextRun() throws Exception {
        ExecutorService mutator = Executors.newSingleThreadExecutor();
        try (Cycle c = Cycle.of(8, 3)) {
            assertEquals(1, c.protocol().claimRun(10, 1, PAGES, 1), "a compactor owns page 10, not built yet");

            Future<Integer> fault = mutator.submit(() -> c.protocol().serveFault(10, true, ControlBlock.PATH_FAULT_JAVA));
            // The faulting thread builds [11, 15), maps it and counts it (its last step), then waits for page 10.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (c.md().control().get(ControlBlock.FAULT_BUILT_PAGES) < 4) {
                assertTrue(System.nanoTime() < deadline, "the waiting fault did not build pages 11-14: states "
                    + c.md().pageStates().stateAcquire(11) + ".." + c.md().pageStates().stateAcquire(14) + ", built " + c.pages().built);
                Thread.onSpinWait();
            }
            assertEquals(List.of(11L, 12L, 13L, 14L), c.pages().built);
            for (long p = 11; p < 15; p++) {
                assertEquals(PageStates.MAPPED, c.md().pageStates().stateAcquire(p), "page " + p);
            }
            assertEquals(15, c.hint(), "hint: past the helped run");
            assertEquals(4, c.md().control().get(ControlBlock.FAULT_BUILT_PAGES));
            assertEquals(PageStates.PROCESSING, c.md().pageStates().stateAcquire(10), "page 10 is still its owner's");

            // The owner finishes page 10; the fault returns.
            assertEquals(1, c.protocol().buildRun(10, 1, ControlBlock.PATH_COMPACTOR));
            assertEquals(1, c.protocol().mapRun(10, 1, ControlBlock.PATH_COMPACTOR));
            assertEquals(PageProtocol.FAULT_MAPPED, fault.get(30, TimeUnit.SECONDS));
            assertEquals(List.of(11L, 12L, 13L, 14L, 10L), c.pages().built, "each page built once");
        } finally {
            mutator.shutdownNow();
        }
    }
}
