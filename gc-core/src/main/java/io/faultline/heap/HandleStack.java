package io.faultline.heap;

import io.faultline.model.InvalidAccessException;
import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * A mutator's handle stack: root slots that the collector reads and rewrites in pauses. A handle
 * is an opaque {@code int}; consecutive pushes return consecutive handles and a mark is the handle
 * the next push will return, so {@code mark + i} names the i-th handle pushed after the mark. In
 * checked mode handles (and marks) are {@code Integer.MIN_VALUE + slot}, negative numbers that no
 * reference can equal, so that a handle passed where a reference is expected, or a reference
 * passed as a handle, is caught; otherwise a handle is the slot index itself.
 *
 * <p><b>Threading:</b> confined to the mutator's thread, except {@link #update}, which the
 * collector runs inside a pause.
 */
final class HandleStack {
    private final boolean encoded;
    private int[] slots = new int[64];
    private int top;

    HandleStack(boolean encoded) {
        this.encoded = encoded;
    }

    int push(int ref) {
        if (top == slots.length) {
            slots = Arrays.copyOf(slots, slots.length * 2);
        }
        slots[top] = ref;
        int index = top++;
        return encoded ? Integer.MIN_VALUE + index : index;
    }

    int get(int handle) {
        return slots[index(handle)];
    }

    void set(int handle, int ref) {
        slots[index(handle)] = ref;
    }

    private int index(int handle) {
        if (!encoded) {
            return handle;
        }
        if (handle >= 0) {
            throw new InvalidAccessException("0x" + Integer.toHexString(handle) + " is not a handle (checked mode: handles are"
                    + " negative numbers returned by push): is it a reference?");
        }
        int i = handle - Integer.MIN_VALUE;
        if (i >= top) {
            throw new InvalidAccessException("handle slot " + i + " is not live (handle stack depth " + top + ")");
        }
        return i;
    }

    /** True if {@code value} is a handle of this stack, not a reference (checked mode only). */
    boolean looksLikeHandle(int value) {
        return encoded && value < 0;
    }

    /** The slot of a checked-mode handle, for messages. */
    static int slotOf(int handle) {
        return handle - Integer.MIN_VALUE;
    }

    int mark() {
        return encoded ? Integer.MIN_VALUE + top : top;
    }

    /**
     * Drops the handles at and above {@code mark}. The slots keep their old values: nothing reads
     * above the top ({@link #update} stops there, checked mode rejects a dropped handle), and
     * clearing them cost binary-trees' tree builder a fill-stub call per pop, about 10% of the
     * mutator's profile samples.
     */
    void popTo(int mark) {
        int depth = encoded ? mark - Integer.MIN_VALUE : mark;
        if (depth < 0 || depth > top || (encoded && mark >= 0)) {
            throw new IllegalArgumentException("handle mark " + mark + " is not within the stack depth " + top);
        }
        top = depth;
    }

    /** In a pause: replaces every non-null slot {@code r} with {@code f(r)}. */
    void update(IntUnaryOperator f) {
        for (int i = 0; i < top; i++) {
            if (slots[i] != 0) {
                slots[i] = f.applyAsInt(slots[i]);
            }
        }
    }
}
