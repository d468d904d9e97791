package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.JavaBackend;
import io.faultline.testing.ModelRunner;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The differential model test, one mutator: thousands of seeded random programs per run against
 * the heap and a plain-Java model, with the verifier after every collection. Both compaction
 * styles, both marking styles. With concurrent marking, cycles also start by themselves while the
 * program runs, so it rewires, moves, drops and allocates during marking; the model compares the
 * whole reachable graph after every cycle (every object reachable at the remark survives with its
 * contents; floating garbage is allowed and counted). Replay one program with
 * {@code -Dfaultline.seed=N}; choose the run's seeds with {@code -Dfaultline.baseSeed=N}.
 */
class ModelTest {
    static final int PROGRAMS = Integer.getInteger("faultline.programs", 1500);

    @ParameterizedTest(name = "concurrentCompaction={0} concurrentMarking={1}")
    @CsvSource({"false,false", "true,false", "false,true", "true,true"})
    void randomProgramsMatchTheModel(boolean concurrent, boolean concurrentMarking) {
        ModelRunner runner = new ModelRunner("mvn -pl gc-core test -Dtest=ModelTest", JavaBackend.factory(), concurrent,
                concurrentMarking);
        long replay = ModelRunner.replaySeed();
        if (replay >= 0) {
            runner.run(replay, 1);
            return;
        }
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        System.out.println("ModelTest concurrent=" + concurrent + " concurrentMarking=" + concurrentMarking + " baseSeed=" + base);
        SplittableRandom seeds = new SplittableRandom(base);
        ModelRunner.Totals t = new ModelRunner.Totals();
        for (int i = 0; i < PROGRAMS; i++) {
            t.add(runner.run(seeds.nextLong() & Long.MAX_VALUE, 1));
        }
        System.out.println("ModelTest concurrent=" + concurrent + " concurrentMarking=" + concurrentMarking + ": " + PROGRAMS
                + " programs, " + t);
        assertTrue(t.cycles >= PROGRAMS, "programs must collect: only " + t.cycles + " cycles in " + PROGRAMS + " programs");
        assertTrue(t.exhausted > 0, "some programs must run the heap out of memory and recover");
        if (concurrent) {
            assertTrue(t.faults > 0, "concurrent compaction must make mutators fault");
        }
        if (concurrentMarking) {
            assertTrue(t.concurrentCycles > PROGRAMS / 2, "cycles must mark concurrently: " + t);
            assertTrue(t.blackBytes > 0, "programs must allocate during marking: " + t);
            assertTrue(t.satbEntries > 0, "the barrier must log overwritten references: " + t);
        }
    }
}
