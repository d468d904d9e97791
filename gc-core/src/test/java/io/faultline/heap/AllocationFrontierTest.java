package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.model.ObjectType;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The ready frontier ({@code Allocator.ready}): while one thread has the backend ready a range
 * above the frontier ({@code HeapBackend.prepareAllocation}, where a backend may move pages in and
 * replace whatever is there), no other thread writes in it, and the range the backend gets starts
 * at the old frontier and ends on a multiple of its allocation granule. Four mutators allocate
 * through a java backend whose every fourth prepare call lingers 2 ms and then checks that its
 * range still reads zero; a mutator that wrote there before the frontier was published would
 * show up as a non-zero word.
 */
class AllocationFrontierTest {
    static final ObjectType CELL = ObjectType.builder("frontier.Cell").refs("next").i64("v").build();
    static final long GRANULE = 64 << 10;

    @Test
    void nobodyWritesInARangeWhileItIsBeingReadied() throws Exception {
        List<String> problems = new CopyOnWriteArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).tlabBytes(4 << 10).populateAheadBytes(4096).verifyAfterGc(true)
                .concurrentCompaction(true).compactorThreads(1)
                .backend((capacity, pageSize) -> new Lingering(JavaBackend.factory().create(capacity, pageSize), problems, calls))
                .build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Heap heap = Heap.create(cfg)) {
            Thread[] ts = new Thread[4];
            for (int t = 0; t < ts.length; t++) {
                ts[t] = Thread.ofPlatform().name("frontier-" + t).start(() -> {
                    try (Mutator m = heap.attach()) {
                        int keep = m.push(0);
                        for (int i = 0; i < 150_000; i++) {
                            int c = m.allocate(CELL);
                            m.setLong(c, CELL.field("v"), i);
                            m.setRef(c, 0, m.handle(keep));
                            m.setHandle(keep, i % 64 == 0 ? 0 : c);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            for (Thread t : ts) {
                t.join(120_000);
                assertTrue(!t.isAlive(), "mutator " + t.getName() + " hung");
            }
            if (failure.get() != null) {
                fail(failure.get());
            }
            assertTrue(calls.get() > 20, "the frontier moved often enough to race: " + calls.get() + " prepare calls");
            assertEquals(List.of(), problems);
            heap.awaitCompaction();
            assertTrue(heap.verify().ok(), heap.verify().toString());
        }
    }

    /** A java backend with a coarse granule whose prepare calls linger and then look at their range. */
    private static final class Lingering extends ForwardingBackend {
        private final List<String> problems;
        private final AtomicInteger calls;

        Lingering(HeapBackend inner, List<String> problems, AtomicInteger calls) {
            super(inner);
            this.problems = problems;
            this.calls = calls;
        }

        @Override
        public void prepareAllocation(long offset, long bytes) {
            if ((offset + bytes) % GRANULE != 0 && offset + bytes != delegate().capacity()) {
                problems.add("range [0x" + Long.toHexString(offset) + ", +" + bytes + ") does not end on a granule");
            }
            delegate().prepareAllocation(offset, bytes);
            if (calls.incrementAndGet() % 4 == 0) {
                LockSupport.parkNanos(2_000_000);
                MemorySegment view = delegate().view();
                for (long a = offset; a < offset + bytes; a += 8) {
                    if (view.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, a) != 0) {
                        problems.add("0x" + Long.toHexString(a) + " was written while [0x" + Long.toHexString(offset)
                                + ", +" + bytes + ") was being readied");
                        return;
                    }
                }
            }
        }

        @Override public long allocationGranule() { return GRANULE; }
    }
}
