package io.faultline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class OptionErrorsTest {

    static Stream<Arguments> badCommandLines() {
        return Stream.of(
                bad(List.of("--heap", "12q"), "run", "--heap", "12q"),
                bad(List.of("--heap", "12q"), "run", "--heap=12q"),
                bad(List.of("--heap", "0"), "run", "--heap", "0"),
                bad(List.of("--heap", "4k"), "run", "--heap", "4k"),
                bad(List.of("--heap"), "run", "--heap"),
                bad(List.of("--threads", "0"), "run", "--threads", "0"),
                bad(List.of("--threads", "many"), "run", "--threads", "many"),
                bad(List.of("--gc-threads", "65"), "run", "--gc-threads", "65"),
                bad(List.of("--mode", "copy"), "run", "--mode", "copy", "--backend", "java"),
                bad(List.of("--mode", "copy"), "run", "--mode", "copy"),
                bad(List.of("--mode", "teleport"), "run", "--backend", "auto", "--mode", "teleport"),
                bad(List.of("--backend", "gpu"), "run", "--backend", "gpu"),
                bad(List.of("--workload", "nbody"), "run", "--workload", "nbody"),
                bad(List.of("--depth", "8"), "run", "--workload", "random", "--depth", "8"),
                bad(List.of("--depth", "3"), "run", "--workload", "gcbench", "--depth", "3"),
                bad(List.of("--ops", "10", "--duration-ms", "5"), "run", "--ops", "10", "--duration-ms", "5"),
                bad(List.of("--live-mb", "8"), "run", "--workload", "binarytrees", "--live-mb", "8"),
                bad(List.of("--gc-threads", "2", "--stw"), "run", "--stw", "--gc-threads", "2"),
                bad(List.of("--seed", "x"), "run", "--seed", "x"),
                bad(List.of("--verify=yes"), "run", "--verify=yes"),
                bad(List.of("--frobnicate"), "run", "--frobnicate"),
                bad(List.of("extra"), "run", "extra"),
                bad(List.of("--bogus"), "probe", "--bogus"),
                bad(List.of("--threads", "twice", "'2'", "'4'"), "run", "--threads", "2", "--threads", "4"),
                bad(List.of("--threads", "twice", "'2'", "'4'"), "run", "--threads=2", "--threads", "4"),
                bad(List.of("--heap", "twice"), "run", "--heap", "8m", "--verify", "--heap", "8m"),
                bad(List.of("--verify", "twice"), "run", "--verify", "--verify"),
                bad(List.of("--backend", "twice", "'java'", "'uffd'"), "run", "--backend", "java", "--backend=uffd"),
                bad(List.of("--out", "twice"), "compare", "--out", "a", "--out", "b"),
                bad(List.of("--out", "twice"), "compare", "--out=a", "--out", "a"),
                bad(List.of("--modes", "twice"), "compare", "--modes", "java", "--modes=copy"),
                bad(List.of("--quick", "twice"), "compare", "--quick", "--quick"),
                bad(List.of("--quick", "--smoke"), "compare", "--quick", "--smoke"),
                bad(List.of("--quick=yes"), "compare", "--quick=yes"),
                bad(List.of("--delivery", "teleport"), "run", "--backend", "uffd", "--delivery", "teleport"),
                bad(List.of("--delivery", "sigbus", "java"), "run", "--delivery", "sigbus"),
                bad(List.of("--page-supply", "fresh", "java"), "run", "--backend", "java", "--page-supply", "fresh"),
                bad(List.of("--page-supply", "recycle", "continue"), "run", "--backend", "uffd", "--mode", "continue",
                        "--page-supply", "recycle"),
                bad(List.of("--page-supply", "keep", "copy"), "run", "--backend", "uffd", "--mode", "copy", "--page-supply", "keep"),
                bad(List.of("--page-supply", "recycle", "copy"), "run", "--backend", "uffd", "--mode", "copy", "--page-supply", "recycle"),
                bad(List.of("--page-supply", "recycle", "--mode defaults to continue"), "run", "--backend", "auto",
                        "--page-supply", "recycle"),
                bad(List.of("--page-supply", "lukewarm"), "run", "--backend", "uffd", "--page-supply", "lukewarm"),
                bad(List.of("--alloc-pages", "huge", "move", "recycle"), "run", "--backend", "uffd", "--mode", "move",
                        "--page-supply", "recycle", "--alloc-pages", "huge"),
                bad(List.of("--alloc-pages", "small", "java"), "run", "--backend", "java", "--alloc-pages", "small"),
                bad(List.of("--alloc-pages", "giant"), "run", "--backend", "uffd", "--mode", "copy", "--alloc-pages", "giant"),
                bad(List.of("--run-pages", "0"), "run", "--run-pages", "0"),
                bad(List.of("--run-pages", "4097"), "run", "--run-pages", "4097"),
                bad(List.of("--run-pages", "many"), "run", "--run-pages=many"),
                bad(List.of("--fault-around", "4096"), "run", "--fault-around", "4096"),
                bad(List.of("--fault-around", "2", "--stw"), "run", "--stw", "--fault-around", "2"),
                bad(List.of("--inject-damage", "--stw"), "run", "--inject-damage", "--stw"),
                bad(List.of("--inject-damage=yes"), "run", "--inject-damage=yes"),
                bad(List.of("--inject-damage", "twice"), "run", "--inject-damage", "--inject-damage"),
                bad(List.of("--deliveries", "teleport"), "compare", "--deliveries", "thread,teleport"),
                bad(List.of("--deliveries", "java"), "compare", "--modes", "java", "--deliveries", "sigbus"),
                bad(List.of("--supply", "lukewarm"), "compare", "--supply", "fresh,lukewarm"),
                bad(List.of("--supply", "keep", "copy"), "compare", "--modes", "copy,move", "--supply", "keep"),
                bad(List.of("--fault-around", "-1"), "compare", "--fault-around=-1"),
                bad(List.of("--fault-around", "x"), "compare", "--fault-around", "x"),
                bad(List.of("--run-pages", "0"), "compare", "--run-pages", "1,0"),
                bad(List.of("--run-pages", "x"), "compare", "--run-pages", "8,x"),
                bad(List.of("--binarytrees", "99"), "compare", "--binarytrees", "99"),
                bad(List.of("--binarytrees-heap", "--binarytrees"), "compare", "--binarytrees-heap", "64m"),
                bad(List.of("--binarytrees-heap", "lots"), "compare", "--binarytrees", "10", "--binarytrees-heap", "lots"),
                bad(List.of("--binarytrees-runs", "--binarytrees"), "compare", "--binarytrees-runs", "3"),
                bad(List.of("--binarytrees-runs", "0"), "compare", "--binarytrees", "10", "--binarytrees-runs", "0"),
                bad(List.of("--run-pages"), "compare", "--run-pages"),
                bad(List.of("frobnicate"), "frobnicate"),
                bad(List.of("--frobnicate"), "--frobnicate"));
    }

    private static Arguments bad(List<String> named, String... args) {
        return Arguments.of(named, args);
    }

    @ParameterizedTest
    @MethodSource("badCommandLines")
    void badCommandLineExitsTwoWithOneLineNamingTheOption(List<String> named, String[] args) {
        CommandLine r = CommandLine.run(args);
        assertEquals(Main.EXIT_USAGE, r.status(), r::toString);
        assertEquals("", r.out(), r::toString);
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r::toString);
        assertTrue(lines.getFirst().startsWith("faultline: "), r::toString);
        for (String word : named) {
            assertTrue(lines.getFirst().contains(word), () -> "error does not name '" + word + "': " + r);
        }
    }

    @Test
    void noArgumentsPrintsUsageToStderr() {
        CommandLine r = CommandLine.run();
        assertEquals(Main.EXIT_USAGE, r.status());
        assertTrue(r.err().contains("Usage: faultline"), r::toString);
    }

    @Test
    void helpDocumentsEveryOption() {
        CommandLine top = CommandLine.run("--help");
        CommandLine run = CommandLine.run("run", "--help");
        CommandLine probe = CommandLine.run("probe", "--help");
        assertEquals(Main.EXIT_OK, top.status());
        assertEquals(Main.EXIT_OK, run.status());
        assertEquals(Main.EXIT_OK, probe.status());
        for (String option : List.of("--backend", "--mode", "--workload", "--heap", "--threads", "--gc-threads", "--stw",
                "--depth", "--seed", "--duration-ms", "--ops", "--live-mb", "--steps", "--verify", "--checked",
                "--gc-log", "--json", "--help", "random", "binarytrees", "gcbench", "gcold", "continue", "copy", "move",
                "--delivery", "--page-supply", "--alloc-pages", "--run-pages", "--fault-around", "--inject-damage", "thread", "sigbus", "fresh",
                "recycle", "keep", "fallocate")) {
            assertTrue(run.out().contains(option), () -> "run --help does not document " + option);
            assertTrue(top.out().contains(option.equals("--help") ? "--help" : option),
                    () -> "--help does not mention " + option);
        }
        assertTrue(top.out().contains("probe"));
    }

    @Test
    void optionsAcceptBothSpellingsAndSizes() {
        RunOptions o = RunOptions.parse(List.of("--heap=1g", "--threads", "4", "--workload=gcold", "--live-mb", "3",
                "--backend", "uffd", "--mode", "MOVE"));
        assertEquals(1L << 30, o.heapBytes());
        assertEquals(4, o.threads());
        assertEquals("gcold", o.workload());
        assertEquals(3, o.liveMb());
        assertEquals("move", o.mode());
        assertEquals(null, o.delivery());
        assertEquals(null, o.runPages());
        RunOptions u = RunOptions.parse(List.of("--backend", "uffd", "--mode", "move", "--delivery", "SIGBUS", "--page-supply=recycle",
                "--run-pages", "64", "--fault-around=8", "--inject-damage"));
        assertEquals("sigbus", u.delivery());
        assertEquals("recycle", u.supply());
        assertEquals(64L, u.runPages());
        assertEquals(8L, u.faultAround());
        assertTrue(u.injectDamage());
        assertEquals(io.faultline.uffd.UffdOptions.Delivery.SIGBUS, u.uffdOptions().delivery());
        assertEquals(io.faultline.uffd.UffdOptions.PageSupply.RECYCLE, u.uffdOptions().supply());
        assertEquals(null, u.uffdOptions().allocationPages());
        RunOptions h = RunOptions.parse(List.of("--backend", "uffd", "--mode", "copy", "--alloc-pages", "SMALL"));
        assertEquals(io.faultline.uffd.UffdOptions.AllocationPages.SMALL, h.uffdOptions().allocationPages());
        assertEquals(64L << 20, RunOptions.parse(List.of()).heapBytes());
        assertEquals(96L << 20, RunOptions.parse(List.of("--workload", "binarytrees")).heapBytes());
        assertEquals(512L << 10, ByteSize.parse("512k"));
        assertEquals(64L << 20, ByteSize.parse("64M"));
        assertEquals(64L << 20, ByteSize.parse("64MiB"));
        assertEquals(4096, ByteSize.parse("4096"));
        assertEquals("64m", ByteSize.format(64L << 20));
    }
}
