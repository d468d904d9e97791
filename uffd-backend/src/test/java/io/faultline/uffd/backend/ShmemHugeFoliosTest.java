package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.HugePages;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * CONTINUE's memfd in 2 MiB folios: with {@code KEEP} the backend advises its alias
 * {@code MADV_HUGEPAGE}, so on a host whose {@code shmem_enabled} offers huge folios the builders'
 * writes through the alias fill the memfd with them, read from the kernel's own accounting
 * ({@code ShmemPmdMapped} of the alias in {@code /proc/self/smaps}); with {@code FRESH} it advises
 * {@code MADV_NOHUGEPAGE} and the alias maps none (their punches would split them). Every object
 * survives every cycle in every page supply. Where the host offers no huge folios
 * ({@code shmem_enabled} {@code never}, the default) the huge-folio tests are skipped and say so.
 */
class ShmemHugeFoliosTest {
    static final ObjectType NODE = ObjectType.builder("ShmemHugeNode").refs("next").i32("id").bytes("pad", 48).build();
    static final long CAPACITY = 64L << 20;

    @Test
    void theCounterSaysWhetherTheHostGivesTheMemfdHugeFolios() {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        try (Heap heap = heap(Mode.CONTINUE, UffdOptions.defaults().withSupply(PageSupply.KEEP))) {
            assertEquals(HugePages.shmemOffered() ? 1L : 0L, heap.backendCounters().get("shmem_huge_folios"),
                HugePages.describe());
        }
        try (Heap heap = heap(Mode.CONTINUE, UffdOptions.defaults())) {
            assertEquals(0L, heap.backendCounters().get("shmem_huge_folios"), "FRESH is advised 4 KiB folios");
        }
        if (UffdTestSupport.available(Mode.COPY)) {
            try (Heap heap = heap(Mode.COPY, UffdOptions.defaults())) {
                assertEquals(0L, heap.backendCounters().get("shmem_huge_folios"), "COPY has no memfd");
            }
        }
    }

    /**
     * A seeded program against a model (lists built, replaced and dropped in 48 root slots,
     * garbage between them, a collection now and then, each checked against the model and
     * verified), on a host that gives the memfd huge folios: with KEEP the alias must show
     * PMD-mapped shared memory, with FRESH none (unless the host forces huge folios). Prints the seed on failure; replay with {@code -Dfaultline.seed=N}.
     */
    @ParameterizedTest
    @EnumSource(value = PageSupply.class, names = {"FRESH", "KEEP", "FALLOCATE"})
    void withHugeFoliosTheBuildersFillThemAndEveryObjectSurvives(PageSupply supply) {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        Assumptions.assumeTrue(HugePages.shmemOffered(), "the host gives shared memory no huge folios ("
            + HugePages.describe() + "); 'echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled' turns them on");
        UffdTestSupport.withSeed("ShmemHugeFoliosTest", supply.name(), seed -> runSeeded(supply, seed));
    }

    private static void runSeeded(PageSupply supply, long seed) {
        try (Heap heap = heap(Mode.CONTINUE, UffdOptions.defaults().withSupply(supply)); Mutator m = heap.attach()) {
            assertEquals(supply == PageSupply.KEEP ? 1L : 0L, heap.backendCounters().get("shmem_huge_folios"));
            // Sampled before each collection (what the last compaction built) and after the last.
            long[] pmdMapped = {0};
            Runnable sample = () -> pmdMapped[0] = Math.max(pmdMapped[0], aliasShmemPmdMappedBytes());
            int collections = new SlotLists(m, 48, NODE.field("id")).runProgram(heap, new SplittableRandom(seed), NODE, 3000,
                10, 256 << 10, sample);
            sample.run();
            assertTrue(collections >= 2, "collections: " + collections);
            if (supply == PageSupply.KEEP) {
                assertTrue(pmdMapped[0] > 0, "the alias maps huge folios (" + HugePages.describe() + ")");
            } else if (supply == PageSupply.FRESH && !HugePages.describe().endsWith("shmem_enabled=force")) {
                assertEquals(0, pmdMapped[0], "FRESH's alias is advised 4 KiB folios (" + HugePages.describe() + ")");
            }
        }
    }

    private static Heap heap(Mode mode, UffdOptions options) {
        return Heap.create(HeapConfig.builder().capacity(CAPACITY).pageSize(4096).concurrentCompaction(true)
            .compactorThreads(1).verifyAfterGc(true).backend(UffdBackend.factory(mode, options)).build());
    }

    /** {@code ShmemPmdMapped} of the heap's alias: the mapping of its memfd that is twice the capacity long. */
    private static long aliasShmemPmdMappedBytes() {
        boolean found = false;
        long bytes = 0;
        for (Smaps.Vma v : Smaps.field("ShmemPmdMapped")) {
            if (v.path().contains(UffdBackend.MEMFD_NAME) && v.end() - v.start() == 2 * CAPACITY) {
                found = true;
                bytes += v.bytes();
            }
        }
        assertTrue(found, "no mapping of " + UffdBackend.MEMFD_NAME + " of " + 2 * CAPACITY + " bytes in /proc/self/smaps");
        return bytes;
    }
}
