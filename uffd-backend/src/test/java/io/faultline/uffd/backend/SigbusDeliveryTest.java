package io.faultline.uffd.backend;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.HeapCorruptedException;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapInternals;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.model.ObjectType;
import io.faultline.uffd.NativeLibrary;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe.Mode;
import java.io.RandomAccessFile;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SIGBUS delivery: Faultline's native SIGBUS handler serves faults on its heaps in the faulting
 * thread and passes every other SIGBUS to the handler it replaced. Chaining (HotSpot's own error
 * for a truncated mapped file; a SIGBUS raised by other native code reaching the previous
 * handler), many mutators faulting on one page at once, a heap closed while mutators fault, and
 * heaps of different modes and deliveries in one process.
 */
class SigbusDeliveryTest {
    static final ObjectType CELL = ObjectType.builder("sigbus.Cell").refs("next").i64("v").bytes("pad", 40).build();

    private static HeapConfig.Builder config(Mode mode, Delivery delivery, boolean holdCompactorsBackstopOff) {
        UffdOptions options = UffdOptions.defaults().withDelivery(delivery);
        if (holdCompactorsBackstopOff) {
            options = options.withBackstop(Duration.ZERO);
        }
        return HeapConfig.builder().capacity(16L << 20).pageSize(4096).verifyAfterGc(true).compactorThreads(1)
            .backend(UffdBackend.factory(mode, options));
    }

    /** With a SIGBUS heap open, a read past the end of a truncated mapped file is still HotSpot's InternalError. */
    @Test
    void aSigbusOutsideEveryHeapStillReachesHotSpot() throws Exception {
        UffdTestSupport.assumeAvailable(Mode.COPY);
        Path file = Files.createTempFile("faultline-truncated-", ".bin");
        try (Heap heap = Heap.create(config(Mode.COPY, Delivery.SIGBUS, false).build()); Mutator m = heap.attach()) {
            int h = m.push(m.allocate(CELL));
            m.collect();
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"); FileChannel ch = raf.getChannel()) {
                raf.setLength(2 * 4096);
                MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_WRITE, 0, 2 * 4096);
                raf.setLength(0); // truncate under the mapping: a read of it raises SIGBUS (BUS_ADRERR)
                InternalError e = assertThrows(InternalError.class, () -> readAll(buf));
                assertTrue(String.valueOf(e.getMessage()).contains("unsafe memory access"), e.toString());
            }
            assertEquals(0, m.getLong(m.handle(h), CELL.field("v")), "the heap still works");
            assertTrue(heap.verify().ok());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static long readAll(MappedByteBuffer buf) {
        long sum = 0;
        for (int i = 0; i < buf.capacity(); i += 512) {
            sum += buf.get(i);
        }
        return sum;
    }

