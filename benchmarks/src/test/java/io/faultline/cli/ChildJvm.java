package io.faultline.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The outcome of running a main class in a child JVM: the same {@code java} as the test's own,
 * with {@code --enable-native-access=ALL-UNNAMED}, output captured in files (no pipe can fill up).
 *
 * @param status the exit status
 * @param out    standard output
 * @param err    standard error
 */
public record ChildJvm(int status, String out, String err) {

    /** The {@code java} launcher of the running JVM. */
    public static String javaCommand() {
        return ProcessHandle.current().info().command()
                .orElseThrow(() -> new IllegalStateException("the running JVM does not report its command"));
    }

    /**
     * Runs {@code mainClass} with {@code args} on {@code classPath}, with {@code options} before the
     * class name; kills the child and throws {@link AssertionError} if it outlives {@code timeout}.
     */
    public static ChildJvm run(String classPath, List<String> options, String mainClass, List<String> args,
                               Duration timeout) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(javaCommand(), "--enable-native-access=ALL-UNNAMED",
                "-cp", classPath));
        command.addAll(options);
        command.add(mainClass);
        command.addAll(args);
        Path out = Files.createTempFile("faultline-child-", ".out");
        Path err = Files.createTempFile("faultline-child-", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("child JVM still running after " + timeout + ", killed: " + command
                        + "\n--- stdout\n" + Files.readString(out) + "--- stderr\n" + Files.readString(err));
            }
            return new ChildJvm(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Standard output as lines. */
    public List<String> outLines() {
        return out.lines().toList();
    }

    @Override
    public String toString() {
        return "status " + status + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
