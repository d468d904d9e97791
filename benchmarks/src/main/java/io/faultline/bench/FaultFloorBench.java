package io.faultline.bench;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * The fault floors of {@link FaultServiceBench}, with no compaction work, measured natively in
 * one downcall each (see {@code fl_bench.c}): a raw userfaultfd round trip per mode and delivery
 * ({@code /thread}: a resolver thread that waits as the backend's fault-service thread does;
 * {@code /sigbus}: a handler in the faulting thread), a pure minor-fault round trip (pages already
 * cached), a plain shmem minor fault without uffd, and an anonymous first-touch fault. Score: time
 * per page. The region is mapped, registered and its resolver thread started once per trial (as a
 * heap's service thread lives as long as the heap), and re-armed before each pass, so only the
 * touches are timed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5)
@Measurement(iterations = 30)
public class FaultFloorBench {
    public static final int PAGES = FaultServiceBench.PAGES;

    @Param({"uffd-copy/thread", "uffd-continue/thread", "uffd-move/thread", "uffd-copy/sigbus", "uffd-continue/sigbus",
            "uffd-move/sigbus", "uffd-continue-cached/thread", "minor-fault", "anon-first-touch"})
    public String floor;

    private NativeFloors.Buffer buffer;
    private NativeFloors.Region region;
    private int kind;
    private Histogram hist;
    private boolean recording;

    @Setup(Level.Trial)
    public void setUp() {
        String why = NativeFloors.unavailableReason();
        if (why != null) {
            throw new BenchmarkSupportSkip("skipped floor " + floor + ": " + why);
        }
        kind = kind(floor);
        if (floor.startsWith("uffd-")) {
            String mode = floor.substring("uffd-".length(), floor.indexOf('/')).replace("-cached", "");
            BenchSupport.requireAvailable(mode);
            if (floor.endsWith("/sigbus") && !BenchSupport.probe().sigbusAvailable()) {
                throw new BenchmarkSupportSkip("skipped floor " + floor + ": UFFD_FEATURE_SIGBUS unavailable: "
                        + BenchSupport.probe().sigbusDetail());
            }
        }
        buffer = new NativeFloors.Buffer(PAGES);
        hist = Latencies.newHistogram();
        region = new NativeFloors.Region(kind, PAGES); // mapped, registered, resolver running: not timed
    }

    /** The {@code fl_bench} kind of a floor name. */
    static int kind(String floor) {
        int delivery = floor.endsWith("/sigbus") ? NativeFloors.SIGBUS : 0;
        return switch (floor.replace("/sigbus", "").replace("/thread", "")) {
            case "uffd-copy" -> NativeFloors.RT_COPY | delivery;
            case "uffd-continue" -> NativeFloors.RT_CONTINUE | delivery;
            case "uffd-move" -> NativeFloors.RT_MOVE | delivery;
            case "uffd-continue-cached" -> NativeFloors.RT_CONTINUE_CACHED | delivery;
            case "minor-fault" -> NativeFloors.FLOOR_SHMEM_MINOR;
            case "anon-first-touch" -> NativeFloors.FLOOR_ANON_FIRST_TOUCH;
            default -> throw new IllegalArgumentException("floor " + floor);
        };
    }

    /** Same as {@link BenchSupport.Skipped}; a separate name keeps the floor's reason distinct. */
    static final class BenchmarkSupportSkip extends RuntimeException {
        BenchmarkSupportSkip(String message) {
            super(message, null, false, false);
        }
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams ip) {
        recording = ip.getType() == IterationType.MEASUREMENT;
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public void touchPages() {
        region.touch(buffer);
    }

    @TearDown(Level.Iteration)
    public void collectLatencies() {
        if (recording) {
            for (int i = 0; i < PAGES; i++) {
                Latencies.record(hist, buffer.get(i));
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (hist != null && hist.getTotalCount() > 0) {
            System.out.println();
            System.out.println("[floor " + floor + "] per-page " + Latencies.summary(hist));
        }
        if (region != null) {
            region.close();
        }
        if (buffer != null) {
            buffer.close();
        }
    }
}
