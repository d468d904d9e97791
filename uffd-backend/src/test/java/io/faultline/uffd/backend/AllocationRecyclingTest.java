package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.HeapBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.uffd.HugePages;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.AllocationPages;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.uffd.sys.Mman;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Recycled allocation pages ({@code HeapBackend.recycleAllocationPages}): CONTINUE with the KEEP
 * supply, in small allocation pages (its default) or huge ones, moves the used part of the old view's allocation area into the
 * view when a compaction ends, and allocation hands it out zeroed. Every page of it held old
 * bytes (the garbage here is filled with 0x5A), so an allocation that skipped the zeroing would
 * read them. So did the pages the backend keeps in its resident pool instead of unmapping
 * them, which allocation moves back in ({@code pool_taken_bytes}).
 */
class AllocationRecyclingTest {
    static final ObjectType NODE = ObjectType.builder("RecycleNode").refs("next").i32("id").bytes("pad", 40).build();
    static final long CAPACITY = 64L << 20;
    static final byte FILL = 0x5A;

    @ParameterizedTest(name = "{0} pages")
    @EnumSource(AllocationPages.class)
    void keepRecyclesTheOldAllocationAreaAndHandsItOutZeroed(AllocationPages pages) {
        assume(pages);
        try (Heap heap = heap(PageSupply.KEEP, pages); Mutator m = heap.attach()) {
            int head = CellList.build(m, 20_000);
            long recycled = 0;
            for (int cycle = 1; cycle <= 4; cycle++) {
                dirtyGarbage(m, 24 << 20);
                m.collect();
                heap.awaitCompaction();
                long now = heap.backendCounters().get("recycled_allocation_bytes");
                assertTrue(now >= recycled + HugePages.SIZE,
                    "cycle " + cycle + ": the old allocation area was moved into the view (recycled bytes " + recycled + " -> " + now + ")");
                recycled = now;
                // everything allocated now, up to the garbage size, lands in recycled pages: all zero
                assertFreshAllocationsReadZero(m, 24 << 20, "cycle " + cycle);
                CellList.check(m, head, 20_000);
                assertTrue(heap.verify().ok(), "cycle " + cycle + ": " + heap.verify());
            }
        }
    }

