package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.testing.ModelRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The differential model test, one mutator: thousands of seeded random programs per run against
 * the heap and a plain-Java model, with the verifier after every collection. Both compaction
 * styles. Replay one program with {@code -Dfaultline.seed=N}; choose the run's seeds with
 * {@code -Dfaultline.baseSeed=N}.
 */
class ModelTest {
    static final int PROGRAMS = Integer.getInteger("faultline.programs", 1500);

    @ParameterizedTest(name = "concurrent={0}")
    @ValueSource(booleans = {false, true})
    void randomProgramsMatchTheModel(boolean concurrent) {
        ModelRunner runner = new ModelRunner("mvn -pl gc-core test -Dtest=ModelTest", JavaBackend.factory(), concurrent);
        long replay = ModelRunner.replaySeed();
        if (replay >= 0) {
            runner.run(replay, 1);
            return;
        }
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        System.out.println("ModelTest concurrent=" + concurrent + " baseSeed=" + base);
        SplittableRandom seeds = new SplittableRandom(base);
        long cycles = 0;
        long faults = 0;
        long exhausted = 0;
        for (int i = 0; i < PROGRAMS; i++) {
            ModelRunner.Outcome o = runner.run(seeds.nextLong() & Long.MAX_VALUE, 1);
            cycles += o.stats().gcCycles();
            faults += o.stats().faults();
            exhausted += o.exhausted();
        }
        System.out.printf("ModelTest concurrent=%s: %d programs, %d GC cycles, %d faults, %d heap-exhausted recoveries%n",
                concurrent, PROGRAMS, cycles, faults, exhausted);
        assertTrue(cycles >= PROGRAMS, "programs must collect: only " + cycles + " cycles in " + PROGRAMS + " programs");
        assertTrue(exhausted > 0, "some programs must run the heap out of memory and recover");
        if (concurrent) {
            assertTrue(faults > 0, "concurrent compaction must make mutators fault");
        }
    }
}
