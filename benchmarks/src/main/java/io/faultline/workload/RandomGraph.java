package io.faultline.workload;

import io.faultline.heap.Heap;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.io.PrintStream;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * Seeded random graph mutation: each thread allocates nodes and arrays, links and unlinks them,
 * drops them, and walks and checks what it can reach.
 *
 * <p>Each thread owns a root array (in a handle) of {@value #CLUSTERS} clusters; a cluster is a
 * reference array of {@value #CLUSTER_SLOTS} slots. Operations pick a cluster and work inside
 * it: links only join objects of the same cluster, and a cluster is replaced by an empty one
 * after {@value #CLUSTER_ALLOCATIONS} allocations (or by chance), which turns all of it into
 * garbage at once. So the live set is bounded by about
 * {@code CLUSTERS * CLUSTER_ALLOCATIONS * average object size} per thread (in practice a
 * fraction of that), whatever the run length, and collections always recover space.
 *
 * <p>Every object carries data that a walk can check: a node stores a serial and a hash of it,
 * an int array {@code a[i] = a[0] * 31 + i}, a long array {@code a[i] = a[0] + i}. A mismatch
 * throws {@link IllegalStateException}. Per thread the operation sequence depends only on the
 * seed and the thread index (with {@code ops}; a duration bound cuts it at a time).
 */
public final class RandomGraph implements Workload {
    static final ObjectType NODE = ObjectType.builder("RandomNode").refs("a", "b").i64("serial").i32("hash").build();
    private static final long SERIAL = NODE.field("serial");
    private static final long HASH = NODE.field("hash");
    static final int CLUSTERS = 1024;
    static final int CLUSTER_SLOTS = 32;
    static final int CLUSTER_ALLOCATIONS = 256;
    private static final int WALK_STEPS = 8;

    private final long seed;
    private final long ops;
    private final long durationMs;

    /**
     * @param seed       base seed; thread i uses a seed derived from it and i
     * @param ops        operations per thread, or 0 to run for {@code durationMs}
     * @param durationMs run time per thread when {@code ops} is 0
     */
    public RandomGraph(long seed, long ops, long durationMs) {
        if ((ops > 0) == (durationMs > 0)) {
            throw new IllegalArgumentException("random: exactly one of ops (" + ops + ") and durationMs ("
                    + durationMs + ") must be positive");
        }
        this.seed = seed;
        this.ops = ops;
        this.durationMs = durationMs;
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public void run(Heap heap, int threads, PrintStream out, LongAdder allocatedBytes) {
        long deadline = durationMs > 0 ? System.nanoTime() + durationMs * 1_000_000 : Long.MAX_VALUE;
        MutatorThreads.run(heap, threads, "random", null, allocatedBytes, (m, t) -> new Program(m, t, deadline).run());
    }

    /** The per-thread program: deterministic given the seed and the thread index. */
    private final class Program {
        private final Mutator m;
        private final int thread;
        private final long deadline;
        private final SplittableRandom rnd;
        private final int[] clusterAllocations = new int[CLUSTERS];
        private final int roots;
        private long serial;
        private long op;

        Program(Mutator m, int thread, long deadline) {
            this.m = m;
            this.thread = thread;
            this.deadline = deadline;
            this.rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + thread);
            this.roots = m.push(m.allocateRefArray(CLUSTERS));
            for (int c = 0; c < CLUSTERS; c++) {
                int cluster = m.allocateRefArray(CLUSTER_SLOTS);
                m.setRef(m.handle(roots), c, cluster);
            }
        }

        void run() {
            for (op = 0; ops == 0 || op < ops; op++) {
                if (ops == 0 && (op & 1023) == 0 && System.nanoTime() > deadline) {
                    break;
                }
                int c = rnd.nextInt(CLUSTERS);
                int s = rnd.nextInt(CLUSTER_SLOTS);
                int r = rnd.nextInt(100);
                if (r < 45) {
                    allocate(c, s);
                } else if (r < 70) {
                    link(c, s, rnd.nextInt(CLUSTER_SLOTS));
                } else if (r < 78) {
                    unlink(c, s);
                } else if (r < 86) {
                    m.setRef(cluster(c), s, 0);
                } else if (r < 99) {
                    walk(m.getRef(cluster(c), s));
                } else {
                    replaceCluster(c);
                }
            }
            for (int c = 0; c < CLUSTERS; c++) {
                for (int s = 0; s < CLUSTER_SLOTS; s++) {
                    walk(m.getRef(cluster(c), s));
                }
            }
        }

        private int cluster(int c) {
            return m.getRef(m.handle(roots), c);
        }

        private void allocate(int c, int s) {
            if (++clusterAllocations[c] > CLUSTER_ALLOCATIONS) {
                replaceCluster(c);
                clusterAllocations[c] = 1;
            }
            int k = rnd.nextInt(100);
            int obj;
            if (k < 60) {
                obj = m.allocate(NODE);
                long id = ((long) thread << 48) | serial++;
                m.setLong(obj, SERIAL, id);
                m.setInt(obj, HASH, hash(id));
            } else if (k < 85) {
                int n = 1 + rnd.nextInt(64);
                obj = m.allocateIntArray(n);
                int base = rnd.nextInt();
                for (int i = 0; i < n; i++) {
                    m.setIntAt(obj, i, base * 31 + i);
                }
                m.setIntAt(obj, 0, base);
            } else if (k < 99) {
                obj = m.allocateRefArray(1 + rnd.nextInt(16));
            } else {
                // 2..16 KiB: spans pages, exercising objects that straddle page boundaries.
                int n = 256 + rnd.nextInt(1792);
                obj = m.allocateLongArray(n);
                long base = rnd.nextLong();
                for (int i = 0; i < n; i++) {
                    m.setLongAt(obj, i, base + i);
                }
            }
            m.setRef(cluster(c), s, obj);
        }

        private void replaceCluster(int c) {
            int fresh = m.allocateRefArray(CLUSTER_SLOTS);
            m.setRef(m.handle(roots), c, fresh);
            clusterAllocations[c] = 0;
        }

        private void link(int c, int s, int t) {
            int cluster = cluster(c);
            int from = m.getRef(cluster, s);
            int to = m.getRef(cluster, t);
            int slots = from == 0 ? 0 : refSlots(from);
            if (slots > 0 && to != 0) {
                m.setRef(from, rnd.nextInt(slots), to);
            }
        }

        private void unlink(int c, int s) {
            int from = m.getRef(cluster(c), s);
            int slots = from == 0 ? 0 : refSlots(from);
            if (slots > 0) {
                m.setRef(from, rnd.nextInt(slots), 0);
            }
        }

        private int refSlots(int obj) {
            int type = m.typeId(obj);
            if (type == NODE.id()) {
                return 2;
            }
            return type == ObjectLayout.TYPE_REF_ARRAY ? m.length(obj) : 0;
        }

        /** Follows up to {@value #WALK_STEPS} random references from {@code obj}, checking each object. */
        private void walk(int obj) {
            for (int step = 0; obj != 0 && step < WALK_STEPS; step++) {
                checkObject(obj);
                int slots = refSlots(obj);
                obj = slots == 0 ? 0 : m.getRef(obj, rnd.nextInt(slots));
            }
        }

        private void checkObject(int obj) {
            int type = m.typeId(obj);
            if (type == NODE.id()) {
                long id = m.getLong(obj, SERIAL);
                if (m.getInt(obj, HASH) != hash(id) || (id >>> 48) != thread) {
                    fail(obj, "node serial " + Long.toHexString(id) + " has hash " + m.getInt(obj, HASH)
                            + ", expected " + hash(id));
                }
            } else if (type == ObjectLayout.TYPE_INT_ARRAY) {
                int n = m.length(obj);
                int base = m.getIntAt(obj, 0);
                for (int i = 1; i < n; i++) {
                    if (m.getIntAt(obj, i) != base * 31 + i) {
                        fail(obj, "int[" + n + "] element " + i + " is " + m.getIntAt(obj, i) + ", expected "
                                + (base * 31 + i));
                    }
                }
            } else if (type == ObjectLayout.TYPE_LONG_ARRAY) {
                int n = m.length(obj);
                long base = m.getLongAt(obj, 0);
                for (int i = 1; i < n; i++) {
                    if (m.getLongAt(obj, i) != base + i) {
                        fail(obj, "long[" + n + "] element " + i + " is " + m.getLongAt(obj, i) + ", expected "
                                + (base + i));
                    }
                }
            } else if (type != ObjectLayout.TYPE_REF_ARRAY) {
                fail(obj, "unexpected type id " + type);
            }
        }

        private void fail(int obj, String what) {
            throw new IllegalStateException("random: thread " + thread + ", seed " + seed + ", op " + op
                    + ": object 0x" + Integer.toHexString(obj) + ": " + what);
        }
    }

    private static int hash(long id) {
        long h = id * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }
}
