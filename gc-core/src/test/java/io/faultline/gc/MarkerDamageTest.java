package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The marker reads objects without the segments' checks ({@code RawMemory}), so it checks every
 * header it reads before it scans the object: a header whose reference slots would run past the
 * object, or whose object would run past the used heap, stops marking with an error naming the
 * object and its holder, instead of a read outside the object.
 */
class MarkerDamageTest {
    static final ObjectType BOX = ObjectType.builder("damage.Box").ref("slot").i64("value").build();

    @ParameterizedTest(name = "concurrent marking {0}")
    @ValueSource(booleans = {false, true})
    void aHeaderWithMoreSlotsThanWordsStopsMarking(boolean concurrent) {
        assertDamageNamed(concurrent, words -> ObjectLayout.headerWord(words, 1_000_000));
    }

    @ParameterizedTest(name = "concurrent marking {0}")
    @ValueSource(booleans = {false, true})
    void aHeaderLargerThanTheUsedHeapStopsMarking(boolean concurrent) {
        assertDamageNamed(concurrent, words -> ObjectLayout.headerWord(1L << 30, 1));
    }

    private static void assertDamageNamed(boolean concurrent, java.util.function.LongUnaryOperator badHeader) {
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(4 << 20).concurrentMarking(concurrent).build());
             Mutator m = heap.attach()) {
            int holder = m.push(m.allocate(BOX));
            int victim = m.allocate(BOX);
            m.setRef(m.handle(holder), BOX.refSlot("slot"), victim);
            long off = ObjectLayout.refToOffset(victim);
            long words = ObjectLayout.sizeWords(HeapInternals.view(heap).get(ValueLayout.JAVA_LONG_UNALIGNED, off));
            HeapInternals.view(heap).set(ValueLayout.JAVA_LONG_UNALIGNED, off, badHeader.applyAsLong(words));
            RuntimeException e = assertThrows(RuntimeException.class, m::collect);
            String message = describe(e);
            assertTrue(message.contains("bad header") && message.contains("0x" + Long.toHexString(off))
                    && message.contains("0x" + Long.toHexString(ObjectLayout.refToOffset(m.handle(holder)))), message);
        }
    }

    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t).append(" / ");
        }
        return b.toString();
    }
}
