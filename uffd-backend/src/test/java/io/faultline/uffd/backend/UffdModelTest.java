package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.testing.ModelRunner;
import io.faultline.uffd.UffdBackend.Stat;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdOptions.PageSupply;
import io.faultline.uffd.UffdProbe.Mode;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * gc-core's seeded model programs ({@link ModelRunner}, from its test-jar: random allocate / link /
 * unlink / drop-root / collect against a plain-Java model, verifier after every GC, checked
 * access) on the uffd backend, in every mode, with concurrent compaction (1-2 compactor threads,
 * chosen by the seed) and 1 or 2 mutator threads, and once stop-the-world. MOVE moves only runs
 * of 34 pages or more, which these small heaps seldom build, so MOVE also runs with every run
 * moved ({@code moveMinRun} 1, {@code fl_test_set_move_min_run}). The seed and a replay command
 * are printed on failure.
 */
class UffdModelTest {
    static final int PROGRAMS = Integer.getInteger("faultline.uffdPrograms", 40);

    static Stream<Arguments> cases() {
        Stream<Arguments> fresh = Stream.of(Mode.values()).flatMap(m -> Stream.of(
            Arguments.of(m, Delivery.THREAD, PageSupply.FRESH, true, 1, 0), Arguments.of(m, Delivery.THREAD, PageSupply.FRESH, true, 2, 0),
            Arguments.of(m, Delivery.THREAD, PageSupply.FRESH, false, 1, 0),
            Arguments.of(m, Delivery.SIGBUS, PageSupply.FRESH, true, 1, 0), Arguments.of(m, Delivery.SIGBUS, PageSupply.FRESH, true, 2, 0)));
        Stream<Arguments> other = Stream.of(Mode.values()).flatMap(m -> Stream.of(PageSupply.values())
            .filter(s -> s != PageSupply.FRESH && s.appliesTo(m))
            .flatMap(s -> Stream.of(Arguments.of(m, Delivery.THREAD, s, true, 2, 0), Arguments.of(m, Delivery.SIGBUS, s, true, 2, 0))));
        Stream<Arguments> everyRunMoved = Stream.of(PageSupply.FRESH, PageSupply.RECYCLE).flatMap(s -> Stream.of(
            Arguments.of(Mode.MOVE, Delivery.THREAD, s, true, 2, 1), Arguments.of(Mode.MOVE, Delivery.SIGBUS, s, true, 2, 1)));
        return Stream.of(fresh, other, everyRunMoved).flatMap(x -> x);
    }

    @ParameterizedTest(name = "{0} {1} {2} concurrent={3} threads={4} moveMinRun={5}")
    @MethodSource("cases")
    void programsMatchTheModel(Mode mode, Delivery delivery, PageSupply supply, boolean concurrent, int threads, int moveMinRun) {
        UffdTestSupport.assumeAvailable(mode);
        UffdTestSupport.setMoveMinRun(moveMinRun);
        try {
            run(mode, delivery, supply, concurrent, threads, moveMinRun);
        } finally {
            UffdTestSupport.setMoveMinRun(0);
        }
    }

    private static void run(Mode mode, Delivery delivery, PageSupply supply, boolean concurrent, int threads, int moveMinRun) {
        UffdTestSupport.Recording factory = new UffdTestSupport.Recording(mode,
            UffdOptions.defaults().withDelivery(delivery).withSupply(supply));
        ModelRunner runner = new ModelRunner("mvn -pl uffd-backend test -Dtest=UffdModelTest", factory, concurrent);
        long replay = ModelRunner.replaySeed();
        if (replay >= 0) {
            runner.run(replay, threads);
            return;
        }
        long base = Long.getLong("faultline.baseSeed", System.nanoTime());
        SplittableRandom seeds = new SplittableRandom(base);
        // Printed first: a hang in a userfault freezes the JVM at its next safepoint, before any
        // failure message could name the seed.
        System.out.printf("UffdModelTest %s %s %s concurrent=%s threads=%d moveMinRun=%d: -Dfaultline.baseSeed=%d%n", mode, delivery,
            supply, concurrent, threads, moveMinRun, base);
        System.out.flush();
        int programs = concurrent ? PROGRAMS : PROGRAMS / 4;
        long cycles = 0;
        long faults = 0;
        for (int i = 0; i < programs; i++) {
            ModelRunner.Outcome o = runner.run(seeds.nextLong() & Long.MAX_VALUE, threads);
            cycles += o.stats().gcCycles();
            faults += o.stats().faults();
        }
        String line = String.format("UffdModelTest %s %s %s concurrent=%s threads=%d moveMinRun=%d baseSeed=%d: %d programs, "
            + "%d GC cycles, %d faults; native %s", mode, delivery, supply, concurrent, threads, moveMinRun, base, programs, cycles, faults,
            factory.summary());
        System.out.println(line);
        assertTrue(cycles >= programs, line);
        assertEquals(0, factory.sum(Stat.ERRORS), line);
        if (concurrent) {
            assertTrue(faults > 0, "mutators must take real userfaults: " + line);
            // Every fault the collector counted was read from the uffd by the service thread, or
            // taken by a SIGBUS handler (the service thread can read a few more: a late duplicate
            // message after the heap's stats were taken).
            Stat taken = delivery == Delivery.SIGBUS ? Stat.SIGBUS_FAULTS : Stat.FAULTS;
            assertTrue(factory.sum(taken) >= faults, line);
            if (delivery == Delivery.SIGBUS) {
                assertEquals(0, factory.sum(Stat.FAULTS), "no fault message in SIGBUS delivery: " + line);
            }
            String ioctl = switch (mode) {
                case CONTINUE -> "CONTINUE";
                case COPY -> "COPY";
                case MOVE -> "MOVE";
            };
            // MOVE copies runs shorter than 34 pages, faults' among them (and these heaps are small);
            // with moveMinRun 1 it moves every run.
            long installs = factory.sum(Stat.valueOf("IOCTL_" + ioctl))
                + (mode == Mode.MOVE && moveMinRun != 1 ? factory.sum(Stat.IOCTL_COPY) : 0);
            assertTrue(installs > 0, line);
            if (mode == Mode.MOVE && moveMinRun == 1) {
                // FRESH moves every run (a page found busy is copied); RECYCLE the runs built in
                // recycled from-space pages.
                assertTrue(supply == PageSupply.FRESH ? factory.sum(Stat.IOCTL_MOVE) > factory.sum(Stat.IOCTL_COPY)
                    : factory.sum(Stat.IOCTL_MOVE) > 0, "moves: " + line);
            }
        } else {
            assertEquals(0, faults, line);
        }
    }
}
