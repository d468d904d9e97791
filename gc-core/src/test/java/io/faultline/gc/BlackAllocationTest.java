package io.faultline.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.meta.GcMetadata;
import io.faultline.meta.ObjectStartBitmap;
import io.faultline.model.ObjectLayout;
import io.faultline.testing.ModelRunner;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link BlackAllocation#tlabRetired} records exactly the starts of the objects in a retired
 * TLAB, whatever their sizes: its walk predicts that each object is as large as the last one and
 * corrects itself when not, so the test mixes long runs of one size, sizes that change at every
 * object, and one-word fillers, in TLABs that begin and end anywhere in a bitmap entry. Seeded;
 * replay with {@code -Dfaultline.seed}.
 */
class BlackAllocationTest {
    private static final long HEAP_BYTES = 1 << 20;

    @Test
    void recordsExactlyTheStartsOfEveryObjectOfARetiredTlab() {
        long replay = ModelRunner.replaySeed();
        long seed = replay >= 0 ? replay : System.nanoTime();
        try (Arena arena = Arena.ofConfined(); GcMetadata metadata = new GcMetadata(HEAP_BYTES, 4096)) {
            MemorySegment view = arena.allocate(HEAP_BYTES, 4096);
            SplittableRandom random = new SplittableRandom(seed);
            ObjectStartBitmap starts = metadata.objectStarts();
            BlackAllocation black = new BlackAllocation(viewOnly(view), starts);
            long markStart = 8 * (1 + random.nextInt(64));
            black.begin(markStart);
            List<Long> expected = new ArrayList<>();
            long at = markStart;
            for (int tlab = 0; tlab < 200; tlab++) {
                long tlabStart = at;
                long end = Math.min(HEAP_BYTES, tlabStart + 8L * (2 + random.nextInt(1200)));
                if (end - tlabStart < 16) {
                    break;
                }
                int style = random.nextInt(3); // 0: one size, 1: runs of sizes, 2: a new size every object
                long size = 8L * (ObjectLayout.MIN_OBJECT_WORDS + random.nextInt(6));
                while (at < end) {
                    if (style == 2 || (style == 1 && random.nextInt(20) == 0)) {
                        size = 8L * (ObjectLayout.MIN_OBJECT_WORDS + random.nextInt(6));
                    }
                    long room = end - at;
                    long bytes = size <= room - 16 || size == room ? size : room; // the tail: a filler
                    expected.add(at);
                    if (bytes == size) {
                        view.set(ValueLayout.JAVA_LONG_UNALIGNED, at, ObjectLayout.headerWord(bytes / 8, 0));
                    } else {
                        ObjectLayout.writeFiller(view, at, bytes);
                    }
                    at += bytes;
                }
                black.tlabRetired(tlabStart, end);
            }
            assertTrue(expected.size() > 1000, "objects written: " + expected.size());
            int i = 0;
            for (long off = 0; off < HEAP_BYTES; off += 8) {
                boolean start = i < expected.size() && expected.get(i) == off;
                assertEquals(start, starts.isStart(off), "start bit at 0x" + Long.toHexString(off));
                if (start) {
                    i++;
                }
            }
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
        }
    }

    @Test
    void aZeroHeaderIsNamedWithItsTlab() {
        try (Arena arena = Arena.ofConfined(); GcMetadata metadata = new GcMetadata(HEAP_BYTES, 4096)) {
            MemorySegment view = arena.allocate(HEAP_BYTES, 4096);
            BlackAllocation black = new BlackAllocation(viewOnly(view), metadata.objectStarts());
            black.begin(0);
            for (long at = 0x1000; at < 0x1000 + 10 * 24; at += 24) {
                view.set(ValueLayout.JAVA_LONG_UNALIGNED, at, ObjectLayout.headerWord(3, 0));
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> black.tlabRetired(0x1000, 0x1200));
            assertEquals("black allocation: zero header at 0x10f0 in the retired TLAB [0x1000, 0x1200)", e.getMessage());
        }
    }

    @Test
    void aTlabBelowTheMarkStartRecordsNothing() {
        try (Arena arena = Arena.ofConfined(); GcMetadata metadata = new GcMetadata(HEAP_BYTES, 4096)) {
            MemorySegment view = arena.allocate(HEAP_BYTES, 4096);
            BlackAllocation black = new BlackAllocation(viewOnly(view), metadata.objectStarts());
            black.begin(0x2000);
            view.set(ValueLayout.JAVA_LONG_UNALIGNED, 0x1000, ObjectLayout.headerWord(3, 0));
            black.tlabRetired(0x1000, 0x1018);
            assertEquals(false, metadata.objectStarts().isStart(0x1000));
        }
    }

    /** A heap binding with only a view (every other method fails). */
    private static HeapBinding viewOnly(MemorySegment view) {
        return (HeapBinding) Proxy.newProxyInstance(HeapBinding.class.getClassLoader(), new Class<?>[] {HeapBinding.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("view")) {
                        return view;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
