package io.faultline.uffd.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The C programs of {@code docs/demos/} build with the machine's gcc, run, exit 0 and print what
 * their README says they print. A program that exits 77 (this kernel lacks the feature) is
 * reported skipped with the reason it printed; so is every program when there is no gcc.
 */
class DemoProgramsTest {
    /** Generous: each demo takes a second or two alone, several times that while other tests load the machine. */
    private static final long RUN_TIMEOUT_SECONDS = 60;
    private static final int EXIT_SKIP = 77;

    private static Path workDir;

    /** One demo: its file and the lines its output must contain, in this order (regular expressions). */
    static Stream<Arguments> demos() {
        return Stream.of(
            Arguments.of("01-copy-missing.c", List.of(
                "\\[handler\\] uffd_msg: event=PAGEFAULT address=0x[0-9a-f]+ \\(page 0\\) flags=0x0 \\(read\\)",
                "\\[handler\\] UFFDIO_COPY dst=0x[0-9a-f]+ len=\\d+ -> copied \\d+ bytes",
                "\\[toucher\\] read value 1000 from page 0",
                "\\[handler\\] uffd_msg: event=PAGEFAULT address=0x[0-9a-f]+ \\(page 1\\) flags=0x1 \\(WRITE\\)",
                "\\[toucher\\] page 1 now holds 1001 \\(handler's\\) and 7 \\(ours\\)",
                "^OK: ")),
            Arguments.of("02-memfd-continue.c", List.of(
                "-> MISSING; read \"built by handler, fault #1 \\(MISSING\\)\"",
                "-> MINOR; read \"built by handler, fault #2 \\(MINOR\\)\"",
                "-> no fault; read \"built by handler, fault #1 \\(MISSING\\)\"",
                "-> MINOR; read \"built by handler, fault #3 \\(MINOR\\)\"",
                "-> MISSING; read \"built by handler, fault #4 \\(MISSING\\)\"",
                "^OK: ")),
            Arguments.of("03-move.c", List.of(
                "\\[handler\\] UFFDIO_MOVE dst=0x[0-9a-f]+ src=0x[0-9a-f]+ -> moved \\d+ bytes",
                "\\[toucher\\] read \"built in staging, moved by UFFDIO_MOVE\"",
                "staging page after the move: not resident",
                "staging page reads all zero",
                "^OK: ")),
            Arguments.of("04-sigbus.c", List.of(
                "load from heap page 0 at 0x[0-9a-f]+ read 2000; our handler saw si_code=\\d+ \\(BUS_ADRERR\\)",
                "load from heap page 1 at 0x[0-9a-f]+ read 2001; our handler saw si_code=\\d+ \\(BUS_ADRERR\\)",
                "load past the end of a file at 0x[0-9a-f]+ read 0; the previous handler saw si_code=\\d+",
                "ours resolved 2 in the heap, chained 1 to the previous handler",
                "^OK: ")),
            Arguments.of("05-batched-ioctl.c", List.of(
                "^\\s+N\\s+COPY one\\s+COPY N x 1",
                "^\\s+1\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d",
                "^\\s+8\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d",
                "^\\s+64\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d",
                "^\\s+512\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d",
                "^OK: ")),
            Arguments.of("06-flip-cost.c", List.of(
                "^zap: mmap MAP_FIXED over memfd view\\s+\\d+\\.\\d{3}",
                "^move: mremap DONTUNMAP, memfd view\\s+\\d+\\.\\d{3}",
                "^move: mremap DONTUNMAP, anonymous\\s+\\d+\\.\\d{3}",
                "^new view: mmap the other half elsewhere\\s+\\d+\\.\\d{3}",
                "^read 1 byte per moved page, first time\\s+\\d+\\.\\d{3}",
                "^read 1 byte per moved page, second time\\s+\\d+\\.\\d{3}",
                "^OK: ")),
            Arguments.of("07-first-touch.c", List.of(
                "^pages\\s+populate\\s+first write\\s+second write\\s+memset\\s+mremap 2 MiB",
                "^4 KiB \\(MADV_NOHUGEPAGE\\)(\\s+\\d+\\.\\d{3}){5}$",
                "^2 MiB \\(MADV_HUGEPAGE\\)(\\s+\\d+\\.\\d{3}){5}$",
                "^populate, slowest round: \\d+\\.\\d{3} \\(4 KiB pages\\), \\d+\\.\\d{3} \\(2 MiB pages\\)",
                "^huge pages given: \\d+ KiB of 64 MiB",
                "^OK: ")),
            Arguments.of("08-installed-first-read.c", List.of(
                "^install \\(UFFDIO_CONTINUE\\)\\s+\\d+\\.\\d{3}$",
                "^first read of an installed page\\s+\\d+\\.\\d{3}$",
                "^second read\\s+\\d+\\.\\d{3}$",
                "^first read after another thread read it\\s+\\d+\\.\\d{3}$",
                "^OK: ")),
            Arguments.of("09-move-shootdown.c", List.of(
                "^one page per ioctl, \\d+ pages, median of \\d+ rounds, us per page:",
                "^  UFFDIO_MOVE  alone \\d+\\.\\d\\d, sibling busy \\d+\\.\\d\\d, alone again \\d+\\.\\d\\d$",
                "^  UFFDIO_COPY  alone \\d+\\.\\d\\d, sibling busy \\d+\\.\\d\\d$",
                "^  a busy sibling adds -?\\d+\\.\\d\\d us to each move \\(x\\d+\\.\\d\\) and -?\\d+\\.\\d\\d to each copy$",
                "^OK: ")));
    }

