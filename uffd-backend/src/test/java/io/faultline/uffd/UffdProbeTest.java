package io.faultline.uffd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.sys.Errno;
import io.faultline.uffd.sys.SyscallException;
import io.faultline.uffd.sys.Userfaultfd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe really exercises each mode; on a machine with userfaultfd its report must be consistent. */
class UffdProbeTest {

    @Test
    void reportIsConsistentWithTheKernelFeatures() {
        UffdProbe.Report report = UffdProbe.probe();
        System.out.print(report.toTable());
        assumeTrue(report.uffdAvailable(), report.uffdDetail());

        assertEquals(NativeLibraryTest.built(), report.nativeLoaded(), report.nativeDetail());
        assertTrue(report.pageSize() > 0);
        assertTrue(report.uffdDetail().contains("features 0x" + Long.toHexString(report.features())), report.uffdDetail());
        assertEquals(List.of(UffdProbe.Mode.values()), report.modes().stream().map(UffdProbe.ModeStatus::mode).toList());
        assertEquals(hasAll(report, Userfaultfd.UFFD_FEATURE_SIGBUS), report.sigbusAvailable(), report.sigbusDetail());
        boolean nativeLoaded = report.nativeLoaded();
        assertEquals(nativeLoaded && hasAll(report, Userfaultfd.UFFD_FEATURE_MINOR_SHMEM),
            report.available(UffdProbe.Mode.CONTINUE), report.mode(UffdProbe.Mode.CONTINUE).detail());
        assertEquals(nativeLoaded && hasAll(report, Userfaultfd.UFFD_FEATURE_MISSING_SHMEM),
            report.available(UffdProbe.Mode.COPY), report.mode(UffdProbe.Mode.COPY).detail());
        assertEquals(nativeLoaded && hasAll(report, Userfaultfd.UFFD_FEATURE_MOVE),
            report.available(UffdProbe.Mode.MOVE), report.mode(UffdProbe.Mode.MOVE).detail());
        for (UffdProbe.ModeStatus mode : report.modes()) {
            assertFalse(mode.detail().isBlank(), mode.toString());
            assertEquals(mode.kernelSupported() && nativeLoaded, mode.available(), mode.toString());
            if (!nativeLoaded) {
                assertTrue(mode.detail().contains("native library not built"), mode.toString());
            } else if (!mode.available()) {
                assertTrue(mode.detail().contains("UFFD_FEATURE_"), mode.toString());
            }
        }
    }

    @Test
    void tableHasOneLinePerModeAndTheSigbusFeature() {
        UffdProbe.Report report = UffdProbe.probe();
        List<String> lines = report.toTable().lines().toList();
        assertEquals(5 + UffdProbe.Mode.values().length, lines.size(), report.toTable());
        assertTrue(lines.get(0).startsWith("userfaultfd probe: Linux "), lines.get(0));
        assertTrue(lines.get(1).startsWith("native library "), lines.get(1));
        assertTrue(lines.get(2).startsWith("userfaultfd "), lines.get(2));
        assertTrue(lines.get(3).startsWith("SIGBUS feature "), lines.get(3));
        for (UffdProbe.Mode mode : UffdProbe.Mode.values()) {
            String line = lines.get(4 + mode.ordinal());
            assertTrue(line.startsWith(mode.name() + " "), line);
            assertTrue(line.contains(report.available(mode) ? " available " : " unavailable "), line);
        }
        String huge = lines.get(lines.size() - 1);
        assertTrue(huge.startsWith("huge pages ") && huge.contains(HugePages.describe()), huge);
        assertTrue(huge.contains(HugePages.shmemOffered() ? "2 MiB folios" : "4 KiB folios"), huge);
    }

    @Test
    void hugePageSettingsAreTheBracketedWord(@TempDir Path dir) throws Exception {
        Path shmem = dir.resolve("shmem_enabled");
        Files.writeString(shmem, "always within_size advise [never] deny force\n");
        assertEquals("never", HugePages.setting(shmem));
        Files.writeString(shmem, "always within_size [advise] never deny force\n");
        assertEquals("advise", HugePages.setting(shmem));
        assertEquals("none", HugePages.setting(dir.resolve("missing")));
        Files.writeString(shmem, "garbage\n");
        assertEquals("none", HugePages.setting(shmem));
    }

    @Test
    void openFailuresAreExplained() {
        String eperm = UffdProbe.explain(new SyscallException("userfaultfd(flags=O_CLOEXEC)", Errno.EPERM));
        assertTrue(eperm.startsWith("EPERM: "), eperm);
        assertTrue(eperm.contains("sysctl vm.unprivileged_userfaultfd=1 or run as root"), eperm);
        String enosys = UffdProbe.explain(new SyscallException("userfaultfd(flags=O_CLOEXEC)", Errno.ENOSYS));
        assertTrue(enosys.startsWith("ENOSYS: kernel built without userfaultfd"), enosys);
        String other = UffdProbe.explain(new SyscallException("userfaultfd(flags=O_CLOEXEC)", Errno.EMFILE));
        assertTrue(other.startsWith("EMFILE: userfaultfd(flags=O_CLOEXEC) failed: errno 24 EMFILE"), other);
    }

    private static boolean hasAll(UffdProbe.Report report, long feature) {
        return (report.features() & feature) == feature;
    }
}
