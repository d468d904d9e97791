package io.faultline.workload;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.io.PrintStream;
import java.util.concurrent.atomic.LongAdder;

/**
 * Ellis, Kovac and Boehm's GCBench: a stretch tree of depth 18, a long-lived tree of depth 16
 * and a long-lived array of 500,000 doubles, then for depths 4, 6, ... 16 as many trees as make
 * twice the stretch tree's size, built top-down (Populate) and then bottom-up (MakeTree).
 *
 * <p>{@code depth} scales it for quick runs: long-lived and max tree depth {@code depth},
 * stretch depth {@code depth + 2}, array {@code 500,000 >> (16 - depth)} doubles (16 is the
 * published setting). With several threads each depth's trees are split across them; the
 * long-lived tree and array stay with the calling thread. The output follows the original
 * program's lines, with the heap's figures for the JVM's memory diagnostics.
 */
public final class GcBench implements Workload {
    private static final ObjectType NODE = ObjectType.builder("GcBenchNode").refs("left", "right").i32("i").i32("j").build();
    private static final int LEFT = NODE.refSlot("left");
    private static final int RIGHT = NODE.refSlot("right");
    public static final int PUBLISHED_DEPTH = 16;
    private static final int MIN_TREE_DEPTH = 4;

    private final int longLivedDepth;
    private final int maxTreeDepth;
    private final int stretchDepth;
    private final int arraySize;

    /** @param depth long-lived and max tree depth, 4..24; 16 is the published benchmark */
    public GcBench(int depth) {
        if (depth < MIN_TREE_DEPTH || depth > 24) {
            throw new IllegalArgumentException("gcbench: depth " + depth + " is not in [4, 24]");
        }
        this.longLivedDepth = depth;
        this.maxTreeDepth = depth;
        this.stretchDepth = depth + 2;
        this.arraySize = depth >= PUBLISHED_DEPTH ? 500_000 << (depth - PUBLISHED_DEPTH) : 500_000 >> (PUBLISHED_DEPTH - depth);
    }

    @Override
    public String name() {
        return "gcbench";
    }

    static long treeSize(int depth) {
        return (1L << (depth + 1)) - 1;
    }

    private long numIters(int depth) {
        return 2 * treeSize(stretchDepth) / treeSize(depth);
    }

    @Override
    public void run(Heap heap, int threads, PrintStream out, LongAdder allocatedBytes) {
        long nodeBytes = NODE.sizeWords() * 8;
        out.println("Garbage Collector Test");
        out.println(" Live storage will peak at "
                + (nodeBytes * (treeSize(longLivedDepth) + treeSize(maxTreeDepth)) + 8L * arraySize) + " bytes.");
        out.println();
        out.println(" Stretching memory with a binary tree of depth " + stretchDepth);
        printDiagnostics(heap, out);
        long start = System.nanoTime();
        Mutator m = heap.attach();
        try (m) {
            int mark = m.handleMark();
            makeTree(m, stretchDepth); // garbage at once

            out.println(" Creating a long-lived binary tree of depth " + longLivedDepth);
            int longLived = m.push(m.allocate(NODE));
            populate(m, longLivedDepth, longLived);

            out.println(" Creating a long-lived array of " + arraySize + " doubles");
            int array = m.push(m.allocateDoubleArray(arraySize));
            for (int i = 0; i < arraySize / 2; i++) {
                m.setDoubleAt(m.handle(array), i, 1.0 / i);
            }
            printDiagnostics(heap, out);

            for (int d = MIN_TREE_DEPTH; d <= maxTreeDepth; d += 2) {
                int depth = d;
                long iters = numIters(depth);
                out.println("Creating " + iters + " trees of depth " + depth);
                long t0 = System.nanoTime();
                MutatorThreads.run(heap, threads, "gcbench", m, allocatedBytes, (w, t) -> {
                    int temp = w.push(0);
                    for (long i = t; i < iters; i += threads) {
                        w.setHandle(temp, w.allocate(NODE));
                        populate(w, depth, temp);
                    }
                });
                out.println("\tTop down construction took " + (System.nanoTime() - t0) / 1_000_000 + "msecs");
                t0 = System.nanoTime();
                MutatorThreads.run(heap, threads, "gcbench", m, allocatedBytes, (w, t) -> {
                    for (long i = t; i < iters; i += threads) {
                        makeTree(w, depth);
                    }
                });
                out.println("\tBottom up construction took " + (System.nanoTime() - t0) / 1_000_000 + "msecs");
            }

            long nodes = count(m, m.handle(longLived));
            int probe = Math.min(1000, arraySize / 2 - 1);
            double found = m.getDoubleAt(m.handle(array), probe);
            if (nodes != treeSize(longLivedDepth) || found != 1.0 / probe) {
                out.println("Failed");
                throw new IllegalStateException("gcbench: long-lived data damaged: tree has " + nodes + " nodes, expected "
                        + treeSize(longLivedDepth) + "; array[" + probe + "] = " + found + ", expected " + 1.0 / probe);
            }
            m.popTo(mark);
        } finally {
            allocatedBytes.add(m.allocatedBytes());
        }
        long elapsed = (System.nanoTime() - start) / 1_000_000;
        printDiagnostics(heap, out);
        out.println("Completed in " + elapsed + "ms.");
    }

    private static void printDiagnostics(Heap heap, PrintStream out) {
        HeapStats s = heap.stats();
        out.println(" Total memory available=" + s.capacity() + " bytes  Free memory=" + (s.capacity() - s.used()) + " bytes");
    }

    /** Top-down: gives the node in handle {@code node} two fresh children and recurses into each. */
    static void populate(Mutator m, int depth, int node) {
        if (depth <= 0) {
            return;
        }
        depth--;
        int left = m.allocate(NODE);
        m.setRef(m.handle(node), LEFT, left);
        int right = m.allocate(NODE);
        m.setRef(m.handle(node), RIGHT, right);
        int mark = m.handleMark();
        int child = m.push(m.getRef(m.handle(node), LEFT));
        populate(m, depth, child);
        m.setHandle(child, m.getRef(m.handle(node), RIGHT));
        populate(m, depth, child);
        m.popTo(mark);
    }

    /**
     * Bottom-up (MakeTree): returns a complete tree of {@code depth}, a raw reference valid until
     * the next allocation. The original's {@code new Node(MakeTree(d - 1), MakeTree(d - 1))}
     * allocates the node before its subtrees (JLS 15.9.4), and so does this: the node is held in a
     * handle while they are built.
     */
    static int makeTree(Mutator m, int depth) {
        int node = m.allocate(NODE);
        if (depth <= 0) {
            return node;
        }
        int mark = m.handleMark();
        int held = m.push(node);
        int left = makeTree(m, depth - 1);
        m.setRef(m.handle(held), LEFT, left);
        int right = makeTree(m, depth - 1);
        m.setRef(m.handle(held), RIGHT, right);
        node = m.handle(held);
        m.popTo(mark);
        return node;
    }

    private static long count(Mutator m, int node) {
        if (node == 0) {
            return 0;
        }
        return 1 + count(m, m.getRef(node, LEFT)) + count(m, m.getRef(node, RIGHT));
    }
}
