package io.faultline.workload;

import java.io.PrintStream;
import java.util.Locale;

/**
 * binary-trees on plain Java objects, for the reference row of {@code faultline compare
 * --binarytrees}: the same program as {@link BinaryTrees} (one mutator thread, the same trees,
 * built bottom-up and counted, the same published output), with the JVM's own collector managing
 * the nodes. {@code compare} runs it in a child JVM with {@code -XX:+UseG1GC} and the same
 * {@code -Xmx} as the Faultline heap it is compared with.
 *
 * <p>Usage: {@code java -Xmx512m -XX:+UseG1GC io.faultline.workload.PlainBinaryTrees 21}. The
 * published output goes to stdout; one line {@code binarytrees: <ms> ms} with the time of the work
 * (from the stretch tree to the long-lived tree's check, as {@code faultline run} times its
 * workload) goes to stderr.
 */
public final class PlainBinaryTrees {
    private static final int MIN_DEPTH = 4;

    /** A tree node; a leaf has no children. */
    public record Node(Node left, Node right) {
        /** Nodes in the tree at this node. */
        public long check() {
            return left == null ? 1 : 1 + left.check() + right.check();
        }
    }

    private PlainBinaryTrees() {
    }

    public static void main(String[] args) {
        if (args.length != 1 || !args[0].matches("\\d{1,2}")) {
            System.err.println("usage: PlainBinaryTrees DEPTH (0..99)");
            System.exit(2);
        }
        int n = Integer.parseInt(args[0]);
        long t0 = System.nanoTime();
        run(n, System.out);
        System.out.flush();
        System.err.printf(Locale.ROOT, "binarytrees: %.3f ms%n", (System.nanoTime() - t0) / 1e6);
    }

    /** Runs the benchmark for argument {@code n}, printing the published output to {@code out}. */
    public static void run(int n, PrintStream out) {
        int maxDepth = Math.max(MIN_DEPTH + 2, n);
        int stretchDepth = maxDepth + 1;
        out.println("stretch tree of depth " + stretchDepth + "\t check: " + bottomUpTree(stretchDepth).check());
        Node longLived = bottomUpTree(maxDepth);
        for (int depth = MIN_DEPTH; depth <= maxDepth; depth += 2) {
            int iterations = 1 << (maxDepth - depth + MIN_DEPTH);
            long check = 0;
            for (int i = 0; i < iterations; i++) {
                check += bottomUpTree(depth).check();
            }
            out.println(iterations + "\t trees of depth " + depth + "\t check: " + check);
        }
        out.println("long lived tree of depth " + maxDepth + "\t check: " + longLived.check());
    }

    /** Builds a complete tree of {@code depth}; {@code bottomUpTree(d).check()} counts its nodes. */
    public static Node bottomUpTree(int depth) {
        return depth > 0 ? new Node(bottomUpTree(depth - 1), bottomUpTree(depth - 1)) : new Node(null, null);
    }
}
