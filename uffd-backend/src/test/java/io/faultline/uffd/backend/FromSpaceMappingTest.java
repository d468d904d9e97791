package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * MOVE with {@code RECYCLE} moves runs out of from-space, the last cycle's view, and
 * {@code UFFDIO_MOVE} refuses with EINVAL a source range that spans two kernel mappings (VMAs).
 * Registering a view's to-space range splits the view in two; if the two parts then make distinct
 * anon_vmas (the to-space at its first install, the allocation area at the first allocation
 * during the compaction), the kernel does not merge them again when the range is unregistered,
 * and a recycled run of the next cycle that crosses the old to-space end failed the heap
 * ("could not be installed ... errno 22 (EINVAL)", seen in binary-trees). Here the mutator
 * allocates a second list while a slowed compaction runs; once it has ended the view must be one
 * mapping, and the next cycle, whose to-space outgrows the old one so that recycling passes its
 * end, must keep both lists (the verifier runs after every cycle).
 */
class FromSpaceMappingTest {
    static final int CELLS = 150_000; // ~10 MiB live: ~2,600 to-space pages
    static final int MORE_CELLS = 40_000;
    static final long CAPACITY = 64L << 20;

    @Test
    void theViewIsOneMappingAfterACompactionDuringWhichTheMutatorAllocated() {
        UffdTestSupport.assumeAvailable(Mode.MOVE);
        UffdBackend[] b = {null};
        UffdOptions options = UffdOptions.defaults().withSupply(PageSupply.RECYCLE);
        HeapConfig cfg = HeapConfig.builder().capacity(CAPACITY).concurrentMarking(false).verifyAfterGc(true)
                .backend((cap, ps) -> b[0] = new UffdBackend(Mode.MOVE, options, cap, ps)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int first = CellList.build(m, CELLS);
            long view;
            int second;
            try {
                UffdTestSupport.setBuildDelay(20_000L); // 20 us a page: the compaction lasts about 50 ms
                m.collect(); // returns after the flip, the compaction still running
                view = b[0].viewAddress();
                second = CellList.build(m, MORE_CELLS); // allocates above the to-space while it is registered
            } finally {
                UffdTestSupport.setBuildDelay(0L);
            }
            heap.awaitCompaction();
            List<String> vmas = mappings(view, CAPACITY);
            assertEquals(1, vmas.size(), "the view is one mapping after its compaction: " + vmas);

            long recycledBefore = b[0].stat(UffdBackend.Stat.RECYCLED_PAGES);
            m.collect(); // this view is the from-space now; recycling crosses its old to-space end
            heap.awaitCompaction();
            CellList.check(m, first, CELLS);
            CellList.check(m, second, MORE_CELLS);
            long recycled = b[0].stat(UffdBackend.Stat.RECYCLED_PAGES) - recycledBefore;
            assertTrue(recycled > 0, "the second compaction built runs in recycled from-space pages");
        }
    }

    /** The mappings of {@code /proc/self/maps} that overlap {@code [start, start + bytes)}. */
    static List<String> mappings(long start, long bytes) {
        List<String> out = new ArrayList<>();
        for (Smaps.Vma v : Smaps.field("Rss")) {
            if (v.start() < start + bytes && v.end() > start) {
                out.add("[view" + offset(v.start() - start) + ", view" + offset(v.end() - start) + ") " + (v.bytes() >> 10) + " KiB resident");
            }
        }
        return out;
    }

    private static String offset(long d) {
        return (d < 0 ? "-0x" : "+0x") + Long.toHexString(Math.abs(d));
    }
}
