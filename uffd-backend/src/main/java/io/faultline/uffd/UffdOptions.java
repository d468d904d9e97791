package io.faultline.uffd;

import io.faultline.uffd.UffdProbe.Mode;
import java.time.Duration;
import java.util.Locale;

/**
 * Settings of a userfaultfd backend beyond its mode ({@link UffdBackend#factory(Mode, UffdOptions)}).
 * Immutable; start from {@link #defaults()} and use the {@code with*} methods.
 *
 * @param delivery how a mutator's fault reaches the code that serves it
 * @param supply   where the pages a to-space page is built in come from
 * @param backstop how long a compaction may make no progress before the fault-service thread
 *                 builds the remaining pages itself (compactor threads are Java threads and may be
 *                 late: descheduled, or stopped at a HotSpot safepoint); {@link Duration#ZERO}
 *                 turns the backstop off (tests that hold compactor threads back use it)
 */
public record UffdOptions(Delivery delivery, PageSupply supply, Duration backstop) {
    /** Default backstop: two idle polls of the service thread. */
    public static final Duration DEFAULT_BACKSTOP = Duration.ofMillis(20);

    /** How a fault is delivered and served. */
    public enum Delivery {
        /**
         * The faulting thread sleeps in the kernel; the native fault-service thread reads the fault
         * message from the uffd, builds (or maps) the page and its install wakes the thread.
         */
        THREAD,
        /**
         * {@code UFFD_FEATURE_SIGBUS}: the access raises SIGBUS in the faulting thread, whose native
         * handler (installed once per process, in front of HotSpot's) builds and installs the page
         * and returns, and the access is retried. ART's production mode.
         */
        SIGBUS;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Where to-space pages are built, and what that costs the kernel. */
    public enum PageSupply {
        /**
         * COPY/MOVE: build in per-thread buffers (COPY: the kernel allocates and copies every page;
         * MOVE: the buffer pages move into the heap and are faulted in fresh for the next build).
         * CONTINUE: build through the alias into the other half, whose page cache was punched at
         * the end of its cycle, so every page built allocates a page-cache page.
         */
        FRESH,
        /**
         * MOVE: build runs of at least 34 pages into from-space pages whose contents compaction has
         * consumed (ART's recycling) and move those resident pages into the heap: no copy, no page
         * allocated. Shorter runs (faults) and runs before enough is consumed are built in a buffer
         * and copied. From-space is then released only when the compaction ends.
         */
        RECYCLE,
        /**
         * CONTINUE: keep the page cache of a half when its cycle ends instead of punching it, so the
         * next cycle writes into resident pages (costs up to twice the used size resident).
         */
        KEEP,
        /** CONTINUE: allocate the to-space range's page cache with one fallocate at the pause. */
        FALLOCATE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** True if {@code mode} can use this supply. */
        public boolean appliesTo(Mode mode) {
            return switch (this) {
                case FRESH -> true;
                case RECYCLE -> mode == Mode.MOVE;
                case KEEP, FALLOCATE -> mode == Mode.CONTINUE;
            };
        }
    }

    public UffdOptions {
        if (delivery == null || supply == null) {
            throw new IllegalArgumentException("delivery and supply must not be null");
        }
        if (backstop == null || backstop.isNegative()) {
            throw new IllegalArgumentException("backstop: " + backstop + " must be zero (off) or positive");
        }
    }

    /** Thread delivery, fresh pages, the default backstop. */
    public static UffdOptions defaults() {
        return new UffdOptions(Delivery.THREAD, PageSupply.FRESH, DEFAULT_BACKSTOP);
    }

    public UffdOptions withDelivery(Delivery d) {
        return new UffdOptions(d, supply, backstop);
    }

    public UffdOptions withSupply(PageSupply s) {
        return new UffdOptions(delivery, s, backstop);
    }

    public UffdOptions withBackstop(Duration d) {
        return new UffdOptions(delivery, supply, d);
    }

    /** Throws {@link IllegalArgumentException} naming the mode and the supply if they do not go together. */
    public void check(Mode mode) {
        if (!supply.appliesTo(mode)) {
            throw new IllegalArgumentException("page supply '" + supply.label() + "' does not apply to mode "
                + mode.name().toLowerCase(Locale.ROOT) + " (continue: fresh, keep, fallocate; copy: fresh; move: fresh, recycle)");
        }
    }
}
