package io.faultline.bench;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.uffd.UffdOptions;
import io.faultline.workload.BinaryTrees;
import io.faultline.workload.PlainBinaryTrees;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * (8) Binary-trees' inner loop, per node: build a complete tree of depth {@value #DEPTH} (each
 * node allocated before its children) and count it, three ways in one run. {@link #heap}: through
 * a {@link Mutator}, exactly as the binary-trees workload does (handles, allocation with its
 * poll, the write barrier's test, the poison check of every read; the heap collects as it fills).
 * {@link #plain}: the same program on Java objects in this JVM's heap (the HotSpot baseline).
 * {@link #segment}: the same tree in a raw {@link MemorySegment}, 24-byte nodes bump-allocated
 * and each node held in an {@code int[]} stack while its children are built, with no collector:
 * what FFM access alone costs. Score: ns per node; the heap row over the segment row is the
 * price of the {@code Mutator} API and the collector.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// A Java heap touched in full before the run: G1 commits eden lazily, and on this kind of machine
// the first touch of each page cost the plain row 76-106 ns per node for its first iterations, with
// no collection at all, against 2.8 ns once eden was being reused.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TreeBench {
    static final int DEPTH = 16;
    static final int NODES = (1 << (DEPTH + 1)) - 1;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final long SEGMENT_BYTES = 64L << 20;

    /** The heap's backend: java, copy, continue or move. */
    @Param({"continue"})
    public String backend;

    /** uffd: thread or sigbus. */
    @Param({"sigbus"})
    public String delivery;

    /** uffd: fresh, recycle, keep or fallocate. */
    @Param({"keep"})
    public String supply;

    @Param({"512"})
    public int heapMb;

    private Heap h;
    private Mutator m;
    private Arena arena;
    private MemorySegment seg;
    private long segTop;
    private int[] stack;
    private int stackTop;

    @Setup(Level.Trial)
    public void setUp() {
        UffdOptions options = BenchSupport.options(backend, delivery, supply);
        h = Heap.create(BenchSupport.config(backend, options, (long) heapMb << 20, 1).build());
        m = h.attach();
        arena = Arena.ofShared();
        seg = arena.allocate(SEGMENT_BYTES, 4096);
        stack = new int[2 * DEPTH + 2];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.close();
        h.close();
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long heap() {
        return BinaryTrees.check(m, BinaryTrees.bottomUpTree(m, DEPTH));
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long plain() {
        return PlainBinaryTrees.bottomUpTree(DEPTH).check();
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long segment() {
        segTop = 8;
        return segmentCheck(segmentTree(DEPTH));
    }

    /** A node: two header words (size, type), then two int children; references are offset / 8. */
    private int segmentNode() {
        long at = segTop;
        segTop = at + 24;
        seg.set(LONG, at, 3L);
        seg.set(LONG, at + 8, 1L);
        seg.set(LONG, at + 16, 0L);
        return (int) (at >>> 3);
    }

    /** Each node before its children, as the heap row and HotSpot allocate them. */
    private int segmentTree(int depth) {
        int node = segmentNode();
        if (depth <= 0) {
            return node;
        }
        int mark = stackTop;
        stack[stackTop++] = node;
        int left = segmentTree(depth - 1);
        seg.set(INT, ((long) stack[mark] << 3) + 16, left);
        int right = segmentTree(depth - 1);
        seg.set(INT, ((long) stack[mark] << 3) + 20, right);
        stackTop = mark;
        return node;
    }

    private long segmentCheck(int node) {
        long a = (long) node << 3;
        int left = seg.get(INT, a + 16);
        return left == 0 ? 1 : 1 + segmentCheck(left) + segmentCheck(seg.get(INT, a + 20));
    }
}
