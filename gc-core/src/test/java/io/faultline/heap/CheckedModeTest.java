package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.InvalidAccessException;
import io.faultline.model.ObjectType;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Checked mode catches misuse: a mutator used by a thread that did not attach it, a handle passed
 * as a reference (and a reference passed as a handle), and, with relocateEveryObject, every raw
 * reference kept across a collection, even in a heap whose objects all have the same size (where
 * a stale reference usually lands on another object's header).
 */
class CheckedModeTest {
    static final ObjectType CELL = ObjectType.builder("checked.Cell").refs("next").i64("v").build();

    private static Heap heap(boolean relocate) {
        return Heap.create(HeapConfig.builder().capacity(4L << 20).checkedAccess(true).relocateEveryObject(relocate)
                .verifyAfterGc(true).build());
    }

    @Test
    void aMutatorUsedFromAnotherThreadIsCaught() throws Exception {
        try (Heap heap = heap(false); Mutator m = heap.attach()) {
            int h = m.push(m.allocate(CELL));
            AtomicReference<Throwable> got = new AtomicReference<>();
            Thread other = Thread.ofPlatform().name("intruder").start(() -> {
                try {
                    m.getLong(m.handle(h), CELL.field("v"));
                } catch (Throwable t) {
                    got.set(t);
                }
            });
            other.join();
            assertTrue(got.get() instanceof InvalidAccessException, String.valueOf(got.get()));
            assertTrue(got.get().getMessage().contains("thread '" + Thread.currentThread().getName() + "'")
                    && got.get().getMessage().contains("'intruder'"), got.get().getMessage());
        }
    }

    @Test
    void handlesAndReferencesAreToldApart() {
        try (Heap heap = heap(false); Mutator m = heap.attach()) {
            int ref = m.allocate(CELL);
            int h = m.push(ref);
            InvalidAccessException asRef = assertThrows(InvalidAccessException.class, () -> m.getLong(h, CELL.field("v")));
            assertTrue(asRef.getMessage().contains("is a handle"), asRef.getMessage());
            InvalidAccessException asHandle = assertThrows(InvalidAccessException.class, () -> m.handle(ref));
            assertTrue(asHandle.getMessage().contains("is not a handle"), asHandle.getMessage());
            assertEquals(ref, m.handle(h));
        }
    }

    /** Ten seeded programs, each keeping one raw reference across a collection: caught every time. */
    @Test
    void everyStaleReferenceIsCaughtWithRelocateEveryObject() {
        int caught = staleReferencesCaught(true);
        System.out.println("CheckedModeTest: stale references caught with relocateEveryObject: " + caught + " of 10; without: "
                + staleReferencesCaught(false) + " of 10");
        assertEquals(10, caught);
    }

    private static int staleReferencesCaught(boolean relocate) {
        int caught = 0;
        SplittableRandom seeds = new SplittableRandom(42);
        for (int trial = 0; trial < 10; trial++) {
            SplittableRandom r = seeds.split();
            try (Heap heap = heap(relocate); Mutator m = heap.attach()) {
                int list = m.push(0);
                int n = r.nextInt(50, 400);
                int stale = 0;
                int staleAt = r.nextInt(n);
                for (int i = 0; i < n; i++) {
                    int c = m.allocate(CELL); // every object has the same size
                    m.setLong(c, CELL.field("v"), i);
                    if (r.nextInt(3) > 0) { // about a third become garbage
                        m.setRef(c, 0, m.handle(list));
                        m.setHandle(list, c);
                    }
                    if (i == staleAt) {
                        stale = c;
                    }
                    if (i == staleAt) {
                        m.push(stale); // a root, so the object itself survives and moves
                    }
                }
                m.collect(); // the raw reference 'stale' dies here
                try {
                    m.getLong(stale, CELL.field("v"));
                } catch (InvalidAccessException expected) {
                    caught++;
                }
            }
        }
        return caught;
    }
}
