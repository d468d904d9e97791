package io.faultline.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.gc.HeapCorruptedException;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.model.ObjectType;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The java backend's from-space release fails for real: the first from-space granule is locked
 * ({@code mlock}), so {@code madvise(MADV_DONTNEED)} over it returns EINVAL. The thread that
 * releases is a mutator helping the compaction ({@code Heap.awaitCompaction}; the compactor
 * threads are kept idle), and the failure must fail the heap, not only that mutator's call: the
 * releaser and another mutator both get the {@link HeapCorruptedException}, and close returns.
 */
class ReleaseFailureTest {
    private static final ObjectType CELL = ObjectType.builder("release.Cell").i64("v").build();
    private static final int CELLS = 120_000; // about 3.4 MiB live: the frontier passes the first 2 MiB granule
    private static final int EINVAL = 22;
    private static final MethodHandle MLOCK = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("mlock").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));

    @Test
    void aReleaseThatFailsOnAHelpingMutatorFailsTheHeapForEveryMutator() throws Throwable {
        Thread[] helper = {null};
        int[] mlockRc = {0};
        HeapConfig cfg = HeapConfig.builder().capacity(32L << 20).pageSize(4096).compactorThreads(1)
                .concurrentCompaction(true)
                .backend((capacity, pageSize) -> new ForwardingBackend(new JavaBackend(capacity, pageSize)) {
                    @Override
                    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
                        super.beginCompaction(usedBytes, firstPage, endPage);
                        MemorySegment from = fromSpace();
                        try {
                            mlockRc[0] = (int) MLOCK.invokeExact(from.address(), Math.min(from.byteSize(), 2L << 20));
                        } catch (Throwable t) {
                            throw new AssertionError(t);
                        }
                    }

                    @Override
                    public long compactStep(long maxPages) {
                        return Thread.currentThread() == helper[0] ? super.compactStep(maxPages) : 0;
                    }
                }).build();
        long v = CELL.field("v");
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            helper[0] = Thread.currentThread();
            int table = m.push(m.allocateRefArray(CELLS));
            for (int i = 0; i < CELLS; i++) {
                m.allocateLongArray(2); // garbage before every cell: every cell moves
                int c = m.allocate(CELL);
                m.setLong(c, v, i);
                m.setRef(m.handle(table), i, c);
            }
            // a second mutator, out of the pause's way (safe region) until the failure is recorded
            CompletableFuture<Void> go = new CompletableFuture<>();
            CompletableFuture<Throwable> otherSaw = new CompletableFuture<>();
            Thread.ofPlatform().name("release-failure-other").start(() -> {
                try (Mutator o = heap.attach()) {
                    o.enterSafeRegion();
                    go.join();
                    try {
                        o.leaveSafeRegion();
                        o.poll();
                        otherSaw.complete(null);
                    } catch (Throwable t) {
                        otherSaw.complete(t);
                    }
                } catch (Throwable t) {
                    otherSaw.complete(t);
                }
            });
            m.collect();
            Assumptions.assumeTrue(mlockRc[0] == 0, "mlock of 2 MiB refused here (RLIMIT_MEMLOCK, no CAP_IPC_LOCK): no way to make madvise fail");

            HeapCorruptedException seen = assertThrows(HeapCorruptedException.class, heap::awaitCompaction,
                    "the helping mutator released the locked granule");
            System.out.println("ReleaseFailureTest: " + seen.getMessage());
            assertEquals(EINVAL, seen.errno(), seen.getMessage());
            assertEquals(ControlBlock.FAILED_PAGE_RELEASE, seen.page(), seen.getMessage());
            assertEquals(0, seen.fromOffset(), "the batch began at from-space offset 0: " + seen.getMessage());
            assertTrue(seen.getMessage().contains("could not be released") && seen.getMessage().contains("EINVAL"),
                    seen.getMessage());
            assertThrows(HeapCorruptedException.class, m::poll);
            assertThrows(HeapCorruptedException.class, () -> m.allocate(CELL));

            go.complete(null);
            Throwable t = otherSaw.get(30, TimeUnit.SECONDS);
            assertTrue(t instanceof HeapCorruptedException, "the other mutator's next operation throws the failure: " + t);
        }
    }
}
