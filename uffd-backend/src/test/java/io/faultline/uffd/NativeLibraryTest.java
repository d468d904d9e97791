package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.sys.Userfaultfd;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** libfaultline.so is built by this module's Maven build, packaged, extracted and loaded. */
class NativeLibraryTest {

    /** Whether the build compiled the library (it skips that without gcc or with -Dfaultline.native.skip). */
    static boolean built() {
        return NativeLibrary.class.getResource("/native/" + NativeLibrary.platform() + "/" + NativeLibrary.LIBRARY_NAME)
            != null;
    }

    @Test
    void loadsTheBuiltLibrary() throws Throwable {
        assumeTrue(built(), NativeLibrary.failureReason());
        assertTrue(NativeLibrary.isLoaded(), NativeLibrary.failureReason());
        assertNull(NativeLibrary.failureReason());
        assertEquals("linux-x86_64", NativeLibrary.platform());
        Path path = NativeLibrary.path().orElseThrow();
        assertTrue(Files.isRegularFile(path), path + " extracted");
        assertEquals(NativeLibrary.EXPECTED_VERSION, NativeLibrary.version());
        MethodHandle version = NativeLibrary.downcall("fl_version", FunctionDescriptor.of(JAVA_INT));
        assertEquals(NativeLibrary.EXPECTED_VERSION, (int) version.invokeExact());
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
        NativeLibrary.Status status = NativeLibrary.load("/native/nowhere/libfaultline.so", null);
        assertFalse(status.loaded());
        assertTrue(status.failureReason().startsWith("native library not built: no class path resource"
            + " /native/nowhere/libfaultline.so"), status.failureReason());
    }

    @Test
    void aLibraryWithoutFlVersionIsRefused() {
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        assumeTrue(Files.isRegularFile(libm), "no " + libm);
        NativeLibrary.Status status = NativeLibrary.load("/unused", libm.toString());
        assertFalse(status.loaded());
        assertEquals("native library not loaded: " + libm + " has no fl_version", status.failureReason());
    }

    @Test
    void aMissingPropertyFileIsReported() {
        NativeLibrary.Status status = NativeLibrary.load("/unused", "/nonexistent/libfaultline.so");
        assertFalse(status.loaded());
        assertEquals("native library not found: " + NativeLibrary.PATH_PROPERTY
            + "=/nonexistent/libfaultline.so is not a file", status.failureReason());
    }
}
