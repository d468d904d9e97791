package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.meta.GcMetadata;
import io.faultline.heap.HeapInternals;
import io.faultline.meta.MarkBitmap;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.meta.OffsetVector;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Compressor's planning math at boundary sizes. Objects are allocated back to back (a TLAB
 * larger than the heap makes every allocation exact), a chosen subset is kept alive, and after a
 * collection every survivor must sit exactly at 16 (the null guard) plus the sizes of the
 * survivors before it, with its bytes intact.
 */
class PlanningTest {
    static final int PAGE = 4096;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("2 words, alternate", repeat(2, 300), alternate(300)),
                Arguments.of("63 words, alternate", repeat(63, 60), alternate(60)),
                Arguments.of("64 words, alternate", repeat(64, 60), alternate(60)),
                Arguments.of("65 words, alternate", repeat(65, 60), alternate(60)),
                Arguments.of("mixed 2/63/64/65", mixed(), every(mixed().length, 3)),
                Arguments.of("straddling pages", repeat(65, 40), every(40, 2)),
                Arguments.of("one object of several pages", new int[] {5, 3 * PAGE / 8 + 5, 7}, new boolean[] {false, true, true}),
                Arguments.of("several-page object moves", new int[] {700, 3 * PAGE / 8 + 5, 64}, new boolean[] {false, true, true}),
                Arguments.of("all live", repeat(65, 50), every(50, 1)),
                Arguments.of("all dead", repeat(65, 50), new boolean[50]),
                Arguments.of("empty heap", new int[0], new boolean[0]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void survivorsLandWhereThePlanSays(String name, int[] words, boolean[] live) {
        for (boolean concurrent : new boolean[] {false, true}) {
            HeapConfig cfg = HeapConfig.builder().capacity(256 * PAGE).pageSize(PAGE).tlabBytes(16 << 20)
                    .checkedAccess(true).verifyAfterGc(true).concurrentCompaction(concurrent).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                List<Integer> handles = new ArrayList<>();
                long expectOffset = ObjectLayout.HEADER_BYTES;
                List<Long> expected = new ArrayList<>();
                long at = ObjectLayout.HEADER_BYTES;
                for (int i = 0; i < words.length; i++) {
                    int len = (words[i] - 2) * 8;
                    int obj = m.allocateByteArray(len);
                    assertEquals(at, ObjectLayout.refToOffset(obj), "allocation is contiguous");
                    at += words[i] * 8L;
                    for (int b = 0; b < len; b += 97) {
                        m.setByteAt(obj, b, (byte) (i + b));
                    }
                    if (live[i]) {
                        handles.add(m.push(obj));
                        expected.add(expectOffset);
                        expectOffset += words[i] * 8L;
                    }
                }
                m.collect();
                assertEquals(expectOffset - ObjectLayout.HEADER_BYTES, heap.stats().liveAfterLastGc(), "live bytes (the null guard not counted)");
                long pages = (expectOffset + PAGE - 1) / PAGE;
                assertEquals(pages * PAGE, HeapInternals.top(heap), "allocation resumes at the next page boundary");
                int k = 0;
                for (int i = 0; i < words.length; i++) {
                    if (!live[i]) {
                        continue;
                    }
                    int obj = m.handle(handles.get(k));
                    assertEquals((long) expected.get(k), ObjectLayout.refToOffset(obj), "object " + i + " (" + words[i] + " words)");
                    int len = (words[i] - 2) * 8;
                    assertEquals(len, m.length(obj));
                    for (int b = 0; b < len; b += 97) {
                        assertEquals((byte) (i + b), m.getByteAt(obj, b), "object " + i + " byte " + b);
                    }
                    k++;
                }
                assertTrue(heap.verify().ok());
                assertEquals(heap.stats().gcCycles(), heap.stats().verifiedCycles());
            }
        }
    }

