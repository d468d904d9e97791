package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.sys.Userfaultfd;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** libfaultline.so is built by this module's Maven build, packaged, extracted and loaded. */
class NativeLibraryTest {
    private static final String RESOURCE = "/native/" + NativeLibrary.platform() + "/" + NativeLibrary.LIBRARY_NAME;
    /** For loads that never extract anything. */
    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

    /** Whether the build compiled the library (it skips that without gcc or with -Dfaultline.native.skip). */
    static boolean built() {
        return NativeLibrary.class.getResource(RESOURCE) != null;
    }

    @Test
    void loadsTheBuiltLibrary() throws Throwable {
        assumeTrue(built(), NativeLibrary.failureReason());
        assertTrue(NativeLibrary.isLoaded(), NativeLibrary.failureReason());
        assertNull(NativeLibrary.failureReason());
        assertEquals("linux-x86_64", NativeLibrary.platform());
        assertTrue(NativeLibrary.path().isEmpty(), "the packaged library has no file that stays");
        assertTrue(NativeLibrary.source().startsWith("class path resource " + RESOURCE + " (extracted to "),
            NativeLibrary.source());
        assertTrue(NativeLibrary.source().endsWith(", deleted once loaded)"), NativeLibrary.source());
        assertEquals(NativeLibrary.EXPECTED_VERSION, NativeLibrary.version());
        MethodHandle version = NativeLibrary.downcall("fl_version", FunctionDescriptor.of(JAVA_INT));
        assertEquals(NativeLibrary.EXPECTED_VERSION, (int) version.invokeExact());
    }

    /** A JVM killed after loading (SIGKILL runs no exit hooks) must not leave a copy of the library behind. */
    @Test
    @SuppressWarnings("restricted") // binds fl_version of this test's own copy of the library
    void noExtractedCopyRemainsOnceLoaded(@TempDir Path tmp) throws Throwable {
        assumeTrue(built(), NativeLibrary.failureReason());
        NativeLibrary.Status status = NativeLibrary.load(RESOURCE, null, tmp);
        assertTrue(status.loaded(), status.failureReason());
        assertNull(status.file());
        assertEquals(tmp, status.extracted().getParent());
        assertFalse(Files.exists(status.extracted()), status.extracted() + " still exists");
        assertEquals(List.of(), filesIn(tmp));
        assertEquals("class path resource " + RESOURCE + " (extracted to " + status.extracted() + ", deleted once loaded)",
            status.source());
        MethodHandle version = Linker.nativeLinker().downcallHandle(status.lookup().find("fl_version").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT));
        assertEquals(NativeLibrary.EXPECTED_VERSION, (int) version.invokeExact(), "the deleted file's mapping still works");
    }

    private static List<Path> filesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }

    @Test
    void javaAndCEncodeTheSameUffdRequests() throws Throwable {
        assumeTrue(built(), NativeLibrary.failureReason());
        MethodHandle request = NativeLibrary.downcall("fl_uffd_request", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        assertEquals(Userfaultfd.UFFDIO_API, (long) request.invokeExact(Userfaultfd._UFFDIO_API));
        assertEquals(Userfaultfd.UFFDIO_REGISTER, (long) request.invokeExact(Userfaultfd._UFFDIO_REGISTER));
        assertEquals(Userfaultfd.UFFDIO_UNREGISTER, (long) request.invokeExact(Userfaultfd._UFFDIO_UNREGISTER));
        assertEquals(Userfaultfd.UFFDIO_WAKE, (long) request.invokeExact(Userfaultfd._UFFDIO_WAKE));
        assertEquals(Userfaultfd.UFFDIO_COPY, (long) request.invokeExact(Userfaultfd._UFFDIO_COPY));
        assertEquals(Userfaultfd.UFFDIO_ZEROPAGE, (long) request.invokeExact(Userfaultfd._UFFDIO_ZEROPAGE));
        assertEquals(Userfaultfd.UFFDIO_MOVE, (long) request.invokeExact(Userfaultfd._UFFDIO_MOVE));
        assertEquals(Userfaultfd.UFFDIO_CONTINUE, (long) request.invokeExact(Userfaultfd._UFFDIO_CONTINUE));
        assertEquals(0L, (long) request.invokeExact(0x3E));
        // Values from the Linux 6.8 uapi header.
        assertEquals(0xC018AA3FL, Userfaultfd.UFFDIO_API);
        assertEquals(0xC020AA00L, Userfaultfd.UFFDIO_REGISTER);
        assertEquals(0x8010AA01L, Userfaultfd.UFFDIO_UNREGISTER);
        assertEquals(0x8010AA02L, Userfaultfd.UFFDIO_WAKE);
        assertEquals(0xC028AA03L, Userfaultfd.UFFDIO_COPY);
        assertEquals(0xC020AA04L, Userfaultfd.UFFDIO_ZEROPAGE);
        assertEquals(0xC028AA05L, Userfaultfd.UFFDIO_MOVE);
        assertEquals(0xC020AA07L, Userfaultfd.UFFDIO_CONTINUE);
        assertEquals(0xAA00L, Userfaultfd.USERFAULTFD_IOC_NEW);
    }

    @Test
    void aMissingResourceIsReportedAsNotBuilt() {
        NativeLibrary.Status status = NativeLibrary.load("/native/nowhere/libfaultline.so", null, TMP);
        assertFalse(status.loaded());
        assertTrue(status.failureReason().startsWith("native library not built: no class path resource"
            + " /native/nowhere/libfaultline.so"), status.failureReason());
    }

    @Test
    void aLibraryWithoutFlVersionIsRefused() {
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        assumeTrue(Files.isRegularFile(libm), "no " + libm);
        NativeLibrary.Status status = NativeLibrary.load("/unused", libm.toString(), TMP);
        assertFalse(status.loaded());
        assertEquals("native library not loaded: " + libm + " has no fl_version", status.failureReason());
    }

    @Test
    void aMissingPropertyFileIsReported() {
        NativeLibrary.Status status = NativeLibrary.load("/unused", "/nonexistent/libfaultline.so", TMP);
        assertFalse(status.loaded());
        assertEquals("native library not found: " + NativeLibrary.PATH_PROPERTY
            + "=/nonexistent/libfaultline.so is not a file", status.failureReason());
    }
}
