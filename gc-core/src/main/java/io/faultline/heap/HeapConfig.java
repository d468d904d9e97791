package io.faultline.heap;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
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
        long compactionStepPages) {

    public static final long DEFAULT_CAPACITY = 256L << 20;
    public static final int DEFAULT_TLAB_BYTES = 32 << 10;
    /** Default pages per native compaction step (see {@link Builder#compactionStepPages}). */
    public static final long DEFAULT_COMPACTION_STEP_PAGES = 64;

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
     * backend, concurrent compaction with one compactor thread.
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

        /** Validate every reference and field access (see {@link io.faultline.heap.Mutator}). */
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
         * Backends that compact natively (uffd): the most pages a compactor thread builds per
         * native call before it returns to release the from-space behind the lowest unbuilt page
         * (default 64). Smaller steps release memory sooner; larger ones make fewer calls and
         * madvise/fallocate calls. {@code Long.MAX_VALUE}: one call builds everything it can claim,
         * and from-space goes only at the end of the cycle. The java backend ignores it.
         */
        public Builder compactionStepPages(long pages) {
            if (pages < 1) {
                throw new IllegalArgumentException("compactionStepPages: " + pages + " must be at least 1");
            }
            this.compactionStepPages = pages;
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
            return new HeapConfig(cap, pageSize, tlabBytes, checkedAccess, verifyAfterGc, gcLog, backend,
                    concurrentCompaction, compactorThreads, compactionStepPages);
        }
    }
}
