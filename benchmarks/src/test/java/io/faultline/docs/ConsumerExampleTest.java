package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.cli.ChildJvm;
import io.faultline.uffd.UffdProbe;
import java.io.File;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/consumer, the example of docs/embedding.md, keeps compiling against the current API and
 * runs: compiled here against the class path the libraries are on, run in a child JVM with
 * native access enabled, as its pom's {@code exec:exec} does.
 */
class ConsumerExampleTest {
    private static final Path REPO = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
    private static final Path CONSUMER = REPO.resolve("docs/consumer");
    private static final String RESULT = " 10000 cells, sum 50005000, list intact, heap verified after \\d+ collections,"
            + " \\d+ pages compacted";

    @Test
    void theExampleCompilesWithoutWarningsAndRunsOnEveryBackendThatIsAvailable(@TempDir Path classes) throws Exception {
        List<Path> sources;
        try (Stream<Path> files = Files.walk(CONSUMER.resolve("src/main/java"))) {
            sources = files.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertEquals(1, sources.size(), sources::toString);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (a JRE instead of a JDK?)");
        StringWriter diagnostics = new StringWriter();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            boolean compiled = javac.getTask(diagnostics, files, null,
                    List.of("-Xlint:all", "-Werror", "-d", classes.toString(), "-cp", System.getProperty("java.class.path")),
                    null, files.getJavaFileObjectsFromPaths(sources)).call();
            assertTrue(compiled, diagnostics::toString);
        }

        ChildJvm r = ChildJvm.run(classes + File.pathSeparator + System.getProperty("java.class.path"), List.of(),
                "example.ConsumerExample", List.of(), Duration.ofMinutes(2));
        assertEquals(0, r.status(), r::toString);
        assertEquals("", r.err(), () -> "no warnings (native access is enabled)\n" + r);
        List<String> lines = r.outLines();
        assertEquals(2, lines.size(), r::toString);
        assertTrue(lines.get(0).matches("java:" + RESULT), r::toString);
        UffdProbe.ModeStatus uffd = UffdProbe.probe().mode(UffdProbe.Mode.CONTINUE);
        if (uffd.available()) {
            assertTrue(lines.get(1).matches("uffd/continue:" + RESULT), r::toString);
        } else {
            assertEquals("uffd/continue: not available here: " + uffd.detail(), lines.get(1), r::toString);
        }
    }

    /** The consumer depends on the version this build makes (the version in the root pom). */
    @Test
    void theConsumerPomNamesThisBuildsVersion() throws Exception {
        assertEquals(tag(REPO.resolve("pom.xml"), "<artifactId>faultline-parent</artifactId>\\s*<version>([^<]+)</version>"),
                tag(CONSUMER.resolve("pom.xml"), "<faultline.version>([^<]+)</faultline.version>"));
    }

    private static String tag(Path pom, String regex) throws Exception {
        Matcher m = Pattern.compile(regex).matcher(Files.readString(pom));
        assertTrue(m.find(), () -> regex + " not in " + pom);
        return m.group(1);
    }
}
