package io.faultline.cli.demo;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.faultline.uffd.sys.Fd;
import io.faultline.uffd.sys.Memfd;
import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.UffdIoctls;
import io.faultline.uffd.sys.Userfaultfd;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The design Faultline does not use, run until it deadlocks: userfaults resolved by a Java thread.
 * Started in a child JVM by {@code faultline demo safepoint-hazard}, which watches its output and
 * kills it with SIGKILL once the progress lines stop.
 *
 * <p>Three Java threads share one memfd, mapped twice: a view registered {@code MISSING|MINOR}
 * with a userfaultfd, and an alias. The {@code mutator} reads every view page, checks it, then
 * zaps the view's PTEs ({@code MADV_DONTNEED}) and starts over, so every read takes a userfault.
 * The {@code java-resolver} reads each fault message ({@code read} on the blocking descriptor),
 * writes the page through the alias in Java, and issues {@code UFFDIO_CONTINUE}. The
 * {@code garbage} thread, started after the other two have run alone for a second (and served
 * thousands of faults without trouble), allocates, so that G1 needs a safepoint every few
 * milliseconds.
 *
 * <p>To HotSpot, a thread blocked in a userfault is running Java code and has not reached its
 * safepoint poll. When a safepoint begins while the mutator waits for its page, the VM thread
 * waits for the mutator; the resolver, returning from {@code read} into Java, stops at the
 * safepoint; nobody issues the ioctl. Every Java thread then stops at its next poll, including
 * the main thread that prints the progress lines.
 *
 * <p>Arguments: {@code [maxMillis [faultCountFile]]}. {@code maxMillis} (default 30000): if no
 * deadlock happened by then, stop the mutator, print a {@code finished} line and exit 0.
 * {@code faultCountFile}: an 8-byte file, mapped shared, in which the resolver keeps the number
 * of faults served (a big-endian long), readable after the JVM hangs. Output: a {@code ready} line, a
 * {@code progress faults=N hostGcs=M} line every 200 ms, a {@code garbage thread started} line
 * after a second, then {@code finished ...} or nothing more.
 * Exit status 2 if a page held the wrong contents.
 */
public final class JavaResolverDeadlock {
    static final int PAGES = 64;
    static final long PROGRESS_MILLIS = 200;
    /** How long the mutator and the resolver run alone before the garbage thread starts. */
    static final long QUIET_MILLIS = 1_000;
    /** {@code struct uffd_msg}: 32 bytes; event at 0, pagefault.flags at 8, pagefault.address at 16. */
    private static final long MSG_BYTES = 32;
    private static final byte UFFD_EVENT_PAGEFAULT = 0x12;

    private JavaResolverDeadlock() {
    }

