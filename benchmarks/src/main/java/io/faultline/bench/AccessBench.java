package io.faultline.bench;

import io.faultline.backend.HeapBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
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

/**
 * (3) Mutator access throughput with no collection in flight: reading one long from each of
 * {@value #OBJECTS} objects (2 MiB) through {@link Mutator#getLongAt} ({@link #mutatorRead}), the
 * same addresses read straight from the heap's view segment ({@link #viewRead}), and the same
 * offsets in a plain Arena segment ({@link #rawSegmentRead}, the baseline). On uffd the mutator
 * path has no barrier; on java every access checks the page state (the difference is its cost).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AccessBench {
    public static final int OBJECTS = 4096;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @Param({"java", "copy", "continue", "move"})
    public String backend;

    @Param({"64"})
    public int heapMb;

    private Heap heap;
    private HeapBackend heapBackend;
    private Mutator m;
    private int[] refs;
    private long[] offsets;
    private Arena arena;
    private MemorySegment raw;

    @Setup(Level.Trial)
    public void setUp() {
        heap = BenchSupport.newHeap(backend, (long) heapMb << 20, 1, HeapConfig.DEFAULT_COMPACTION_STEP_PAGES,
                b -> heapBackend = b);
        Mutator t = heap.attach();
        try {
            BenchSupport.LiveSet live = BenchSupport.LiveSet.build(t, (long) OBJECTS * BenchSupport.OBJECT_BYTES, 1);
            // Layout is final and nothing collects from here on: raw refs stay valid.
            refs = new int[OBJECTS];
            offsets = new long[OBJECTS];
            for (int i = 0; i < OBJECTS; i++) {
                refs[i] = live.objectRef(t, i);
                offsets[i] = ObjectLayout.refToOffset(refs[i]) + ObjectLayout.HEADER_BYTES;
            }
        } finally {
            t.close();
        }
        arena = Arena.ofShared();
        raw = arena.allocate(heapBackend.capacity(), 4096);
        raw.copyFrom(heapBackend.view());
    }

    @Setup(Level.Iteration)
    public void attach() {
        m = heap.attach();
    }

    @TearDown(Level.Iteration)
    public void detach() {
        m.close();
        m = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            BenchSupport.closeAll(m, heap);
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public long mutatorRead() {
        Mutator mu = m;
        int[] r = refs;
        long sum = 0;
        for (int i = 0; i < r.length; i++) {
            sum += mu.getLongAt(r[i], 0);
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public long viewRead() {
        MemorySegment v = heapBackend.view();
        long[] o = offsets;
        long sum = 0;
        for (int i = 0; i < o.length; i++) {
            sum += v.get(LONG, o[i]);
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(OBJECTS)
    public long rawSegmentRead() {
        MemorySegment v = raw;
        long[] o = offsets;
        long sum = 0;
        for (int i = 0; i < o.length; i++) {
            sum += v.get(LONG, o[i]);
        }
        return sum;
    }
}
