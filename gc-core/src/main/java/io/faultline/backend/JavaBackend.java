package io.faultline.backend;

import io.faultline.gc.compact.PageCompactor;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * The pure-Java backend: the heap is two semispaces of {@code capacity} bytes that swap roles at
 * each compaction, so the old view becomes the from-space and the other semispace receives
 * to-space pages. Mutators check page states in software while a compaction is in flight.
 *
 * <p><b>Memory.</b> Each semispace is an {@link AnonymousMapping}: address space reserved when the
 * backend is created (2 x capacity; if the kernel refuses, an {@link OutOfMemoryError} naming
 * the capacity and the errno, before anything runs) and backed by memory only where pages are
 * touched. From-space is released ({@code MADV_DONTNEED}) behind the collector's frontier, in
 * batches of at least {@link #RELEASE_BATCH_BYTES} (and of whole huge pages), and in full when
 * the compaction ends. Resident memory therefore follows the live data plus what mutators
 * allocated since the last pause, as on the uffd backend, not the capacity.
 *
 * <p>The price is paid in the kernel: the first write of a cycle to a to-space page, or to a
 * page that allocation reaches, is a first-touch fault that supplies a zeroed page. With 4 KiB
 * pages that made compaction 5x slower and a software fault 10x dearer on a VM where such a
 * fault costs 10-16 us, so the semispaces ask for transparent huge pages (one fault per 2 MiB;
 * see {@link AnonymousMapping}) and residency moves in 2 MiB steps. Where the kernel offers no
 * huge pages, 4 KiB pages it is.
 *
 * <p><b>Zero after release.</b> When a compaction begins, the new view is the previous cycle's
 * from-space, released in full when that compaction ended (or, at the first pause, memory never
 * touched): every byte of it reads as zero. {@link #buildPage} writes every byte of the pages it
 * builds, so nothing depends on what the semispace held before; memory above the to-space reads
 * as zero until allocation writes it.
 */
public final class JavaBackend implements HeapBackend {
    /**
     * The least from-space the frontier releases with one {@code madvise} (the rest goes at the
     * end of the compaction): fewer system calls and TLB shootdowns than one call per built page.
     */
    static final long RELEASE_BATCH_BYTES = 256 << 10;

    private final long capacity;
    private final int pageSize;
    /** What is released at a time: a huge page if the semispaces have them, else an OS page. */
    private final long releaseGranule;
    /** The least the frontier releases at once: {@link #RELEASE_BATCH_BYTES}, whole granules. */
    private final long releaseBatch;
    /** Bytes reserved per semispace: the capacity rounded up to a whole huge (or OS) page. */
    private final long reserved;
    private final AnonymousMapping first;
    private final AnonymousMapping second;
    private final MemorySegment firstSegment;
    private final MemorySegment secondSegment;
    /** The semispace mutators use, and its segment. */
    private AnonymousMapping viewSpace;
    private MemorySegment view;
    /** The semispace being compacted from (null between compactions), and its segment. */
    private AnonymousMapping fromSpace;
    private MemorySegment from;
    /** From-space below this offset will not be read again in this compaction (the caller said so). */
    private long releasableBelow;
    /** From-space below this offset (a multiple of the release granule) has been released. */
    private long releasedBelow;
    private boolean closed;

    /**
     * Reserves both semispaces. Throws {@link OutOfMemoryError} naming the capacity, the system
     * call and the errno if the address space cannot be reserved.
     */
    public JavaBackend(long capacity, int pageSize) {
        if (capacity <= 0 || pageSize <= 0 || capacity % pageSize != 0) {
            throw new IllegalArgumentException("capacity: " + capacity + " bytes is not a positive multiple of the page size "
                    + pageSize);
        }
        this.capacity = capacity;
        this.pageSize = pageSize;
        long unit = Math.max(AnonymousMapping.osPageSize(), AnonymousMapping.transparentHugePageSize());
        this.reserved = (capacity + unit - 1) & -unit;
        this.first = reserveSemispace(capacity, reserved, 1, null);
        this.second = reserveSemispace(capacity, reserved, 2, first);
        this.releaseGranule = Math.max(AnonymousMapping.osPageSize(), Math.min(first.hugePageSize(), second.hugePageSize()));
        this.releaseBatch = (RELEASE_BATCH_BYTES + releaseGranule - 1) & -releaseGranule;
        this.firstSegment = first.segment().asSlice(0, capacity);
        this.secondSegment = second.segment().asSlice(0, capacity);
        this.viewSpace = first;
        this.view = firstSegment;
    }

    public static Factory factory() {
        return JavaBackend::new;
    }

    /** Reserves semispace {@code index} (1 or 2); on failure closes {@code other} and rethrows. */
    private static AnonymousMapping reserveSemispace(long capacity, long reserved, int index, AnonymousMapping other) {
        try {
            return AnonymousMapping.reserve(reserved, "java backend: cannot reserve address space for a heap of capacity "
                    + capacity + " bytes (" + gib(capacity) + " GiB): it needs two semispaces of " + reserved
                    + " bytes, and reserving semispace " + index + " failed", true);
        } catch (OutOfMemoryError | RuntimeException e) {
            if (other != null) {
                other.close();
            }
            throw e;
        }
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f", bytes / (double) (1L << 30));
    }

    @Override
    public String name() {
        return "java";
    }

    @Override
    public String mode() {
        return null;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public int pageSize() {
        return pageSize;
    }

    @Override
    public MemorySegment view() {
        return view;
    }

    /**
     * The semispace that is not the view: from-space during a compaction, released memory (all
     * zero, nothing resident) between compactions. For tests that measure what is resident.
     */
    MemorySegment spare() {
        return viewSpace == first ? secondSegment : firstSegment;
    }

    /** The unit of release: a huge page if both semispaces have them, else an OS page. */
    long releaseGranule() {
        return releaseGranule;
    }

    /** The least the frontier releases at once (whole granules, at least {@link #RELEASE_BATCH_BYTES}). */
    long releaseBatch() {
        return releaseBatch;
    }

    @Override
    public boolean accessNeedsPageCheck() {
        return true;
    }

    @Override
    public MemorySegment beginCompaction(long usedBytes, long toSpaceBytes) {
        if (fromSpace != null) {
            throw new IllegalStateException("beginCompaction: the previous compaction has not ended "
                    + "(its from-space is not released, so the new view would not read as zero)");
        }
        fromSpace = viewSpace;
        from = view;
        viewSpace = fromSpace == first ? second : first;
        view = viewSpace == first ? firstSegment : secondSegment;
        releasableBelow = 0;
        releasedBelow = 0;
        return from;
    }

    @Override
    public void buildPage(long page, PageCompactor compactor) {
        compactor.compactPage(from, page, view, page * pageSize);
    }

    /**
     * Releases the from-space pages the collector will not read again. The collector releases a
     * growing prefix; whole granules of it (huge pages, or OS pages) go back to the kernel once
     * {@link #releaseBatch()} bytes have accumulated. A range apart from that prefix is released
     * at once, in whole granules. Released pages read as zero. Called by one thread at a time (the
     * collector's frontier lock); allocation-free.
     */
    @Override
    public void releaseFromSpace(long offset, long bytes) {
        if (fromSpace == null) {
            throw new IllegalStateException("releaseFromSpace(" + offset + ", " + bytes + ") outside a compaction");
        }
        if (offset < 0 || bytes < 0 || bytes > capacity - offset) {
            throw new IllegalArgumentException("releaseFromSpace(" + offset + ", " + bytes
                    + "): not a range inside the " + capacity + "-byte from-space");
        }
        long end = offset + bytes;
        if (offset <= releasableBelow) {
            releasableBelow = Math.max(releasableBelow, end);
            long limit = releasableBelow & -releaseGranule;
            if (limit - releasedBelow >= releaseBatch) {
                fromSpace.release(releasedBelow, limit - releasedBelow);
                releasedBelow = limit;
            }
        } else {
            long start = (offset + releaseGranule - 1) & -releaseGranule;
            long limit = end & -releaseGranule;
            if (limit > start) {
                fromSpace.release(start, limit - start);
            }
        }
    }

    /**
     * Releases what is left of from-space (everything above the released prefix, up to the
     * capacity: pages never touched cost nothing), so that the semispace reads as zero when it
     * becomes the view at the next pause.
     */
    @Override
    public void endCompaction() {
        if (fromSpace == null) {
            return;
        }
        fromSpace.release(releasedBelow, reserved - releasedBelow);
        fromSpace = null;
        from = null;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            try {
                first.close();
            } finally {
                second.close();
            }
            closed = true;
        }
    }
}