    public static void main(String[] args) throws Exception {
        long maxMillis = args.length > 0 ? Long.parseLong(args[0]) : 30_000;
        MappedByteBuffer faultCount = args.length > 1 ? faultCountFile(Path.of(args[1])) : null;
        long pageSize = Mman.pageSize();
        long bytes = PAGES * pageSize;

        int memfd = Memfd.create("safepoint-hazard");
        Fd.ftruncate(memfd, bytes);
        long view = Mman.mmapShared(memfd, bytes);
        long alias = Mman.mmapShared(memfd, bytes);
        // Blocking descriptor (no O_NONBLOCK): the resolver sleeps in read() until a fault arrives.
        int uffd = Userfaultfd.open(Fd.O_CLOEXEC | Userfaultfd.UFFD_USER_MODE_ONLY);
        Userfaultfd.api(uffd, Userfaultfd.UFFD_FEATURE_MINOR_SHMEM | Userfaultfd.UFFD_FEATURE_MISSING_SHMEM);
        Userfaultfd.register(uffd, view, bytes,
            Userfaultfd.UFFDIO_REGISTER_MODE_MISSING | Userfaultfd.UFFDIO_REGISTER_MODE_MINOR);

        AtomicLong faults = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        MemorySegment viewSegment = Mman.segment(view, bytes);
        MemorySegment aliasSegment = Mman.segment(alias, bytes);

        Thread.ofPlatform().daemon().name("java-resolver").start(() -> {
            MethodHandle read = readHandle();
            try (Arena arena = Arena.ofConfined(); UffdIoctls ioctls = new UffdIoctls(uffd)) {
                MemorySegment msg = arena.allocate(MSG_BYTES, 8);
                while (true) {
                    long n = (long) read.invokeExact(uffd, msg, MSG_BYTES);
                    if (n != MSG_BYTES || msg.get(JAVA_BYTE, 0) != UFFD_EVENT_PAGEFAULT) {
                        failure.compareAndSet(null, "read(uffd) returned " + n);
                        return;
                    }
                    long page = (msg.get(JAVA_LONG, 16) - view) / pageSize;
                    // The "work": build the page through the alias, in Java.
                    for (long off = 0; off < pageSize; off += 8) {
                        aliasSegment.set(JAVA_LONG, page * pageSize + off, tag(page));
                    }
                    ioctls.continueOrThrow(view + page * pageSize, pageSize, 0);
                    long served = faults.incrementAndGet();
                    if (faultCount != null) {
                        faultCount.putLong(0, served);
                    }
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, "java-resolver: " + t);
            }
        });

        long deadline = System.nanoTime() + maxMillis * 1_000_000;
        Thread mutator = Thread.ofPlatform().name("mutator").start(() -> {
            while (System.nanoTime() < deadline && failure.get() == null) {
                for (long page = 0; page < PAGES; page++) {
                    long seen = viewSegment.get(JAVA_LONG, page * pageSize + pageSize - 8); // may fault
                    if (seen != tag(page)) {
                        failure.compareAndSet(null, "page " + page + " reads " + Long.toHexString(seen));
                    }
                }
                Mman.madvise(view, bytes, Mman.MADV_DONTNEED); // zap the PTEs: the next pass faults again
            }
        });

        System.out.println("ready: " + PAGES + " pages of " + pageSize + " bytes registered MISSING|MINOR; "
            + "java-resolver and mutator started; host GC: " + gcNames());
        long gcBefore = hostGcs();
        long start = System.nanoTime();
        boolean garbageStarted = false;
        while (mutator.isAlive()) {
            mutator.join(PROGRESS_MILLIS);
            System.out.println("progress faults=" + faults.get() + " hostGcs=" + (hostGcs() - gcBefore));
            if (!garbageStarted && System.nanoTime() - start > QUIET_MILLIS * 1_000_000) {
                garbageStarted = true;
                System.out.println("garbage thread started after " + faults.get() + " faults: G1 now needs safepoints");
                Thread.ofPlatform().daemon().name("garbage").start(() -> {
                    byte[][] keep = new byte[64][];
                    for (int i = 0; ; i++) {
                        keep[i & 63] = new byte[64 << 10];
                    }
                });
            }
        }
        if (failure.get() != null) {
            System.out.println("failed: " + failure.get());
            System.exit(2);
        }
        System.out.println("finished faults=" + faults.get() + " hostGcs=" + (hostGcs() - gcBefore)
            + ": no deadlock in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        System.exit(0);
    }

    /**
     * An 8-byte file mapped shared: the resolver stores its count of served faults there, so a
     * watching process can read the exact count after this JVM has stopped printing.
     */
    private static MappedByteBuffer faultCountFile(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, Long.BYTES);
        }
    }

    private static long tag(long page) {
        return 0x5AFE_0000_0000_0000L | page;
    }

    @SuppressWarnings("restricted")
    private static MethodHandle readHandle() {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find("read").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    private static long hostGcs() {
        long n = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, b.getCollectionCount());
        }
        return n;
    }

    private static String gcNames() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName)
            .reduce((a, b) -> a + ", " + b).orElse("?");
    }
}
