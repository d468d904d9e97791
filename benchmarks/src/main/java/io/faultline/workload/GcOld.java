package io.faultline.workload;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import java.io.PrintStream;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * After Detlefs and Clinger's GCOld: a fixed amount of live storage in complete binary trees of
 * height {@value #TREE_HEIGHT}, then steps of steady-state young garbage ({@code int[100]}
 * arrays, 1 MiB per step), promotion (a tenth of that built as new subtrees that replace
 * subtrees of the old trees) and pointer mutation (subtree swaps between old trees at a random
 * depth along a random path).
 *
 * <p>Each node stores its height; replacements and swaps keep every tree complete with
 * {@code val == height} at every node, so the live size stays constant and the end of the run
 * checks every tree. With several threads the live trees are split between them and each thread
 * mutates only its own.
 */
public final class GcOld implements Workload {
    private static final ObjectType NODE = ObjectType.builder("GcOldNode").refs("left", "right").i32("val").build();
    private static final int LEFT = NODE.refSlot("left");
    private static final int RIGHT = NODE.refSlot("right");
    private static final long VAL = NODE.field("val");
    static final int TREE_HEIGHT = 14;
    private static final long YOUNG_BYTES_PER_STEP = 1 << 20;
    private static final int WORDS_DEAD = 100;
    private static final int PROMOTION_RATE = 10;
    private static final int SWAPS_PER_STEP = 1000;
    private static final long INSIGNIFICANT = 999;

    private final long seed;
    private final long liveBytes;
    private final int steps;

    /**
     * @param seed   base seed; thread i uses a seed derived from it and i
     * @param liveMb live tree storage in MiB, over all threads
     * @param steps  steps per thread
     */
    public GcOld(long seed, int liveMb, int steps) {
        if (liveMb <= 0 || steps <= 0) {
            throw new IllegalArgumentException("gcold: liveMb (" + liveMb + ") and steps (" + steps + ") must be positive");
        }
        this.seed = seed;
        this.liveBytes = (long) liveMb << 20;
        this.steps = steps;
    }

    @Override
    public String name() {
        return "gcold";
    }

    static long heightToNodes(int h) {
        return (1L << h) - 1;
    }

    static long heightToBytes(int h) {
        return heightToNodes(h) * NODE.sizeWords() * 8;
    }

    /** The largest height whose tree fits in {@code bytes}. */
    static int bytesToHeight(long bytes) {
        int h = 0;
        while (heightToBytes(h + 1) <= bytes) {
            h++;
        }
        return h;
    }

    @Override
    public void run(Heap heap, int threads, PrintStream out, LongAdder allocatedBytes) {
        int treesPerThread = (int) Math.max(1, liveBytes / heightToBytes(TREE_HEIGHT) / threads);
        out.println("GCOld: " + treesPerThread * threads + " trees of height " + TREE_HEIGHT + " ("
                + treesPerThread * threads * heightToBytes(TREE_HEIGHT) + " bytes live), " + steps + " steps per thread of "
                + YOUNG_BYTES_PER_STEP + " young bytes, promotion 1/" + PROMOTION_RATE + ", " + SWAPS_PER_STEP
                + " subtree swaps per step");
        long t0 = System.nanoTime();
        MutatorThreads.run(heap, threads, "gcold", null, allocatedBytes,
                (m, t) -> new Program(m, t, treesPerThread).run());
        out.println("Completed in " + (System.nanoTime() - t0) / 1_000_000 + "ms.");
    }

    private final class Program {
        private final Mutator m;
        private final int thread;
        private final SplittableRandom rnd;
        private final int ntrees;
        private final int trees;
        private int where;

        Program(Mutator m, int thread, int ntrees) {
            this.m = m;
            this.thread = thread;
            this.rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + thread);
            this.ntrees = ntrees;
            this.trees = m.push(m.allocateRefArray(ntrees));
        }

