package io.faultline.testing;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.meta.GcMetadata;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * A {@link JavaBackend} that records what the collector asks of it (an event log and how often
 * each page was built per cycle), poisons every to-space byte at the start of a compaction so a
 * read of an unbuilt page is visible, and lets a test hold compactor threads inside a page build
 * through {@link #compactorHook}, and the background cycle thread (which helps a compaction it
 * waits for) through {@link #cycleThreadHook}.
 */
public final class RecordingBackend implements HeapBackend {
    private final JavaBackend inner;
    public final List<String> events = new CopyOnWriteArrayList<>();
    /** Builds of each page in the current cycle. */
    public final ConcurrentMap<Long, AtomicInteger> builds = new ConcurrentHashMap<>();
    /** Runs on compactor threads before each page is built (with the page index). */
    public volatile LongConsumer compactorHook = p -> { };
    /** Runs on the background cycle thread ({@code faultline-concurrent-gc}) before each page it builds. */
    public volatile LongConsumer cycleThreadHook = p -> { };
    public volatile int cycle;
    /**
     * Set it to keep {@link #fromSpaceSnapshot}: the java backend releases from-space as the
     * compaction passes it (released pages read as zero), so a test that rebuilds pages after the
     * compaction needs a copy.
     */
    public volatile boolean snapshotFromSpace;
    /** A copy of the used part of the latest compaction's from-space, taken when it began. */
    public volatile MemorySegment fromSpaceSnapshot;

    public RecordingBackend(long capacity, int pageSize) {
        this.inner = new JavaBackend(capacity, pageSize);
    }

    @Override public String name() { return "java"; }
    @Override public String mode() { return null; }
    @Override public long capacity() { return inner.capacity(); }
    @Override public int pageSize() { return inner.pageSize(); }
    @Override public MemorySegment view() { return inner.view(); }
    @Override public boolean accessNeedsPageCheck() { return true; }

    @Override
    public void attach(GcMetadata metadata, PageBuilder builder) {
        inner.attach(metadata, (from, page, dst, dstOffset) -> {
            String thread = Thread.currentThread().getName();
            if (thread.startsWith("faultline-compactor")) {
                compactorHook.accept(page);
            } else if (thread.equals("faultline-concurrent-gc")) {
                cycleThreadHook.accept(page);
            }
            builds.computeIfAbsent(page, k -> new AtomicInteger()).incrementAndGet();
            builder.build(from, page, dst, dstOffset);
        });
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        cycle++;
        builds.clear();
        inner.beginCompaction(usedBytes, firstPage, endPage);
        if (snapshotFromSpace) {
            fromSpaceSnapshot = Arena.ofAuto().allocate(usedBytes, 8).copyFrom(inner.fromSpace().asSlice(0, usedBytes));
        }
        long ps = pageSize();
        inner.view().asSlice(firstPage * ps, (endPage - firstPage) * ps).fill((byte) 0xA5);
        events.add("begin " + cycle + " pages=" + (endPage - firstPage));
    }

    @Override
    public long compactStep(long maxPages) {
        return inner.compactStep(maxPages);
    }

    @Override
    public int serveFault(long page) {
        return inner.serveFault(page);
    }

    @Override
    public void endCompaction() {
        events.add("end " + cycle + " built=" + builds.size());
        inner.endCompaction();
    }

    @Override
    public MemorySegment fromSpace() {
        return inner.fromSpace();
    }

    @Override
    public void close() {
        inner.close();
    }

    @Override
    public void releaseView() {
        inner.releaseView();
    }
}
