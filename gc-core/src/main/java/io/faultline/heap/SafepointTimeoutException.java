package io.faultline.heap;

/**
 * A collection gave up because a mutator did not reach a safepoint within the heap's safepoint
 * timeout (only with {@code HeapConfig.failOnSafepointTimeout}; otherwise the pause keeps waiting
 * and keeps logging). The message names every such thread, its state and its stack: typically a
 * thread blocked outside a safe region, or one in a long loop without {@code poll()}.
 */
public final class SafepointTimeoutException extends RuntimeException {
    SafepointTimeoutException(String message) {
        super(message);
    }
}
