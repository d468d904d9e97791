package io.faultline.verify;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The verifier finds damage and names the first bad object. */
class HeapVerifierTest {
    static final ObjectType CELL = ObjectType.builder("verify.Cell").ref("next").i64("v").build();

    private interface Damage {
        void apply(Heap heap, long cellOffset);
    }

    private VerifyReport damaged(Damage d) {
        try (Heap heap = Heap.create(HeapConfig.builder().capacity(1 << 20).concurrentCompaction(false).build());
             Mutator m = heap.attach()) {
            int a = m.allocate(CELL);
            int h = m.push(a);
            int b = m.allocate(CELL);
            m.setRef(m.handle(h), 0, b);
            assertTrue(heap.verify().ok());
            d.apply(heap, ObjectLayout.refToOffset(m.handle(h)));
            return heap.verify();
        }
    }

    @Test
    void intactHeapVerifies() {
        VerifyReport r = damaged((h, off) -> { });
        assertTrue(r.ok(), r.toString());
    }

    @Test
    void badMagicIsNamed() {
        VerifyReport r = damaged((h, off) -> io.faultline.heap.HeapInternals.view(h).set(ValueLayout.JAVA_LONG_UNALIGNED, off + 8, 0x1234L));
        assertFalse(r.ok());
        assertTrue(r.problem().contains("object at 0x" + Long.toHexString(ObjectLayout.HEADER_BYTES)), r.problem());
        assertTrue(r.problem().contains("bad magic"), r.problem());
    }

    @Test
    void referenceIntoAnObjectIsNamedWithItsSlot() {
        VerifyReport r = damaged((h, off) -> io.faultline.heap.HeapInternals.view(h).set(ValueLayout.JAVA_INT_UNALIGNED, off + 16,
                ObjectLayout.offsetToRef(off + 8)));
        assertFalse(r.ok());
        assertTrue(r.problem().contains("verify.Cell@0x10 slot 0 (next)"), r.problem());
        assertTrue(r.problem().contains("not the start of an object"), r.problem());
    }

    @Test
    void wrongSizeIsNamed() {
        VerifyReport r = damaged((h, off) -> io.faultline.heap.HeapInternals.view(h).set(ValueLayout.JAVA_LONG_UNALIGNED, off,
                ObjectLayout.headerWord(9, 1)));
        assertFalse(r.ok());
        assertTrue(r.problem().contains("verify.Cell") && r.problem().contains("size 9 words, expected"), r.problem());
    }
}
