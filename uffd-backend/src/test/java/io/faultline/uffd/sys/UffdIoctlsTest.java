package io.faultline.uffd.sys;

import static io.faultline.uffd.sys.Userfaultfd.UFFDIO_REGISTER_MODE_MINOR;
import static io.faultline.uffd.sys.Userfaultfd.UFFDIO_REGISTER_MODE_MISSING;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.faultline.uffd.UffdProbe;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fault-resolving ioctls, issued directly: no Java thread ever touches a registered page
 * before it has been resolved (a Java thread blocked in a userfault that a Java thread must
 * resolve can deadlock HotSpot), and every uffd here has UFFD_FEATURE_SIGBUS enabled so that a
 * mistake raises SIGBUS instead of hanging the test run.
 */
class UffdIoctlsTest {
    private static final long PAGE = Mman.pageSize();
    private static final int PAGES = 4;
    private static final long LENGTH = PAGES * PAGE;

    private static UffdProbe.Report probe;

    private final Resources resources = new Resources();
    private int uffd;
    private UffdIoctls ioctls;

    @BeforeAll
    static void probe() {
        probe = UffdProbe.probe();
        assumeTrue(probe.uffdAvailable(), probe.uffdDetail());
    }

    @BeforeEach
    void openUffd() {
        uffd = resources.fd(Userfaultfd.open());
        long wanted = Userfaultfd.UFFD_FEATURE_SIGBUS | Userfaultfd.UFFD_FEATURE_MINOR_SHMEM
            | Userfaultfd.UFFD_FEATURE_MISSING_SHMEM | Userfaultfd.UFFD_FEATURE_MOVE;
        Userfaultfd.Api api = Userfaultfd.api(uffd, wanted & probe.features());
        assertEquals(Userfaultfd.UFFD_API, api.api());
        assumeTrue(api.has(Userfaultfd.UFFD_FEATURE_SIGBUS), "UFFD_FEATURE_SIGBUS guards these tests");
        ioctls = new UffdIoctls(uffd);
    }

    @AfterEach
    void close() {
        ioctls.close();
        resources.close();
    }

