package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.gc.HeapCorruptedException;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe.Mode;
import io.faultline.verify.VerifyReport;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fail loud: one live object's from-space header is zeroed right after the pause, so the page
 * that holds it cannot be built. On every backend (java, continue, copy, move; the uffd modes in
 * both deliveries, thread and SIGBUS) and on both paths
 * (a compactor thread builds the page; a mutator's fault builds it while the compactors are held
 * back), no mutator ever reads a wrong value, the heap fails, and the failure names the page, the
 * path and the errno: the faulting mutator gets it at the read, every other mutator at its next
 * poll, allocation or collect; awaitCompaction throws it and verify reports it.
 */
class FailedPageBuildTest {
    static final ObjectType CELL = ObjectType.builder("failed.Cell").i64("v").bytes("pad", 48).build();
    static final int CELLS = 3000; // ~59 to-space pages of cells, plus the table

    enum Path {
        /** A compactor thread builds the damaged page. */
        COMPACTOR,
        /** A mutator's fault builds it: compactor threads are held back, the backstop is off. */
        FAULT
    }

    static Stream<Arguments> cases() {
        return Stream.of("java", "continue", "copy", "move", "continue+sigbus", "copy+sigbus", "move+sigbus")
            .flatMap(b -> Stream.of(Arguments.of(b, Path.COMPACTOR), Arguments.of(b, Path.FAULT)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aPageThatCannotBeBuiltIsNeverShownAndFailsEveryMutator(String backend, Path path) throws Exception {
        boolean sigbus = backend.endsWith("+sigbus");
        String modeName = backend.replace("+sigbus", "");
        Mode mode = modeName.equals("java") ? null : Mode.valueOf(modeName.toUpperCase(java.util.Locale.ROOT));
        if (mode != null) {
            UffdTestSupport.assumeAvailable(mode);
        }
        Damaging[] damaging = {null};
        HeapBackend.Factory inner = mode == null ? JavaBackend.factory()
            : UffdBackend.factory(mode, UffdOptions.defaults().withBackstop(Duration.ZERO)
                .withDelivery(sigbus ? UffdOptions.Delivery.SIGBUS : UffdOptions.Delivery.THREAD));
        HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).pageSize(4096).compactorThreads(1)
            .concurrentCompaction(true)
            .backend((cap, ps) -> damaging[0] = new Damaging(inner.create(cap, ps), path == Path.FAULT))
            .build();
        long v = CELL.field("v");
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int table = cellTable(m, v);
            int victim = CELLS / 2;
            long victimFromOffset = ObjectLayout.refToOffset(m.getRef(m.handle(table), victim));
            damaging[0].damageAt = victimFromOffset;

            // A second mutator that only polls: it must learn of the failure at its next poll.
            AtomicReference<Throwable> other = new AtomicReference<>();
            CountDownLatch otherAttached = new CountDownLatch(1);
            Thread poller = Thread.ofPlatform().name("poller").start(() -> {
                try (Mutator p = heap.attach()) {
                    otherAttached.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (System.nanoTime() < deadline) {
                        p.poll();
                        Thread.onSpinWait();
                    }
                    other.set(new AssertionError("the poller never saw the failure"));
                } catch (Throwable t) {
                    other.set(t);
                }
            });
            assertTrue(otherAttached.await(30, TimeUnit.SECONDS));

            m.collect(); // the pause damages the victim's from-space header
            assertTrue(damaging[0].damaged, "the victim's header was zeroed in from-space");

            HeapCorruptedException seen;
            if (path == Path.FAULT) {
                seen = readUntilFailure(m, table, v);
            } else {
                seen = pollUntilFailure(m);
                readUntilFailure(m, table, v); // reads after the failure: right values or the failure
            }
            assertNotNull(seen, "no read failed");
            System.out.println("FailedPageBuildTest " + backend + " " + path + ": " + seen.getMessage());
            int expectPath = path == Path.COMPACTOR ? ControlBlock.PATH_COMPACTOR
                : mode == null ? ControlBlock.PATH_FAULT_JAVA : sigbus ? ControlBlock.PATH_FAULT_SIGBUS : ControlBlock.PATH_FAULT_THREAD;
            assertEquals(expectPath, seen.path(), "path: " + seen.getMessage());
            assertEquals(ControlBlock.EUCLEAN, seen.errno(), seen.getMessage());
            assertEquals(victimFromOffset, seen.fromOffset(), seen.getMessage());
            assertTrue(seen.page() >= 0 && seen.getMessage().contains("to-space page " + seen.page()), seen.getMessage());
            assertTrue(seen.getMessage().contains(ControlBlock.pathName(expectPath)), seen.getMessage());
            assertTrue(seen.getMessage().contains("EUCLEAN"), seen.getMessage());

            // Every other operation of every mutator now fails the same way.
            assertTrue(poller.join(Duration.ofSeconds(30)), "the poller hung");
            assertTrue(other.get() instanceof HeapCorruptedException, "poller got " + other.get());
            assertThrows(HeapCorruptedException.class, m::poll);
            assertThrows(HeapCorruptedException.class, () -> m.allocate(CELL));
            assertThrows(HeapCorruptedException.class, m::collect);
            assertThrows(HeapCorruptedException.class, heap::awaitCompaction);
            VerifyReport report = heap.verify();
            assertFalse(report.ok(), "verify must report the failure");
            assertTrue(report.problem().contains("to-space page " + seen.page()), report.problem());
            damaging[0].release.countDown();
        }
    }

    /**
     * CONTINUE with FALLOCATE: the page cache for a run could not be allocated (a test hook makes
     * the next fallocate fail with ENOSPC). The run is not built (a write through the alias would
     * fault in the compactor thread); the heap fails, naming a page and ENOSPC, and no mutator
     * reads a wrong value.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(UffdOptions.Delivery.class)
    void aRunWhosePagesCouldNotBeSuppliedIsNotBuiltAndFailsTheHeap(UffdOptions.Delivery delivery) throws Throwable {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        int enospc = 28;
        collectWithFailure(config(Mode.CONTINUE, delivery, UffdOptions.PageSupply.FALLOCATE).build(), "fl_test_fail_supply", enospc,
            (heap, m, table, v) -> {
                HeapCorruptedException seen = readUntilFailure(m, table, v);
                if (seen == null) {
                    seen = pollUntilFailure(m);
                }
                assertEquals(enospc, seen.errno(), seen.getMessage());
                assertTrue(seen.page() >= 0 && seen.getMessage().contains("ENOSPC")
                    && seen.getMessage().contains("no memory"), seen.getMessage());
                assertThrows(HeapCorruptedException.class, m::poll);
                assertThrows(HeapCorruptedException.class, heap::awaitCompaction);
            });
    }

    /**
     * The fresh supply gives consumed from-space back to the kernel while the compaction runs
     * ({@code madvise}, and for CONTINUE a hole punched in the old half), one batch of
     * {@code releaseBatchBytes} at a time. A test hook makes the next such release fail with EIO:
     * the heap fails, naming the from-space offset, the path and the errno (a counter in the JSON
     * would hide the leak), no mutator reads a wrong value, and every mutator's next operation
     * throws. In each mode, both deliveries.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("releaseCases")
    void aFromSpaceReleaseThatFailsFailsTheHeap(Mode mode, UffdOptions.Delivery delivery) throws Throwable {
        UffdTestSupport.assumeAvailable(mode);
        int eio = 5;
        HeapConfig cfg = config(mode, delivery, UffdOptions.PageSupply.FRESH).releaseBatchBytes(4096).build();
        collectWithFailure(cfg, "fl_test_fail_release", eio, (heap, m, table, v) -> {
            HeapCorruptedException seen = pollUntilFailure(m);
            System.out.println("FailedPageBuildTest release " + mode + " " + delivery + ": " + seen.getMessage());
            assertEquals(eio, seen.errno(), seen.getMessage());
            assertEquals(ControlBlock.FAILED_PAGE_RELEASE, seen.page(), seen.getMessage());
            assertTrue(seen.fromOffset() >= 0 && seen.fromOffset() % 4096 == 0, seen.getMessage());
            assertTrue(seen.getMessage().contains("from-space from heap offset 0x" + Long.toHexString(seen.fromOffset())
                + " could not be released") && seen.getMessage().contains("EIO")
                && seen.getMessage().contains(ControlBlock.pathName(seen.path())), seen.getMessage());
            readUntilFailure(m, table, v); // reads after the failure: right values or the failure
            assertThrows(HeapCorruptedException.class, m::poll);
            assertThrows(HeapCorruptedException.class, () -> m.allocate(CELL));
            assertThrows(HeapCorruptedException.class, heap::awaitCompaction);
        });
    }

    static Stream<Arguments> releaseCases() {
        return Stream.of(Mode.values()).flatMap(mode -> Stream.of(UffdOptions.Delivery.values()).map(d -> Arguments.of(mode, d)));
    }

    /** An 8 MiB heap with one compactor thread and concurrent compaction in {@code mode}, to build on. */
    private static HeapConfig.Builder config(Mode mode, UffdOptions.Delivery delivery, UffdOptions.PageSupply supply) {
        return HeapConfig.builder().capacity(8L << 20).pageSize(4096).compactorThreads(1).concurrentCompaction(true)
            .backend(UffdBackend.factory(mode, UffdOptions.defaults().withDelivery(delivery).withSupply(supply)));
    }

    /** What a test checks once the heap collected with a failure injected. */
    @FunctionalInterface
    interface FailureCheck {
        void check(Heap heap, Mutator m, int table, long v) throws Throwable;
    }

    /**
     * Creates the heap, fills the cell table, arms the native test hook {@code hook} with
     * {@code errno}, collects and runs {@code check}; disarms the hook whatever happens.
     */
    private static void collectWithFailure(HeapConfig cfg, String hook, int errno, FailureCheck check) throws Throwable {
        MethodHandle arm = NativeLibrary.downcall(hook, FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));
        long v = CELL.field("v");
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int table = cellTable(m, v);
            arm.invokeExact((long) errno);
            try {
                m.collect();
                check.check(heap, m, table, v);
            } finally {
                arm.invokeExact(0L);
            }
        }
    }

    /**
     * {@link #CELLS} cells with {@code v} = their index, each after a garbage array so that every
     * cell moves, in a ref[] held by the returned handle.
     */
    private static int cellTable(Mutator m, long v) {
        int table = m.push(m.allocateRefArray(CELLS));
        for (int i = 0; i < CELLS; i++) {
            m.allocateLongArray(6);
            int c = m.allocate(CELL);
            m.setLong(c, v, i);
            m.setRef(m.handle(table), i, c);
        }
        return table;
    }

    /**
     * Walks the table, checking every value read; returns the failure that stopped the walk, or
     * null if every cell read back right. A wrong value fails the test.
     */
    private static HeapCorruptedException readUntilFailure(Mutator m, int table, long v) {
        try {
            for (int i = 0; i < CELLS; i++) {
                int c = m.getRef(m.handle(table), i);
                long got = m.getLong(c, v);
                if (got != i) {
                    fail("cell " + i + " read " + got + " (0x" + Long.toHexString(got) + "): wrong data shown to a mutator");
                }
            }
            return null;
        } catch (HeapCorruptedException e) {
            return e;
        }
    }

    private static HeapCorruptedException pollUntilFailure(Mutator m) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try {
                m.poll();
            } catch (HeapCorruptedException e) {
                return e;
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("the compactor never reported the damaged page");
    }

    /**
     * Zeroes the header of the object at {@code damageAt} in from-space right after the pause's
     * beginCompaction, once; with {@code holdCompactors}, compactor steps wait for {@link #release}.
     */
    static final class Damaging extends ForwardingBackend {
        private final HeapBackend inner;
        private final boolean holdCompactors;
        final CountDownLatch release = new CountDownLatch(1);
        volatile long damageAt = -1;
        volatile boolean damaged;

        Damaging(HeapBackend inner, boolean holdCompactors) {
            super(inner);
            this.inner = inner;
            this.holdCompactors = holdCompactors;
        }

        HeapBackend inner() {
            return inner;
        }

        /**
         * With {@code holdCompactors}: compactor steps wait for {@link #release} from now on (from
         * the next compaction, if none is in flight), and nothing is damaged ({@code damageAt} -1).
         */
        void hold() {
            damageAt = -1;
            damaged = true;
        }

        @Override
        public void beginCompaction(long usedBytes, long firstPage, long endPage) {
            inner.beginCompaction(usedBytes, firstPage, endPage);
            if (damageAt >= 0 && !damaged) {
                MemorySegment from = inner.fromSpace();
                from.set(ValueLayout.JAVA_LONG_UNALIGNED, damageAt, 0L);
                damaged = true;
            }
        }

        @Override
        public long compactStep(long maxPages) {
            if (holdCompactors && damaged && Thread.currentThread().getName().startsWith("faultline-compactor")) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return 0;
                }
            }
            return inner.compactStep(maxPages);
        }

        @Override
        public void close() {
            release.countDown();
            inner.close();
        }
    }
}
