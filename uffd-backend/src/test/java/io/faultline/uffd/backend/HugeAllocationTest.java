package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.HugePages;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.AllocationPages;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link AllocationPages}: with huge pages the allocation area of every view (above the
 * to-space; in CONTINUE private anonymous memory over the memfd view) is backed by 2 MiB pages and
 * the to-space never is, read from the kernel's own
 * accounting ({@code AnonHugePages} in {@code /proc/self/smaps}); with small pages no part of the
 * view is; the objects survive every cycle either way.
 */
class HugeAllocationTest {
    static final ObjectType NODE = ObjectType.builder("HugeAllocNode").refs("next").i32("id").bytes("pad", 48).build();
    static final long CAPACITY = 64L << 20;

    @ParameterizedTest
    @EnumSource(Mode.class)
    void theAllocationAreaIsHugeAndTheToSpaceIsNot(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        Assumptions.assumeTrue(HugePages.offered(), "the kernel offers no transparent huge pages (" + HugePages.describe() + ")");
        try (Heap heap = heap(mode, UffdOptions.defaults()); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) HeapInternals.backend(heap);
            assertEquals(1L, heap.backendCounters().get("huge_allocation"), "huge pages are the default for " + mode);
            int head = CellList.build(m, 20_000);
            garbage(m, 16 << 20);
            assertTrue(hugeBytes(backend.viewAddress(), 0, CAPACITY) > 0,
                "the first view's allocation area has huge pages: " + vmas(backend.viewAddress()));
            for (int cycle = 1; cycle <= 3; cycle++) {
                m.collect();
                heap.awaitCompaction();
                long toSpaceEnd = heap.stats().used();
                long boundary = Math.ceilDiv(backend.viewAddress() + toSpaceEnd, HugePages.SIZE) * HugePages.SIZE
                    - backend.viewAddress();
                garbage(m, 16 << 20);
                assertEquals(0, hugeBytes(backend.viewAddress(), 0, boundary),
                    "cycle " + cycle + ": no huge page below the to-space end " + toSpaceEnd + ": " + vmas(backend.viewAddress()));
                assertTrue(hugeBytes(backend.viewAddress(), boundary, CAPACITY - boundary) > 0,
                    "cycle " + cycle + ": huge pages above the to-space end " + toSpaceEnd + ": " + vmas(backend.viewAddress()));
                CellList.check(m, head, 20_000);
                assertTrue(heap.verify().ok(), "cycle " + cycle + ": " + heap.verify());
            }
        }
    }

    /**
     * A seeded random program against a model, in huge allocation pages: lists built, replaced
     * and dropped in 48 root slots, garbage arrays of up to 512 KiB between them (so TLABs cross
     * many 2 MiB boundaries), a collection asked for now and then; after each of those, and at the end, each slot's list must read
     * exactly as the model says and the heap must verify (it also verifies after every cycle). Prints the seed on failure;
     * replay with {@code -Dfaultline.seed=N}.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void aSeededProgramMatchesItsModelInHugePages(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        Assumptions.assumeTrue(HugePages.offered(), "the kernel offers no transparent huge pages (" + HugePages.describe() + ")");
        UffdTestSupport.withSeed("HugeAllocationTest", mode.name(), seed -> runSeeded(mode, seed));
    }

    private static void runSeeded(Mode mode, long seed) {
        try (Heap heap = heap(mode, UffdOptions.defaults()); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) HeapInternals.backend(heap);
            long[] hugeSeen = {0};
            new SlotLists(m, 48, NODE.field("id")).runProgram(heap, new SplittableRandom(seed), NODE, 3000, 5, 512 << 10,
                () -> hugeSeen[0] = Math.max(hugeSeen[0], hugeBytes(backend.viewAddress(), 0, CAPACITY)));
            assertTrue(hugeSeen[0] > 0, "huge pages were used");
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void smallPagesLeaveTheWholeViewSmall(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        try (Heap heap = heap(mode, UffdOptions.defaults().withAllocationPages(AllocationPages.SMALL));
             Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) HeapInternals.backend(heap);
            assertEquals(0L, heap.backendCounters().get("huge_allocation"));
            int head = CellList.build(m, 20_000);
            for (int cycle = 1; cycle <= 2; cycle++) {
                garbage(m, 16 << 20);
                assertEquals(0, hugeBytes(backend.viewAddress(), 0, CAPACITY), "cycle " + cycle + ": " + vmas(backend.viewAddress()));
                m.collect();
                heap.awaitCompaction();
                CellList.check(m, head, 20_000);
            }
        }
    }

    @Test
    void hugePagesAreRefusedWhereRecycledPagesMove() {
        UffdOptions huge = UffdOptions.defaults().withAllocationPages(AllocationPages.HUGE);
        IllegalArgumentException recycle = assertThrows(IllegalArgumentException.class,
            () -> huge.withSupply(PageSupply.RECYCLE).check(Mode.MOVE));
        assertTrue(recycle.getMessage().contains("'huge'") && recycle.getMessage().contains("move")
            && recycle.getMessage().contains("recycle"), recycle.getMessage());
        huge.check(Mode.CONTINUE);
        huge.withSupply(PageSupply.KEEP).check(Mode.CONTINUE);
        huge.check(Mode.COPY);
        huge.check(Mode.MOVE);
        assertEquals(AllocationPages.SMALL, UffdOptions.defaults().withSupply(PageSupply.RECYCLE).allocationPages(Mode.MOVE));
        for (Mode mode : Mode.values()) {
            assertEquals(AllocationPages.HUGE, UffdOptions.defaults().allocationPages(mode), mode.name());
        }
        assertEquals(AllocationPages.SMALL, UffdOptions.defaults().withSupply(PageSupply.KEEP).allocationPages(Mode.CONTINUE),
            "CONTINUE with KEEP recycles its allocation pages: small ones by default");
    }

    /**
     * CONTINUE with KEEP in small pages (its default): no huge page anywhere in the view, and the
     * allocation area is still recycled every cycle (it is private anonymous memory, as with huge
     * pages; in the memfd half, as other CONTINUE heaps allocate, its pages could not move).
     */
    @Test
    void aKeepHeapRecyclesItsSmallAllocationPages() {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        try (Heap heap = heap(Mode.CONTINUE, UffdOptions.defaults().withSupply(PageSupply.KEEP)); Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) HeapInternals.backend(heap);
            assertEquals(0L, heap.backendCounters().get("huge_allocation"));
            int head = CellList.build(m, 20_000);
            long recycled = 0;
            for (int cycle = 1; cycle <= 3; cycle++) {
                garbage(m, 16 << 20);
                assertEquals(0, hugeBytes(backend.viewAddress(), 0, CAPACITY), "cycle " + cycle + ": " + vmas(backend.viewAddress()));
                m.collect();
                heap.awaitCompaction();
                long now = heap.backendCounters().get("recycled_allocation_bytes");
                assertTrue(now > recycled, "cycle " + cycle + ": the old allocation area was moved into the view (recycled bytes "
                    + recycled + " -> " + now + ")");
                recycled = now;
                CellList.check(m, head, 20_000);
            }
        }
    }

    private static Heap heap(Mode mode, UffdOptions options) {
        return Heap.create(HeapConfig.builder().capacity(CAPACITY).pageSize(4096).concurrentCompaction(true)
            .compactorThreads(1).verifyAfterGc(true).backend(UffdBackend.factory(mode, options)).build());
    }

    /** Allocates about {@code bytes} of unreachable byte arrays. */
    private static void garbage(Mutator m, long bytes) {
        for (long done = 0; done < bytes; done += 4096) {
            m.allocateByteArray(4000);
        }
    }

    /** AnonHugePages, in bytes, of the view's mappings that start in {@code [view + from, view + from + length)}. */
    private static long hugeBytes(long view, long from, long length) {
        long sum = 0;
        for (Smaps.Vma v : Smaps.field("AnonHugePages")) {
            if (v.start() >= view + from && v.start() < view + from + length) {
                sum += v.bytes();
            }
        }
        return sum;
    }

    private static String vmas(long view) {
        StringBuilder b = new StringBuilder();
        for (Smaps.Vma v : Smaps.field("AnonHugePages")) {
            if (v.start() >= view && v.start() < view + CAPACITY) {
                b.append(String.format("[+0x%x..+0x%x huge %d KiB] ", v.start() - view, v.end() - view, v.bytes() >> 10));
            }
        }
        return b.toString();
    }
}