    /** In a child JVM: a canary handler installed first, then a SIGBUS heap, then raise(SIGBUS) from native code. */
    @Test
    void aSigbusRaisedByOtherNativeCodeReachesThePreviousHandler() throws Exception {
        UffdTestSupport.assumeAvailable(Mode.CONTINUE);
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            RaiseInChild.class.getName()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child hung: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("canary saw 1 raised SIGBUS; faultline chained 1; heap faults served"), out);
    }

    /** The child of {@link #aSigbusRaisedByOtherNativeCodeReachesThePreviousHandler}. */
    public static final class RaiseInChild {
        public static void main(String[] args) throws Throwable {
            MethodHandle install = NativeLibrary.downcall("fl_test_install_canary", FunctionDescriptor.of(JAVA_INT));
            MethodHandle count = NativeLibrary.downcall("fl_test_canary_count", FunctionDescriptor.of(JAVA_LONG));
            MethodHandle raise = NativeLibrary.downcall("fl_test_raise_sigbus", FunctionDescriptor.ofVoid());
            MethodHandle chained = NativeLibrary.downcall("fl_sigbus_chained", FunctionDescriptor.of(JAVA_LONG));
            if ((int) install.invokeExact() != 0) {
                throw new AssertionError("canary not installed");
            }
            try (Heap heap = Heap.create(config(Mode.CONTINUE, Delivery.SIGBUS, false).build()); Mutator m = heap.attach()) {
                int list = buildList(m, 2000);
                m.collect();
                checkList(m, list, 2000); // faults served by Faultline's handler
                raise.invokeExact();
                long faults = heap.stats().faults();
                System.out.println("canary saw " + (long) count.invokeExact() + " raised SIGBUS; faultline chained "
                    + (long) chained.invokeExact() + "; heap faults served " + faults);
            }
            System.exit(0);
        }
    }

    /**
     * Many mutators touch the same unbuilt page at once (compactors held back, the page's build
     * held until every thread has faulted): one builds it in its handler, the others wait in
     * theirs, all read it right.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void manyMutatorsFaultingOnOnePageAtOnce(Mode mode) throws Throwable {
        UffdTestSupport.assumeAvailable(mode);
        FailedPageBuildTest.Damaging[] holder = {null};
        HeapBackend.Factory inner = UffdBackend.factory(mode, UffdOptions.defaults().withDelivery(Delivery.SIGBUS)
            .withBackstop(Duration.ZERO));
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).pageSize(4096).compactorThreads(1)
            .backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(inner.create(c, ps), true)).build();
        int threads = 8;
        try (Heap heap = Heap.create(cfg)) {
            int shared;
            try (Mutator m = heap.attach()) {
                int list = buildList(m, 50); // one to-space page
                shared = heap.globals().add(m.handle(list));
                holder[0].hold();
                m.collect();
            }
            // The build waits until the test sets 0 (below), at most 5 s: the builder waits inside its
            // signal handler, so a JVM safepoint requested meanwhile waits for it, and 5 s ends that
            // by itself while leaving a loaded machine ample time to bring all threads to the page.
            UffdTestSupport.setBuildDelay(5_000_000_000L);
            ControlBlock control = HeapInternals.metadata(heap).control();
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ts.add(Thread.ofPlatform().name("same-page-" + i).start(() -> {
                    try (Mutator mm = heap.attach()) {
                        int h = mm.push(heap.globals().get(shared));
                        start.await(30, TimeUnit.SECONDS);
                        checkList(mm, h, 50);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            try {
                // allocates nothing (heap.stats() does): a Java heap collection is a safepoint
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (control.get(ControlBlock.FAULTS) < threads && failure.get() == null && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
            } finally {
                UffdTestSupport.setBuildDelay(0L);
            }
            for (Thread t : ts) {
                assertTrue(t.join(Duration.ofSeconds(60)), t.getName() + " hung");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            long faults = heap.stats().faults();
            long built = heap.faultBuiltPages();
            assertTrue(faults >= threads, "every thread faulted on the page: " + faults + " faults");
            assertEquals(1, built, "one thread built the page, the others waited for it (" + faults + " faults)");
            holder[0].release.countDown();
            heap.awaitCompaction();
            assertTrue(heap.verify().ok());
        }
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> modesAndDeliveries() {
        return java.util.stream.Stream.of(Mode.values()).flatMap(m -> java.util.stream.Stream.of(Delivery.values())
            .map(d -> org.junit.jupiter.params.provider.Arguments.of(m, d)));
    }

    /** A heap closed while its mutators fault: they fail with an exception, never a crash or wrong data. */
    @ParameterizedTest(name = "{0} {1}")
    @org.junit.jupiter.params.provider.MethodSource("modesAndDeliveries")
    void aHeapClosedWhileMutatorsFault(Mode mode, Delivery delivery) throws Exception {
        UffdTestSupport.assumeAvailable(mode);
        UffdBackend[] b = {null};
        UffdOptions options = UffdOptions.defaults().withDelivery(delivery);
        Heap heap = Heap.create(HeapConfig.builder().capacity(16L << 20).pageSize(4096).verifyAfterGc(true).compactorThreads(1)
            .compactionStepPages(1).backend((c, ps) -> b[0] = new UffdBackend(mode, options, c, ps)).build());
        long view = b[0].viewAddress();
        int n = 30_000;
        int shared;
        try (Mutator m = heap.attach()) {
            shared = heap.globals().add(m.handle(buildList(m, n)));
        }
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        CountDownLatch faulting = new CountDownLatch(2);
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ts.add(Thread.ofPlatform().name("faulter-" + i).start(() -> {
                try (Mutator mm = heap.attach()) {
                    int h = mm.push(heap.globals().get(shared));
                    faulting.countDown();
                    while (true) {
                        checkList(mm, h, n);
                        mm.collect();
                    }
                } catch (IllegalStateException expected) {
                    // "heap is closed", or a closed segment; a HeapCorruptedException would be wrong here
                    if (expected instanceof HeapCorruptedException) {
                        unexpected.compareAndSet(null, expected);
                    }
                } catch (Throwable t) {
                    unexpected.compareAndSet(null, t);
                }
            }));
        }
        assertTrue(faulting.await(30, TimeUnit.SECONDS));
        Thread.sleep(300); // several cycles with faults in flight
        heap.close();
        for (Thread t : ts) {
            assertTrue(t.join(Duration.ofSeconds(30)), t.getName() + " hung after close");
        }
        if (unexpected.get() != null) {
            long last;
            try {
                last = (long) NativeLibrary.downcall("fl_sigbus_last_chained_address", FunctionDescriptor.of(JAVA_LONG)).invokeExact();
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            throw new AssertionError("a mutator failed the wrong way: " + unexpected.get() + " (last SIGBUS passed on at view + 0x"
                + Long.toHexString(last - view) + ")", unexpected.get());
        }
    }

    /**
     * Heaps of every mode, in both deliveries, side by side in one process, each faulting and
     * verified. In each heap's first round its compactor is held back (backstop off) until the
     * mutator has read the whole list, so that every heap faults whatever the scheduler does.
     */
    @Test
    void heapsOfDifferentModesAndDeliveriesInOneProcess() throws Exception {
        List<Heap> heaps = new ArrayList<>();
        List<FailedPageBuildTest.Damaging> holders = new ArrayList<>();
        try {
            for (Mode mode : Mode.values()) {
                for (Delivery d : Delivery.values()) {
                    if (UffdTestSupport.available(mode)) {
                        HeapConfig.Builder b = config(mode, d, true);
                        HeapBackend.Factory inner = UffdBackend.factory(mode, UffdOptions.defaults().withDelivery(d).withBackstop(Duration.ZERO));
                        FailedPageBuildTest.Damaging[] holder = {null};
                        heaps.add(Heap.create(b.backend((c, ps) -> holder[0] = new FailedPageBuildTest.Damaging(inner.create(c, ps), true)).build()));
                        holders.add(holder[0]);
                    }
                }
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(heaps.size() >= 2, "fewer than two uffd modes available");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < heaps.size(); i++) {
                Heap heap = heaps.get(i);
                FailedPageBuildTest.Damaging holder = holders.get(i);
                ts.add(Thread.ofPlatform().name("mutator-" + heap.backendName()).start(() -> {
                    try (Mutator m = heap.attach()) {
                        int list = buildList(m, 5000);
                        holder.hold();
                        try {
                            m.collect();
                            checkList(m, list, 5000);
                        } finally {
                            holder.release.countDown();
                        }
                        for (int round = 1; round < 5; round++) {
                            m.collect();
                            checkList(m, list, 5000);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, new AssertionError(heap.backendName(), t));
                    }
                }));
            }
            for (Thread t : ts) {
                assertTrue(t.join(Duration.ofSeconds(120)), t.getName() + " hung");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            for (Heap heap : heaps) {
                heap.awaitCompaction();
                assertTrue(heap.verify().ok(), heap.backendName());
                assertTrue(heap.stats().faults() > 0, heap.backendName() + " never faulted");
            }
        } finally {
            for (Heap heap : heaps) {
                heap.close();
            }
        }
    }

    /** A list of n cells (value = index) with garbage between them, in a new handle. */
    static int buildList(Mutator m, int n) {
        int h = m.push(0);
        for (int i = n - 1; i >= 0; i--) {
            m.allocateLongArray(5);
            int c = m.allocate(CELL);
            m.setLong(c, CELL.field("v"), i);
            m.setRef(c, 0, m.handle(h));
            m.setHandle(h, c);
        }
        return h;
    }

    static void checkList(Mutator m, int list, int n) {
        int i = 0;
        for (int c = m.handle(list); c != 0; c = m.getRef(c, 0)) {
            long v = m.getLong(c, CELL.field("v"));
            if (v != i) {
                throw new AssertionError("cell " + i + " reads " + v);
            }
            i++;
        }
        assertEquals(n, i, "list length");
    }
}