    @Test
    void continueMapsPageCacheContentsIntoAMinorRegisteredView() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.CONTINUE), probe.mode(UffdProbe.Mode.CONTINUE).detail());
        int memfd = resources.fd(Memfd.create("faultline-test-continue"));
        Fd.ftruncate(memfd, LENGTH);
        long alias = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        long view = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        long mask = Userfaultfd.register(uffd, view, LENGTH, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR);
        assertTrue(Userfaultfd.hasIoctl(mask, Userfaultfd._UFFDIO_CONTINUE), Userfaultfd.ioctlNames(mask));
        assertTrue(Userfaultfd.hasIoctl(mask, Userfaultfd._UFFDIO_WAKE), Userfaultfd.ioctlNames(mask));

        MemorySegment aliasSegment = Mman.segment(alias, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            aliasSegment.set(JAVA_LONG, page * PAGE, 0xC0DE0000L + page);
        }
        assertEquals(0, ioctls.continueRange(view, 2 * PAGE, 0));
        assertEquals(2 * PAGE, ioctls.lastResult());
        assertEquals(0, ioctls.continueRange(view + 2 * PAGE, 2 * PAGE, Userfaultfd.UFFDIO_CONTINUE_MODE_DONTWAKE));

        MemorySegment viewSegment = Mman.segment(view, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            assertEquals(0xC0DE0000L + page, viewSegment.get(JAVA_LONG, page * PAGE), "page " + page);
        }
        viewSegment.set(JAVA_LONG, 8, 42L);
        assertEquals(42L, aliasSegment.get(JAVA_LONG, 8), "the view maps the shared page, not a copy");
    }

    @Test
    void secondContinueOfAPageReportsEexist() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.CONTINUE), probe.mode(UffdProbe.Mode.CONTINUE).detail());
        int memfd = resources.fd(Memfd.create("faultline-test-continue"));
        Fd.ftruncate(memfd, LENGTH);
        long alias = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        long view = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        Userfaultfd.register(uffd, view, LENGTH, UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR);
        Mman.segment(alias, LENGTH).set(JAVA_LONG, PAGE, 7L);

        assertEquals(0, ioctls.continueRange(view + PAGE, PAGE, 0));
        assertEquals(-Errno.EEXIST, ioctls.continueRange(view + PAGE, PAGE, 0));
        assertEquals(-Errno.EEXIST, ioctls.lastResult());

        SyscallException e = assertThrows(SyscallException.class, () -> ioctls.continueOrThrow(view + PAGE, PAGE, 0));
        assertEquals(Errno.EEXIST, e.errno());
        assertEquals("EEXIST", e.errnoName());
        String message = e.getMessage();
        assertTrue(message.contains("UFFDIO_CONTINUE"), message);
        assertTrue(message.contains("start=0x" + Long.toHexString(view + PAGE)), message);
        assertTrue(message.contains("len=0x" + Long.toHexString(PAGE)), message);
        assertTrue(message.contains("errno 17 EEXIST (File exists)"), message);
        assertEquals(7L, Mman.segment(view, LENGTH).get(JAVA_LONG, PAGE));
    }

    @Test
    void continueMapsFallocatedPagesOfAMinorOnlyRange() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.CONTINUE), probe.mode(UffdProbe.Mode.CONTINUE).detail());
        int memfd = resources.fd(Memfd.create("faultline-test-continue"));
        Fd.ftruncate(memfd, LENGTH);
        Fd.fallocate(memfd, 0, 0, 2 * PAGE);
        long view = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        Userfaultfd.register(uffd, view, LENGTH, UFFDIO_REGISTER_MODE_MINOR);

        assertEquals(0, ioctls.continueRange(view, 2 * PAGE, 0), "fallocated pages are in the page cache");
        MemorySegment segment = Mman.segment(view, LENGTH);
        assertEquals(0L, segment.get(JAVA_LONG, 0));
        assertEquals(0L, segment.get(JAVA_LONG, PAGE + 8));

        int rc = ioctls.continueRange(view + 2 * PAGE, PAGE, 0);
        assertEquals(-Errno.EFAULT, rc, "a hole has no page cache page to map: " + Errno.name(-rc));
    }

    @Test
    void copyFillsAMissingRegisteredAnonymousRange() {
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        long mask = Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        assertTrue(Userfaultfd.hasIoctl(mask, Userfaultfd._UFFDIO_COPY), Userfaultfd.ioctlNames(mask));
        copyAndCheck(target);
    }

    @Test
    void copyFillsAMissingRegisteredMemfdRange() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.COPY), probe.mode(UffdProbe.Mode.COPY).detail());
        int memfd = resources.fd(Memfd.create("faultline-test-copy"));
        Fd.ftruncate(memfd, LENGTH);
        long view = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        long alias = resources.map(Mman.mmapShared(memfd, LENGTH), LENGTH);
        long mask = Userfaultfd.register(uffd, view, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        assertTrue(Userfaultfd.hasIoctl(mask, Userfaultfd._UFFDIO_COPY), Userfaultfd.ioctlNames(mask));
        copyAndCheck(view);
        assertEquals(0xF00D0000L + 3, Mman.segment(alias, LENGTH).get(JAVA_LONG, 3 * PAGE),
            "UFFDIO_COPY into shmem fills the page cache");
    }

    private void copyAndCheck(long target) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(LENGTH, PAGE);
            for (int page = 0; page < PAGES; page++) {
                source.set(JAVA_LONG, page * PAGE, 0xF00D0000L + page);
            }
            assertEquals(0, ioctls.copy(target, source.address(), LENGTH, 0));
            assertEquals(LENGTH, ioctls.lastResult());
            assertEquals(-Errno.EEXIST, ioctls.copy(target, source.address(), PAGE, 0));
            SyscallException e = assertThrows(SyscallException.class,
                () -> ioctls.copyOrThrow(target + PAGE, source.address(), PAGE, 0));
            assertEquals(Errno.EEXIST, e.errno());
            assertTrue(e.getMessage().contains("UFFDIO_COPY(uffd=" + uffd + ", dst=0x" + Long.toHexString(target + PAGE)),
                e.getMessage());
        }
        MemorySegment segment = Mman.segment(target, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            assertEquals(0xF00D0000L + page, segment.get(JAVA_LONG, page * PAGE), "page " + page);
        }
    }

    @Test
    void zeropageMapsZeroes() {
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        ioctls.zeropageOrThrow(target, LENGTH, 0);
        assertEquals(LENGTH, ioctls.lastResult());
        MemorySegment segment = Mman.segment(target, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            assertEquals(0L, segment.get(JAVA_LONG, page * PAGE + 64));
        }
    }

    @Test
    void moveTakesPagesFromAnUnregisteredAnonymousArea() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.MOVE), probe.mode(UffdProbe.Mode.MOVE).detail());
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        long mask = Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        assertTrue(Userfaultfd.hasIoctl(mask, Userfaultfd._UFFDIO_MOVE), Userfaultfd.ioctlNames(mask));
        long source = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        MemorySegment sourceSegment = Mman.segment(source, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            sourceSegment.set(JAVA_LONG, page * PAGE, 0xBEEF0000L + page);
        }

        assertEquals(0, ioctls.move(target, source, LENGTH, 0));
        assertEquals(LENGTH, ioctls.lastResult());

        MemorySegment targetSegment = Mman.segment(target, LENGTH);
        for (int page = 0; page < PAGES; page++) {
            assertEquals(0xBEEF0000L + page, targetSegment.get(JAVA_LONG, page * PAGE), "page " + page);
        }
        assertArrayEquals(new boolean[PAGES], Proc.present(source, PAGES), "the source pages were taken");
        for (int page = 0; page < PAGES; page++) {
            assertEquals(0L, sourceSegment.get(JAVA_LONG, page * PAGE), "source page " + page + " refaults as zero");
        }
        sourceSegment.set(JAVA_LONG, 0, 1L);
        assertEquals(-Errno.EEXIST, ioctls.move(target, source, PAGE, 0), "the target page is mapped already");
    }

    @Test
    void moveOutOfAHoleFailsWithoutAllowSrcHoles() {
        assumeTrue(probe.kernelSupports(UffdProbe.Mode.MOVE), probe.mode(UffdProbe.Mode.MOVE).detail());
        long target = resources.map(Mman.mmapAnonymous(PAGE), PAGE);
        Userfaultfd.register(uffd, target, PAGE, UFFDIO_REGISTER_MODE_MISSING);
        long source = resources.map(Mman.mmapAnonymous(PAGE), PAGE);
        int rc = ioctls.move(target, source, PAGE, 0);
        assertEquals(-Errno.ENOENT, rc, Errno.name(-rc));
        assertEquals(0, ioctls.move(target, source, PAGE, Userfaultfd.UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES));
    }

    @Test
    void wakeWithoutWaitersSucceeds() {
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        assertEquals(0, ioctls.wake(target, LENGTH));
        ioctls.wakeOrThrow(target, PAGE);
    }

    @Test
    void ioctlsOnAnUnregisteredRangeFailWithEnoent() {
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        Userfaultfd.unregister(uffd, target, LENGTH);
        int rc = ioctls.copy(target, target, PAGE, 0);
        assertTrue(rc < 0, "UFFDIO_COPY into an unregistered range: " + rc);
        assertEquals(-Errno.ENOENT, rc, Errno.name(-rc));
    }

    /**
     * Once C2 has compiled them, the hot-path ioctls allocate nothing. (The interpreter and C1
     * allocate a 40-byte temporary per downcall that captures errno; C2's escape analysis removes it.)
     */
    @Test
    void hotPathIoctlsDoNotAllocateOnTheJavaHeap() {
        long target = resources.map(Mman.mmapAnonymous(LENGTH), LENGTH);
        Userfaultfd.register(uffd, target, LENGTH, UFFDIO_REGISTER_MODE_MISSING);
        ioctls.zeropageOrThrow(target, LENGTH, 0);

        int[] sink = {0};
        long best = JavaHeapAllocation.bestRound(200, () -> {
            for (int i = 0; i < 5_000; i++) {
                sink[0] += ioctls.wake(target, PAGE);
                sink[0] += ioctls.copy(target, target + PAGE, PAGE, Userfaultfd.UFFDIO_COPY_MODE_DONTWAKE);
                sink[0] += ioctls.continueRange(target, PAGE, 0);
            }
            return sink[0];
        });
        assertTrue(sink[0] < 0, "copies into mapped pages fail");
        assertTrue(best < 1024, "15,000 ioctls allocated " + best + " bytes in the best round");
    }

    /** Unmaps and closes in reverse order. */
    static final class Resources implements AutoCloseable {
        private final ArrayDeque<Runnable> actions = new ArrayDeque<>();

        int fd(int fd) {
            actions.push(() -> Fd.close(fd));
            return fd;
        }

        long map(long address, long length) {
            actions.push(() -> Mman.munmap(address, length));
            return address;
        }

        @Override
        public void close() {
            while (!actions.isEmpty()) {
                actions.pop().run();
            }
        }
    }
}
