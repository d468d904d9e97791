package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe.Mode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link UffdBackend#collectorReadView()}: in CONTINUE, after each flip, the alias over the current
 * half up to the to-space end, reading exactly what the view reads (also after mutators wrote
 * through the view); none before the first flip, and none in COPY and MOVE. The marker reading
 * through it is checked by every CONTINUE model test (heap verified after every cycle).
 */
class CollectorReadViewTest {
    static final ObjectType NODE = ObjectType.builder("ReadViewNode").refs("next").i64("value").bytes("pad", 40).build();

    @ParameterizedTest
    @EnumSource(Mode.class)
    void continueReadsTheToSpaceThroughTheAliasAndTheOthersHaveNone(Mode mode) {
        UffdTestSupport.assumeAvailable(mode);
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(16L << 20).pageSize(4096).concurrentCompaction(true)
                 .verifyAfterGc(true).backend(UffdBackend.factory(mode)).build());
             Mutator m = heap.attach()) {
            UffdBackend backend = (UffdBackend) HeapInternals.backend(heap);
            assertEquals(0, backend.collectorReadView().byteSize(), "no read view before the first flip");
            long value = NODE.field("value");
            int head = m.push(0);
            for (int i = 0; i < 20_000; i++) {
                int x = m.allocate(NODE);
                m.setLong(x, value, i);
                m.setRef(x, 0, m.handle(head));
                m.setHandle(head, x);
            }
            for (int cycle = 1; cycle <= 3; cycle++) {
                m.collect();
                heap.awaitCompaction();
                MemorySegment read = backend.collectorReadView();
                if (mode != Mode.CONTINUE) {
                    assertEquals(0, read.byteSize(), mode + " has no second mapping");
                    continue;
                }
                long toSpaceEnd = heap.stats().used();
                assertTrue(read.byteSize() >= toSpaceEnd && read.byteSize() - toSpaceEnd < 4096,
                    "cycle " + cycle + ": read view " + read.byteSize() + " bytes, to-space ends at " + toSpaceEnd);
                for (int x = m.handle(head); x != 0; x = m.getRef(x, 0)) {
                    m.setLong(x, value, m.getLong(x, value) + 1); // written through the view
                }
                MemorySegment view = backend.view();
                long mismatch = MemorySegment.mismatch(view, 0, read.byteSize(), read, 0, read.byteSize());
                assertEquals(-1, mismatch, "cycle " + cycle + ": view and read view differ at offset " + mismatch);
                assertEquals(view.get(ValueLayout.JAVA_LONG, 4096), read.get(ValueLayout.JAVA_LONG, 4096));
            }
            long n = 0;
            for (int x = m.handle(head); x != 0; x = m.getRef(x, 0)) {
                assertEquals(19_999 - n + (mode == Mode.CONTINUE ? 3 : 0), m.getLong(x, value), "node " + n);
                n++;
            }
            assertEquals(20_000, n);
        }
    }
}
