package io.faultline.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The copy floors: a 4 KiB copy (the least any page build costs) natively and with
 * {@link MemorySegment#copy} (what the java backend's compactor uses), and copy bandwidth over a
 * buffer the size of {@link CompactionBench}'s live set (the floor of compaction MB/s).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemcpyBench {
    /** Pages copied per native call of {@link #nativeMemcpy4k} (a 1 MiB buffer, cache-warm). */
    public static final int PAGES_PER_CALL = 256;
    /** Bytes of {@link #bandwidthNative}: {@link CompactionBench}'s live set. */
    public static final long BANDWIDTH_BYTES = 24L << 20;

    private Arena arena;
    private MemorySegment src;
    private MemorySegment dst;
    private MemorySegment bigSrc;
    private MemorySegment bigDst;

    @Setup(Level.Trial)
    public void setUp() {
        String why = NativeFloors.unavailableReason();
        if (why != null) {
            throw new BenchSupport.Skipped("skipped native memcpy floors: " + why);
        }
        arena = Arena.ofShared();
        src = arena.allocate(4096, 4096);
        dst = arena.allocate(4096, 4096);
        src.fill((byte) 0x5a);
        bigSrc = arena.allocate(BANDWIDTH_BYTES, 4096);
        bigDst = arena.allocate(BANDWIDTH_BYTES, 4096);
        bigSrc.fill((byte) 0x5a);
        bigDst.fill((byte) 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (bestCopyNanos != Long.MAX_VALUE) {
            System.out.println();
            System.out.printf(java.util.Locale.ROOT, "[memcpy bandwidth] %d MiB copied in %.2f ms (best copy alone) = %.0f MB/s%n",
                    BANDWIDTH_BYTES >> 20, bestCopyNanos / 1e6, BANDWIDTH_BYTES / 1e6 / (bestCopyNanos / 1e9));
        }
        if (arena != null) {
            arena.close();
        }
    }

    /** One 4 KiB MemorySegment.copy, cache-warm: ns per page. */
    @Benchmark
    public void segmentCopy4k() {
        MemorySegment.copy(src, 0, dst, 0, 4096);
    }

    /** Passes over the 1 MiB buffer per call of {@link #nativeMemcpy4k}: amortises its mapping. */
    public static final int PASSES = 200;

    /**
     * libc memcpy of 4 KiB pieces over a cache-warm 1 MiB buffer, {@value #PASSES} passes per
     * downcall (the call maps and pre-touches its buffers; amortised over 51,200 copies): ns per page.
     */
    @Benchmark
    @OperationsPerInvocation(PAGES_PER_CALL * PASSES)
    public long nativeMemcpy4k() {
        return NativeFloors.memcpyNanos(4096, 4096L * PAGES_PER_CALL, PASSES);
    }

    /**
     * libc memcpy of {@value #BANDWIDTH_BYTES} bytes in 1 MiB pieces between fresh, pre-touched
     * buffers (allocated inside the call): ns per call; MB/s = bytes / time. The result
     * includes mapping and pre-touching both buffers; the trial prints the bandwidth of the best copy alone.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 5)
    public long bandwidthNative() {
        long ns = NativeFloors.memcpyNanos(1 << 20, BANDWIDTH_BYTES, 1);
        bestCopyNanos = Math.min(bestCopyNanos, ns);
        return ns;
    }

    private long bestCopyNanos = Long.MAX_VALUE;

    /** MemorySegment.copy of {@value #BANDWIDTH_BYTES} bytes (warm buffers): ms per copy. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 10)
    public void bandwidthSegment() {
        MemorySegment.copy(bigSrc, 0, bigDst, 0, BANDWIDTH_BYTES);
    }
}
