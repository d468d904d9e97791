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
 * @param allocationPages the pages of the allocation area (the view above the to-space), or
 *                 {@code null}: {@link AllocationPages#HUGE} where it applies, else
 *                 {@link AllocationPages#SMALL}
 * @param backstop how long a compaction may make no progress before the fault-service thread
 *                 builds the remaining pages itself (compactor threads are Java threads and may be
 *                 late: descheduled, or stopped at a HotSpot safepoint); {@link Duration#ZERO}
 *                 turns the backstop off (tests that hold compactor threads back use it)
 */
public record UffdOptions(Delivery delivery, PageSupply supply, AllocationPages allocationPages, Duration backstop) {
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
         * MOVE: runs of at least 34 pages move into the heap and their buffer pages are faulted in
         * fresh for the next build; shorter runs, such as a fault's, are copied, since a move makes
         * every other CPU running the process flush its TLB while the mover waits).
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

    /**
     * The pages the mutators allocate in: the view above the to-space, which every cycle maps
     * anew. A 2 MiB huge page is one page-table entry for 512 pages, but on this project's KVM
     * hosts a fresh one costs more to populate than 512 small ones when the guest kernel has given
     * its memory back to the host (docs/uffd-modes.md, "The allocation area"): huge pages pay off
     * where allocation keeps populating memory the process just freed, small ones where it reuses
     * its own pages (CONTINUE with KEEP), which is that heap's default.
     */
    public enum AllocationPages {
        /**
         * 4 KiB pages ({@code MADV_NOHUGEPAGE}). CONTINUE with KEEP: from the first 2 MiB
         * boundary above the to-space the view is private anonymous memory, as with {@link #HUGE},
         * so that its pages are recycled; other CONTINUE heaps allocate in the memfd half.
         */
        SMALL,
        /**
         * 2 MiB transparent huge pages ({@code madvise(MADV_HUGEPAGE)} from the first 2 MiB
         * boundary above the to-space; the to-space stays 4 KiB, as the install ioctls need). In
         * CONTINUE that part of the view is private anonymous memory instead of the memfd (the
         * kernel keeps shmem out of huge pages by default; only the to-space needs the page cache).
         * Not with MOVE's recycling: it moves consumed from-space pages, and {@code UFFDIO_MOVE}
         * refused one inside a huge page with EINVAL. The kernel must offer them
         * ({@code /sys/kernel/mm/transparent_hugepage/enabled} is {@code always} or
         * {@code madvise}); if it does not, the backend uses 4 KiB pages and reports so.
         */
        HUGE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** True if a heap of {@code mode} with {@code supply} can use these pages. */
        public boolean appliesTo(Mode mode, PageSupply supply) {
            return this == SMALL || mode != Mode.MOVE || supply != PageSupply.RECYCLE;
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

    /** Thread delivery, fresh pages, the default allocation pages, the default backstop. */
    public static UffdOptions defaults() {
        return new UffdOptions(Delivery.THREAD, PageSupply.FRESH, null, DEFAULT_BACKSTOP);
    }

    public UffdOptions withDelivery(Delivery d) {
        return new UffdOptions(d, supply, allocationPages, backstop);
    }

    public UffdOptions withSupply(PageSupply s) {
        return new UffdOptions(delivery, s, allocationPages, backstop);
    }

    /** {@code p}, or {@code null} for the default ({@link #allocationPages(Mode)}). */
    public UffdOptions withAllocationPages(AllocationPages p) {
        return new UffdOptions(delivery, supply, p, backstop);
    }

    /**
     * The allocation pages a heap of {@code mode} uses: the ones asked for, or the default: small
     * for CONTINUE with KEEP (whose allocation reuses its own pages, and whose fresh pages are the
     * ones the host made expensive) and for MOVE with RECYCLE (huge pages do not apply), huge
     * for the others.
     */
    public AllocationPages allocationPages(Mode mode) {
        if (allocationPages != null) {
            return allocationPages;
        }
        if (mode == Mode.CONTINUE && supply == PageSupply.KEEP) {
            return AllocationPages.SMALL;
        }
        return AllocationPages.HUGE.appliesTo(mode, supply) ? AllocationPages.HUGE : AllocationPages.SMALL;
    }

    public UffdOptions withBackstop(Duration d) {
        return new UffdOptions(delivery, supply, allocationPages, d);
    }

    /**
     * Throws {@link IllegalArgumentException} naming the mode, the supply and the allocation pages
     * if they do not go together.
     */
    public void check(Mode mode) {
        String m = mode.name().toLowerCase(Locale.ROOT);
        if (!supply.appliesTo(mode)) {
            throw new IllegalArgumentException("page supply '" + supply.label() + "' does not apply to mode "
                + m + " (continue: fresh, keep, fallocate; copy: fresh; move: fresh, recycle)");
        }
        if (allocationPages != null && !allocationPages.appliesTo(mode, supply)) {
            throw new IllegalArgumentException("allocation pages '" + allocationPages.label() + "' do not apply to mode "
                + m + " with page supply '" + supply.label() + "' (huge: every mode and supply but move with recycle)");
        }
    }
}
