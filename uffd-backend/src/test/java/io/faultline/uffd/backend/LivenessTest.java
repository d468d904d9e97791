package io.faultline.uffd.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.uffd.UffdOptions.Delivery;
import io.faultline.uffd.UffdProbe.Mode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Liveness under host GC pressure, each in a forked JVM (same java binary, same class path) so a
 * deadlock is detected by a timeout and the child killed with SIGKILL: 50 collections while two
 * mutators fault continuously and a thread churns the Java heap. Thread delivery: G1 in every
 * mode, ZGC in CONTINUE. SIGBUS delivery, where the faulting thread serves its fault in a native
 * handler while HotSpot may want a safepoint: G1, ZGC and Serial ({@code -Xmx64m}) in every mode.
 */
class LivenessTest {
    static final int CYCLES = Integer.getInteger("faultline.livenessCycles", 50);

    static Stream<Arguments> cases() {
        Stream<Arguments> thread = Stream.of(Arguments.of(Mode.CONTINUE, Delivery.THREAD, "-XX:+UseG1GC"),
            Arguments.of(Mode.COPY, Delivery.THREAD, "-XX:+UseG1GC"), Arguments.of(Mode.MOVE, Delivery.THREAD, "-XX:+UseG1GC"),
            Arguments.of(Mode.CONTINUE, Delivery.THREAD, "-XX:+UseZGC"));
        Stream<Arguments> sigbus = Stream.of(Mode.values()).flatMap(m -> Stream.of("-XX:+UseG1GC", "-XX:+UseZGC",
            "-XX:+UseSerialGC").map(gc -> Arguments.of(m, Delivery.SIGBUS, gc)));
        return Stream.concat(thread, sigbus);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void collectionsCompleteWhileMutatorsFaultUnderHostGcPressure(Mode mode, Delivery delivery, String gc) throws Exception {
        UffdTestSupport.assumeAvailable(mode);
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
            delivery == Delivery.SIGBUS ? "-Xmx64m" : "-Xmx128m", gc,
            "-cp", System.getProperty("java.class.path"), LivenessWorkload.class.getName(), mode.name(),
            Integer.toString(CYCLES), "30000", delivery.name()));
        Path out = Files.createTempFile("faultline-liveness-", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            boolean done = p.waitFor(180, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String log = Files.readString(out, StandardCharsets.UTF_8);
            System.out.println("LivenessTest " + mode + " " + delivery + " " + gc + ": " + log.strip());
            assertTrue(done, "child JVM did not finish within 180 s (stall/deadlock): " + log);
            assertEquals(0, p.exitValue(), log);
            // At least the requested cycles: the mutators' own allocation failures may add some.
            Matcher cycles = Pattern.compile(" cycles=(\\d+) ").matcher(log);
            assertTrue(log.contains("LIVENESS OK") && cycles.find() && Long.parseLong(cycles.group(1)) >= CYCLES, log);
            assertTrue(!log.contains(" faults=0 "), "mutators must fault: " + log);
            assertTrue(!log.contains("hostGcs=0 "), "the churn thread must force host GCs: " + log);
        } finally {
            try {
                Files.deleteIfExists(out);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
