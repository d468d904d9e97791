package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.testing.ModelRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model test with 1..4 mutator threads on one heap during concurrent marking and concurrent
 * compaction: each thread runs its own program against its own model, all share read-only
 * objects behind global roots, collections start from any thread at random points and by
 * themselves (the marking headroom), so the other threads rewire, move, drop and allocate while
 * one collects.
 */
class ConcurrentModelTest {
    static final int PROGRAMS = Integer.getInteger("faultline.concurrentPrograms", 250);

    @ParameterizedTest(name = "threads={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void mutatorsAndCompactorsAgreeWithTheModel(int threads) {
        ModelRunner runner = new ModelRunner("mvn -pl gc-core test -Dtest=ConcurrentModelTest", JavaBackend.factory(), true, true);
        long replay = ModelRunner.replaySeed();
        if (replay >= 0) {
            runner.run(replay, threads);
            return;
        }
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        System.out.println("ConcurrentModelTest threads=" + threads + " baseSeed=" + base);
        SplittableRandom seeds = new SplittableRandom(base);
        ModelRunner.Totals t = new ModelRunner.Totals();
        for (int i = 0; i < PROGRAMS; i++) {
            t.add(runner.run(seeds.nextLong() & Long.MAX_VALUE, threads));
        }
        System.out.println("ConcurrentModelTest threads=" + threads + ": " + PROGRAMS + " programs, " + t);
        assertTrue(t.cycles >= PROGRAMS, "programs must collect");
        assertTrue(t.faults > 0, "mutators must fault on unmapped pages");
        assertTrue(t.concurrentCycles > PROGRAMS / 2, "cycles must mark concurrently: " + t);
        assertTrue(t.satbEntries > 0, "the barrier must log overwritten references: " + t);
        assertTrue(t.youngCycles > 0, "half the programs have young cycles: " + t);
    }
}
