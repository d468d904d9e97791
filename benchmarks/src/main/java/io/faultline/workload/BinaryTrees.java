package io.faultline.workload;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.io.PrintStream;
import java.util.concurrent.atomic.LongAdder;

/**
 * The Computer Language Benchmarks Game's binary-trees, with its published output format:
 *
 * <pre>
 * stretch tree of depth 11	 check: 4095
 * 1024	 trees of depth 4	 check: 31744
 * ...
 * long lived tree of depth 10	 check: 2047
 * </pre>
 *
 * Min depth 4, max depth {@code max(6, n)}, stretch depth max + 1; for each depth d = 4, 6, ...
 * max, {@code 1 << (max - d + 4)} trees are built bottom-up and counted. With several threads
 * each depth's iterations are split across them (as the Java #7 program does); the output is
 * the same.
 *
 * <p><b>Allocation order.</b> Each node is allocated before its children, as on HotSpot: in the
 * Java program's {@code new Node(bottomUpTree(d - 1), bottomUpTree(d - 1))} space for the node is
 * allocated before the constructor's arguments are evaluated (JLS 15.9.4), so a tree lies in
 * memory in pre-order, the order {@link #check} reads it. The node is held in a handle while its
 * children are built (a raw reference dies at every allocation) and each child is stored into it
 * as soon as it exists. Children first would lay a tree out in post-order, and walking that in
 * pre-order costs about three times as much per node once the tree outgrows the caches
 * ({@code TreeLayoutBench}, docs/results.md).
 */
public final class BinaryTrees implements Workload {
    private static final ObjectType NODE = ObjectType.builder("TreeNode").refs("left", "right").build();
    private static final int LEFT = NODE.refSlot("left");
    private static final int RIGHT = NODE.refSlot("right");
    private static final int MIN_DEPTH = 4;

    private final int n;

    /** @param n the benchmark's argument: max depth is {@code max(6, n)} */
    public BinaryTrees(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("binarytrees: depth " + n + " is negative");
        }
        this.n = n;
    }

    @Override
    public String name() {
        return "binarytrees";
    }

    @Override
    public void run(Heap heap, int threads, PrintStream out, LongAdder allocatedBytes) {
        int maxDepth = Math.max(MIN_DEPTH + 2, n);
        int stretchDepth = maxDepth + 1;
        int depths = (maxDepth - MIN_DEPTH) / 2 + 1;
        long[][] checks = new long[threads][depths];
        Mutator m = heap.attach();
        try (m) {
            int mark = m.handleMark();
            out.println("stretch tree of depth " + stretchDepth + "\t check: " + check(m, bottomUpTree(m, stretchDepth)));

            int longLived = m.push(bottomUpTree(m, maxDepth));
            MutatorThreads.run(heap, threads, "binarytrees", m, allocatedBytes, (w, t) -> {
                for (int i = 0; i < depths; i++) {
                    int depth = MIN_DEPTH + 2 * i;
                    int iterations = 1 << (maxDepth - depth + MIN_DEPTH);
                    long sum = 0;
                    for (int it = t; it < iterations; it += threads) {
                        sum += check(w, bottomUpTree(w, depth));
                    }
                    checks[t][i] = sum;
                }
            });
            for (int i = 0; i < depths; i++) {
                int depth = MIN_DEPTH + 2 * i;
                long sum = 0;
                for (long[] perThread : checks) {
                    sum += perThread[i];
                }
                out.println((1 << (maxDepth - depth + MIN_DEPTH)) + "\t trees of depth " + depth + "\t check: " + sum);
            }
            out.println("long lived tree of depth " + maxDepth + "\t check: " + check(m, m.handle(longLived)));
            m.popTo(mark);
        } finally {
            allocatedBytes.add(m.allocatedBytes());
        }
    }

    /**
     * The published output for argument {@code n}, computed: a complete tree of depth d has
     * {@code 2^(d+1) - 1} nodes. Lines end with a newline. The same for any runtime that runs the
     * benchmark correctly (this heap, {@link PlainBinaryTrees} on HotSpot).
     */
    public static String expectedOutput(int n) {
        int maxDepth = Math.max(MIN_DEPTH + 2, n);
        int stretchDepth = maxDepth + 1;
        StringBuilder b = new StringBuilder();
        b.append("stretch tree of depth ").append(stretchDepth).append("\t check: ").append(nodes(stretchDepth)).append('\n');
        for (int depth = MIN_DEPTH; depth <= maxDepth; depth += 2) {
            int iterations = 1 << (maxDepth - depth + MIN_DEPTH);
            b.append(iterations).append("\t trees of depth ").append(depth).append("\t check: ")
                    .append(iterations * nodes(depth)).append('\n');
        }
        b.append("long lived tree of depth ").append(maxDepth).append("\t check: ").append(nodes(maxDepth)).append('\n');
        return b.toString();
    }

    private static long nodes(int depth) {
        return (1L << (depth + 1)) - 1;
    }

    /**
     * Builds a complete tree of {@code depth}, each node allocated before its children, and
     * returns its root, a raw reference valid until the caller's next allocation.
     */
    public static int bottomUpTree(Mutator m, int depth) {
        int node = m.allocate(NODE);
        if (depth <= 0) {
            return node;
        }
        int mark = m.handleMark();
        int h = m.push(node);
        int left = bottomUpTree(m, depth - 1);
        m.setRef(m.handle(h), LEFT, left);
        int right = bottomUpTree(m, depth - 1);
        m.setRef(m.handle(h), RIGHT, right);
        node = m.handle(h);
        m.popTo(mark);
        return node;
    }

    /** Counts the nodes of the tree at {@code node}; reads only, so the raw reference stays valid. */
    public static long check(Mutator m, int node) {
        int left = m.getRef(node, LEFT);
        if (left == 0) {
            return 1;
        }
        return 1 + check(m, left) + check(m, m.getRef(node, RIGHT));
    }
}
