package io.faultline.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The java backend's resident memory follows use: a new heap has almost nothing resident, it
 * grows with allocation, from-space is released when a compaction completes (and behind the
 * frontier while it runs), and a capacity that cannot be reserved fails {@link Heap#create} with
 * a clear error. Residency is that of each semispace alone, measured with {@code mincore}
 * ({@link ResidentPages}); every heap is checked by the verifier.
 */
class JavaBackendMemoryTest {
    static final long PAGE = AnonymousMapping.osPageSize();
    static final long MIB = 1L << 20;
    static final ObjectType ITEM = ObjectType.builder("mem.Item").ref("next").i64("value").build();

    private static JavaBackend javaBackend(Heap heap) {
        return (JavaBackend) HeapInternals.backend(heap);
    }

    @Test
    void aNewOneGibHeapHasAlmostNothingResidentAndGrowsWithAllocation() {
        HeapConfig cfg = HeapConfig.builder().capacity(1L << 30).verifyAfterGc(true).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            JavaBackend backend = javaBackend(heap);
            long granule = backend.releaseGranule(); // a huge page if the kernel offers them
            long view = ResidentPages.bytes(backend.view());
            long spare = ResidentPages.bytes(backend.spare());
            assertTrue(view <= granule, "a new 1 GiB heap: " + view + " bytes of the view resident (the null guard's page)");
            assertEquals(0, spare, "a new 1 GiB heap: the other semispace");

            int keep = m.push(0);
            for (int i = 0; i < 64; i++) { // 64 x 512 KiB = 32 MiB, all of it live
                int array = m.allocateLongArray(512 * 1024 / 8 - 2);
                m.setLongAt(array, 0, i);
                if (i % 8 == 0) {
                    m.setHandle(keep, array);
                }
            }
            long top = HeapInternals.top(heap);
            long grown = ResidentPages.bytes(backend.view());
            assertTrue(grown >= top - granule && grown <= top + cfg.tlabBytes() + granule,
                    "after allocating up to " + top + " bytes the view has " + grown + " bytes resident");
            assertEquals(0, ResidentPages.bytes(backend.spare()), "nothing touches the other semispace");
            assertTrue(heap.verify().ok());
        }
    }

    /**
     * A heap of which about a tenth is live: after the collection and its compaction, the old
     * from-space has nothing resident and the view holds the to-space (about the live data), not
     * the capacity. Both with concurrent compaction and with compaction inside the pause.
     */
    @ParameterizedTest(name = "concurrent={0}")
    @ValueSource(booleans = {true, false})
    void fromSpaceIsReleasedWhenTheCompactionCompletes(boolean concurrent) {
        HeapConfig cfg = HeapConfig.builder().capacity(64 * MIB).verifyAfterGc(true).concurrentCompaction(concurrent)
                .compactorThreads(2).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            JavaBackend backend = javaBackend(heap);
            long granule = backend.releaseGranule();
            int list = m.push(0);
            long value = ITEM.field("value");
            int items = 0;
            while (HeapInternals.top(heap) < 48 * MIB) {
                m.allocateLongArray(60); // garbage
                if (++items % 10 == 0) {
                    int it = m.allocate(ITEM);
                    m.setLong(it, value, items);
                    m.setRef(it, 0, m.handle(list));
                    m.setHandle(list, it);
                }
            }
            assertEquals(0, heap.stats().gcCycles(), "no collection yet");
            long before = ResidentPages.bytes(backend.view());
            assertTrue(before >= 48 * MIB - granule, before + " bytes resident before the collection");

            m.collect();
            heap.awaitCompaction();

            long live = heap.stats().liveAfterLastGc();
            long toSpace = (live + cfg.pageSize() - 1) / cfg.pageSize() * cfg.pageSize();
            assertEquals(0, ResidentPages.bytes(backend.spare()), "from-space after the compaction");
            long after = ResidentPages.bytes(backend.view());
            assertTrue(after <= toSpace + granule, "the view after the compaction: " + after + " bytes resident for "
                    + live + " live bytes");
            assertTrue(after < before / 4, after + " bytes resident after, " + before + " before");
            assertTrue(heap.verify().ok());
            int n = 0;
            for (int it = m.handle(list); it != 0; it = m.getRef(it, 0)) {
                assertEquals(items / 10 * 10 - 10L * n, m.getLong(it, value), "item " + n);
                n++;
            }
            assertEquals(items / 10, n);

            // The next cycle's view is the semispace released above: fresh allocation there works
            // on zero-filled pages, and the heap stays sound across more cycles.
            // Above the top, the view reads as zero right after every collection (what would let
            // allocation skip zeroing on this backend), checked after the residency: reading maps pages.
            for (int cycle = 0; cycle < 3; cycle++) {
                for (int i = 0; i < 20_000; i++) {
                    m.allocateLongArray(60);
                }
                m.collect();
                heap.awaitCompaction();
                assertEquals(0, ResidentPages.bytes(backend.spare()), "from-space after cycle " + (cycle + 2));
                long top = HeapInternals.top(heap);
                MemorySegment above = backend.view().asSlice(top);
                long nonZero = above.mismatch(MemorySegment.ofArray(new byte[(int) above.byteSize()]));
                assertEquals(-1, nonZero, "cycle " + (cycle + 2) + ": the view is not zero at " + (top + nonZero)
                        + ", above the top " + top);
            }
            assertTrue(heap.verify().ok());
        }
    }

    /**
     * Driven directly, as the page protocol hands over its contiguous batches: a batch goes back
     * in whole granules (huge pages, where the kernel offers them), from the granule it starts in
     * to the one it ends in, which stays until the next batch covers its end, or until the end of
     * the compaction, which releases everything. (The protocol batches its ranges: see
     * HeapConfig.releaseBatchBytes.)
     */
    @Test
    void fromSpaceIsReleasedInWholeGranulesThenEntirely() {
        long capacity = 16 * MIB;
        int pageSize = (int) PAGE;
        try (JavaBackend backend = new JavaBackend(capacity, pageSize)) {
            long granule = backend.releaseGranule();
            backend.view().asSlice(0, 8 * MIB).fill((byte) 0x5A);
            backend.beginCompaction(8 * MIB, 0, 0);
            MemorySegment from = backend.fromSpace();
            assertEquals(8 * MIB, ResidentPages.bytes(from));
            assertEquals(0, ResidentPages.bytes(backend.view()), "the new view was never touched");

            long end = granule + granule / 2; // one whole granule and half of the next
            assertEquals(0, backend.releaseFromSpace(0, end));
            assertEquals(8 * MIB - granule, ResidentPages.bytes(from), "the whole granule below " + end + " only");
            assertEquals(0x5A5A5A5A5A5A5A5AL, from.get(ValueLayout.JAVA_LONG, granule), "the partial granule is kept");

            // the next batch, [1.5, 2.5) granules: the granule it starts in goes with it
            assertEquals(0, backend.releaseFromSpace(end, granule));
            assertEquals(8 * MIB - 2 * granule, ResidentPages.bytes(from), "the granules below " + (end + granule));
            assertEquals(0x5A5A5A5A5A5A5A5AL, from.get(ValueLayout.JAVA_LONG, 2 * granule), "the next partial granule is kept");

            backend.endCompaction();
            assertEquals(0, ResidentPages.bytes(from), "everything at the end");
            // Read only now: reading a released page maps the kernel's zero page, which mincore counts.
            assertEquals(0L, from.get(ValueLayout.JAVA_LONG, granule - 8), "released pages read as zero");

            backend.beginCompaction(0, 0, 0);
            for (long a = 0; a < capacity; a += 8) {
                if (backend.view().get(ValueLayout.JAVA_LONG, a) != 0) {
                    throw new AssertionError("the released semispace, now the view, reads " + Long.toHexString(
                            backend.view().get(ValueLayout.JAVA_LONG, a)) + " at " + a);
                }
            }
            backend.endCompaction();
        }
    }

    @Test
    void releasingFromSpaceAllocatesNothingOnTheJavaHeap() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (JavaBackend backend = new JavaBackend(16 * MIB, (int) PAGE)) {
            for (int round = 0; round < 6; round++) {
                backend.beginCompaction(16 * MIB, 0, 0);
                long before = threads.getCurrentThreadAllocatedBytes();
                for (long a = 0; a < 16 * MIB; a += 512) {
                    if (backend.releaseFromSpace(a, 512) != 0) {
                        fail("release of from-space [" + a + ", " + (a + 512) + ") failed");
                    }
                }
                backend.endCompaction();
                long bytes = threads.getCurrentThreadAllocatedBytes() - before;
                if (round >= 3) {
                    assertTrue(bytes < 4096, "round " + round + ": releasing 16 MiB in 512-byte steps allocated "
                            + bytes + " bytes");
                }
            }
        }
    }

    @Test
    void aCapacityThatCannotBeReservedIsAClearErrorFromHeapCreate() {
        long impossible = 1L << 62; // HeapConfig caps the capacity; the factory seam asks mmap for more
        HeapConfig cfg = HeapConfig.builder().capacity(64 * MIB)
                .backend((capacity, pageSize) -> new JavaBackend(impossible, pageSize)).build();
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> Heap.create(cfg));
        String message = e.getMessage();
        for (String part : new String[] {"java backend", "heap of capacity " + impossible + " bytes",
                "reserving semispace 1 failed: mmap(NULL, ", "MAP_NORESERVE", "errno 12 ENOMEM (Cannot allocate memory)"}) {
            assertTrue(message.contains(part), "'" + part + "' missing from: " + message);
        }
    }

    /**
     * 64 TiB fits once in a 47-bit user address space (128 TiB) but not twice: the second
     * semispace fails, the message says so, and the first is unmapped again (VmSize is back).
     */
    @Test
    void whenOnlyOneSemispaceFitsTheOtherIsUnmappedAndTheErrorSaysWhich() throws Exception {
        long half = 1L << 46;
        try (AnonymousMapping probe = AnonymousMapping.reserve(half)) {
            assertEquals(half, probe.byteSize());
        } catch (OutOfMemoryError e) {
            Assumptions.abort("this process cannot reserve even one 64 TiB range (ulimit -v?): " + e.getMessage());
        }
        long vmSizeBefore = vmSizeBytes();
        try {
            new JavaBackend(half, (int) PAGE).close();
            Assumptions.abort("this address space holds two 64 TiB ranges");
        } catch (OutOfMemoryError e) {
            assertTrue(e.getMessage().contains("reserving semispace 2 failed"), e.getMessage());
        }
        long vmSizeAfter = vmSizeBytes();
        assertTrue(vmSizeAfter < vmSizeBefore + (1L << 40), "VmSize grew from " + vmSizeBefore + " to " + vmSizeAfter
                + " bytes: the first semispace was not unmapped");
    }

    private static long vmSizeBytes() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmSize:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmSize in /proc/self/status");
    }
}
