package io.faultline.bench;

import io.faultline.backend.HeapBackend;
import io.faultline.gc.MarkingHooks;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * (6) The write barrier's cost: reference stores into {@value #OBJECTS} objects through
 * {@link Mutator#setRef}, with concurrent marking inactive ({@code barrier=idle}: the barrier is
 * one test of a mutator field) and active ({@code barrier=marking}: a concurrent cycle is held
 * just before its remark by {@link MarkingHooks}, so the barrier is on and every object that
 * existed at the initial mark is marked), against a primitive field store through the mutator
 * (the same address arithmetic and page check, no barrier: {@link #setLongField}), the same int
 * stores straight into the heap's view ({@link #viewStore}) and into a plain Arena segment
 * ({@link #rawSegmentStore}, the floor).
 *
 * <ul>
 *   <li>{@link #setRefOverwrite}: the slot holds a reference to another (marked) object: while
 *       marking, the barrier loads it and tests its mark bit (the filter), logs nothing.</li>
 *   <li>{@link #setRefIntoNull}: the slot holds null (an initializing store): while marking, the
 *       barrier loads it and stops at the null test.</li>
 *   <li>{@link #setRefLogging}: the slot holds an object that is not marked (garbage at the
 *       initial mark the benchmark still knows): every store appends to the mutator's buffer and
 *       every {@code SatbQueue.BUFFER_ENTRIES} stores exchanges it. Single shots of
 *       {@value #LOG_BATCH} stores, because the held marker does not drain the log.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BarrierBench {
    public static final int OBJECTS = 4096;
    public static final int LOG_BATCH = 1 << 20;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ObjectType HOLDER = ObjectType.builder("bench.Holder").refs("next", "empty").i64("pad").build();
    private static final int NEXT = HOLDER.refSlot("next");
    private static final int EMPTY = HOLDER.refSlot("empty");
    private static final long PAD = HOLDER.field("pad");

    @Param({"java", "copy"})
    public String backend;

    @Param({"idle", "marking"})
    public String barrier;

    private Heap heap;
    private HeapBackend heapBackend;
    private Mutator m;
    private int[] holders;
    private int[] garbage;
    private long[] slotOffsets;
    private Arena arena;
    private MemorySegment raw;
    private Thread collector;
    private volatile boolean hold;
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private int flip;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        BenchSupport.requireAvailable(backend);
        HeapBackend.Factory f = BenchSupport.factory(backend);
        heap = Heap.create(HeapConfig.builder().capacity(64L << 20).backend((c, ps) -> heapBackend = f.create(c, ps))
                .markingHooks(new MarkingHooks() {
                    @Override
                    public void beforeRemark(long cycle) {
                        if (!hold) {
                            return;
                        }
                        held.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).build());
        Mutator t = heap.attach();
        try {
            int list = t.push(0);
            for (int i = 0; i < OBJECTS; i++) {
                int h = t.allocate(HOLDER);
                t.setRef(h, NEXT, t.handle(list));
                t.setHandle(list, h);
                t.allocateLongArray(4); // garbage between holders
            }
            heap.globals().add(t.handle(list));
            t.collect();
            heap.awaitCompaction();
            // Nothing moves from here on (no cycle reaches its flip while the benchmark runs): raw refs stay valid.
            holders = new int[OBJECTS];
            slotOffsets = new long[OBJECTS];
            int h = heap.globals().get(0);
            for (int i = 0; i < OBJECTS; i++) {
                holders[i] = h;
                slotOffsets[i] = ObjectLayout.refToOffset(h) + ObjectLayout.refSlotOffset(NEXT);
                h = t.getRef(h, NEXT);
            }
            garbage = new int[] {t.allocate(HOLDER), t.allocate(HOLDER)}; // never rooted: never marked
        } finally {
            t.close();
        }
        if (barrier.equals("marking")) {
            hold = true;
            collector = Thread.ofPlatform().daemon().name("bench-collect").start(heap::collect);
            if (!held.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the concurrent cycle never reached its remark");
            }
        }
        arena = Arena.ofShared();
        raw = arena.allocate(heapBackend.capacity(), 4096);
    }

    @Setup(Level.Iteration)
    public void attach() {
        m = heap.attach();
    }

    @TearDown(Level.Iteration)
    public void detach() {
        m.close();
        m = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        release.countDown();
        if (collector != null) {
            collector.join();
        }
        try {
            BenchSupport.closeAll(m, heap);
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }

    /** Overwrites each holder's {@code next} with another holder (marked while marking). */
    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public void setRefOverwrite() {
        Mutator mu = m;
        int[] h = holders;
        int k = (flip ^= 1) + 1;
        for (int i = 0; i < h.length; i++) {
            mu.setRef(h[i], NEXT, h[(i + k) & (OBJECTS - 1)]);
        }
    }

    /** Stores null into each holder's always-null {@code empty} slot. */
    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public void setRefIntoNull() {
        Mutator mu = m;
        int[] h = holders;
        for (int i = 0; i < h.length; i++) {
            mu.setRef(h[i], EMPTY, 0);
        }
    }

    /** A primitive field store into each holder through the mutator: no barrier. */
    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public void setLongField() {
        Mutator mu = m;
        int[] h = holders;
        long k = (flip ^= 1) + 1;
        for (int i = 0; i < h.length; i++) {
            mu.setLong(h[i], PAD, i + k);
        }
    }

    /** Overwrites unmarked references: every store is logged while marking. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 10)
    @Measurement(iterations = 10)
    @OperationsPerInvocation(LOG_BATCH)
    public void setRefLogging() {
        Mutator mu = m;
        int[] h = holders;
        int g0 = garbage[0];
        int g1 = garbage[1];
        for (int i = 0; i < LOG_BATCH; i++) {
            mu.setRef(h[i & (OBJECTS - 1)], EMPTY, (i & OBJECTS) == 0 ? g0 : g1);
        }
        for (int i = 0; i < h.length; i++) {
            mu.setRef(h[i], EMPTY, 0);
        }
    }

    /** The same int stores straight into the heap's view segment: no mutator, no barrier. */
    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public void viewStore() {
        MemorySegment v = heapBackend.view();
        long[] o = slotOffsets;
        int[] h = holders;
        int k = (flip ^= 1) + 1;
        for (int i = 0; i < o.length; i++) {
            v.set(INT, o[i], h[(i + k) & (OBJECTS - 1)]);
        }
    }

    /** The same int stores into a plain Arena segment: the floor. */
    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public void rawSegmentStore() {
        MemorySegment v = raw;
        long[] o = slotOffsets;
        int[] h = holders;
        int k = (flip ^= 1) + 1;
        for (int i = 0; i < o.length; i++) {
            v.set(INT, o[i], h[(i + k) & (OBJECTS - 1)]);
        }
    }
}
