package io.faultline.uffd;

import io.faultline.backend.FaultLatencies;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.LatencyBuckets;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.uffd.sys.Fd;
import io.faultline.uffd.sys.Memfd;
import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.SyscallException;
import io.faultline.uffd.sys.Userfaultfd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The userfaultfd heap backend: to-space pages are really absent from the mutator's view during
 * a concurrent compaction, a touch is a real userfault, and the mutator's access path has no page
 * check at all ({@link #accessNeedsPageCheck()} is false). Faults are served by a native thread
 * and pages are built by native code (see the package documentation for why).
 *
 * <h2>Memory per mode</h2>
 * <table>
 *   <caption>What each mode maps</caption>
 *   <tr><th></th><th>{@link Mode#CONTINUE}</th><th>{@link Mode#COPY}</th><th>{@link Mode#MOVE}</th></tr>
 *   <tr><td>view</td><td>capacity bytes of a 2 x capacity memfd, {@code MAP_SHARED}; each pause
 *       maps the other half at a new address and that mapping becomes the view</td>
 *       <td colspan="2">capacity bytes private anonymous ({@code MAP_NORESERVE}, {@code
 *       MADV_NOHUGEPAGE}); each pause maps a new one and that becomes the view</td></tr>
 *   <tr><td>allocation area</td><td colspan="3">with huge allocation pages (the default but for
 *       CONTINUE with KEEP and MOVE with recycling), or in CONTINUE with KEEP, from the first 2 MiB
 *       boundary above the to-space: private anonymous memory (CONTINUE: mapped over that part of
 *       the memfd half), advised {@code MADV_HUGEPAGE} or {@code MADV_NOHUGEPAGE}</td></tr>
 *   <tr><td>from-space</td><td colspan="3">the old view itself (its pages and page-table entries
 *       stay where they are), unmapped when compaction ends; CONTINUE also punches the old half
 *       unless it keeps it. CONTINUE with KEEP keeps the used part of
 *       its allocation area and moves it into the view for allocation
 *       ({@link #recycleAllocationPages})</td></tr>
 *   <tr><td>page built in</td><td>the new half, through the alias (populates the page cache)</td>
 *       <td colspan="2">a native build buffer of one run (64 buffers of max(runPages, 1 +
 *       faultAroundPages) pages, claimed per step or fault)</td></tr>
 *   <tr><td>installed by</td><td>{@code UFFDIO_CONTINUE} over the run (maps the cached pages, no copy)</td>
 *       <td>{@code UFFDIO_COPY} over the run (kernel allocates pages and copies)</td>
 *       <td>{@code UFFDIO_MOVE} over the run (kernel re-points the buffer pages' PTEs; the buffer
 *       is refaulted as fresh zero pages for the next build; {@code EBUSY} falls back to COPY)</td></tr>
 *   <tr><td>registered</td><td>{@code [0, toSpaceBytes)} MISSING | MINOR</td>
 *       <td colspan="2">{@code [0, toSpaceBytes)} MISSING</td></tr>
 *   <tr><td>released</td><td>{@code FALLOC_FL_PUNCH_HOLE} on the old half as compaction passes
 *       it, the rest of the half at the end</td><td colspan="2">{@code MADV_DONTNEED} as
 *       compaction passes it, {@code munmap} at the end</td></tr>
 *   <tr><td>peak resident</td><td>live + from-space (shmem, counted as Shmem)</td>
 *       <td colspan="2">live + from-space (anonymous)</td></tr>
 * </table>
 *
 * <p><b>Never-populated memfd pages (CONTINUE).</b> The half that receives to-space was punched
 * empty at the end of the previous cycle, so when a mutator touches a to-space page the page
 * cache has no page there and the kernel raises a MISSING fault, not a MINOR one. That is why the
 * range is registered MISSING | MINOR: an unregistered MISSING fault on shmem would be resolved
 * by the kernel with a zero page, silently showing the mutator an empty page. Both kinds are
 * resolved the same way, which is the only way we ever resolve a to-space fault: the page is
 * written through the alias (which allocates the page-cache page) and then mapped with
 * {@code UFFDIO_CONTINUE}; we never issue {@code UFFDIO_COPY}/{@code ZEROPAGE} on a to-space page
 * with live data. A MINOR fault means the page-cache page already exists: its builder has
 * started writing it through the alias (a mutator touching a page while another thread builds
 * it), which is rare (e.g. 9 of 3,494 faults in `faultline run --backend uffd --mode continue
 * --workload random --threads 2`). {@link Stat#MINOR_FAULTS} and {@link Stat#MISSING_FAULTS}
 * count them.
 *
 * <p><b>The page protocol</b> is {@code fl_protocol.c}, the C half of
 * {@code io.faultline.backend.PageProtocol} (docs/page-protocol.md): compactor threads run it
 * through {@link #compactStep} (one downcall per step, so no Java runs between claiming a page
 * and publishing it), the fault-service thread through {@code serve_fault} for every fault
 * message. A page that cannot be built or installed is filled with the poison pattern and
 * installed anyway (waking its faulting threads), becomes FAILED, and the heap fails.
 *
 * <p><b>A new view every cycle.</b> The view the mutators used until the pause has a page-table
 * entry for every page they touched. Emptying it in the pause (zapping the entries, or moving them
 * out with {@code mremap}) costs per entry, so the flip pause would grow with the used heap. A new
 * mapping has no entries at all: mapping it, registering its to-space range and handing its
 * address to the native path ({@code fl_heap_move_view}) is a few system calls whatever the heap
 * holds. The old view's entries are torn down by {@code munmap} when the compaction ends, outside
 * the pause. Each view's segment belongs to its own shared arena, closed before the unmap, so a
 * segment kept across a pause throws {@link IllegalStateException} instead of touching unmapped
 * memory ({@link #view()} is re-read after every pause, as the backend contract says).
 *
 * <p><b>Shutdown.</b> {@link #close()} runs after the collector's threads stopped and before the
 * heap frees its metadata: it stops the service thread, waits for native calls in flight, poisons
 * every unmapped page of a compaction in flight (a thread blocked in a fault wakes to the poison
 * pattern and the heap's CLOSED bit, never to stale memory), closes the uffd, closes the view's
 * arena (later mutator accesses throw) and unmaps everything.
 *
 * <p><b>Assumptions and Guarantees:</b> the heap page size is a multiple of the OS page size;
 * {@link #beginCompaction} runs inside the collector's pause; {@link #compactStep} and the fault
 * service never run Java code between claiming a page and publishing it; the view's address
 * changes at every compaction pause (each flip maps a new view) and at no other time, so the
 * native fault path and every caller of {@link #view()} take it anew after a pause.
 */
public final class UffdBackend implements HeapBackend {
    /** Name of the memfd (visible in /proc/self/fd and /proc/self/maps). */
    public static final String MEMFD_NAME = "faultline-heap";

    /** The native counters ({@code FL_STAT_*} in faultline.h), in index order. */
    public enum Stat {
        /** Page-fault messages read from the uffd by the service thread. */
        FAULTS,
        MINOR_FAULTS,
        MISSING_FAULTS,
        /** Faults whose page the service thread built (with its fault-around pages). */
        FAULT_BUILT,
        /** Faults on a page another thread owned, left to that owner's install (which wakes them). */
        FAULT_OWNED,
        IOCTL_CONTINUE,
        IOCTL_COPY,
        IOCTL_MOVE,
        IOCTL_WAKE,
        /** Runs installed, one install call each (a partial result resumes with another ioctl). */
        INSTALL_RUNS,
        /** Pages installed by those runs. */
        PAGES_INSTALLED,
        EAGAIN,
        ERRORS,
        LAST_ERRNO,
        LAST_ERROR_PAGE,
        /** Pages installed filled with the poison pattern (a failure, or close during a compaction). */
        POISONED,
        /** Pages built by compactor threads in {@link #compactStep}. */
        COMPACTOR_BUILT,
        /** MOVE runs that fell back to COPY on EBUSY. */
        MOVE_EBUSY,
        /** Pages the service thread built because a cycle made no progress for ~20 ms (backstop). */
        BACKSTOP_BUILT,
        /** From-space releases (madvise DONTNEED / punch hole) as compaction passed it. */
        RELEASES,
        /** Bytes released by those calls. */
        RELEASED_BYTES,
        /** Nanoseconds spent building pages, over all threads. */
        BUILD_NS,
        /** Nanoseconds spent in install ioctls, over all threads. */
        INSTALL_NS,
        /** Nanoseconds spent supplying pages to build into (CONTINUE: FALLOCATE's fallocate, KEEP's population of new alias ranges). */
        SUPPLY_NS,
        /** Nanoseconds from taking a fault to serving it (thread delivery: from reading the message). */
        FAULT_NS,
        /** Faults served by the SIGBUS handler of the faulting thread. */
        SIGBUS_FAULTS,
        /** Pages built in recycled (consumed) from-space pages. */
        RECYCLED_PAGES,
        /** The longest fault, in nanoseconds as {@link #FAULT_NS} measures it. */
        FAULT_MAX_NS,
        /**
         * Fault messages for a retired view: read after the flip that moved the view, from a
         * mutator an install had already woken. Ignored.
         */
        STALE_MESSAGES,
        /**
         * Pages built by the compactor's dense path: every word from the page's first object to
         * its last byte's source was live, so the page was one copy and one walk
         * ({@code compact_page}; {@code io.faultline.gc.compact.PageCompactor}).
         */
        DENSE_BUILT,
        /**
         * CONTINUE with {@code KEEP}: bytes of to-space whose alias entries (and, the first time,
         * page cache) the builders made with one {@code MADV_POPULATE_WRITE} per run, where the
         * half's to-space never reached before; below that the kept entries serve. Grows while
         * the heap's live data grows, then stays.
         */
        KEPT_POPULATED_BYTES,
        /**
         * Pages built as copies of their from-space pages: a young cycle's old pages that no
         * dirty card touches, whose bytes do not change ({@code compact_page}'s verbatim path).
         */
        VERBATIM_BUILT,
        /**
         * CONTINUE, SIGBUS delivery: pages a fault mapped itself after waiting
         * {@code FL_MAP_EARLY_NS} (20 us) on its page while another thread's install of it ran
         * late (that thread preempted, typically); built pages, mapped early, still installed,
         * published and counted by their owner.
         */
        MAPPED_EARLY,
        /**
         * The part of {@link #BUILD_NS} spent by threads serving a fault: the faulting page, its
         * fault-around, a run built ahead while waiting. With {@link #FAULT_NS} it says what a
         * fault's time went to.
         */
        FAULT_BUILD_NS,
        /** The part of {@link #INSTALL_NS} spent by threads serving a fault. */
        FAULT_INSTALL_NS
    }

    private final Mode mode;
    private final UffdOptions options;
    private final long capacity;
    private final int pageSize;
    /** The current view's arena: a new one every cycle, closed when that view is retired, so a stale segment throws. */
    private Arena viewArena = Arena.ofShared();
    private final ReentrantReadWriteLock nativeLock = new ReentrantReadWriteLock();
    private final Object lock = new Object();

    private int memfd = -1;
    private long viewAddress;
    /** The view {@link #close} left mapped, until {@link #releaseView} (guarded by {@code lock}). */
    private long keptView;
    private long aliasAddress;
    private long handle;
    private MemorySegment view;
    /** The uffd descriptor; the native state owns it (see {@code fl_heap_stop}). */
    private int uffd = -1;

    // ---- current cycle (guarded by lock) ----
    private int currentHalf;
    private long fromAddress;
    private long fromBytes;
    private long fromFileOffset;
    /**
     * During a compaction: the view before the pause (COPY/MOVE: it is the from-space), unmapped
     * with its page-table entries, and its arena closed, when the compaction ends.
     */
    private long retiredView;
    private Arena retiredArena;
    private long registeredStart;
    private long registeredBytes;
    /** The end of the last flip's to-space: CONTINUE's {@link #collectorReadView()} covers {@code [0, toSpaceEnd)}. */
    private long toSpaceEnd;
    /** Where the current view's private anonymous allocation area starts (an offset; capacity: none). */
    private long allocationStart;
    /** The same for the retired view, until it is unmapped. */
    private long retiredAllocationStart;
    /**
     * After a compaction of a recycling heap ends: the used part of the retired view's allocation
     * area, still mapped and resident, waiting for {@link #recycleAllocationPages}; 0 if none.
     */
    private long spareAddress;
    private long spareBytes;
    /** Bytes {@link #recycleAllocationPages} moved into the view, over the heap's life. */
    private long recycledBytes;
    /**
     * While a compaction of a recycling heap runs: the retired view's allocation area below this
     * offset has been moved into the view by {@link #takeConsumed} (0: nothing yet). Under lock.
     */
    private long retiredTakenTo;
    /** Bytes {@link #takeConsumed} moved into the view, over the heap's life. Under lock. */
    private long consumedRecycledBytes;
    /** The cycle's control block ({@link #attach}): {@code CONSUMED} says what compaction no longer reads. */
    private volatile ControlBlock control;
    /** Resident pages kept for the allocation area instead of unmapped (recycling heaps only). */
    private final ResidentPool pool;
    /** The end of what allocation readied in the current view (an offset): the populated part. */
    private final java.util.concurrent.atomic.AtomicLong preparedTo = new java.util.concurrent.atomic.AtomicLong();
    /** The same for the retired view, until it is unmapped. */
    private long retiredPreparedTo;

    private volatile boolean closed;
    private long[] closedStats;
    private long[] closedFaultHistogram;

    /**
     * Maps a heap of {@code capacity} bytes in {@code mode}. Throws {@link IllegalStateException}
     * if the native library is missing, {@link SyscallException} if the kernel refuses.
     */
    public UffdBackend(Mode mode, long capacity, int pageSize) {
        this(mode, UffdOptions.defaults(), capacity, pageSize);
    }

    /** As {@link #UffdBackend(Mode, long, int)}, with {@code options}. */
    public UffdBackend(Mode mode, UffdOptions options, long capacity, int pageSize) {
        if (!NativeLibrary.isLoaded()) {
            throw new IllegalStateException(NativeLibrary.failureReason());
        }
        long osPage = Mman.pageSize();
        if (pageSize % osPage != 0 || capacity % pageSize != 0) {
            throw new IllegalArgumentException("uffd backend: page size " + pageSize + " must be a multiple of the OS page "
                + osPage + " and capacity " + capacity + " a multiple of the page size");
        }
        options.check(mode);
        this.mode = mode;
        this.options = options;
        this.capacity = capacity;
        this.pageSize = pageSize;
        this.pool = new ResidentPool(capacity / 2);
        int fd = -1;
        try {
            fd = Userfaultfd.open();
            Userfaultfd.api(fd, features(mode)
                | (options.delivery() == UffdOptions.Delivery.SIGBUS ? Userfaultfd.UFFD_FEATURE_SIGBUS : 0));
            if (mode == Mode.CONTINUE) {
                memfd = Memfd.create(MEMFD_NAME);
                Fd.ftruncate(memfd, 2 * capacity);
                aliasAddress = Mman.mmapShared(memfd, 2 * capacity);
                shmemHuge = adviseFolios(aliasAddress, 2 * capacity, options.supply() == UffdOptions.PageSupply.KEEP);
            }
            hugeAllocation = options.allocationPages(mode) == UffdOptions.AllocationPages.HUGE && HugePages.offered();
            anonymousAllocation = hugeAllocation || recycles();
            viewAddress = mapView(0, 0);
            handle = NativeHeap.create(mode.ordinal(), options.delivery().ordinal(), options.supply().ordinal(), fd, memfd,
                viewAddress, aliasAddress, capacity, pageSize, options.backstop().toMillis());
            uffd = fd; // owned by the native state from now on: fl_heap_stop closes it
            fd = -1;
            view = viewSegment();
        } catch (RuntimeException | Error e) {
            if (fd >= 0) {
                Fd.close(fd);
            }
            release();
            releaseView();
            throw e;
        }
    }

    /**
     * Advises the alias about folio size; true if the memfd then gets 2 MiB folios (see
     * {@link HugePages}). With {@code KEEP} ({@code huge}) {@code MADV_HUGEPAGE}: where the host's
     * {@code shmem_enabled} is {@code advise} the builders' first writes fill the kept halves with
     * 2 MiB folios, whose installs are cheaper. Otherwise {@code MADV_NOHUGEPAGE}: {@code FRESH}
     * and {@code FALLOCATE} punch from-space as compaction passes it, and a punch inside a huge
     * folio splits it (or, if the split fails, zeroes the range), so their rows keep 4 KiB folios
     * (fallocate has no mapping: a host set to {@code always} still gives it huge folios). The
     * view is not advised: it is registered for minor faults, and CONTINUE maps it 4 KiB at a time
     * whatever the folio. A kernel without transparent huge pages refuses the advice (EINVAL).
     */
    private static boolean adviseFolios(long alias, long length, boolean huge) {
        return HugePages.advise(alias, length, huge) && huge && HugePages.shmemOffered();
    }

    /**
     * Maps a new view at a 2 MiB boundary ({@link HugePages#reserveAligned}), with no page-table
     * entries: CONTINUE the memfd half at {@code halfOffset},
     * COPY/MOVE fresh private anonymous memory ({@code MADV_NOHUGEPAGE}: the to-space is filled
     * 4 KiB at a time). With an anonymous allocation area, the view from the first 2 MiB boundary
     * at or above heap offset {@code allocationFrom} (the to-space end) on is private anonymous
     * memory advised huge or small pages (for CONTINUE it replaces that part of the memfd mapping:
     * only the to-space needs the page cache, and the next cycle reads from-space through this view).
     */
    private long mapView(long halfOffset, long allocationFrom) {
        allocationStart = capacity;
        long address = HugePages.reserveAligned(capacity); // recycled 2 MiB chunks move only to aligned addresses
        try {
            if (mode == Mode.CONTINUE) {
                Mman.mmap(address, capacity, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED | Mman.MAP_FIXED, memfd, halfOffset);
            } else {
                Mman.mmap(address, capacity, Mman.PROT_READ | Mman.PROT_WRITE,
                    Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE | Mman.MAP_FIXED, -1, 0);
                HugePages.advise(address, capacity, false); // a kernel without huge pages refuses it, and has small ones
            }
            if (mode == Mode.MOVE && options.supply() == UffdOptions.PageSupply.RECYCLE) {
                giveAnonVma(address);
            }
            mapAllocationArea(address, allocationFrom);
        } catch (RuntimeException e) {
            Mman.munmap(address, capacity);
            throw e;
        }
        return address;
    }

    /**
     * MOVE with RECYCLE: gives the new private view at {@code address} its anon_vma (the kernel's
     * reverse map of anonymous pages, made on a mapping's first anonymous fault) while it is still
     * one mapping, by writing its first page and dropping that page again. Registering the
     * to-space range splits the view in two kernel mappings (VMAs); if each part made its own
     * anon_vma (the to-space at its first install, the allocation area at the first allocation
     * during the compaction), they stay two after the range is unregistered, and this view, as the
     * next cycle's from-space, then has a boundary in the middle: {@code UFFDIO_MOVE} refuses a
     * recycled run that crosses it with EINVAL, and the heap fails. With one anon_vma the parts
     * merge again when the range is unregistered ({@code FromSpaceMappingTest}). Costs one page fault
     * and one {@code madvise} in the pause that maps the view.
     */
    @SuppressWarnings("restricted")
    private void giveAnonVma(long address) {
        MemorySegment.ofAddress(address).reinterpret(pageSize).set(ValueLayout.JAVA_BYTE, 0, (byte) 0);
        Mman.madvise(address, pageSize, Mman.MADV_DONTNEED);
    }

    /**
     * With an anonymous allocation area: from the first 2 MiB boundary at or above heap offset
     * {@code from} to the end of the view at {@code address}, advises huge or small pages
     * (CONTINUE: over a private anonymous mapping put there first). A kernel that refuses the huge
     * advice (EINVAL: built without transparent huge pages) turns huge pages off for the heap's
     * life, which {@link #counters()} reports; one without them has nothing to refuse small.
     */
    private void mapAllocationArea(long address, long from) {
        if (!anonymousAllocation) {
            return;
        }
        long start = Math.ceilDiv(address + from, HugePages.SIZE) * HugePages.SIZE;
        long end = address + capacity;
        if (start >= end) {
            return;
        }
        allocationStart = start - address;
        if (mode == Mode.CONTINUE) {
            Mman.mmap(start, end - start, Mman.PROT_READ | Mman.PROT_WRITE,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE | Mman.MAP_FIXED, -1, 0);
        }
        if (!HugePages.advise(start, end - start, hugeAllocation)) {
            hugeAllocation = false;
        }
    }

    @SuppressWarnings("restricted")
    private MemorySegment viewSegment() {
        return MemorySegment.ofAddress(viewAddress).reinterpret(capacity, viewArena, null);
    }

    /** A factory for {@link io.faultline.heap.HeapConfig.Builder#backend}. */
    public static Factory factory(Mode mode) {
        return factory(mode, UffdOptions.defaults());
    }

    /** A factory for {@link io.faultline.heap.HeapConfig.Builder#backend}, with {@code options}. */
    public static Factory factory(Mode mode, UffdOptions options) {
        return (capacity, pageSize) -> new UffdBackend(mode, options, capacity, pageSize);
    }

    /** The {@code UFFDIO_API} features a mode needs. */
    static long features(Mode mode) {
        return switch (mode) {
            case CONTINUE -> Userfaultfd.UFFD_FEATURE_MINOR_SHMEM | Userfaultfd.UFFD_FEATURE_MISSING_SHMEM;
            case COPY -> 0;
            case MOVE -> Userfaultfd.UFFD_FEATURE_MOVE;
        };
    }

    public Mode deliveryMode() {
        return mode;
    }

    /** The options this backend was created with. */
    public UffdOptions options() {
        return options;
    }

    @Override
    public String name() {
        return "uffd";
    }

    /** The mode, and the delivery when it is not the default: {@code copy}, {@code copy+sigbus}. */
    @Override
    public String mode() {
        String m = mode.name().toLowerCase(java.util.Locale.ROOT);
        return options.delivery() == UffdOptions.Delivery.THREAD ? m : m + "+" + options.delivery().label();
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public int pageSize() {
        return pageSize;
    }

    /** The mutator view: the same segment, at the same address, for the heap's life. */
    @Override
    public MemorySegment view() {
        return view;
    }

    /**
     * CONTINUE: the current half through the GC alias, up to the last flip's to-space end. The
     * builders wrote every page of it through the alias, so its page-table entries are there,
     * while the view's were all made anew at the flip; the marker reads the pages it covers here
     * (a shadow-paging host charges microseconds for the first access through each new entry).
     * It belongs to the view's arena: closed with it. COPY/MOVE, and before the first flip:
     * {@link MemorySegment#NULL}.
     */
    @Override
    @SuppressWarnings("restricted")
    public MemorySegment collectorReadView() {
        synchronized (lock) {
            if (mode != Mode.CONTINUE || toSpaceEnd == 0 || closed) {
                return MemorySegment.NULL;
            }
            return MemorySegment.ofAddress(aliasAddress + (long) currentHalf * capacity).reinterpret(toSpaceEnd, viewArena, null);
        }
    }

    /** The view's raw address (tests and diagnostics). */
    public long viewAddress() {
        return viewAddress;
    }

    @Override
    public boolean accessNeedsPageCheck() {
        return false;
    }

    /** The native compactor builds every page; {@code builder} (the Java one) is not used. */
    @Override
    public void attach(GcMetadata md, PageBuilder builder) {
        synchronized (lock) {
            checkOpen();
            NativeHeap.attach(handle, md.bitmap().segment().address(), md.offsets().segment().address(),
                md.firstObjects().segment().address(), md.pageStates().segment().address(),
                md.control().segment().address());
            control = md.control();
        }
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        synchronized (lock) {
            checkOpen();
            long usedPages = (usedBytes + pageSize - 1) & -(long) pageSize;
            long toHalfOffset = 0;
            // A fresh mapping becomes the view: it has no page-table entries, so the pause moves or
            // zaps none (the old view keeps its own until the compaction ends and unmaps it).
            long oldView = viewAddress;
            releaseSpare(); // not recycled after the last compaction
            long oldAllocationStart = allocationStart;
            long newView;
            if (mode == Mode.CONTINUE) {
                int toHalf = 1 - currentHalf;
                toHalfOffset = toHalf * capacity;
                newView = mapView(toHalfOffset, endPage * pageSize);
                fromFileOffset = currentHalf * capacity;
                currentHalf = toHalf;
            } else {
                newView = mapView(0, endPage * pageSize);
            }
            fromAddress = oldView; // the old view is the from-space: its pages stay where they are
            fromBytes = usedPages;
            retiredView = oldView;
            retiredAllocationStart = oldAllocationStart;
            retiredTakenTo = 0;
            retiredArena = viewArena;
            retiredPreparedTo = preparedTo.getAndSet(0);
            viewAddress = newView;
            viewArena = Arena.ofShared();
            view = viewSegment();
            NativeHeap.moveView(handle, newView);
            registeredStart = firstPage * pageSize;
            long oldToSpaceEnd = toSpaceEnd; // built through the alias: the compactor reads it there
            toSpaceEnd = firstPage == 0 ? endPage * pageSize : 0; // the read view starts at offset 0
            long toSpaceBytes = (endPage - firstPage) * pageSize;
            if (toSpaceBytes > 0) {
                long registerMode = mode == Mode.CONTINUE
                    ? Userfaultfd.UFFDIO_REGISTER_MODE_MISSING | Userfaultfd.UFFDIO_REGISTER_MODE_MINOR
                    : Userfaultfd.UFFDIO_REGISTER_MODE_MISSING;
                long ioctls = Userfaultfd.register(uffd, viewAddress + registeredStart, toSpaceBytes, registerMode);
                int needed = switch (mode) {
                    case CONTINUE -> Userfaultfd._UFFDIO_CONTINUE;
                    case COPY -> Userfaultfd._UFFDIO_COPY;
                    case MOVE -> Userfaultfd._UFFDIO_MOVE;
                };
                if (!Userfaultfd.hasIoctl(ioctls, needed) || !Userfaultfd.hasIoctl(ioctls, Userfaultfd._UFFDIO_COPY)
                        && mode != Mode.CONTINUE) {
                    Userfaultfd.unregister(uffd, viewAddress + registeredStart, toSpaceBytes);
                    throw new IllegalStateException("registered range does not offer " + Userfaultfd.ioctlNames(1L << needed)
                        + " (offers " + Userfaultfd.ioctlNames(ioctls) + ")");
                }
            }
            registeredBytes = toSpaceBytes;
            NativeHeap.begin(handle, fromAddress, fromBytes, mode == Mode.CONTINUE ? fromFileOffset : 0, toHalfOffset,
                mode == Mode.CONTINUE ? oldToSpaceEnd : 0);
        }
    }

    /** One native step of the page protocol (also the pause's stop-the-world compaction). */
    @Override
    public long compactStep(long maxPages) {
        var read = nativeLock.readLock();
        read.lock();
        try {
            return closed ? 0 : NativeHeap.compactStep(handle, maxPages);
        } finally {
            read.unlock();
        }
    }

    @Override
    public long allocationZeroFrom() {
        if (mode != Mode.CONTINUE || options.supply() != UffdOptions.PageSupply.KEEP) {
            return 0;
        }
        synchronized (lock) {
            return allocationStart < capacity ? allocationStart : Long.MAX_VALUE;
        }
    }

    /**
     * True if compaction ends with the old view's allocation area intact, to be recycled: CONTINUE
     * with KEEP, whose allocation area is therefore always private anonymous memory.
     */
    private boolean recycles() {
        return mode == Mode.CONTINUE && options.supply() == UffdOptions.PageSupply.KEEP;
    }

    /**
     * Moves the used part of the retired view's allocation area (kept by {@link #endCompaction})
     * with one {@code mremap} to the first 2 MiB boundary of the view at or above {@code from} and
     * its own allocation start, as far as {@code limit} allows; unmaps what does not fit. The
     * pages move with their page-table entries (a whole page table, or a huge page's entry, per
     * 2 MiB), so nothing is allocated, zeroed or faulted.
     * If the kernel refuses (a kernel before 6.17 will not move a range that spans several
     * mappings), the destination is mapped afresh as it was, and nothing moved.
     */
    @Override
    public long recycleAllocationPages(long from, long limit) {
        synchronized (lock) {
            if (closed || spareBytes == 0) {
                return from;
            }
            long start = Math.ceilDiv(viewAddress + Math.max(from, allocationStart), HugePages.SIZE) * HugePages.SIZE;
            long end = Math.min(start + spareBytes, Math.floorDiv(viewAddress + Math.min(limit, capacity), HugePages.SIZE) * HugePages.SIZE);
            if (allocationStart >= capacity || end <= start) {
                releaseSpare();
                return from;
            }
            long bytes = end - start;
            if (!ResidentPool.move(spareAddress, bytes, start, hugeAllocation)) {
                releaseSpare();
                return from;
            }
            if (spareBytes > bytes) {
                pool.give(spareAddress + bytes, spareBytes - bytes);
            }
            preparedTo.accumulateAndGet(end - viewAddress, Math::max);
            spareAddress = 0;
            spareBytes = 0;
            recycledBytes += bytes;
            return end - viewAddress;
        }
    }

    /** Gives a kept allocation area that was not recycled to the pool (closed: unmaps it). Under lock. */
    private void releaseSpare() {
        if (spareBytes > 0) {
            long a = spareAddress;
            long n = spareBytes;
            spareAddress = 0;
            spareBytes = 0;
            pool.give(a, n);
        }
    }

    /**
     * Recycling heaps: moves pool chunks into every whole 2 MiB chunk of the anonymous allocation
     * area inside the range and zeroes them; then {@code madvise(MADV_POPULATE_WRITE)} over the
     * rest (a kernel that refuses it turns populating off).
     */
    @Override
    public void prepareAllocation(long offset, long bytes) {
        var read = nativeLock.readLock();
        read.lock(); // close waits: a chunk is never moved to an address that is no longer the view
        try {
            if (closed) {
                return;
            }
            long populateFrom = offset;
            if (recycles()) {
                preparedTo.accumulateAndGet(offset + bytes, Math::max);
                // whole 2 MiB chunks of the anonymous allocation area inside the range (addresses)
                long first = Math.ceilDiv(viewAddress + Math.max(offset, allocationStart), ResidentPool.CHUNK) * ResidentPool.CHUNK;
                for (long c = first; c + ResidentPool.CHUNK <= viewAddress + offset + bytes; c += ResidentPool.CHUNK) {
                    if (!pool.take(c, hugeAllocation) && !takeConsumed(c)) {
                        break;
                    }
                    long chunk = c - viewAddress;
                    populate(populateFrom, chunk - populateFrom);
                    view.asSlice(chunk, ResidentPool.CHUNK).fill((byte) 0); // the pool's pages hold old bytes
                    populateFrom = chunk + ResidentPool.CHUNK;
                }
            }
            populate(populateFrom, offset + bytes - populateFrom);
        } finally {
            read.unlock();
        }
    }

    /**
     * Recycling heaps, while a compaction runs: moves the next whole 2 MiB chunk of the retired
     * view's allocation area that the compaction has consumed to {@code destination} (2 MiB
     * aligned, in the view's allocation area) and returns true; false if there is none yet. The
     * page protocol raises {@code ControlBlock.CONSUMED} only past from-space that no build, by a
     * compactor or a fault, reads again (every to-space page whose source lies below it is
     * built), so the chunk's pages are free: they move with their page-table entries instead
     * of the allocation populating fresh ones. That matters while nothing else is recycled yet: in
     * a heap's first compaction the whole first view is from-space, and each fresh 2 MiB costs
     * the mutator 0.2 to 2.4 ms on this project's VMs (docs/uffd-modes.md). The chunk holds old
     * bytes, like a pool chunk. A kernel that refuses the move leaves the chunk where it was and
     * {@code destination} mapped afresh.
     */
    private boolean takeConsumed(long destination) {
        synchronized (lock) {
            ControlBlock c = control;
            if (closed || retiredView == 0 || fromAddress == 0 || c == null) {
                return false;
            }
            long consumed = Math.min(c.get(ControlBlock.CONSUMED), fromBytes);
            long chunk = Math.ceilDiv(retiredView + Math.max(retiredAllocationStart, retiredTakenTo), ResidentPool.CHUNK)
                * ResidentPool.CHUNK;
            if (retiredAllocationStart >= capacity || chunk + ResidentPool.CHUNK > retiredView + consumed) {
                return false;
            }
            if (!ResidentPool.move(chunk, ResidentPool.CHUNK, destination, hugeAllocation)) {
                return false;
            }
            retiredTakenTo = chunk + ResidentPool.CHUNK - retiredView;
            consumedRecycledBytes += ResidentPool.CHUNK;
            return true;
        }
    }

    private void populate(long offset, long bytes) {
        if (!populate || bytes <= 0) {
            return;
        }
        long start = offset & -(long) pageSize;
        long end = Math.min(capacity, Math.ceilDiv(offset + bytes, pageSize) * pageSize);
        try {
            Mman.madvise(viewAddress + start, end - start, Mman.MADV_POPULATE_WRITE);
            populatedBytes.add(end - start);
        } catch (SyscallException e) {
            populate = false; // EINVAL before Linux 5.14; anything else: the first touch will tell
        }
    }

    @Override
    public long allocationGranule() {
        return recycles() ? ResidentPool.CHUNK : 0;
    }

    private volatile boolean populate = true;
    /** Bytes of the allocation area populated fresh ({@code MADV_POPULATE_WRITE}), over the heap's life. */
    private final LongAdder populatedBytes = new LongAdder();
    /**
     * The allocation area is advised huge pages (see {@link UffdOptions.AllocationPages#HUGE}):
     * written by the constructor and under lock, read by {@link #counters()}.
     */
    private volatile boolean hugeAllocation;
    /**
     * The allocation area is private anonymous memory ({@link #mapAllocationArea}): with huge
     * pages, or in CONTINUE with KEEP, whose recycling moves its pages. Set by the constructor.
     */
    private boolean anonymousAllocation;
    /** CONTINUE with KEEP: the host gives the memfd 2 MiB folios ({@link #adviseFolios}). */
    private boolean shmemHuge;

    /** Never called: the kernel traps the access and the native path serves it. */
    @Override
    public int serveFault(long page) {
        throw new UnsupportedOperationException("uffd backend: faults are served natively (page " + page + ")");
    }

    @Override
    public void endCompaction() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (registeredBytes > 0) {
                Userfaultfd.unregister(uffd, viewAddress + registeredStart, registeredBytes);
                registeredBytes = 0;
            }
            NativeHeap.begin(handle, 0, 0, 0, 0, 0);
            releaseFrom();
        }
    }

    /** Drops the from-space and unmaps the retired view (closing its arena first). */
    private void releaseFrom() {
        if (fromAddress != 0 && mode == Mode.CONTINUE && options.supply() != UffdOptions.PageSupply.KEEP) {
            Fd.punchHole(memfd, fromFileOffset, capacity);
        }
        long usedBytes = fromBytes;
        fromAddress = 0;
        fromBytes = 0;
        if (retiredView != 0) {
            long retired = retiredView;
            retiredView = 0;
            Arena arena = retiredArena;
            retiredArena = null;
            closeArena(arena);
            long keepFrom = Math.max(retiredAllocationStart, retiredTakenTo); // below: moved out by takeConsumed
            retiredTakenTo = 0;
            long keepTo = Math.min(capacity, Math.ceilDiv(usedBytes, HugePages.SIZE) * HugePages.SIZE);
            if (recycles() && !closed && keepFrom < keepTo) {
                // the used part of its allocation area stays, resident, for recycleAllocationPages
                if (keepFrom > 0) {
                    Mman.munmap(retired, keepFrom);
                }
                long populatedTo = Math.min(capacity, Math.ceilDiv(retiredPreparedTo, HugePages.SIZE) * HugePages.SIZE);
                if (populatedTo > keepTo) {
                    pool.give(retired + keepTo, populatedTo - keepTo); // resident, never written this cycle
                }
                long unmapFrom = Math.max(keepTo, populatedTo);
                if (unmapFrom < capacity) {
                    Mman.munmap(retired + unmapFrom, capacity - unmapFrom);
                }
                spareAddress = retired + keepFrom;
                spareBytes = keepTo - keepFrom;
            } else {
                Mman.munmap(retired, capacity);
            }
        }
    }

    private static void closeArena(Arena arena) {
        try {
            arena.close();
        } catch (IllegalStateException alreadyClosed) {
            // closed by an earlier failed attempt
        }
    }

    /** The native counters, indexed by {@link Stat#ordinal()} (after close: their final values). */
    public long[] stats() {
        var read = nativeLock.readLock();
        read.lock();
        try {
            if (handle == 0) {
                return closedStats != null ? closedStats.clone() : new long[Stat.values().length];
            }
            return NativeHeap.stats(handle, Stat.values().length);
        } finally {
            read.unlock();
        }
    }

    /**
     * The fault latencies the native fault path recorded ({@code fl_fault_histogram}, the same
     * measure as {@link Stat#FAULT_NS}), delivery {@code thread} or {@code sigbus}.
     */
    @Override
    public FaultLatencies faultLatencies() {
        var read = nativeLock.readLock();
        read.lock();
        try {
            long[] counts;
            long max;
            if (handle == 0) {
                counts = closedFaultHistogram != null ? closedFaultHistogram.clone() : new long[LatencyBuckets.BUCKETS];
                max = closedStats != null ? closedStats[Stat.FAULT_MAX_NS.ordinal()] : 0;
            } else {
                counts = NativeHeap.faultHistogram(handle, LatencyBuckets.BUCKETS);
                max = NativeHeap.stats(handle, Stat.values().length)[Stat.FAULT_MAX_NS.ordinal()];
            }
            return new FaultLatencies(options.delivery().label(), counts, max);
        } finally {
            read.unlock();
        }
    }

    public long stat(Stat s) {
        return stats()[s.ordinal()];
    }

    /** The native counters by name (lower case, e.g. {@code ioctl_copy}). */
    @Override
    public Map<String, Long> counters() {
        long[] s = stats();
        Map<String, Long> m = new LinkedHashMap<>();
        for (Stat st : Stat.values()) {
            m.put(st.name().toLowerCase(java.util.Locale.ROOT), s[st.ordinal()]);
        }
        m.put("huge_allocation", hugeAllocation ? 1L : 0L);
        m.put("shmem_huge_folios", shmemHuge ? 1L : 0L);
        m.put("pool_taken_bytes", pool.takenBytes());
        m.put("pool_bytes", pool.bytes());
        synchronized (lock) {
            m.put("recycled_allocation_bytes", recycledBytes);
            m.put("consumed_recycled_bytes", consumedRecycledBytes);
        }
        m.put("populated_bytes", populatedBytes.sum());
        return m;
    }

    /**
     * The current cycle's from-space, offsets as in the view (in every mode the old view), or
     * {@link MemorySegment#NULL} outside a compaction. For tests and diagnostics, inside the
     * pause that began the compaction: its pages are released as compaction passes them, and a
     * recycling heap moves consumed parts of it into the view for allocation (then nothing is
     * mapped there).
     */
    @Override
    public MemorySegment fromSpace() {
        synchronized (lock) {
            return fromAddress == 0 ? MemorySegment.NULL : Mman.segment(fromAddress, fromBytes);
        }
    }

    /**
     * Builds to-space page {@code page} of the current cycle into {@code buffer} (at least one page)
     * with the native compactor, without mapping it. For the differential test; call inside the
     * pause, between {@link #beginCompaction} and the page's build.
     */
    public void compactPageNatively(long page, MemorySegment buffer) {
        if (buffer.byteSize() < pageSize) {
            throw new IllegalArgumentException("buffer holds " + buffer.byteSize() + " bytes, need " + pageSize);
        }
        synchronized (lock) {
            checkOpen();
            NativeHeap.compactPageInto(handle, buffer, page);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("uffd backend is closed");
        }
    }

    /**
     * Stops the service thread, waits for native calls in flight, poisons the unmapped pages of a
     * compaction in flight, closes the uffd (waking blocked faulters), closes the view's arena and
     * unmaps and closes everything. Never waits for a mutator. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        var write = nativeLock.writeLock();
        write.lock();
        try {
            if (handle != 0) {
                NativeHeap.stop(handle); // service joined, compactor calls drained, unmapped pages poisoned, uffd closed
                closedStats = NativeHeap.stats(handle, Stat.values().length);
                closedFaultHistogram = NativeHeap.faultHistogram(handle, LatencyBuckets.BUCKETS);
            }
            synchronized (lock) {
                release();
            }
        } finally {
            write.unlock();
        }
    }

    private void release() {
        RuntimeException failure = null;
        closeArena(viewArena);
        if (handle != 0) {
            NativeHeap.free(handle);
            handle = 0;
        }
        failure = pool.close();
        try {
            releaseFrom();
            releaseSpare();
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        keptView = viewAddress; // unmapped by releaseView: a mutator may still be inside an access
        viewAddress = 0;
        failure = unmap(failure, aliasAddress, 2 * capacity);
        aliasAddress = 0;
        if (memfd >= 0) {
            try {
                Fd.close(memfd);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            memfd = -1;
        }
        view = null;
        if (failure != null) {
            throw failure;
        }
    }

    /** Unmaps the view {@link #close} left mapped (its pages unserved: the uffd is closed). */
    @Override
    public void releaseView() {
        long address;
        synchronized (lock) {
            address = keptView;
            keptView = 0;
        }
        RuntimeException failure = unmap(null, address, capacity);
        if (failure != null) {
            throw failure;
        }
    }

    private static RuntimeException unmap(RuntimeException failure, long address, long length) {
        if (address == 0) {
            return failure;
        }
        try {
            Mman.munmap(address, length);
        } catch (RuntimeException e) {
            return failure == null ? e : failure;
        }
        return failure;
    }

    @Override
    public String toString() {
        return "UffdBackend[" + mode() + ", capacity=" + capacity + ", pageSize=" + pageSize + "]";
    }
}
