package io.faultline.uffd.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.UffdProbe;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Closing everything releases every descriptor and mapping, as /proc/self sees it. */
class HygieneTest {
    private static final long PAGE = Mman.pageSize();
    private static final long LENGTH = 4 * PAGE;
    private static final String NAME = "faultline-test-hygiene";

    private static UffdProbe.Report probe;

    @BeforeAll
    static void probe() {
        probe = UffdProbe.probe();
        assumeTrue(probe.uffdAvailable(), probe.uffdDetail());
    }

    /** Addresses of one cycle's two mappings. */
    private record Cycle(long view, long alias) {
    }

    /** memfd + two mappings + uffd (registered, one page resolved), then all released. */
    private static Cycle cycle() {
        boolean minor = probe.kernelSupports(UffdProbe.Mode.CONTINUE);
        int memfd = Memfd.create(NAME);
        Fd.ftruncate(memfd, LENGTH);
        long view = Mman.mmapShared(memfd, LENGTH);
        long alias = Mman.mmapShared(memfd, LENGTH);
        int uffd = Userfaultfd.open();
        try (UffdIoctls ioctls = new UffdIoctls(uffd)) {
            Userfaultfd.api(uffd, probe.features()
                & (Userfaultfd.UFFD_FEATURE_SIGBUS | Userfaultfd.UFFD_FEATURE_MINOR_SHMEM));
            Userfaultfd.register(uffd, view, LENGTH, minor
                ? Userfaultfd.UFFDIO_REGISTER_MODE_MISSING | Userfaultfd.UFFDIO_REGISTER_MODE_MINOR
                : Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
            Mman.segment(alias, LENGTH).set(JAVA_LONG, 0, 99L);
            if (minor) {
                ioctls.continueOrThrow(view, PAGE, 0);
                assertEquals(99L, Mman.segment(view, LENGTH).get(JAVA_LONG, 0));
            }
            Userfaultfd.unregister(uffd, view, LENGTH);
        } finally {
            Mman.munmap(view, LENGTH);
            Mman.munmap(alias, LENGTH);
            Fd.close(uffd);
            Fd.close(memfd);
        }
        return new Cycle(view, alias);
    }

    @Test
    void oneCycleLeavesNoDescriptorAndNoMapping() {
        cycle();
        Map<Integer, String> before = Proc.fds();
        Cycle cycle = cycle();
        List<String> atView = Proc.mappingsOverlapping(cycle.view(), LENGTH);
        List<String> atAlias = Proc.mappingsOverlapping(cycle.alias(), LENGTH);
        assertEquals(before, Proc.fds());
        assertEquals(List.of(), atView, "mappings at the view's addresses");
        assertEquals(List.of(), atAlias, "mappings at the alias's addresses");
    }

    @Test
    void twoHundredCyclesLeakNothing() {
        cycle();
        Map<Integer, String> before = Proc.fds();
        long mapsBefore = ours(Proc.maps());
        for (int i = 0; i < 200; i++) {
            cycle();
        }
        Map<Integer, String> after = Proc.fds();
        assertEquals(before, after);
        assertTrue(after.values().stream().noneMatch(target -> target.contains(NAME) || target.contains("userfaultfd")),
            after.toString());
        assertEquals(0, mapsBefore);
        assertEquals(0, ours(Proc.maps()), "memfd mappings left");
    }

    private static long ours(List<String> maps) {
        return maps.stream().filter(line -> line.contains(NAME)).count();
    }
}