    @Test
    void forwardIsOffsetPlusPopcountBelow() {
        try (GcMetadata md = new GcMetadata(64 * 1024, 4096)) {
            MarkBitmap bitmap = md.bitmap();
            OffsetVector offsets = md.offsets();
            bitmap.clear(64 * 1024);
            bitmap.markRange(0, 2);        // words 0-1
            bitmap.markRange(63 * 8, 3);   // words 63-65 cross the first entry
            bitmap.markRange(130 * 8, 64); // words 130-193: a whole entry's worth, unaligned
            long live = offsets.build(64 * 1024, 0);
            assertEquals((2 + 3 + 64) * 8, live);
            assertEquals(0, offsets.forward(0));
            assertEquals(16, offsets.forward(63 * 8));
            assertEquals(24, offsets.forward(64 * 8), "second half of a straddling object");
            assertEquals(40, offsets.forward(130 * 8));
            assertEquals(40 + 63 * 8, offsets.forward(193 * 8));
            assertEquals(63 * 8, bitmap.nextMarked(16, 64 * 1024));
            assertEquals(130 * 8, bitmap.nextMarked(66 * 8, 64 * 1024));
            assertEquals(64 * 1024, bitmap.nextMarked(194 * 8, 64 * 1024));
            assertEquals(100 * 8, bitmap.nextMarked(66 * 8, 100 * 8), "limit is honoured");
        }
    }

    /**
     * The planner reads the headers of objects below the read view's end through the read view
     * (the collector's alias in CONTINUE), not through the view: here the view holds zeros there,
     * which planning reports as heap damage if it reads them, and the plan must match a walk of
     * the live objects.
     */
    @Test
    void headersBelowTheReadViewsEndAreReadThroughIt() {
        long capacity = 16 * PAGE;
        long split = 8 * PAGE;
        long used = 12 * PAGE;
        try (GcMetadata md = new GcMetadata(capacity, PAGE); Arena arena = Arena.ofConfined()) {
            MemorySegment view = arena.allocate(capacity, 8);
            MemorySegment low = arena.allocate(split, 8);
            md.bitmap().clear(capacity);
            md.objectStarts().clear(capacity);
            md.bitmap().markRange(0, ObjectLayout.MIN_OBJECT_WORDS); // the null guard
            List<long[]> live = new ArrayList<>(); // {from offset, words}
            long at = ObjectLayout.HEADER_BYTES;
            int i = 0;
            while (at < used) {
                long words = at == ObjectLayout.HEADER_BYTES ? 6 : 8; // 16 + 48, then 64-byte steps: none crosses the split
                ObjectLayout.writeHeader(at < split ? low : view, at, words, 0, ObjectLayout.TYPE_FILLER, 0);
                if (i++ % 3 != 1) {
                    md.bitmap().markRange(at, words);
                    if (ObjectStartBitmap.coversChunkStart(at, words)) {
                        md.objectStarts().orPlain(ObjectStartBitmap.entryOf(at), ObjectStartBitmap.bitOf(at));
                    }
                    live.add(new long[] {at, words});
                }
                at += words * 8;
            }
            Planner planner = new Planner(md.bitmap(), md.objectStarts(), md.offsets(), md.firstObjects(), PAGE);
            long newTop = planner.plan(view, low, used, 0);
            long expectTop = ObjectLayout.HEADER_BYTES + live.stream().mapToLong(o -> o[1] * 8).sum();
            assertEquals(expectTop, newTop);
            long to = ObjectLayout.HEADER_BYTES;
            for (long[] o : live) {
                long end = to + o[1] * 8;
                for (long p = (to + PAGE - 1) / PAGE; p * PAGE < end; p++) {
                    assertEquals(o[0], md.firstObjects().get(p), "first object of to-space page " + p);
                }
                to = end;
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> planner.plan(view, MemorySegment.NULL, used, 0), "the view has no headers below the split");
            assertTrue(e.getMessage().contains("zero header"), e.getMessage());
        }
    }

    static int[] repeat(int w, int n) {
        int[] a = new int[n];
        Arrays.fill(a, w);
        return a;
    }

    static boolean[] alternate(int n) {
        boolean[] b = new boolean[n];
        for (int i = 0; i < n; i += 2) {
            b[i] = true;
        }
        return b;
    }

    static boolean[] every(int n, int k) {
        boolean[] b = new boolean[n];
        for (int i = 0; i < n; i += k) {
            b[i] = true;
        }
        return b;
    }

    static int[] mixed() {
        int[] base = {2, 63, 64, 65, 2, 2, 65, 64, 63};
        int[] a = new int[base.length * 8];
        for (int i = 0; i < a.length; i++) {
            a[i] = base[i % base.length];
        }
        return a;
    }
}
