package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * For seeded model tests: root slots (handles) that each hold a list of nodes linked through
 * reference slot 0 and numbered by an int field, and the model of the numbers each list holds.
 */
final class SlotLists {
    private final Mutator m;
    private final int first;
    private final long idField;
    private final List<int[]> model = new ArrayList<>();

    /** Pushes {@code slots} null handles on {@code m}; {@code idField} is the nodes' number field. */
    SlotLists(Mutator m, int slots, long idField) {
        this.m = m;
        this.idField = idField;
        this.first = m.push(0);
        model.add(new int[0]);
        for (int i = 1; i < slots; i++) {
            m.push(0);
            model.add(new int[0]);
        }
    }

    /**
     * Replaces {@code slot}'s list with {@code length} new nodes of {@code type}, numbered from
     * {@code nextId} up (the last one heads the list), in the heap and in the model; each new
     * node goes to {@code fresh} before it is written. Returns the next free number.
     */
    int build(int slot, int length, ObjectType type, int nextId, IntConsumer fresh) {
        int[] ids = new int[length];
        m.setHandle(first + slot, 0);
        for (int k = 0; k < length; k++) {
            int x = m.allocate(type);
            fresh.accept(x);
            ids[length - 1 - k] = nextId;
            m.setInt(x, idField, nextId++);
            m.setRef(x, 0, m.handle(first + slot));
            m.setHandle(first + slot, x);
        }
        model.set(slot, ids);
        return nextId;
    }

    /** Empties {@code slot}, in the heap and in the model. */
    void clear(int slot) {
        m.setHandle(first + slot, 0);
        model.set(slot, new int[0]);
    }

    /**
     * A seeded program on these slots, steps 0 to {@code steps}: each picks a slot and replaces its
     * list with 1 to 399 new nodes of {@code type} (400 in 1000), empties it (100 in 1000),
     * allocates a garbage {@code byte[]} of 16 to {@code maxGarbage} bytes, or ({@code
     * collectPerMille} in 1000, and always at the last step) runs {@code beforeCollect}, collects,
     * waits for the compaction, checks every list against the model and verifies the heap.
     * Returns the collections it ran.
     */
    int runProgram(Heap heap, SplittableRandom r, ObjectType type, int steps, int collectPerMille, int maxGarbage,
                   Runnable beforeCollect) {
        int next = 1;
        int collections = 0;
        for (int step = 0; step <= steps; step++) {
            int slot = r.nextInt(model.size());
            int what = step == steps ? 999 : r.nextInt(1000);
            if (what < 400) {
                next = build(slot, r.nextInt(1, 400), type, next, x -> { });
            } else if (what < 500) {
                clear(slot);
            } else if (what < 1000 - collectPerMille) {
                m.allocateByteArray(r.nextInt(16, maxGarbage));
            } else {
                beforeCollect.run();
                m.collect();
                heap.awaitCompaction();
                collections++;
                check("step " + step);
                assertTrue(heap.verify().ok(), "step " + step + ": " + heap.verify());
            }
        }
        return collections;
    }

    /** Asserts that every slot's list reads exactly as the model says. */
    void check(String when) {
        for (int i = 0; i < model.size(); i++) {
            int[] ids = model.get(i);
            int k = 0;
            for (int x = m.handle(first + i); x != 0; x = m.getRef(x, 0)) {
                assertTrue(k < ids.length, when + " slot " + i + ": list longer than " + ids.length);
                assertEquals(ids[k], m.getInt(x, idField), when + " slot " + i + " node " + k);
                k++;
            }
            assertEquals(ids.length, k, when + " slot " + i + ": list length");
        }
    }
}
