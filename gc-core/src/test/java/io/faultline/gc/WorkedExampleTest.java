package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The worked example of docs/metadata-and-planning.md, built as a real heap: six objects in 512-byte
 * pages, one collection, and every number the page states: the mark bitmap, the offset vector,
 * the forwarded references, the first-object table, the control block after the flip, what each
 * page build writes, and the from-space release after each page. If this test and the page
 * disagree, one of them is wrong.
 */
class WorkedExampleTest {
    static final int PAGE = 512;
    static final ObjectType A_TYPE = ObjectType.builder("example.A").ref("e").i64("v").build();
    static final ObjectType E_TYPE = ObjectType.builder("example.E").refs("f", "n").bytes("data", 456).build();
    static final ObjectType F_TYPE = ObjectType.builder("example.F").refs("c", "a").bytes("data", 40).build();

    /** The control-block words of the release, read as each page build starts. */
    record BuildStart(long page, long frontierPage, long consumed, long released, long pagesLeft) {
    }

    @Test
    void theExampleHeapHasTheNumbersThePageStates() {
        List<BuildStart> builds = new ArrayList<>();
        GcMetadata[] metadata = new GcMetadata[1];
        HeapConfig cfg = HeapConfig.builder().capacity(64 * PAGE).pageSize(PAGE).tlabBytes(16 << 20)
                .concurrentMarking(false).concurrentCompaction(false).runPages(1).releaseBatchBytes(PAGE)
                .backend((capacity, pageSize) -> new Watched(new JavaBackend(capacity, pageSize), builds, metadata))
                .build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int a = m.allocate(A_TYPE);
            int b = m.allocateLongArray(8);
            int c = m.allocateByteArray(384);
            int d = m.allocateLongArray(28);
            int e = m.allocate(E_TYPE);
            int f = m.allocate(F_TYPE);
            assertEquals(List.of(16L, 48L, 128L, 528L, 768L, 1248L),
                    List.of(off(a), off(b), off(c), off(d), off(e), off(f)), "from-space offsets of A..F");
            assertEquals(List.of(2, 16, 96, 156), List.of(a, c, e, f), "compressed refs = offset / 8");
            assertEquals(1312, HeapInternals.top(heap), "used");
            m.setRef(a, 0, e);
            m.setRef(e, 0, f);
            m.setRef(f, 0, c);
            m.setRef(f, 1, a);
            for (int i = 0; i < 384; i++) {
                m.setByte(c, ObjectLayout.ARRAY_DATA_OFFSET + i, (byte) i);
            }
            int handle = m.push(a);

            m.collect();

            GcMetadata md = HeapInternals.metadata(heap);
            // mark bitmap: every word of every live object
            assertEquals(0xFFFFFFFFFFFF003FL, md.bitmap().entry(0), "chunk 0: guard, A, C's head");
            assertEquals(0xFFFFFFFF00000003L, md.bitmap().entry(1), "chunk 1: C's tail, E's head");
            assertEquals(0x0000000FFFFFFFFFL, md.bitmap().entry(2), "chunk 2: E's tail, F");
            assertEquals(List.of(54, 34, 36), List.of(Long.bitCount(md.bitmap().entry(0)),
                    Long.bitCount(md.bitmap().entry(1)), Long.bitCount(md.bitmap().entry(2))));
            // object starts recorded by the marker: only objects that cover a chunk's first word
            assertTrue(md.objectStarts().isStart(128), "C covers word 64");
            assertTrue(md.objectStarts().isStart(768), "E covers word 128");
            assertFalse(md.objectStarts().isStart(16), "A covers no chunk start");
            assertFalse(md.objectStarts().isStart(1248), "F covers no chunk start");
            // offset vector and forwarding
            assertEquals(List.of(0L, 432L, 704L), List.of(md.offsets().chunkOffset(0), md.offsets().chunkOffset(1),
                    md.offsets().chunkOffset(2)));
            assertEquals(List.of(16L, 48L, 448L, 928L), List.of(md.offsets().forward(16), md.offsets().forward(128),
                    md.offsets().forward(768), md.offsets().forward(1248)), "forward(A, C, E, F)");
            // first-object table: page 0 starts with the guard, page 1 inside E
            assertEquals(0, md.firstObjects().get(0));
            assertEquals(768, md.firstObjects().get(1));

            // the flip: bounds in the control block, allocation resumes at the next page boundary
            ControlBlock control = md.control();
            assertEquals(1312, control.get(ControlBlock.FROM_TOP));
            assertEquals(992, control.get(ControlBlock.NEW_TOP));
            assertEquals(0, control.get(ControlBlock.FIRST_PAGE));
            assertEquals(2, control.get(ControlBlock.END_PAGE));
            assertEquals(1024, HeapInternals.top(heap), "new allocation starts at 2 * 512");
            assertEquals(992 - 16, heap.stats().liveAfterLastGc(), "live bytes (the guard not counted)");

            // the page builds and the release after each: one page per run, a release batch of one page
            assertEquals(List.of(new BuildStart(0, 0, 0, 0, 2), new BuildStart(1, 1, 512, 512, 1)), builds,
                    "page 1's build starts after page 0 was mapped, the frontier moved to 1 and from-space [0, 512) was released");
            assertEquals(2, control.get(ControlBlock.FRONTIER_PAGE));
            assertEquals(1024, control.get(ControlBlock.CONSUMED), "FROM_TOP 1312 rounded down to a page");
            assertEquals(1024, control.get(ControlBlock.RELEASED));
            assertEquals(0, control.get(ControlBlock.PAGES_LEFT));
            assertEquals(PageStates.MAPPED, md.pageStates().stateAcquire(0));
            assertEquals(PageStates.MAPPED, md.pageStates().stateAcquire(1));
            assertEquals(MemorySegment.NULL, HeapInternals.backend(heap).fromSpace(), "endCompaction dropped the rest");

            // what the page builds wrote
            int a2 = m.handle(handle);
            assertEquals(2, a2, "handle A: 2 -> 2");
            assertEquals(56, m.getRef(a2, 0), "A's slot at 32: 96 -> 56 (E)");
            int e2 = m.getRef(a2, 0);
            assertEquals(116, m.getRef(e2, 0), "E's slot at 464: 156 -> 116 (F)");
            assertEquals(0, m.getRef(e2, 1), "E's slot at 468: null stays null");
            int f2 = m.getRef(e2, 0);
            assertEquals(6, m.getRef(f2, 0), "F's slot at 944: 16 -> 6 (C)");
            assertEquals(2, m.getRef(f2, 1), "F's slot at 948: 2 -> 2 (A)");
            int c2 = m.getRef(f2, 0);
            for (int i = 0; i < 384; i++) {
                assertEquals((byte) i, m.getByte(c2, ObjectLayout.ARRAY_DATA_OFFSET + i), "C's byte " + i);
            }
            MemorySegment view = HeapInternals.view(heap);
            long filler = ObjectLayout.readHeader(view, 992);
            assertEquals(4, ObjectLayout.sizeWords(filler), "page 1's tail [992, 1024) is one filler of 4 words");
            assertEquals(0, ObjectLayout.refCount(filler));
            assertEquals(ObjectLayout.TYPE_FILLER, ObjectLayout.typeId(view.get(java.lang.foreign.ValueLayout.JAVA_LONG, 1000)));
            assertTrue(heap.verify().ok());
        }
    }

    private static long off(int ref) {
        return ObjectLayout.refToOffset(ref);
    }

    /** The java backend, with a look at the control block each time a page build starts. */
    private static final class Watched extends ForwardingBackend {
        private final JavaBackend inner;
        private final List<BuildStart> builds;
        private final GcMetadata[] metadata;

        Watched(JavaBackend inner, List<BuildStart> builds, GcMetadata[] metadata) {
            super(inner);
            this.inner = inner;
            this.builds = builds;
            this.metadata = metadata;
        }

        @Override
        public void attach(GcMetadata md, PageBuilder builder) {
            metadata[0] = md;
            ControlBlock c = md.control();
            inner.attach(md, (from, page, dst, dstOffset) -> {
                builds.add(new BuildStart(page, c.get(ControlBlock.FRONTIER_PAGE), c.get(ControlBlock.CONSUMED),
                        c.get(ControlBlock.RELEASED), c.get(ControlBlock.PAGES_LEFT)));
                builder.build(from, page, dst, dstOffset);
            });
        }
    }
}
