package io.faultline.heap;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * Heap-wide precise roots: slots that hold a compressed reference and survive collections (the
 * collector rewrites them). A slot is identified by the int returned from {@link #add}.
 *
 * <p><b>Threading:</b> all methods are synchronized, so any thread may use them; the collector
 * takes the same monitor when it scans and updates the slots inside a pause.
 */
public final class GlobalRoots {
    private int[] refs = new int[16];
    private boolean[] inUse = new boolean[16];
    private int[] free = new int[16];
    private int freeCount;
    private int high;

    /** Adds a root holding {@code ref} and returns its slot. */
    public synchronized int add(int ref) {
        int slot;
        if (freeCount > 0) {
            slot = free[--freeCount];
        } else {
            if (high == refs.length) {
                refs = Arrays.copyOf(refs, high * 2);
                inUse = Arrays.copyOf(inUse, high * 2);
            }
            slot = high++;
        }
        refs[slot] = ref;
        inUse[slot] = true;
        return slot;
    }

    public synchronized int get(int slot) {
        check(slot);
        return refs[slot];
    }

    public synchronized void set(int slot, int ref) {
        check(slot);
        refs[slot] = ref;
    }

    public synchronized void remove(int slot) {
        check(slot);
        inUse[slot] = false;
        refs[slot] = 0;
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, freeCount * 2);
        }
        free[freeCount++] = slot;
    }

    public synchronized int size() {
        return high - freeCount;
    }

    private void check(int slot) {
        if (slot < 0 || slot >= high || !inUse[slot]) {
            throw new IllegalArgumentException("global root slot " + slot + " is not in use");
        }
    }

    /** Collector: applies {@code f} to every non-null root in place. */
    public synchronized void update(IntUnaryOperator f) {
        for (int i = 0; i < high; i++) {
            if (inUse[i] && refs[i] != 0) {
                refs[i] = f.applyAsInt(refs[i]);
            }
        }
    }
}
