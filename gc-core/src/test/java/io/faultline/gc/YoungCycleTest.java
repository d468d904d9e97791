package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.testing.ModelRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Young cycles ({@code HeapConfig.Builder.youngCycles}, {@link OldGeneration}): an object that
 * only an old object holds survives them (the card of the old object is dirty), and they do not
 * trace the old objects. The verifier runs after every cycle. Seeded; replay with
 * {@code -Dfaultline.seed}.
 */
class YoungCycleTest {
    static final ObjectType LEAF = ObjectType.builder("young.Leaf").i64("v").build();
    static final ObjectType NODE = ObjectType.builder("young.Node").refs("next").build();
    static final long V = LEAF.field("v");
    static final int SLOTS = 512;

    @Test
    void objectsOnlyAnOldObjectHoldsSurviveYoungCycles() {
        long replay = ModelRunner.replaySeed();
        long seed = replay >= 0 ? replay : System.nanoTime();
        try {
            SplittableRandom random = new SplittableRandom(seed);
            HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).tlabBytes(4096).verifyAfterGc(true).youngCycles(true).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                int holder = m.push(m.allocateRefArray(SLOTS));
                m.collect(); // an explicit collection traces everything; the holder is old after it
                long[] expected = new long[SLOTS];
                for (int round = 0; round < 12; round++) {
                    for (int k = 0; k < 64; k++) { // old-to-young references, held by nothing else
                        int slot = random.nextInt(SLOTS);
                        long v = random.nextLong() | 1;
                        int leaf = m.allocate(LEAF);
                        m.setLong(leaf, V, v);
                        m.setRef(m.handle(holder), slot, leaf);
                        expected[slot] = v;
                    }
                    long young = heap.stats().youngCycles();
                    for (long n = 0; heap.stats().youngCycles() == young; n += 1000) {
                        assertTrue(n < 4_000_000, "round " + round + ": no young cycle after " + n + " allocations: " + heap.stats());
                        for (int i = 0; i < 1000; i++) {
                            m.allocate(LEAF); // garbage: the heap fills and cycles start by themselves
                        }
                    }
                    for (int slot = 0; slot < SLOTS; slot++) {
                        int leaf = m.getRef(m.handle(holder), slot);
                        assertEquals(expected[slot], leaf == 0 ? 0 : m.getLong(leaf, V), "round " + round + ", slot " + slot);
                    }
                }
                assertTrue(heap.stats().youngCycles() >= 12, heap.stats().toString());
                assertTrue(heap.stats().verifiedCycles() >= heap.stats().gcCycles() - 1, heap.stats().toString());
            }
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
        }
    }

    /**
     * Stores made while a cycle runs (the GC log says when: from its initial mark to its flip),
     * into an old holder and into one allocated just before the cycle began (young at its initial
     * mark, old after its flip): the objects stored are allocated then, so they are young after
     * the flip, and only the holder's card, set while the cycle ran and moved at the flip to where
     * the holder lands, keeps them alive through the next young cycles, in which nothing is
     * stored. The verifier checks after every cycle that every old object holding a young one
     * has its card set.
     */
    @Test
    void objectsStoredWhileACycleRunsAndHeldOnlyByOldObjectsSurvive() {
        long replay = ModelRunner.replaySeed();
        long seed = replay >= 0 ? replay : System.nanoTime();
        AtomicBoolean cycleRunning = new AtomicBoolean();
        try {
            SplittableRandom random = new SplittableRandom(seed);
            HeapConfig cfg = HeapConfig.builder().capacity(8L << 20).tlabBytes(4096).verifyAfterGc(true).youngCycles(true)
                    .gcLog(line -> {
                        if (line.contains("Pause Init Mark")) {
                            cycleRunning.set(true);
                        } else if (line.contains("Pause Flip") || line.contains("Pause Compact")) {
                            cycleRunning.set(false);
                        }
                    }).build();
            try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
                int rounds = 8;
                int[] holders = new int[rounds + 1];
                long[][] expected = new long[rounds + 1][SLOTS];
                holders[0] = m.push(m.allocateRefArray(SLOTS));
                m.collect(); // holder 0 is old from now on
                int stored = 0;
                for (int round = 1; round <= rounds; round++) {
                    holders[round] = m.push(m.allocateRefArray(SLOTS)); // young until the next flip
                    for (long n = 0; !cycleRunning.get(); n++) {
                        if (n == 4_000_000) {
                            throw new AssertionError("round " + round + ": no cycle began: " + heap.stats());
                        }
                        m.allocate(LEAF);
                    }
                    while (cycleRunning.get()) {
                        int h = random.nextBoolean() ? 0 : round;
                        int slot = random.nextInt(SLOTS);
                        long v = random.nextLong() | 1;
                        int leaf = m.allocate(LEAF);
                        if (!cycleRunning.get()) {
                            break; // the flip ran at this allocation's poll: a store now would set the card again
                        }
                        m.setLong(leaf, V, v);
                        m.setRef(m.handle(holders[h]), slot, leaf);
                        expected[h][slot] = v;
                        stored++;
                    }
                    long young = heap.stats().youngCycles();
                    for (long n = 1; (n & 1023) != 0 || heap.stats().youngCycles() < young + 2; n++) {
                        if (n == 8_000_000) {
                            throw new AssertionError("round " + round + ": no young cycles: " + heap.stats());
                        }
                        m.allocate(LEAF); // garbage only: nothing sets a holder's card again
                    }
                    for (int h = 0; h <= round; h++) {
                        for (int slot = 0; slot < SLOTS; slot++) {
                            int leaf = m.getRef(m.handle(holders[h]), slot);
                            assertEquals(expected[h][slot], leaf == 0 ? 0 : m.getLong(leaf, V),
                                    "round " + round + ", holder " + h + ", slot " + slot);
                        }
                    }
                }
                assertTrue(stored > 0, "no store while a cycle ran");
                assertTrue(heap.stats().verifiedCycles() >= heap.stats().gcCycles() - 1, heap.stats().toString());
            }
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
        }
    }

    /**
     * A program whose objects live just long enough to survive two cycles (a list per cycle,
     * dropped two cycles later, with as much garbage allocated beside it): the second young cycle
     * that marks a list makes it old, and it dies there, filling the old range with garbage only
     * a full cycle frees. Once the young cycles since a full one have made old more than
     * {@value OldGeneration#PROMOTION_LIMIT_PERCENT}% of what they traced, young cycles are
     * suspended for {@value OldGeneration#SUSPENDED_CYCLES} cycles, and the GC log says so; the
     * lists stay whole. Runs until one suspension has run its course (at most 200 cycles): how
     * many cycles are young before and after it depends on timing.
     */
    @Test
    void youngCyclesThatPromoteMuchAreSuspended() {
        List<String> log = new ArrayList<>();
        String lastSuspended = "young cycles suspended, 0 more";
        AtomicBoolean suspensionRanOut = new AtomicBoolean();
        HeapConfig cfg = HeapConfig.builder().capacity(32L << 20).tlabBytes(4096).verifyAfterGc(true).youngCycles(true)
                .gcLog(line -> {
                    synchronized (log) {
                        log.add(line);
                    }
                    if (line.contains(lastSuspended)) {
                        suspensionRanOut.set(true);
                    }
                }).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int[] lists = {m.push(0), m.push(0), m.push(0)}; // the lists of the last three cycles, by cycle % 3
            long[] lengths = new long[3];
            m.collect();
            long epoch = heap.stats().gcCycles();
            while (!suspensionRanOut.get() && heap.stats().gcCycles() < 200) { // until one suspension has run its course
                for (int k = 0; k < 1024; k++) {
                    if ((k & 1) == 0) {
                        int list = (int) (epoch % 3);
                        int node = m.allocate(NODE);
                        m.setRef(node, 0, m.handle(lists[list]));
                        m.setHandle(lists[list], node);
                        lengths[list]++;
                    }
                    m.allocate(LEAF); // garbage
                }
                long cycles = heap.stats().gcCycles();
                while (epoch < cycles) { // a list lives through the next two cycles' marks, then dies
                    epoch++;
                    int list = (int) (epoch % 3);
                    assertEquals(lengths[list], length(m, m.handle(lists[list])), "the list of cycle " + (epoch - 3));
                    m.setHandle(lists[list], 0);
                    lengths[list] = 0;
                }
            }
            assertTrue(heap.stats().youngCycles() > 0, "no young cycle: " + heap.stats());
        }
        synchronized (log) {
            List<String> initialMarks = log.stream().filter(l -> l.contains("Init Mark")).toList();
            long suspendedCycles = initialMarks.stream().filter(l -> l.contains("young cycles suspended")).count();
            assertTrue(suspensionRanOut.get() && suspendedCycles >= OldGeneration.SUSPENDED_CYCLES,
                    "no suspension that ran its course in 200 cycles: " + initialMarks);
        }
    }

    /** The number of nodes of the list that starts at {@code list}. */
    private static long length(Mutator m, int list) {
        long n = 0;
        for (int node = list; node != 0; node = m.getRef(node, 0)) {
            n++;
        }
        return n;
    }

    @Test
    void aYoungCycleDoesNotTraceTheOldObjects() {
        List<String> log = new ArrayList<>();
        HeapConfig cfg = HeapConfig.builder().capacity(16L << 20).tlabBytes(4096).verifyAfterGc(true).youngCycles(true)
                .gcLog(line -> { synchronized (log) { log.add(line); } }).build();
        int oldNodes = 50_000;
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int list = m.push(0);
            for (int i = 0; i < oldNodes; i++) {
                int node = m.allocate(NODE);
                m.setRef(node, 0, m.handle(list));
                m.setHandle(list, node);
            }
            m.collect(); // the list is old from now on
            long young = heap.stats().youngCycles();
            for (long n = 0; heap.stats().youngCycles() < young + 2; n += 1000) {
                assertTrue(n < 8_000_000, "no young cycles after " + n + " allocations: " + heap.stats());
                for (int i = 0; i < 1000; i++) {
                    m.allocate(LEAF);
                }
            }
            int length = 0;
            for (int node = m.handle(list); node != 0; node = m.getRef(node, 0)) {
                length++;
            }
            assertEquals(oldNodes, length, "the old list after young cycles");
        }
        Pattern init = Pattern.compile("GC\\((\\d+)\\) Pause Init Mark \\(Heap Occupancy\\) young ");
        Pattern mark = Pattern.compile("GC\\((\\d+)\\) Concurrent Mark \\d+ rounds, (\\d+) objects");
        List<String> youngCycles = new ArrayList<>();
        synchronized (log) {
            for (String line : log) {
                Matcher i = init.matcher(line);
                if (i.find()) {
                    youngCycles.add(i.group(1));
                }
            }
            assertTrue(youngCycles.size() >= 2, "young cycles in the log: " + log);
            for (String line : log) {
                Matcher k = mark.matcher(line);
                if (k.find() && youngCycles.contains(k.group(1))) {
                    long objects = Long.parseLong(k.group(2));
                    assertTrue(objects < oldNodes / 10, "young GC(" + k.group(1) + ") marked " + objects + " objects: " + line);
                }
            }
        }
    }
}
