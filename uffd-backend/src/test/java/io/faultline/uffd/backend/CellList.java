package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;

/**
 * A test workload: a linked list of {@code n} 64-byte cells holding 0..n-1, each allocated after a
 * small garbage array so that a collection moves every cell. The list's head is held in a handle.
 */
final class CellList {
    static final ObjectType CELL = ObjectType.builder("test.Cell").refs("next").i64("v").bytes("pad", 40).build();
    private static final long V = CELL.field("v");

    private CellList() {
    }

    /** Builds the list on {@code m}; returns the handle that holds its head (the last cell, n - 1). */
    static int build(Mutator m, int n) {
        int list = m.push(0);
        for (int i = 0; i < n; i++) {
            m.allocateByteArray(24); // garbage between the cells, so they all move
            int c = m.allocate(CELL);
            m.setLong(c, V, i);
            m.setRef(c, 0, m.handle(list));
            m.setHandle(list, c);
        }
        return list;
    }

    /** Checks the first {@code k} cells of the list held by {@code list}: n - 1 down to n - k. */
    static void checkFirst(Mutator m, int list, int n, int k) {
        int c = m.handle(list);
        for (int i = 0; i < k; i++) {
            assertEquals(n - 1 - i, m.getLong(c, V), "cell " + i + " from the head");
            c = m.getRef(c, 0);
        }
    }

    /** Checks that the list held by {@code list} still holds n - 1 down to 0. */
    static void check(Mutator m, int list, int n) {
        int expect = n - 1;
        for (int c = m.handle(list); c != 0; c = m.getRef(c, 0)) {
            assertEquals(expect--, m.getLong(c, V));
        }
        assertEquals(-1, expect, "list length");
    }
}
