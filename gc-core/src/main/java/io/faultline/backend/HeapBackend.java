package io.faultline.backend;

import io.faultline.meta.GcMetadata;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Where the heap's bytes live and how a compacted page reaches the mutators. The collector is
 * the same for every backend; a backend decides what "from-space", "unmapped" and "map this page"
 * mean, and runs the page protocol ({@link PageProtocol}; natively for the userfaultfd backend).
 *
 * <p>Addresses crossing this interface are byte offsets from the start of the mutator view, and
 * page numbers are absolute ({@code offset / pageSize}), never raw pointers.
 *
 * <p>The pure-Java backend ({@link JavaBackend}) is the fallback for every method: where a
 * method's Javadoc says "java:", that is what the fallback does.
 *
 * <p><b>Threading:</b> {@link #attach} runs once, before anything else. {@link #beginCompaction}
 * runs inside the pause; {@link #compactStep} runs in compactor threads and in the pausing thread
 * (stop-the-world compaction), several at once; {@link #serveFault} runs in mutators;
 * {@link #endCompaction} runs once per cycle, in the thread that completes it, after every
 * to-space page is MAPPED. {@link #close()} runs once, after the collector's threads stopped.
 */
public interface HeapBackend extends AutoCloseable {

    /** Short name: {@code java}, {@code uffd}. */
    String name();

    /** Page delivery mode ({@code continue}, {@code copy}, {@code move}), or null for the java backend. */
    String mode();

    /** Heap capacity in bytes (a multiple of the page size). */
    long capacity();

    /** Page size in bytes, a power of two. */
    int pageSize();

    /**
     * The segment mutators read and write. Its identity may change at a compaction pause
     * (java: it alternates between two segments), so callers re-read it after every pause.
     */
    MemorySegment view();

    /**
     * A second mapping of the view's first {@code byteSize()} bytes (the pages the last
     * compaction built) that the collector reads instead of the view while it marks: the same
     * memory, through page-table entries that are already there, where the view's were all made
     * anew at the last flip (and on a shadow-paging host the first access through each new entry
     * costs microseconds). Valid from one flip to the next, outside compaction; mutators never use
     * it. Fallback ({@link JavaBackend}, and any backend without such a mapping):
     * {@link MemorySegment#NULL}, and the collector reads the view.
     */
    default MemorySegment collectorReadView() {
        return MemorySegment.NULL;
    }

    /**
     * True if a mutator must check the page state before touching the view during a concurrent
     * compaction and call {@link #serveFault} for a page that is not MAPPED. java: true (software
     * faults); uffd: false (the kernel traps the access).
     */
    boolean accessNeedsPageCheck();

    /**
     * Once, before the first cycle: the side tables (their addresses never change) and the page
     * builder to use. java: keeps both for its {@link PageProtocol}; uffd: hands the tables'
     * addresses to the native fault path.
     */
    void attach(GcMetadata metadata, PageBuilder builder);

    /**
     * Inside the compaction pause, after planning and before the page states are published: keep
     * the current contents of {@code [0, usedBytes)} readable as from-space and make the to-space
     * pages {@code [firstPage, endPage)} of the view unreadable until built. java: the two
     * segments swap roles; nothing is copied.
     */
    void beginCompaction(long usedBytes, long firstPage, long endPage);

    /**
     * One bounded step of the page protocol ({@link PageProtocol#compactStep}): claims, builds and
     * maps up to about {@code maxPages} pages; returns the number built, 0 when nothing is left to
     * claim. java: the Java protocol; uffd: the same protocol in C, in one downcall (no Java runs
     * between claiming a page and publishing it).
     */
    long compactStep(long maxPages);

    /**
     * A mutator touched {@code page}, which is not MAPPED: build it (or map its built run, or
     * wait for its owner) and return a {@code PageProtocol.FAULT_*} code. java: the Java protocol;
     * uffd: never called (the kernel traps the access and the native path serves it).
     */
    int serveFault(long page);

    /** Every to-space page is MAPPED: drop the rest of from-space. java: releases it. */
    void endCompaction();

    /**
     * The current cycle's from-space (offsets as in the view), or {@link MemorySegment#NULL}
     * outside a compaction. For tests and diagnostics: pages below the release frontier may already
     * be gone. java: the segment that was the view before the pause.
     */
    MemorySegment fromSpace();

    /**
     * After every pause, the view reads as zero at and above this offset, from the allocation top
     * on (memory the kernel has just zeroed, or never touched), so allocation zeroes only what it
     * hands out below it. Read by the allocator at construction and in every pause, after
     * {@link #beginCompaction}. Fallback: {@link Long#MAX_VALUE}, allocation zeroes all it hands
     * out. java: 0 (the new view is the semispace released when the last compaction ended); uffd:
     * 0, except CONTINUE with the KEEP page supply, whose kept half holds old data: the start of
     * the huge-page allocation area (private anonymous memory), or never without one.
     */
    default long allocationZeroFrom() {
        return Long.MAX_VALUE;
    }

    /**
     * Recycles resident pages into the allocation area: moves pages that the compaction that just
     * ended freed (the old view's allocation area) into the view somewhere in {@code [from, limit)},
     * and returns the end of what they now fill: {@code [from, end)} is resident and holds old
     * bytes, so allocation zeroes it, at memset speed, instead of taking fresh pages the kernel
     * zeroes one fault or populate call at a time. Called at most once per cycle, after
     * {@link #endCompaction}, by the thread that completed the cycle, while the allocator keeps
     * every mutator out of {@code [from, limit)}. Best effort: returns {@code from} when nothing
     * moved. Fallback ({@link JavaBackend}): {@code from}, nothing moved. uffd: CONTINUE with the
     * KEEP supply and huge allocation pages (the only setting that leaves the old view's allocation
     * area resident to the end), one {@code mremap} of its used part; others return {@code from}.
     */
    default long recycleAllocationPages(long from, long limit) {
        return from;
    }

    /**
     * Allocation is about to write {@code [offset, offset + bytes)} (above the allocation top,
     * outside every to-space page; {@code offset} may be inside a page whose part below it is in
     * use): make it resident in one call instead of one page fault per page. Nobody writes in the
     * range until this returns, so a backend may replace its pages. Best effort: a refusal changes
     * nothing but speed. java: {@code madvise(MADV_POPULATE_WRITE)} over the whole pages it
     * touches; uffd: the same, except that a recycling heap first moves resident pages from its
     * pool into every whole huge page of the range and zeroes them.
     */
    default void prepareAllocation(long offset, long bytes) {
    }

    /**
     * The allocator readies the allocation area in multiples of this many bytes (the ready frontier
     * moves to multiples of it, {@link #prepareAllocation} gets whole ones). Fallback: 0, the heap
     * page. uffd with a recycling page supply: 2 MiB, so that whole huge pages can be moved in.
     */
    default long allocationGranule() {
        return 0;
    }

    /**
     * How long the faults served so far took, by {@link io.faultline.meta.LatencyBuckets} bucket.
     * java: the software faults, timed in the faulting mutator; uffd: as the native fault path
     * times them (thread delivery: from reading the fault message to serving it; SIGBUS: the
     * handler). Default: none.
     */
    default FaultLatencies faultLatencies() {
        return FaultLatencies.NONE;
    }

    /** The backend's own counters by name (uffd: ioctls, faults by kind, ...). java: none. */
    default Map<String, Long> counters() {
        return Map.of();
    }

    /**
     * Releases every resource (memory, fds, threads) except the view's mapping, which stays
     * mapped, its pages no longer served, until {@link #releaseView}. Idempotent.
     */
    @Override
    void close();

    /**
     * Unmaps the view, after {@link #close}. The heap calls it at once when no mutator of another
     * thread is still attached, else when the last of them detaches: mutators access the view at
     * absolute addresses, without the segment's arena check, so it must stay mapped while one of
     * them may be between its check and its access. Idempotent. There is no fallback: a backend
     * that unmapped the view in {@link #close} could crash such a mutator.
     */
    void releaseView();

    /** Creates a backend for a heap of the given capacity. */
    @FunctionalInterface
    interface Factory {
        HeapBackend create(long capacity, int pageSize);
    }
}
