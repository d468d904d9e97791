package io.faultline.heap;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.gc.MarkingHooks;
import io.faultline.meta.TraceRing;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Settings of one {@link Heap}. Immutable; build with {@link #builder()}. Every setter rejects a
 * bad value at once with an {@link IllegalArgumentException} that names the setting.
 */
public record HeapConfig(
        long capacity,
        int pageSize,
        int tlabBytes,
        boolean checkedAccess,
        boolean verifyAfterGc,
        Consumer<String> gcLog,
        HeapBackend.Factory backend,
        boolean concurrentCompaction,
        int compactorThreads,
        long compactionStepPages,
        long runPages,
        long faultAroundPages,
        long releaseBatchBytes,
        long populateAheadBytes,
        boolean relocateEveryObject,
        Duration safepointTimeout,
        boolean failOnSafepointTimeout,
        boolean concurrentMarking,
        int markingThreads,
        int markingHeadroomPercent,
        boolean youngCycles,
        MarkingHooks markingHooks,
        Trace trace) {

    public static final long DEFAULT_CAPACITY = 256L << 20;
    public static final int DEFAULT_TLAB_BYTES = 32 << 10;
    /** Default pages per compaction step (see {@link Builder#compactionStepPages}). */
    public static final long DEFAULT_COMPACTION_STEP_PAGES = 64;
    /** Default run length (see {@link Builder#runPages}). */
    public static final long DEFAULT_RUN_PAGES = 64;
    /** Default fault-around (see {@link Builder#faultAroundPages}). */
    public static final long DEFAULT_FAULT_AROUND_PAGES = 16;
    /** Default from-space release batch (see {@link Builder#releaseBatchBytes}). */
    public static final long DEFAULT_RELEASE_BATCH_BYTES = 2L << 20;
    /** Default populate-ahead (see {@link Builder#populateAheadBytes}). */
    public static final long DEFAULT_POPULATE_AHEAD_BYTES = 1L << 20;
    /** Default safepoint timeout (see {@link Builder#safepointTimeout}). */
    public static final Duration DEFAULT_SAFEPOINT_TIMEOUT = Duration.ofSeconds(5);
    /** Default free-space reserve for concurrent marking (see {@link Builder#markingHeadroomPercent}). */
    public static final int DEFAULT_MARKING_HEADROOM_PERCENT = 20;
    /** Default trace ring size in records of 64 bytes (see {@link Builder#trace}). */
    public static final int DEFAULT_TRACE_RING_RECORDS = 1 << 17;

    /**
     * What to trace: cycles {@code [firstCycle, lastCycle]} into a ring of {@code ringRecords}
     * records, drained to {@code sink} (see {@link io.faultline.gc.GcEvents}).
     */
    public record Trace(long firstCycle, long lastCycle, int ringRecords, TraceRing.Sink sink) {
        /** Nothing traced. */
        public static final Trace NONE = new Trace(0, -1, 0, null);

        /** True if some cycle is traced. */
        public boolean on() {
            return sink != null;
        }
    }

    /** Largest capacity for checked access: references must stay non-negative ints to be told from handles. */
    public static final long MAX_CHECKED_CAPACITY = 1L << 34;

    public static Builder builder() {
        return new Builder();
    }

    /** The operating system's page size (FFM {@code getpagesize}); 4096 if it cannot be asked. */
    public static int osPageSize() {
        try {
            Linker linker = Linker.nativeLinker();
            var mh = linker.downcallHandle(linker.defaultLookup().find("getpagesize").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            return (int) mh.invokeExact();
        } catch (Throwable t) {
            return 4096;
        }
    }

    /**
     * Builder with the defaults: 256 MiB, OS page size, 32 KiB TLABs, unchecked access, java
     * backend, concurrent marking with one marking thread, concurrent compaction with one
     * compactor thread.
     */
    public static final class Builder {
        private long capacity = DEFAULT_CAPACITY;
        private int pageSize = osPageSize();
        private int tlabBytes = DEFAULT_TLAB_BYTES;
        private boolean checkedAccess;
        private boolean verifyAfterGc;
        private Consumer<String> gcLog;
        private HeapBackend.Factory backend = JavaBackend.factory();
        private boolean concurrentCompaction = true;
        private int compactorThreads = 1;
        private long compactionStepPages = DEFAULT_COMPACTION_STEP_PAGES;
        private long runPages = DEFAULT_RUN_PAGES;
        private long faultAroundPages = DEFAULT_FAULT_AROUND_PAGES;
        private long releaseBatchBytes = DEFAULT_RELEASE_BATCH_BYTES;
        private long populateAheadBytes = DEFAULT_POPULATE_AHEAD_BYTES;
        private boolean relocateEveryObject;
        private Duration safepointTimeout = DEFAULT_SAFEPOINT_TIMEOUT;
        private boolean failOnSafepointTimeout;
        private boolean concurrentMarking = true;
        private int markingThreads = 1;
        private boolean youngCycles = false;
        private int markingHeadroomPercent = DEFAULT_MARKING_HEADROOM_PERCENT;
        private MarkingHooks markingHooks = MarkingHooks.NONE;
        private Trace trace = Trace.NONE;

        /** Heap capacity in bytes; rounded up to a whole page; at least 16 pages, at most 32 GiB. */
        public Builder capacity(long bytes) {
            if (bytes <= 0 || bytes > ObjectLayout.MAX_HEAP_BYTES) {
                throw new IllegalArgumentException("capacity: " + bytes + " bytes is out of range (1 .. "
                        + ObjectLayout.MAX_HEAP_BYTES + ")");
            }
            this.capacity = bytes;
            return this;
        }

        public Builder pageSize(int bytes) {
            if (bytes < 512 || Integer.bitCount(bytes) != 1) {
                throw new IllegalArgumentException("pageSize: " + bytes + " is not a power of two >= 512");
            }
            this.pageSize = bytes;
            return this;
        }

        /** Thread-local allocation buffer size; a multiple of 8 between 256 B and 16 MiB. */
        public Builder tlabBytes(int bytes) {
            if (bytes < 256 || bytes > (16 << 20) || (bytes & 7) != 0) {
                throw new IllegalArgumentException("tlabBytes: " + bytes + " is not a multiple of 8 in [256, 16 MiB]");
            }
            this.tlabBytes = bytes;
            return this;
        }

        /**
         * Validate every access (see {@link io.faultline.heap.Mutator}): the owning thread, the
         * reference (not null, not a handle, inside the used heap, at an object header) and the slot,
         * field or index. Handles are then negative numbers, so the capacity may be at most
         * {@link #MAX_CHECKED_CAPACITY}.
         */
        public Builder checkedAccess(boolean on) {
            this.checkedAccess = on;
            return this;
        }

        /** Run the heap verifier after every collection and fail the collection if it finds damage. */
        public Builder verifyAfterGc(boolean on) {
            this.verifyAfterGc = on;
            return this;
        }

        /** Receives one {@code -Xlog:gc}-style line per collection; null turns the log off. */
        public Builder gcLog(Consumer<String> sink) {
            this.gcLog = sink;
            return this;
        }

        public Builder backend(HeapBackend.Factory factory) {
            if (factory == null) {
                throw new IllegalArgumentException("backend: factory must not be null");
            }
            this.backend = factory;
            return this;
        }

        /**
         * True (default): the pause only updates roots and unmaps to-space; compactor threads and
         * faulting mutators build pages afterwards. False: the pause compacts every page.
         */
        public Builder concurrentCompaction(boolean on) {
            this.concurrentCompaction = on;
            return this;
        }

        /** Compactor threads for concurrent compaction, 1..64 (default 1). */
        public Builder compactorThreads(int n) {
            if (n < 1 || n > 64) {
                throw new IllegalArgumentException("compactorThreads: " + n + " is not in [1, 64]");
            }
            this.compactorThreads = n;
            return this;
        }

        /**
         * The most pages a compactor thread builds per step (one native call on the uffd backend)
         * before it checks for completion, failure and shutdown (default 64). {@code Long.MAX_VALUE}:
         * one call builds everything it can claim.
         */
        public Builder compactionStepPages(long pages) {
            if (pages < 1) {
                throw new IllegalArgumentException("compactionStepPages: " + pages + " must be at least 1");
            }
            this.compactionStepPages = pages;
            return this;
        }

        /**
         * Pages a compactor claims, builds and installs at once: one install (one ioctl on the uffd
         * backend) per run of contiguous pages (default {@value #DEFAULT_RUN_PAGES}; 1..4096).
         */
        public Builder runPages(long pages) {
            if (pages < 1 || pages > 4096) {
                throw new IllegalArgumentException("runPages: " + pages + " is not in [1, 4096]");
            }
            this.runPages = pages;
            return this;
        }

        /**
         * Pages a mutator's fault builds after the page it touched, if nobody has claimed them
         * (default {@value #DEFAULT_FAULT_AROUND_PAGES}; 0: off; 0..4095): one fault then maps a run.
         */
        public Builder faultAroundPages(long pages) {
            if (pages < 0 || pages > 4095) {
                throw new IllegalArgumentException("faultAroundPages: " + pages + " is not in [0, 4095]");
            }
            this.faultAroundPages = pages;
            return this;
        }

        /**
         * From-space that compaction has consumed is released (madvise / hole punch) in steps of at
         * least this many bytes (default 2 MiB): smaller steps return memory sooner, larger ones make
         * fewer calls, each of which costs a TLB flush. At least one page.
         */
        public Builder releaseBatchBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("releaseBatchBytes: " + bytes + " must be positive");
            }
            this.releaseBatchBytes = bytes;
            return this;
        }

        /**
         * Allocation makes the heap resident this far ahead of its top with one system call
         * ({@code MADV_POPULATE_WRITE}) instead of taking one page fault per page on first touch
         * (default 1 MiB; 0: off). Costs up to this much extra resident memory.
         */
        public Builder populateAheadBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("populateAheadBytes: " + bytes + " must not be negative");
            }
            this.populateAheadBytes = bytes;
            return this;
        }

        /**
         * Debug: every collection moves every live object into the other half of the heap (so only
         * half the capacity holds objects). A raw reference kept across a collection then points
         * outside the used region, and {@link #checkedAccess} rejects it at its next use, every
         * time. Default off.
         */
        public Builder relocateEveryObject(boolean on) {
            this.relocateEveryObject = on;
            return this;
        }

        /**
         * How long a pause waits for a mutator to reach a safepoint before it logs the mutator's
         * thread name and stack (then again at doubling intervals). Default 5 s.
         */
        public Builder safepointTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("safepointTimeout: " + timeout + " must be positive");
            }
            this.safepointTimeout = timeout;
            return this;
        }

        /**
         * True: a pause that cannot stop every mutator within the safepoint timeout gives up and the
         * collection throws {@link SafepointTimeoutException} naming the threads. Default false (the
         * pause keeps waiting and keeps logging).
         */
        public Builder failOnSafepointTimeout(boolean on) {
            this.failOnSafepointTimeout = on;
            return this;
        }

        /**
         * True (default): a collection marks and plans concurrently with the mutators, with three
         * short pauses (initial mark, remark, flip) and a write barrier on reference stores while
         * marking; {@link Heap#collect()} runs such a cycle and returns after its flip pause, and
         * cycles also start by themselves when free space falls below
         * {@link #markingHeadroomPercent}. An allocation that does not fit still runs a
         * stop-the-world collection (abandoning a concurrent cycle in progress). False: every
         * collection marks and plans inside one pause. See {@code docs/gc-cycle.md}.
         */
        public Builder concurrentMarking(boolean on) {
            this.concurrentMarking = on;
            return this;
        }

        /**
         * True: with concurrent marking, a cycle that starts by itself (heap occupancy) is
         * young while the old objects (those two young cycles in a row kept, or a full cycle
         * kept) fill at most half the capacity. A young cycle leaves the old objects marked and
         * traces from the roots and from the old objects a mutator stored a reference into (a
         * card table: one byte per 512 bytes, set by {@link Mutator#setRef}); what it keeps of
         * the last cycle's survivors is old after its flip, the rest of what it keeps survives
         * once. Explicit collections, full pauses and cycles with more old objects trace
         * everything. It pays where most of what a cycle keeps lives on (binary-trees'
         * long-lived tree) and costs where objects die after two cycles (dead old objects are
         * kept and compacted again until a full cycle). False (default): every cycle traces
         * everything, and reference stores set no card. See {@code docs/gc-cycle.md}.
         */
        public Builder youngCycles(boolean on) {
            this.youngCycles = on;
            return this;
        }

        /** Threads that mark concurrently, 1..64 (default 1): the thread running the cycle plus helpers. */
        public Builder markingThreads(int n) {
            if (n < 1 || n > 64) {
                throw new IllegalArgumentException("markingThreads: " + n + " is not in [1, 64]");
            }
            this.markingThreads = n;
            return this;
        }

        /**
         * With concurrent marking: a cycle starts when the free space left falls below this
         * percentage of the space that was free after the last collection, or below 1.5 times
         * what mutators allocated during the last concurrent cycle if that is more (so it can
         * finish before the heap is full). 1..90, default {@value #DEFAULT_MARKING_HEADROOM_PERCENT}.
         */
        public Builder markingHeadroomPercent(int percent) {
            if (percent < 1 || percent > 90) {
                throw new IllegalArgumentException("markingHeadroomPercent: " + percent + " is not in [1, 90]");
            }
            this.markingHeadroomPercent = percent;
            return this;
        }

        /**
         * Debug and teaching: callbacks at the points of a concurrent cycle ({@link MarkingHooks});
         * a callback may block to hold the collector there. Default none.
         */
        public Builder markingHooks(MarkingHooks hooks) {
            if (hooks == null) {
                throw new IllegalArgumentException("markingHooks: must not be null (use MarkingHooks.NONE)");
            }
            this.markingHooks = hooks;
            return this;
        }

        /**
         * Traces cycles {@code firstCycle} to {@code lastCycle} (1-based, inclusive; {@link Long#MAX_VALUE}:
         * every cycle from the first): page-state transitions, faults, from-space releases and phases
         * are written to a trace ring of {@code ringRecords} records (64 bytes each; at least 1024),
         * which a drain thread copies to {@code sink} every few milliseconds and once more when the heap
         * closes. A full ring drops records and counts them ({@code Heap.traceRecordsDropped()}).
         */
        public Builder trace(long firstCycle, long lastCycle, int ringRecords, TraceRing.Sink sink) {
            if (firstCycle < 1 || lastCycle < firstCycle) {
                throw new IllegalArgumentException("trace: cycles " + firstCycle + ".." + lastCycle
                        + " is not a range of cycles (1-based, first <= last)");
            }
            if (ringRecords < 1024 || ringRecords > (1 << 26)) {
                throw new IllegalArgumentException("trace: ringRecords " + ringRecords + " is out of range [1024, 2^26]");
            }
            if (sink == null) {
                throw new IllegalArgumentException("trace: sink must not be null");
            }
            this.trace = new Trace(firstCycle, lastCycle, ringRecords, sink);
            return this;
        }

        public HeapConfig build() {
            long cap = (capacity + pageSize - 1) & -(long) pageSize;
            if (cap < 16L * pageSize) {
                throw new IllegalArgumentException("capacity: " + capacity + " bytes is less than 16 pages of " + pageSize);
            }
            if (cap > ObjectLayout.MAX_HEAP_BYTES) {
                throw new IllegalArgumentException("capacity: " + cap + " bytes exceeds " + ObjectLayout.MAX_HEAP_BYTES);
            }
            if (checkedAccess && cap > MAX_CHECKED_CAPACITY) {
                throw new IllegalArgumentException("checkedAccess: capacity " + cap + " exceeds " + MAX_CHECKED_CAPACITY
                        + " bytes (16 GiB), the largest heap whose references checked mode can tell from handles");
            }
            return new HeapConfig(cap, pageSize, tlabBytes, checkedAccess, verifyAfterGc, gcLog, backend,
                    concurrentCompaction, compactorThreads, compactionStepPages, runPages, faultAroundPages,
                    releaseBatchBytes, populateAheadBytes, relocateEveryObject, safepointTimeout, failOnSafepointTimeout,
                    concurrentMarking, markingThreads, markingHeadroomPercent, youngCycles, markingHooks, trace);
        }
    }
}
