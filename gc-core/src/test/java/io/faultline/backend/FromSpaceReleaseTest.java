package io.faultline.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Who releases consumed from-space ({@link PageProtocol#advanceFrontier}): a fault, on any
 * delivery, advances the frontier and CONSUMED but leaves the release to the next compactor or
 * backstop step, which releases everything consumed so far with one call. (ProtocolDifferentialTest
 * checks that the C protocol releases the same bytes.) A release that fails fails the heap, on
 * whichever thread released, and the compaction still completes.
 */
class FromSpaceReleaseTest {
    static final int PAGE = FaultHintTest.PAGE;

    /** Records every release as {offset, bytes} and returns {@code releaseErrno}; builds and installs succeed. */
    static final class ReleaseRecordingPages implements PageProtocol.Pages {
        final List<List<Long>> releases = new CopyOnWriteArrayList<>();
        volatile int releaseErrno;

        @Override
        public void build(long page) {
        }

        @Override
        public int install(long first, long n) {
            return 0;
        }

        @Override
        public int release(long offset, long bytes) {
            releases.add(List.of(offset, bytes));
            return releaseErrno;
        }

        @Override
        public void poison(long page) {
        }
    }

    @Test
    void faultsConsumeFromSpaceAndTheNextCompactorStepReleasesIt() {
        try (GcMetadata md = new GcMetadata((long) FaultHintTest.PAGES * PAGE, PAGE)) {
            FaultHintTest.begin(md, 8, 0); // RELEASE_BATCH one page: every advance would release
            ReleaseRecordingPages pages = new ReleaseRecordingPages();
            PageProtocol protocol = new PageProtocol(md, pages);
            ControlBlock cb = md.control();

            assertEquals(PageProtocol.FAULT_BUILT, protocol.serveFault(0, true, ControlBlock.PATH_FAULT_SIGBUS));
            assertEquals(PageProtocol.FAULT_BUILT, protocol.serveFault(1, true, ControlBlock.PATH_FAULT_JAVA));
            assertEquals(PageProtocol.FAULT_BUILT, protocol.serveFault(2, false, ControlBlock.PATH_FAULT_THREAD));
            assertEquals(3L * PAGE, cb.get(ControlBlock.CONSUMED), "pages 0-2 built: from-space below page 3's first object is consumed");
            assertEquals(List.of(), pages.releases, "no fault released it");
            assertEquals(0, cb.get(ControlBlock.RELEASED));

            assertEquals(5, protocol.compactStep(1), "the compactor's slot [0, 8): pages 3-7");
            assertEquals(List.of(List.of(0L, 8L * PAGE)), pages.releases, "one release: what the faults and the compactor consumed");
            assertEquals(8L * PAGE, cb.get(ControlBlock.RELEASED));

            pages.releases.clear();
            assertEquals(PageProtocol.FAULT_BUILT, protocol.serveFault(8, true, ControlBlock.PATH_FAULT_SIGBUS));
            assertEquals(9L * PAGE, cb.get(ControlBlock.CONSUMED));
            assertEquals(List.of(), pages.releases);
            protocol.advanceFrontier(ControlBlock.PATH_BACKSTOP); // raises nothing: the fault did
            assertEquals(List.of(List.of(8L * PAGE, (long) PAGE)), pages.releases, "what the fault left, released");
        }
    }

    @Test
    void aReleaseThatFailsRecordsTheHeapsFailureAndTheCompactionStillCompletes() {
        int eio = 5;
        try (GcMetadata md = new GcMetadata((long) FaultHintTest.PAGES * PAGE, PAGE)) {
            FaultHintTest.begin(md, 8, 0);
            ReleaseRecordingPages pages = new ReleaseRecordingPages();
            pages.releaseErrno = eio;
            PageProtocol protocol = new PageProtocol(md, pages);
            ControlBlock cb = md.control();
            long left = cb.get(ControlBlock.PAGES_LEFT);

            // a mutator that helps the compaction runs this same step (Compaction.help)
            assertEquals(8, protocol.compactStep(8), "the slot [0, 8), built and mapped");
            assertEquals(List.of(List.of(0L, 8L * PAGE)), pages.releases);
            assertEquals(ControlBlock.PATH_COMPACTOR, cb.get(ControlBlock.FAILED_PATH));
            assertEquals(ControlBlock.FAILED_PAGE_RELEASE, cb.get(ControlBlock.FAILED_PAGE));
            assertEquals(eio, cb.get(ControlBlock.FAILED_ERRNO));
            assertEquals(0, cb.get(ControlBlock.FAILED_OFFSET), "the batch began at from-space offset 0");
            assertNotEquals(0, cb.get(ControlBlock.POLL) & ControlBlock.POLL_FAILED, "every mutator's next poll throws");
            assertEquals(left - 8, cb.get(ControlBlock.PAGES_LEFT), "the pages built are counted: nobody waits for them");
            assertEquals(0, protocol.compactStep(8), "a failed heap builds no more pages");
        }
    }
}