    @BeforeAll
    static void createWorkDir() throws IOException {
        workDir = Files.createTempDirectory("faultline-demos-");
    }

    @AfterAll
    static void deleteWorkDir() throws IOException {
        if (workDir == null) {
            return;
        }
        try (Stream<Path> files = Files.list(workDir)) {
            for (Path file : files.toList()) {
                Files.deleteIfExists(file);
            }
        }
        Files.deleteIfExists(workDir);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("demos")
    void demoRunsAndPrintsWhatItShows(String file, List<String> expectedLines) throws Exception {
        Path source = demosDir().resolve(file);
        assertTrue(Files.isRegularFile(source), "no demo " + source);
        Path binary = workDir.resolve(file.replace(".c", ""));

        Result build = run(List.of(gcc(), "-O2", "-Wall", "-pthread", "-o", binary.toString(), source.toString()));
        if (build.exit != 0 && build.output.contains("linux/userfaultfd.h: No such file")) {
            Assumptions.abort("no Linux kernel headers (linux/userfaultfd.h) for gcc: " + firstLine(build.output));
        }
        assertEquals(0, build.exit, "gcc failed on " + source + ":\n" + build.output);
        if (!build.output.isBlank()) {
            System.out.println("gcc " + file + ":\n" + build.output);
        }

        Result demo = run(List.of(binary.toString()));
        System.out.println("--- " + file + " (exit " + demo.exit + ")\n" + demo.output);
        if (demo.exit == EXIT_SKIP) {
            Assumptions.abort(file + ": " + demo.output.lines().filter(l -> l.startsWith("SKIP: ")).findFirst()
                .orElse("exit 77 without a SKIP line: " + demo.output.strip()));
        }
        assertEquals(0, demo.exit, file + " exit status; output:\n" + demo.output);
        assertLinesInOrder(file, demo.output, expectedLines);
    }

    /** Each pattern must match a line after the line the previous pattern matched. */
    private static void assertLinesInOrder(String file, String output, List<String> patterns) {
        List<String> lines = output.lines().toList();
        int next = 0;
        for (String regex : patterns) {
            Pattern pattern = Pattern.compile(regex);
            int found = -1;
            for (int i = next; i < lines.size(); i++) {
                if (pattern.matcher(lines.get(i)).find()) {
                    found = i;
                    break;
                }
            }
            if (found < 0) {
                fail(file + ": no line matching /" + regex + "/ after line " + next + " of its output:\n" + output);
            }
            next = found + 1;
        }
    }

    /** The repository's docs/demos, found from the module directory Maven runs the tests in. */
    private static Path demosDir() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path demos = dir.resolve("docs").resolve("demos");
            if (Files.isDirectory(demos)) {
                return demos;
            }
        }
        throw new IllegalStateException("no docs/demos above " + Path.of("").toAbsolutePath());
    }

    private static String gcc() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "gcc");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        Assumptions.abort("no gcc on PATH: the demos are C programs");
        throw new AssertionError("unreachable");
    }

    private record Result(int exit, String output) {
    }

    /** Runs a command with stdout and stderr merged, killing it after {@link #RUN_TIMEOUT_SECONDS}. */
    private static Result run(List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile(workDir, "out-", ".log");
        Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        if (!process.waitFor(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not finish within " + RUN_TIMEOUT_SECONDS + " s; output:\n"
                + Files.readString(log, StandardCharsets.UTF_8));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(process.exitValue(), output);
    }

    private static String firstLine(String text) {
        return text.lines().findFirst().orElse("").strip();
    }
}
