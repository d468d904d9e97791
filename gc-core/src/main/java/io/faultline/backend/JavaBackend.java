package io.faultline.backend;

import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.LatencyBuckets;
import io.faultline.meta.TraceRing;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * The pure-Java backend: the heap is two semispaces of {@code capacity} bytes that swap roles at
 * each compaction, so the old view becomes the from-space and the other semispace receives
 * to-space pages. Mutators check page states in software while a compaction is in flight, and the
 * page protocol runs in Java ({@link PageProtocol}).
 *
 * <p><b>Memory.</b> Each semispace is an {@link AnonymousMapping}: address space reserved when the
 * backend is created (2 x capacity; if the kernel refuses, an {@link OutOfMemoryError} naming
 * the capacity and the errno, before anything runs) and backed by memory only where pages are
 * touched. From-space is released ({@code MADV_DONTNEED}) behind the page protocol's frontier, in
 * the batches the protocol hands over (HeapConfig.releaseBatchBytes, in whole huge pages), and in
 * full when the compaction ends. Resident memory therefore follows the live data plus what mutators
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
 * touched): every byte of it reads as zero. The page builder writes every byte of the pages it
 * builds, so nothing depends on what the semispace held before; memory above the to-space reads
 * as zero until allocation writes it.
 */
public final class JavaBackend implements HeapBackend {
    private final long capacity;
    private final int pageSize;
    /** What is released at a time: a huge page if the semispaces have them, else an OS page. */
    private final long releaseGranule;
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
    private PageProtocol protocol;
    private PageBuilder builder;
    private ControlBlock control;
    private TraceRing trace;
    private final LatencyBuckets.Recorder faultLatencies = new LatencyBuckets.Recorder();
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

    @Override
    public boolean accessNeedsPageCheck() {
        return true;
    }

    @Override
    public void attach(GcMetadata metadata, PageBuilder pageBuilder) {
        this.builder = pageBuilder;
        this.control = metadata.control();
        this.trace = metadata.traceRing();
        this.protocol = new PageProtocol(metadata, new PageProtocol.Pages() {
            @Override
            public void build(long page) {
                builder.build(from, page, view, page * pageSize);
            }

            @Override
            public int install(long first, long n) {
                return 0; // the page state is the mapping
            }

            @Override
            public int release(long offset, long bytes) {
                return releaseFromSpace(offset, bytes);
            }

            @Override
            public void poison(long page) {
                // Mutators check the page state before every access: a FAILED page is never read.
            }
        });
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        if (fromSpace != null) {
            throw new IllegalStateException("beginCompaction: the previous compaction has not ended "
                    + "(its from-space is not released, so the new view would not read as zero)");
        }
        fromSpace = viewSpace;
        from = view;
        viewSpace = fromSpace == first ? second : first;
        view = viewSpace == first ? firstSegment : secondSegment;
    }

    @Override
    public long compactStep(long maxPages) {
        return protocol.compactStep(maxPages);
    }

    /**
     * The software fault: the page protocol's {@code serveFault}, timed from entry to return (the
     * mutator's whole wait), recorded in the fault-latency histogram and, when tracing, the trace
     * ring. Allocation-free.
     */
    @Override
    public int serveFault(long page) {
        long t0 = System.nanoTime();
        int r = protocol.serveFault(page, true, ControlBlock.PATH_FAULT_JAVA);
        long nanos = System.nanoTime() - t0;
        long ordinal = faultLatencies.record(nanos);
        if (trace.on(TraceRing.KIND_FAULT)) {
            trace.fault(control.get(ControlBlock.EPOCH), page, t0, nanos, TraceRing.DELIVERY_JAVA, r, ordinal);
        }
        return r;
    }

    @Override
    public FaultLatencies faultLatencies() {
        return new FaultLatencies("java", faultLatencies.counts(), faultLatencies.max());
    }

    /**
     * The page protocol's release: from-space below {@code offset + bytes} will not be read again
     * (its batches run contiguously up from offset 0: {@code [RELEASED, limit)}). The granules
     * (huge pages, or OS pages) that end inside {@code (offset, offset + bytes]} go back to the
     * kernel and read as zero, the one the range starts in too, whose part below {@code offset}
     * the batch before handed over; the granule the range ends in waits for the next batch or
     * {@link #endCompaction}. Several threads may release disjoint ranges at once. Returns 0 or
     * the errno of the failed {@code madvise}. Allocation-free.
     */
    int releaseFromSpace(long offset, long bytes) {
        AnonymousMapping space = fromSpace;
        if (space == null || offset < 0 || bytes <= 0 || offset >= capacity) {
            return 0;
        }
        long start = offset & -releaseGranule;
        long limit = Math.min(offset + bytes, capacity) & -releaseGranule;
        return limit > start ? space.release(start, limit - start) : 0;
    }

    /**
     * Releases all of from-space (pages never touched cost nothing), so that the semispace reads
     * as zero when it becomes the view at the next pause.
     */
    @Override
    public void endCompaction() {
        if (fromSpace == null) {
            return;
        }
        fromSpace.release(0, reserved);
        fromSpace = null;
        from = null;
    }

    @Override
    public long allocationZeroFrom() {
        return 0;
    }

    @Override
    public void prepareAllocation(long offset, long bytes) {
        long start = offset & -AnonymousMapping.PAGE_SIZE;
        long end = (offset + bytes + AnonymousMapping.PAGE_SIZE - 1) & -AnonymousMapping.PAGE_SIZE;
        viewSpace.populate(start, Math.min(end, viewSpace.byteSize()) - start);
    }

    @Override
    public MemorySegment fromSpace() {
        MemorySegment f = from;
        return f == null ? MemorySegment.NULL : f;
    }

    /** Releases the semispace that is not the view; the view's waits for {@link #releaseView}. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            (viewSpace == first ? second : first).close();
        }
    }

    @Override
    public synchronized void releaseView() {
        if (closed) {
            viewSpace.close();
        }
    }
}
