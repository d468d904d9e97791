package io.faultline.bench;

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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * (9) What the order of a tree in memory costs binary-trees' walk, per node: the same complete
 * tree of depth {@value #DEPTH} (48 MiB, larger than the caches), 24-byte nodes in a raw
 * {@link MemorySegment}, walked in pre-order (node, left, right) as binary-trees' {@code check}
 * walks it, laid out in pre-order ({@link #preOrder}: each node allocated before its children, as
 * HotSpot allocates {@code new Node(left(), right())}) or in post-order ({@link #postOrder}:
 * children first). {@link #plain}: the same tree on Java objects, for scale. Nothing allocates or
 * collects while a tree is walked.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TreeLayoutBench {
    static final int DEPTH = 20;
    static final int NODES = (1 << (DEPTH + 1)) - 1;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final long NODE_BYTES = 24;

    private Arena arena;
    private MemorySegment seg;
    private long top;
    private int preRoot;
    private int postRoot;
    private PlainBinaryTrees.Node plainRoot;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        seg = arena.allocate(2 * NODES * NODE_BYTES + 64, 4096);
        top = 8;
        preRoot = preOrderTree(DEPTH);
        postRoot = postOrderTree(DEPTH);
        plainRoot = PlainBinaryTrees.bottomUpTree(DEPTH);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long preOrder() {
        return walk(preRoot);
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long postOrder() {
        return walk(postRoot);
    }

    @Benchmark
    @OperationsPerInvocation(NODES)
    public long plain() {
        return plainRoot.check();
    }

    /** A node: two header words, then two int children; references are offset / 8. */
    private int node() {
        long at = top;
        top = at + NODE_BYTES;
        seg.set(LONG, at, 3L);
        seg.set(LONG, at + 8, 1L);
        seg.set(LONG, at + 16, 0L);
        return (int) (at >>> 3);
    }

    private void setChildren(int node, int left, int right) {
        long a = (long) node << 3;
        seg.set(INT, a + 16, left);
        seg.set(INT, a + 20, right);
    }

    private int preOrderTree(int depth) {
        int node = node();
        if (depth > 0) {
            int left = preOrderTree(depth - 1);
            setChildren(node, left, preOrderTree(depth - 1));
        }
        return node;
    }

    private int postOrderTree(int depth) {
        if (depth <= 0) {
            return node();
        }
        int left = postOrderTree(depth - 1);
        int right = postOrderTree(depth - 1);
        int node = node();
        setChildren(node, left, right);
        return node;
    }

    private long walk(int node) {
        long a = (long) node << 3;
        int left = seg.get(INT, a + 16);
        return left == 0 ? 1 : 1 + walk(left) + walk(seg.get(INT, a + 20));
    }
}