        void run() {
            for (int i = 0; i < ntrees; i++) {
                int tree = makeTree(TREE_HEIGHT);
                m.setRef(m.handle(trees), i, tree);
            }
            for (int step = 0; step < steps; step++) {
                youngAlloc();
                oldGenAlloc(YOUNG_BYTES_PER_STEP / PROMOTION_RATE);
                for (int i = 0; i < SWAPS_PER_STEP; i++) {
                    swapSubtrees();
                }
            }
            for (int i = 0; i < ntrees; i++) {
                checkTree(m.getRef(m.handle(trees), i), TREE_HEIGHT, i);
            }
        }

        private void youngAlloc() {
            long bytes = 0;
            while (bytes < YOUNG_BYTES_PER_STEP) {
                m.allocateIntArray(WORDS_DEAD);
                bytes += 4 * WORDS_DEAD;
            }
        }

        private void oldGenAlloc(long bytes) {
            long partial = bytes;
            while (partial > INSIGNIFICANT) {
                int h = bytesToHeight(partial);
                int subtree = makeTree(h);
                replaceTree(m.getRef(m.handle(trees), where), subtree);
                where = (where + 1) % ntrees;
                partial -= heightToBytes(h);
            }
        }

        /** Replaces a subtree of {@code full} of the same height as {@code partial} with it. */
        private void replaceTree(int full, int partial) {
            boolean dir = m.getInt(full, VAL) % 2 == 0;
            int pval = m.getInt(partial, VAL);
            while (true) {
                int left = m.getRef(full, LEFT);
                int right = m.getRef(full, RIGHT);
                boolean canGoLeft = left != 0 && m.getInt(left, VAL) > pval;
                boolean canGoRight = right != 0 && m.getInt(right, VAL) > pval;
                if (canGoLeft && canGoRight) {
                    full = dir ? left : right;
                    dir = !dir;
                } else if (!canGoLeft && !canGoRight) {
                    m.setRef(full, dir ? LEFT : RIGHT, partial);
                    return;
                } else if (!canGoLeft) {
                    m.setRef(full, LEFT, partial);
                    return;
                } else {
                    m.setRef(full, RIGHT, partial);
                    return;
                }
            }
        }

        private void swapSubtrees() {
            int treeArray = m.handle(trees);
            int a = m.getRef(treeArray, rnd.nextInt(ntrees));
            int b = m.getRef(treeArray, rnd.nextInt(ntrees));
            int depth = rnd.nextInt(TREE_HEIGHT - 1);
            int path = rnd.nextInt();
            for (int i = 0; i < depth; i++) {
                int slot = (path & 1) == 0 ? LEFT : RIGHT;
                a = m.getRef(a, slot);
                b = m.getRef(b, slot);
                path >>= 1;
            }
            int slot = (path & 1) == 0 ? LEFT : RIGHT;
            int tmp = m.getRef(a, slot);
            m.setRef(a, slot, m.getRef(b, slot));
            m.setRef(b, slot, tmp);
        }

        /**
         * A complete tree of height {@code h} (null for 0); raw until the next allocation. As in
         * the original, each node is allocated before its subtrees (it is held in a handle while
         * they are built).
         */
        private int makeTree(int h) {
            if (h == 0) {
                return 0;
            }
            int node = m.allocate(NODE);
            m.setInt(node, VAL, h);
            int mark = m.handleMark();
            int held = m.push(node);
            int left = makeTree(h - 1);
            m.setRef(m.handle(held), LEFT, left);
            int right = makeTree(h - 1);
            m.setRef(m.handle(held), RIGHT, right);
            node = m.handle(held);
            m.popTo(mark);
            return node;
        }

        private void checkTree(int node, int h, int tree) {
            if (h == 0) {
                if (node != 0) {
                    fail(tree, "a subtree of height 0 is not null");
                }
                return;
            }
            if (node == 0 || m.getInt(node, VAL) != h) {
                fail(tree, "expected a node of height " + h + ", found "
                        + (node == 0 ? "null" : "height " + m.getInt(node, VAL)));
            }
            checkTree(m.getRef(node, LEFT), h - 1, tree);
            checkTree(m.getRef(node, RIGHT), h - 1, tree);
        }

        private void fail(int tree, String what) {
            throw new IllegalStateException("gcold: thread " + thread + ", seed " + seed + ", tree " + tree + ": " + what);
        }
    }
}
