package io.faultline.cli.demo;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A child JVM (this JVM's {@code java}, this JVM's class path) whose output lines are watched
 * for progress, and which can be inspected and killed when it stops printing. It runs in a
 * temporary working directory of its own, deleted by {@link #close()}, so that an attach attempt
 * on a hung JVM leaves no {@code .attach_pid} file behind in the user's directory.
 */
public final class ChildJvm implements AutoCloseable {
    /** How a watch ended. */
    public enum Ending {
        /** The child exited; see {@link Outcome#exitCode()}. */
        EXITED,
        /** The child printed nothing for the stall time after its first line. */
        STALLED,
        /** The child was still printing at the deadline. */
        TIMED_OUT
    }

    /**
     * What a watch saw.
     *
     * @param exitCode              the child's exit status if {@link Ending#EXITED}, else -1
     * @param lines                 every line the child printed so far
     * @param elapsedMillis         from the start of the watch to its end
     * @param longestSilenceMillis  the longest time between two lines (the first line excluded)
     */
    public record Outcome(Ending ending, int exitCode, List<String> lines, long elapsedMillis,
                          long longestSilenceMillis) {
        public Outcome {
            lines = List.copyOf(lines);
        }

        /** The last line that starts with {@code prefix}, if any. */
        public Optional<String> lastLineStartingWith(String prefix) {
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith(prefix)) {
                    return Optional.of(lines.get(i));
                }
            }
            return Optional.empty();
        }
    }

    /** One thread of the child as the kernel sees it: {@code /proc/PID/task/TID/{comm,stat,wchan}}. */
    public record KernelThread(String name, long tid, char state, String wchan) {
    }

    private static final String END_OF_OUTPUT = new String("end of output");

    private final Process process;
    private final List<String> command;
    private final Path workDir;
    private final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
    private final List<String> lines = new ArrayList<>();

    private ChildJvm(Process process, List<String> command, Path workDir) {
        this.process = process;
        this.command = List.copyOf(command);
        this.workDir = workDir;
        Thread.ofPlatform().daemon().name("child-jvm-" + process.pid() + "-output").start(this::readOutput);
    }

    /**
     * Starts {@code mainClass} in a new JVM: this JVM's {@code java} executable and class path,
     * {@code --enable-native-access=ALL-UNNAMED}, then {@code jvmFlags}, then {@code args}.
     * Standard error is merged into the watched output.
     */
    public static ChildJvm start(Class<?> mainClass, List<String> jvmFlags, List<String> args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(javaCommand());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmFlags);
        command.add("-cp");
        command.add(absoluteClassPath());
        command.add(mainClass.getName());
        command.addAll(args);
        Path workDir = Files.createTempDirectory("faultline-demo-");
        Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
        return new ChildJvm(process, command, workDir);
    }

    /** This JVM's class path with every entry made absolute (the child runs in another directory). */
    static String absoluteClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(entry -> !entry.isEmpty())
            .map(entry -> Path.of(entry).toAbsolutePath().toString())
            .collect(Collectors.joining(File.pathSeparator));
    }

    /** This JVM's {@code java} executable; throws {@link IllegalStateException} if the OS does not say. */
    public static String javaCommand() {
        return ProcessHandle.current().info().command()
            .orElseThrow(() -> new IllegalStateException("cannot tell which java runs this JVM "
                + "(ProcessHandle.current().info().command() is empty)"));
    }

    public long pid() {
        return process.pid();
    }

    /** The command line, with the class path shortened to its number of entries. */
    public String commandLine() {
        List<String> shown = new ArrayList<>(command);
        int cp = shown.indexOf("-cp");
        if (cp >= 0 && cp + 1 < shown.size()) {
            int entries = shown.get(cp + 1).split(File.pathSeparator).length;
            shown.set(cp + 1, "<this JVM's class path: " + entries + (entries == 1 ? " entry>" : " entries>"));
        }
        return String.join(" ", shown);
    }

    /**
     * Passes each new output line to {@code echo} until the child exits, prints nothing for
     * {@code stallMillis} after its first line, or is still printing {@code deadlineMillis} after
     * this call.
     */
    public Outcome watch(long deadlineMillis, long stallMillis, Consumer<String> echo) throws InterruptedException {
        long start = System.nanoTime();
        long last = -1;
        long longestSilence = 0;
        while (true) {
            String line = pending.poll(20, TimeUnit.MILLISECONDS);
            long now = System.nanoTime();
            long elapsed = (now - start) / 1_000_000;
            if (line == END_OF_OUTPUT) {
                process.waitFor(10, TimeUnit.SECONDS);
                int exit = process.isAlive() ? -1 : process.exitValue();
                return new Outcome(Ending.EXITED, exit, lines, elapsed, longestSilence);
            }
            if (line != null) {
                if (last >= 0) {
                    longestSilence = Math.max(longestSilence, (now - last) / 1_000_000);
                }
                last = now;
                lines.add(line);
                echo.accept(line);
                continue;
            }
            if (last >= 0 && (now - last) / 1_000_000 >= stallMillis) {
                longestSilence = Math.max(longestSilence, (now - last) / 1_000_000);
                return new Outcome(Ending.STALLED, -1, lines, elapsed, longestSilence);
            }
            if (elapsed >= deadlineMillis) {
                return new Outcome(Ending.TIMED_OUT, -1, lines, elapsed, longestSilence);
            }
        }
    }

    /** The child's threads whose kernel name ({@code comm}, at most 15 characters) is in {@code names}. */
    public List<KernelThread> kernelThreads(Set<String> names) {
        Path tasks = Path.of("/proc", Long.toString(pid()), "task");
        List<KernelThread> found = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(tasks)) {
            for (Path task : dirs.sorted(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString())))
                .toList()) {
                String name = read(task.resolve("comm"));
                if (!names.contains(name)) {
                    continue;
                }
                String stat = read(task.resolve("stat"));
                int close = stat.lastIndexOf(')');
                char state = close >= 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : '?';
                found.add(new KernelThread(name, Long.parseLong(task.getFileName().toString()), state,
                    read(task.resolve("wchan"))));
            }
        } catch (IOException | RuntimeException e) {
            return found;
        }
        return found;
    }

    /**
     * {@code jcmd PID Thread.print} from the JDK that runs this JVM, or empty if it did not
     * answer within {@code timeoutMillis} (it is then killed) or could not run.
     */
    public Optional<String> threadDump(long timeoutMillis) throws InterruptedException {
        Path jcmd = Path.of(javaCommand()).resolveSibling("jcmd");
        if (!Files.isExecutable(jcmd)) {
            return Optional.empty();
        }
        Path out = workDir.resolve("thread-dump.txt");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), "Thread.print")
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                return Optional.empty();
            }
            return Optional.of(Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Sends SIGTERM; returns whether the child ended within {@code graceMillis}. */
    public boolean terminate(long graceMillis) throws InterruptedException {
        process.destroy();
        return process.waitFor(graceMillis, TimeUnit.MILLISECONDS);
    }

    /** Sends SIGKILL and waits for the child to end; returns whether it did within 10 s. */
    public boolean kill() throws InterruptedException {
        process.destroyForcibly();
        return process.waitFor(10, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Kills the child if it still runs, and deletes its working directory. */
    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> files = Files.walk(workDir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A leftover temporary directory is harmless; the demo's verdict does not depend on it.
        }
    }

    private void readOutput() {
        try (BufferedReader reader = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                pending.add(line);
            }
        } catch (IOException e) {
            pending.add("(output unreadable: " + e.getMessage() + ")");
        } finally {
            pending.add(END_OF_OUTPUT);
        }
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8).strip();
    }
}
