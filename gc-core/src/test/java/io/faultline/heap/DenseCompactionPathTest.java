package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.PageBuildException;
import io.faultline.gc.compact.PageCompactor;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.model.ObjectType;
import io.faultline.testing.ModelRunner;
import io.faultline.testing.RecordingBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The page compactor's dense path ({@link PageCompactor}: a page whose source is one stretch of
 * live words is one copy and one walk). After every collection of seeded random programs, every
 * to-space page rebuilt from the from-space snapshot with the dense path is byte-identical to the
 * page rebuilt with it off (the two-pass path) and to the page the collector built; the programs
 * make both dense pages (survivors the last compaction packed, fresh allocation) and sparse ones
 * (survivors among new garbage), and the test checks that both kinds occurred. A header damaged
 * inside a dense page fails the dense build naming the same object as the two-pass build. The heap
 * verifies itself after every collection.
 * Failures print the seed; {@code -Dfaultline.seed=N} replays one.
 */
class DenseCompactionPathTest {
    private static final ObjectType NODE = ObjectType.builder("dense.Node").refs("a", "b").i32("x").i64("y").build();
    private static final int HANDLES = 48;

    @Test
    void theDensePathBuildsTheSameBytesAsTheTwoPassPath() {
        long replay = ModelRunner.replaySeed();
        long base = replay >= 0 ? replay : System.nanoTime() & Long.MAX_VALUE;
        SplittableRandom seeds = new SplittableRandom(base);
        long dense = 0;
        long sparse = 0;
        for (int program = 0; program < (replay >= 0 ? 1 : 6); program++) {
            long seed = program == 0 ? base : seeds.nextLong() & Long.MAX_VALUE;
            try {
                long[] counts = runProgram(seed);
                dense += counts[0];
                sparse += counts[1];
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
            }
        }
        assertTrue(dense > 100, "the programs built " + dense + " dense pages; too few to test the dense path");
        assertTrue(sparse > 20, "the programs built " + sparse + " pages by the two-pass path; too few to compare with");
    }

    /** Runs one program, comparing after each collection; returns {dense pages, other pages}. */
    private static long[] runProgram(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        RecordingBackend[] backend = {null};
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).concurrentCompaction(false).verifyAfterGc(true)
                .backend((cap, ps) -> {
                    backend[0] = new RecordingBackend(cap, ps);
                    backend[0].snapshotFromSpace = true;
                    return backend[0];
                }).build();
        long dense = 0;
        long pagesCompared = 0;
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int[] h = new int[HANDLES];
            for (int i = 0; i < HANDLES; i++) {
                h[i] = m.push(0);
            }
            for (int round = 0; round < 8; round++) {
                // keep a random fraction: garbage between survivors makes sparse pages, what survives
                // a collection unchanged makes dense ones
                int steps = r.nextInt(2_000, 12_000);
                for (int s = 0; s < steps; s++) {
                    int obj = allocate(m, r);
                    int slot = r.nextInt(HANDLES);
                    int other = m.handle(h[r.nextInt(HANDLES)]);
                    linkIfPossible(m, obj, other, r);
                    if (r.nextInt(4) == 0) {
                        m.setHandle(h[slot], obj);
                    }
                }
                m.collect();
                long[] counts = compareEveryPage(heap, backend[0].fromSpaceSnapshot);
                dense += counts[0];
                pagesCompared += counts[1];
            }
        }
        return new long[] {dense, pagesCompared - dense};
    }

    private static int allocate(Mutator m, SplittableRandom r) {
        int p = r.nextInt(10);
        if (p < 6) {
            int n = m.allocate(NODE);
            m.setInt(n, NODE.field("x"), r.nextInt());
            return n;
        } else if (p < 8) {
            return m.allocateRefArray(r.nextInt(0, 90));
        } else if (p < 9) {
            return m.allocateLongArray(r.nextInt(0, 70));
        }
        return m.allocateLongArray(r.nextInt(500, 1500)); // spans pages
    }

    /** Stores {@code other} into a reference slot of {@code obj}, if it has one. */
    private static void linkIfPossible(Mutator m, int obj, int other, SplittableRandom r) {
        int type = m.typeId(obj);
        if (type == NODE.id()) {
            m.setRef(obj, r.nextInt(2), other);
        } else if (type == io.faultline.model.ObjectLayout.TYPE_REF_ARRAY && m.length(obj) > 0) {
            m.setRef(obj, r.nextInt(m.length(obj)), other);
        }
    }

    /**
     * Rebuilds every page of the last collection both ways into scratch pages and compares them
     * with each other and with the view; returns {dense pages, pages}. Then damages, in a copy of
     * from-space, the first object of the first dense page that has one and checks both builds
     * fail naming it.
     */
    private static long[] compareEveryPage(Heap heap, MemorySegment from) {
        GcMetadata md = heap.metadata;
        int ps = md.pageSize();
        PageCompactor withDense = new PageCompactor(md.bitmap(), md.offsets(), md.firstObjects(), ps, true);
        PageCompactor twoPass = new PageCompactor(md.bitmap(), md.offsets(), md.firstObjects(), ps, false);
        ControlBlock c = md.control();
        long fromTop = c.get(ControlBlock.FROM_TOP);
        withDense.setCycle(fromTop, c.get(ControlBlock.NEW_TOP));
        twoPass.setCycle(fromTop, c.get(ControlBlock.NEW_TOP));
        long first = c.get(ControlBlock.FIRST_PAGE);
        long end = c.get(ControlBlock.END_PAGE);
        Arena arena = Arena.ofAuto();
        MemorySegment a = arena.allocate(ps, ps);
        MemorySegment b = arena.allocate(ps, ps);
        long damageablePage = -1;
        for (long p = first; p < end; p++) {
            a.fill((byte) 0x5A);
            b.fill((byte) 0xA5);
            long before = withDense.densePages();
            withDense.build(from, p, a, 0);
            twoPass.build(from, p, b, 0);
            assertEquals(-1, a.mismatch(b), "page " + p + ": the dense and the two-pass builds differ");
            assertEquals(-1, a.mismatch(heap.view.asSlice(p * ps, ps)), "page " + p + ": the rebuild differs from the collector's page");
            long obj = md.firstObjects().get(p);
            if (withDense.densePages() > before && damageablePage < 0 && obj > 0 && obj != MetadataDescriptor.NO_OBJECT) {
                damageablePage = p;
            }
        }
        assertEquals(0, twoPass.densePages(), "the two-pass compactor took the dense path");
        if (damageablePage >= 0) {
            long obj = md.firstObjects().get(damageablePage);
            MemorySegment damaged = arena.allocate(from.byteSize(), 8).copyFrom(from);
            damaged.set(ValueLayout.JAVA_LONG_UNALIGNED, obj, 0L);
            long page = damageablePage;
            PageBuildException d = assertThrows(PageBuildException.class, () -> withDense.build(damaged, page, a, 0));
            PageBuildException t = assertThrows(PageBuildException.class, () -> twoPass.build(damaged, page, b, 0));
            assertEquals(obj, d.fromOffset(), "the dense build names the damaged object");
            assertEquals(t.fromOffset(), d.fromOffset());
            assertEquals(t.getMessage(), d.getMessage());
        }
        return new long[] {withDense.densePages(), end - first};
    }
}
