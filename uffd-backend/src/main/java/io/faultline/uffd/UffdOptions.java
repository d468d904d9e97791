package io.faultline.uffd;

import java.time.Duration;

/**
 * Settings of a userfaultfd backend beyond its mode ({@link UffdBackend#factory(UffdProbe.Mode, UffdOptions)}).
 * Immutable; start from {@link #defaults()}.
 *
 * @param backstop how long a compaction may make no progress before the fault-service thread
 *                 builds the remaining pages itself (compactor threads are Java threads and may be
 *                 late: descheduled, or stopped at a HotSpot safepoint); {@link Duration#ZERO}
 *                 turns the backstop off (tests that hold compactor threads back use it)
 */
public record UffdOptions(Duration backstop) {
    /** Default backstop: two idle polls of the service thread. */
    public static final Duration DEFAULT_BACKSTOP = Duration.ofMillis(20);

    public UffdOptions {
        if (backstop == null || backstop.isNegative()) {
            throw new IllegalArgumentException("backstop: " + backstop + " must be zero (off) or positive");
        }
    }

    public static UffdOptions defaults() {
        return new UffdOptions(DEFAULT_BACKSTOP);
    }

    /** These options with another backstop. */
    public UffdOptions withBackstop(Duration d) {
        return new UffdOptions(d);
    }
}
