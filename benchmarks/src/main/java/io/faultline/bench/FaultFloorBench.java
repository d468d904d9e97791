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
 * one downcall each (see {@code fl_bench.c}): a raw userfaultfd round trip per mode (blocking
 * resolver thread, as in the backend), a pure minor-fault round trip (pages already cached), a
 * plain shmem minor fault without uffd, and an anonymous first-touch fault. Score: time per page;
 * the region is mapped, registered and its resolver thread started in the iteration's setup, so
 * only the touches are timed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5)
@Measurement(iterations = 30)
public class FaultFloorBench {
    public static final int PAGES = FaultServiceBench.PAGES;

    @Param({"uffd-copy", "uffd-continue", "uffd-move", "uffd-continue-cached", "minor-fault", "anon-first-touch"})
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
        String mode = switch (floor) {
            case "uffd-copy" -> "copy";
            case "uffd-continue", "uffd-continue-cached" -> "continue";
            case "uffd-move" -> "move";
            default -> null;
        };
        if (mode != null) {
            BenchSupport.requireAvailable(mode);
        }
        kind = switch (floor) {
            case "uffd-copy" -> NativeFloors.RT_COPY;
            case "uffd-continue" -> NativeFloors.RT_CONTINUE;
            case "uffd-move" -> NativeFloors.RT_MOVE;
            case "uffd-continue-cached" -> NativeFloors.RT_CONTINUE_CACHED;
            case "minor-fault" -> NativeFloors.FLOOR_SHMEM_MINOR;
            case "anon-first-touch" -> NativeFloors.FLOOR_ANON_FIRST_TOUCH;
            default -> throw new IllegalArgumentException("floor " + floor);
        };
        buffer = new NativeFloors.Buffer(PAGES);
        hist = Latencies.newHistogram();
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
        region = new NativeFloors.Region(kind, PAGES); // mapped, registered, resolver running: not timed
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public void touchPages() {
        region.touch(buffer);
    }

    @TearDown(Level.Iteration)
    public void collectLatencies() {
        region.close();
        region = null;
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
