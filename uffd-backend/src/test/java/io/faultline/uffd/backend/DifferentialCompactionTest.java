package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.testing.ModelRunner;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Differential: for every to-space page of every cycle of seeded model programs, the Java page
 * compactor (the collector's {@link PageBuilder}) and the C compactor ({@code fl_compact_page_into})
 * build byte-identical pages. Runs stop-the-world: right after the pause's {@code beginCompaction}
 * (bounds planned, nothing built yet) both compactors build every to-space page into buffers
 * pre-filled with different patterns (so a byte one of them leaves unwritten shows up as a
 * difference); then the pause compacts as usual. Half the programs have young cycles, whose old
 * pages below the verbatim end both copy as they were (how many depends on the programs; one
 * more test makes sure there are some).
 */
class DifferentialCompactionTest {
    static final int PROGRAMS = Integer.getInteger("faultline.diffPrograms", 30);

    @ParameterizedTest
    @EnumSource(Mode.class)
    void javaAndNativeCompactorsBuildIdenticalPages(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        AtomicLong compared = new AtomicLong();
        AtomicLong verbatim = new AtomicLong();
        HeapBackend.Factory factory = (capacity, pageSize) ->
            new Comparing(new UffdBackend(mode, capacity, pageSize), compared, verbatim);
        ModelRunner runner = new ModelRunner("mvn -pl uffd-backend test -Dtest=DifferentialCompactionTest", factory, false);
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        long replay = ModelRunner.replaySeed();
        SplittableRandom seeds = new SplittableRandom(base);
        for (int i = 0; i < (replay >= 0 ? 1 : PROGRAMS); i++) {
            runner.run(replay >= 0 ? replay : seeds.nextLong() & Long.MAX_VALUE, 1);
        }
        System.out.println("DifferentialCompactionTest " + mode + " baseSeed=" + base + ": " + compared.get()
            + " pages identical, " + verbatim.get() + " of them below the verbatim end");
        assertTrue(compared.get() > 100, "too few pages compared: " + compared.get());
    }

    /**
     * The verbatim path, for certain: an old list (2.5 MiB) and garbage until two young cycles
     * ran; every page of theirs, the old ones below the verbatim end included, is compared.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void bothCompactorsCopyTheSamePagesAsTheyWere(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        AtomicLong compared = new AtomicLong();
        AtomicLong verbatim = new AtomicLong();
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).verifyAfterGc(true).youngCycles(true)
                .backend((capacity, pageSize) -> new Comparing(new UffdBackend(mode, capacity, pageSize), compared, verbatim)).build();
        int n = 40_000;
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = CellList.build(m, n);
            m.collect();
            for (long i = 1; (i & 1023) != 0 || heap.stats().youngCycles() < 2; i++) {
                if (i == 40_000_000) {
                    throw new AssertionError(mode + ": too few young cycles: " + heap.stats());
                }
                m.allocate(CellList.CELL); // garbage
            }
            heap.awaitCompaction();
            CellList.check(m, list, n);
        }
        assertTrue(verbatim.get() > 100, mode + ": " + verbatim.get() + " of " + compared.get() + " pages compared were below the verbatim end");
    }

    /** Delegates everything; compares every page of a cycle as the cycle begins. */
    static final class Comparing implements HeapBackend {
        private final UffdBackend d;
        private final AtomicLong compared;
        private final AtomicLong verbatim;
        private final Arena arena = Arena.ofShared();
        private GcMetadata metadata;
        private final MemorySegment javaPage;
        private final MemorySegment nativePage;
        private PageBuilder builder;

        Comparing(UffdBackend d, AtomicLong compared, AtomicLong verbatim) {
            this.d = d;
            this.compared = compared;
            this.verbatim = verbatim;
            this.javaPage = arena.allocate(d.pageSize(), 4096);
            this.nativePage = arena.allocate(d.pageSize(), 4096);
        }

        @Override
        public void attach(GcMetadata metadata, PageBuilder pageBuilder) {
            this.builder = pageBuilder;
            this.metadata = metadata;
            d.attach(metadata, pageBuilder);
        }

        @Override
        public void beginCompaction(long usedBytes, long firstPage, long endPage) {
            d.beginCompaction(usedBytes, firstPage, endPage);
            MemorySegment from = d.fromSpace();
            long verbatimEnd = metadata.control().get(ControlBlock.VERBATIM_END);
            for (long page = firstPage; page < endPage; page++) {
                javaPage.fill((byte) 0x5A);
                nativePage.fill((byte) 0xA5);
                builder.build(from, page, javaPage, 0);
                d.compactPageNatively(page, nativePage);
                long mismatch = javaPage.mismatch(nativePage);
                if (mismatch >= 0) {
                    throw new AssertionError("page " + page + " differs at byte " + mismatch + ": java 0x"
                        + Long.toHexString(javaPage.get(ValueLayout.JAVA_LONG_UNALIGNED, mismatch & -8))
                        + " native 0x" + Long.toHexString(nativePage.get(ValueLayout.JAVA_LONG_UNALIGNED, mismatch & -8)));
                }
                compared.incrementAndGet();
                if ((page + 1) * d.pageSize() <= verbatimEnd) {
                    verbatim.incrementAndGet();
                }
            }
        }

        @Override public long compactStep(long maxPages) { return d.compactStep(maxPages); }
        @Override public int serveFault(long page) { return d.serveFault(page); }
        @Override public String name() { return d.name(); }
        @Override public String mode() { return d.mode(); }
        @Override public long capacity() { return d.capacity(); }
        @Override public int pageSize() { return d.pageSize(); }
        @Override public MemorySegment view() { return d.view(); }
        @Override public boolean accessNeedsPageCheck() { return false; }
        @Override public void endCompaction() { d.endCompaction(); }
        @Override public MemorySegment fromSpace() { return d.fromSpace(); }

        @Override
        public void close() {
            d.close();
            arena.close();
        }

        @Override
        public void releaseView() {
            d.releaseView();
        }
    }
}
