package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.gc.meta.CompactionControl;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * From-space is released while compaction is still in flight, not only at its end: compactor
 * threads compact in bounded native steps and advance the release frontier between them.
 * Observed through the backend's releaseFromSpace calls, classified by the control block's
 * PAGES_LEFT at the time of the call. The list the mutator kept is checked afterwards.
 */
class FromSpaceReleaseTest {
    static final ObjectType CELL = ObjectType.builder("release.Cell").refs("next").i64("v").bytes("pad", 40).build();

    @ParameterizedTest
    @EnumSource(Mode.class)
    void fromSpaceIsReleasedProgressivelyDuringCompaction(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        AtomicLong earlyCalls = new AtomicLong();
        AtomicLong earlyBytes = new AtomicLong();
        AccessPathTest.Capturing[] b = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(64L << 20).compactorThreads(1)
                .backend((cap, ps) -> b[0] = new AccessPathTest.Capturing(new UffdBackend(mode, cap, ps)) {
                    @Override
                    public void releaseFromSpace(long offset, long bytes) {
                        if (metadata.control().get(CompactionControl.PAGES_LEFT) > 0) {
                            earlyCalls.incrementAndGet();
                            earlyBytes.addAndGet(bytes);
                        }
                        super.releaseFromSpace(offset, bytes);
                    }
                }).build();
        long v = CELL.field("v");
        int n = 200_000; // ~13 MiB live, ~3,200 to-space pages: many native steps
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = m.push(0);
            for (int i = 0; i < n; i++) {
                m.allocateByteArray(24); // garbage between the cells, so they all move
                int c = m.allocate(CELL);
                m.setLong(c, v, i);
                m.setRef(c, 0, m.handle(list));
                m.setHandle(list, c);
            }
            m.collect();
            heap.awaitCompaction(); // the mutator helps nothing here: it only waits
            assertTrue(earlyCalls.get() > 0 && earlyBytes.get() > (1L << 20),
                    mode + ": from-space released before the last page was built: " + earlyCalls.get() + " calls, "
                            + earlyBytes.get() + " bytes");
            int expect = n - 1;
            for (int c = m.handle(list); c != 0; c = m.getRef(c, 0)) {
                assertEquals(expect--, m.getLong(c, v));
            }
            assertEquals(-1, expect, "list length");
        }
    }
}