    /**
     * Allocation in recycled pages zeroes each TLAB ({@code Allocator.zero}: one fill of a slice of
     * the view) and, once C2 has compiled it, allocates nothing on the Java heap for that: the slice
     * does not escape. Counted with the JVM's per-thread allocation counter over the allocations
     * that follow each compaction (12.8 MB a round, too little to start a cycle): 20 rounds in a
     * row must stay under the bound, within 400 rounds (C2 compiles in the background, later on a
     * loaded machine). Measured: 20,952 bytes a round (about 400 slices) until round 21, then 0. (An
     * earlier version read 792 bytes a round there and blamed the system-call wrappers: it was the
     * {@code ManagementFactory.getThreadMXBean()} lookup inside each measurement; the bean is now
     * looked up once.) The bound allows some JIT noise and catches one slice in every TLAB.
     */
    @Test
    void zeroingRecycledTlabsAllocatesNothingOnTheJavaHeap() {
        assume(AllocationPages.SMALL);
        try (Heap heap = heap(PageSupply.KEEP, null); Mutator m = heap.attach()) {
            long recycledBefore = heap.backendCounters().get("recycled_allocation_bytes");
            int quiet = 0;
            long bytes = -1;
            int round = 0;
            for (; round < 400 && quiet < 20; round++) {
                m.collect();
                heap.awaitCompaction();
                long before = allocatedBytes();
                for (int i = 0; i < 200_000; i++) {
                    m.allocate(NODE);
                }
                bytes = allocatedBytes() - before;
                quiet = bytes < 512 ? quiet + 1 : 0;
            }
            assertEquals(20, quiet, "20 rounds in a row of 200k allocations in recycled pages under 512 bytes on the Java heap; "
                + "round " + round + " allocated " + bytes);
            assertTrue(heap.backendCounters().get("recycled_allocation_bytes") > recycledBefore, "pages were recycled");
        }
    }

    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    /** This thread's allocated bytes; allocates nothing itself (the bean is looked up once). */
    private static long allocatedBytes() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }

    /**
     * Every view the backend maps (at creation, and at each flip) starts at a 2 MiB boundary, in
     * every mode: the kernel places a memfd mapping at any 4 KiB boundary, and a pool chunk or a
     * consumed from-space chunk moves in only at a 2 MiB-aligned address, so in a view that was
     * not aligned no chunk fit and every allocation page was populated fresh (binary-trees depth
     * 21: 2,162 MiB populated and nothing taken from the pool, in one run of five).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Mode.class)
    void everyViewStartsAtAHugePageBoundary(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        HeapBackend[] backend = {null};
        HeapBackend.Factory inner = UffdBackend.factory(mode, UffdOptions.defaults());
        // An odd-sized mapping first, larger than any hole, so that the next free address the kernel
        // picks is not 2 MiB aligned by chance (it places mappings top-down, each below the last)
        long odd = CAPACITY + HugePages.SIZE / 2 + 4096;
        long placeholder = Mman.mmap(0, odd, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(CAPACITY).pageSize(4096).concurrentCompaction(true)
                .compactorThreads(1).verifyAfterGc(true).backend((c, ps) -> backend[0] = inner.create(c, ps)).build());
             Mutator m = heap.attach()) {
            int head = CellList.build(m, 20_000);
            for (int cycle = 0; cycle <= 4; cycle++) {
                long address = backend[0].view().address();
                assertEquals(0, address % HugePages.SIZE, mode + ", view of cycle " + cycle + " at 0x" + Long.toHexString(address));
                dirtyGarbage(m, 8 << 20);
                m.collect();
                heap.awaitCompaction();
            }
            CellList.check(m, head, 20_000);
        } finally {
            Mman.munmap(placeholder, odd);
        }
    }

    @Test
    void otherSuppliesReleaseTheOldAllocationAreaInsteadOfRecyclingIt() {
        assume(AllocationPages.HUGE);
        for (PageSupply supply : List.of(PageSupply.FRESH, PageSupply.FALLOCATE)) {
            try (Heap heap = heap(supply, null); Mutator m = heap.attach()) {
                for (int cycle = 1; cycle <= 2; cycle++) {
                    dirtyGarbage(m, 8 << 20);
                    m.collect();
                    heap.awaitCompaction();
                }
                assertEquals(0L, heap.backendCounters().get("recycled_allocation_bytes"), supply.name());
            }
        }
    }

    /**
     * While a compaction runs, allocation moves in the chunks of the old view's allocation area
     * that the compaction has consumed, instead of populating fresh ones ({@code
     * consumed_recycled_bytes}), and hands them out zeroed. The first collection of this heap finds
     * 40 MiB of garbage filled with 0x5A below its live data, and nothing is recycled yet (the
     * pool is empty). The compactor threads are held back (and the backstop is off), so the
     * compaction runs until the test lets them go. The mutator faults on to-space page 0 (SIGBUS
     * delivery: the fault, its fault-around and the frontier it advances are done when the access
     * returns), which puts the consumed frontier past the garbage; then 8 MiB of new arrays must
     * read zero. The live list survives this and a second cycle (whose recycling skips the chunks
     * already taken).
     */
    @ParameterizedTest(name = "{0} pages")
    @EnumSource(AllocationPages.class)
    void allocationDuringACompactionTakesTheConsumedFromSpace(AllocationPages pages) {
        assume(pages);
        FailedPageBuildTest.Damaging[] holder = {null};
        UffdOptions options = UffdOptions.defaults().withSupply(PageSupply.KEEP).withDelivery(UffdOptions.Delivery.SIGBUS)
            .withAllocationPages(pages).withBackstop(Duration.ZERO);
        HeapConfig cfg = HeapConfig.builder().capacity(CAPACITY).pageSize(4096).concurrentCompaction(true)
            .compactorThreads(1).verifyAfterGc(true)
            .backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(UffdBackend.factory(Mode.CONTINUE, options).create(c, ps), true))
            .build();
        long v = CellList.CELL.field("v");
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            dirtyGarbage(m, 40 << 20);
            int first = m.push(m.allocate(CellList.CELL)); // the first live object: to-space page 0
            m.setLong(m.handle(first), v, 42);
            int head = CellList.build(m, 5_000);
            holder[0].hold();
            try {
                m.collect();
                assertEquals(42, m.getLong(m.handle(first), v), "the first object, after its fault");
                assertEquals(0L, heap.backendCounters().get("consumed_recycled_bytes"));
                assertFreshAllocationsReadZero(m, 8 << 20, "during the first compaction");
                assertTrue(heap.backendCounters().get("consumed_recycled_bytes") >= 2 * HugePages.SIZE,
                    "allocation took consumed from-space: " + heap.backendCounters());
            } finally {
                holder[0].release.countDown();
            }
            heap.awaitCompaction();
            CellList.check(m, head, 5_000);
            assertTrue(heap.verify().ok(), heap.verify().toString());
            dirtyGarbage(m, 8 << 20);
            m.collect();
            heap.awaitCompaction();
            assertFreshAllocationsReadZero(m, 8 << 20, "after the second compaction");
            CellList.check(m, head, 5_000);
            assertEquals(42, m.getLong(m.handle(first), v));
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    /**
     * A seeded random program against a model while cycles start on their own and complete on the
     * compactor thread (so recycling moves pages while the mutator allocates): lists built,
     * replaced and dropped in 32 root slots, garbage filled with 0x5A, and every new node and
     * array read back as zero before it is written. After each collection asked for, and at the
     * end, each slot's list must read as the model says; the heap verifies after every cycle.
     * Prints the seed on failure; replay with {@code -Dfaultline.seed=N}.
     */
    @ParameterizedTest(name = "{0} pages")
    @EnumSource(AllocationPages.class)
    void aSeededProgramMatchesItsModelWhileRecycling(AllocationPages pages) {
        assume(pages);
        UffdTestSupport.withSeed("AllocationRecyclingTest", "recycling in " + pages.label() + " pages", seed -> runSeeded(seed, pages));
    }

    private static void runSeeded(long seed, AllocationPages pages) {
        SplittableRandom r = new SplittableRandom(seed);
        long id = NODE.field("id");
        long pad = NODE.field("pad");
        int slots = 32;
        try (Heap heap = heap(PageSupply.KEEP, pages); Mutator m = heap.attach()) {
            SlotLists lists = new SlotLists(m, slots, id);
            int next = 1;
            byte[] padBytes = new byte[40];
            for (int step = 0; step <= 4000; step++) {
                int slot = r.nextInt(slots);
                int what = step == 4000 ? 999 : r.nextInt(1000);
                if (what < 400) {
                    int step0 = step;
                    next = lists.build(slot, r.nextInt(1, 300), NODE, next, x -> {
                        assertEquals(0, m.getRef(x, 0), "step " + step0 + ": a new node's reference");
                        assertEquals(0, m.getInt(x, id), "step " + step0 + ": a new node's id");
                        m.getBytes(x, pad, padBytes, 0, padBytes.length);
                        assertAllZero(padBytes, "step " + step0 + ": a new node's pad");
                    });
                } else if (what < 500) {
                    lists.clear(slot);
                } else if (what < 995) {
                    int length = r.nextInt(16, 256 << 10);
                    int a = m.allocateByteArray(length);
                    byte[] back = new byte[length];
                    m.getBytes(a, ObjectLayout.ARRAY_DATA_OFFSET, back, 0, length);
                    assertAllZero(back, "step " + step + ": a new byte[" + length + "]");
                    Arrays.fill(back, FILL);
                    m.setBytes(a, ObjectLayout.ARRAY_DATA_OFFSET, back, 0, length);
                } else {
                    m.collect();
                    heap.awaitCompaction();
                    lists.check("step " + step);
                    assertTrue(heap.verify().ok(), "step " + step + ": " + heap.verify());
                }
            }
            assertTrue(heap.backendCounters().get("recycled_allocation_bytes") > 0, "pages were recycled");
            assertTrue(heap.backendCounters().get("pool_taken_bytes") > 0, "allocation took pages from the resident pool");
        }
    }

    private static void assume(AllocationPages pages) {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        if (pages == AllocationPages.HUGE) {
            Assumptions.assumeTrue(HugePages.offered(), "the kernel offers no transparent huge pages");
        }
    }

    /** A CONTINUE heap of {@code supply} in {@code pages} (null: the default for the supply). */
    private static Heap heap(PageSupply supply, AllocationPages pages) {
        return Heap.create(HeapConfig.builder().capacity(CAPACITY).pageSize(4096).concurrentCompaction(true)
            .compactorThreads(1).verifyAfterGc(true)
            .backend(UffdBackend.factory(Mode.CONTINUE, UffdOptions.defaults().withSupply(supply).withAllocationPages(pages))).build());
    }

    /** Allocates about {@code bytes} of unreachable byte arrays, each filled with {@link #FILL}. */
    private static void dirtyGarbage(Mutator m, long bytes) {
        byte[] fill = new byte[4000];
        Arrays.fill(fill, FILL);
        for (long done = 0; done < bytes; done += 4096) {
            int a = m.allocateByteArray(fill.length);
            m.setBytes(a, ObjectLayout.ARRAY_DATA_OFFSET, fill, 0, fill.length);
        }
    }

    private static void assertFreshAllocationsReadZero(Mutator m, long bytes, String when) {
        byte[] back = new byte[4000];
        for (long done = 0; done < bytes; done += 4096) {
            int a = m.allocateByteArray(back.length);
            m.getBytes(a, ObjectLayout.ARRAY_DATA_OFFSET, back, 0, back.length);
            assertAllZero(back, when + ": a new byte[4000] at 0x" + Long.toHexString(ObjectLayout.refToOffset(a)));
        }
    }

    private static void assertAllZero(byte[] b, String what) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] != 0) {
                throw new AssertionError(what + " reads " + b[i] + " at byte " + i + ", not zero");
            }
        }
    }
}
