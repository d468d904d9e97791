package io.faultline.backend;

import io.faultline.gc.compact.PageCompactor;
import io.faultline.gc.meta.GcMetadata;
import java.lang.foreign.MemorySegment;

/**
 * Where the heap's bytes live and how a compacted page reaches the mutator. The collector is
 * the same for every backend; a backend decides what "from-space", "unmapped" and "map this
 * page" mean.
 *
 * <p>Addresses handed across this interface are byte offsets from the start of the mutator view,
 * never raw pointers, so that every backend (and the native compactor) agrees on them.
 *
 * <p>The pure-Java backend ({@link JavaBackend}) is the fallback for every method: where a
 * method's Javadoc says "java:", that is what the fallback does.
 *
 * <p><b>Threading:</b> {@link #beginCompaction} and {@link #endCompaction} are called by the
 * collector inside a pause or after all pages are mapped; {@link #buildPage} may be called by
 * several threads at once, each for a page it owns in {@link io.faultline.gc.meta.PageStates}.
 */
public interface HeapBackend extends AutoCloseable {

    /** Short name: {@code java}, {@code uffd}. */
    String name();

    /** Delivery mode ({@code continue}, {@code copy}, {@code move}), or null for the java backend. */
    String mode();

    /** Heap capacity in bytes (a multiple of the page size). */
    long capacity();

    /** Page size in bytes, a power of two. */
    int pageSize();

    /**
     * The segment mutators read and write. Its identity may change at a compaction pause
     * (java: it alternates between two segments), so callers re-read it after every safepoint.
     */
    MemorySegment view();

    /**
     * True if a mutator must consult {@link io.faultline.gc.meta.PageStates} before touching the
     * view during a concurrent compaction. java: true (software faults); uffd: false (the kernel
     * traps the access).
     */
    boolean accessNeedsPageCheck();

    /**
     * Inside the compaction pause: keep the current contents of {@code [0, usedBytes)} readable
     * at a from-space segment, and make the view ready to receive to-space pages
     * {@code [0, toSpaceBytes)}. Returns the from-space segment (offsets as in the view).
     * java: the two segments swap roles; nothing is copied.
     */
    MemorySegment beginCompaction(long usedBytes, long toSpaceBytes);

    /**
     * Builds to-space page {@code page} with {@code compactor} and makes it visible in the view.
     * With concurrent compaction the caller owns the page (state PROCESSING) and publishes the
     * page state after this returns; with stop-the-world compaction the pause calls it for every
     * page while no mutator runs, and page states stay MAPPED.
     * java: compacts straight into the view segment.
     */
    void buildPage(long page, PageCompactor compactor);

    /**
     * Hint that from-space bytes {@code [offset, offset + bytes)} will not be read again in this
     * cycle. java: does nothing (a Java segment cannot be partly released); uffd: punches the
     * range out of the from-space.
     */
    void releaseFromSpace(long offset, long bytes);

    /** All to-space pages are built: drop the from-space. java: nothing to do. */
    void endCompaction();

    /**
     * Called once, by the collector's constructor, with the side tables a native compactor needs.
     * java: ignored.
     */
    default void attachMetadata(GcMetadata metadata) {
    }

    /**
     * True if compactor threads must call {@link #compactPages(long)} (which claims, builds, maps and
     * publishes pages without running Java code in between) instead of the collector's Java loop.
     * java: false.
     */
    default boolean compactsNatively() {
        return false;
    }

    /**
     * Compactor thread: claims pages (the control block's cursor, then a sweep for pages nobody
     * claimed) and builds, maps and publishes each, until it has built {@code maxPages}, nothing
     * is left to claim, or the cycle is abandoned. Returns the number of pages this call built: 0
     * means nothing was left. Bounded so that the collector can release from-space between calls.
     * java: never called.
     */
    default long compactPages(long maxPages) {
        throw new UnsupportedOperationException(name() + " backend does not compact natively");
    }

    /** Releases every resource (memory, fds, threads). Idempotent. */
    @Override
    void close();

    /** Creates a backend for a heap of the given capacity. */
    @FunctionalInterface
    interface Factory {
        HeapBackend create(long capacity, int pageSize);
    }
}
