package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.testing.ModelRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model test with 1..4 mutator threads on one heap during concurrent compaction: each thread
 * runs its own program against its own model, all share read-only objects behind global roots,
 * collections start from any thread at random points.
 */
class ConcurrentModelTest {
    static final int PROGRAMS = Integer.getInteger("faultline.concurrentPrograms", 250);

    @ParameterizedTest(name = "threads={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void mutatorsAndCompactorsAgreeWithTheModel(int threads) {
        ModelRunner runner = new ModelRunner("mvn -pl gc-core test -Dtest=ConcurrentModelTest", JavaBackend.factory(), true);
        long replay = ModelRunner.replaySeed();
        if (replay >= 0) {
            runner.run(replay, threads);
            return;
        }
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        System.out.println("ConcurrentModelTest threads=" + threads + " baseSeed=" + base);
        SplittableRandom seeds = new SplittableRandom(base);
        long cycles = 0;
        long faults = 0;
        for (int i = 0; i < PROGRAMS; i++) {
            ModelRunner.Outcome o = runner.run(seeds.nextLong() & Long.MAX_VALUE, threads);
            cycles += o.stats().gcCycles();
            faults += o.stats().faults();
        }
        System.out.printf("ConcurrentModelTest threads=%d: %d programs, %d GC cycles, %d faults%n",
                threads, PROGRAMS, cycles, faults);
        assertTrue(cycles >= PROGRAMS, "programs must collect");
        assertTrue(faults > 0, "mutators must fault on unmapped pages");
    }
}
