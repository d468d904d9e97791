package io.faultline.heap;

/**
 * A try-with-resources bracket around a mutator's handle stack: handles pushed inside the scope
 * are dropped when it closes.
 *
 * <pre>{@code
 * try (HandleScope scope = m.openScope()) {
 *     int list = m.push(m.allocate(LIST));
 *     ...
 * }
 * }</pre>
 */
public final class HandleScope implements AutoCloseable {
    private final Mutator mutator;
    private final int mark;

    HandleScope(Mutator mutator, int mark) {
        this.mutator = mutator;
        this.mark = mark;
    }

    /** Pushes {@code ref} and returns its handle index (same as {@link Mutator#push}). */
    public int push(int ref) {
        return mutator.push(ref);
    }

    @Override
    public void close() {
        mutator.popTo(mark);
    }
}
