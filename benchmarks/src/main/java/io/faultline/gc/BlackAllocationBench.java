package io.faultline.gc;

import io.faultline.meta.GcMetadata;
import io.faultline.model.ObjectLayout;
import io.faultline.model.TypeRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import java.util.function.IntUnaryOperator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * (10) What recording a retired TLAB's black objects costs a mutator ({@link BlackAllocation#tlabRetired}:
 * one header read and one start bit per object), per TLAB of {@value #TLAB_BYTES} bytes: eight
 * TLABs filled once with objects of {@code sizes} (24-byte tree nodes, or sizes drawn from 16 to
 * 64 bytes) and a filler tail, retired in turn, so that they stay in the caches as a TLAB just
 * filled does. The start bitmap is that of a real heap's metadata; nothing else of a heap runs.
 * Divide by the objects per TLAB (printed at setup: 1,364 and about 810) for the cost per object.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BlackAllocationBench {
    static final int TLAB_BYTES = 32 << 10;
    static final int TLABS = 8;

    /** The objects in the TLABs: {@code 24} (all 24 bytes) or {@code mixed} (16 to 64 bytes, seeded). */
    @Param({"24", "mixed"})
    public String sizes;

    private Arena arena;
    private GcMetadata metadata;
    private BlackAllocation black;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        long bytes = (long) TLABS * TLAB_BYTES;
        MemorySegment view = arena.allocate(bytes, 4096);
        metadata = new GcMetadata(bytes, 4096);
        SplittableRandom random = new SplittableRandom(42);
        long objects = 0;
        for (int t = 0; t < TLABS; t++) {
            long at = (long) t * TLAB_BYTES;
            long end = at + TLAB_BYTES;
            while (true) {
                long size = sizes.equals("24") ? 24 : 16 + 8L * random.nextInt(7);
                if (at + size > end - 16) {
                    break;
                }
                view.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at, ObjectLayout.headerWord(size / 8, 0));
                at += size;
                objects++;
            }
            ObjectLayout.writeFiller(view, at, end - at);
        }
        System.out.println("objects per TLAB: " + objects / TLABS);
        black = new BlackAllocation(new ViewOnly(view), metadata.objectStarts());
        black.begin(0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        metadata.close();
        arena.close();
    }

    @Benchmark
    public void retire() {
        long start = (long) next * TLAB_BYTES;
        next = (next + 1) & (TLABS - 1);
        black.tlabRetired(start, start + TLAB_BYTES);
    }

    /** A heap binding that only has a view. */
    private record ViewOnly(MemorySegment view) implements HeapBinding {
        @Override public boolean stopTheWorld() { throw new UnsupportedOperationException(); }
        @Override public void resumeTheWorld() { throw new UnsupportedOperationException(); }
        @Override public void inSafeRegion(Runnable waiting) { throw new UnsupportedOperationException(); }
        @Override public int runningMutators() { throw new UnsupportedOperationException(); }
        @Override public void retireTlabs() { throw new UnsupportedOperationException(); }
        @Override public void updateRoots(IntUnaryOperator f) { throw new UnsupportedOperationException(); }
        @Override public void setSatbBarrier(boolean on, long newObjectsFrom) { throw new UnsupportedOperationException(); }
        @Override public void drainSatbBuffers(IntConsumer consumer) { throw new UnsupportedOperationException(); }
        @Override public MemorySegment collectorReadView() { throw new UnsupportedOperationException(); }
        @Override public void setView(MemorySegment view) { throw new UnsupportedOperationException(); }
        @Override public long base() { throw new UnsupportedOperationException(); }
        @Override public long top() { throw new UnsupportedOperationException(); }
        @Override public void resetAllocation(long base, long top, long limit) { throw new UnsupportedOperationException(); }
        @Override public void recycleAllocationPages() { throw new UnsupportedOperationException(); }
        @Override public TypeRegistry types() { throw new UnsupportedOperationException(); }
        @Override public void setCardLimit(long limit) { throw new UnsupportedOperationException(); }
        @Override public byte[] cards() { throw new UnsupportedOperationException(); }
        @Override public byte[] swapCards(byte[] clean) { throw new UnsupportedOperationException(); }
    }
}
