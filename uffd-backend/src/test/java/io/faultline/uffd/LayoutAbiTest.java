package io.faultline.uffd;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.PageProtocol;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.LatencyBuckets;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.PageStates;
import io.faultline.meta.PoisonPage;
import io.faultline.meta.TraceRing;
import io.faultline.model.ObjectLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The layouts shared by Java and C agree constant by constant: every public static numeric
 * constant of {@link ControlBlock}, {@link PageStates}, {@link TraceRing} and {@link LatencyBuckets},
 * and the object-layout, metadata and page-protocol
 * constants the native code uses, is compared with the value {@code layout.h} gives it
 * ({@code fl_layout_constant}). A constant the C side does not know is an error too, so a new
 * control-block word cannot be added on one side only.
 */
class LayoutAbiTest {
    private static final long UNKNOWN = Long.MIN_VALUE;

    @Test
    void everySharedConstantHasTheSameValueInC() throws Throwable {
        Assumptions.assumeTrue(NativeLibrary.isLoaded(), () -> "native library: " + NativeLibrary.failureReason());
        MethodHandle lookup = NativeLibrary.downcall("fl_layout_constant", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        List<String> checked = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (Class<?> c : List.of(ControlBlock.class, PageStates.class, TraceRing.class, LatencyBuckets.class)) {
                for (Field f : c.getFields()) {
                    if (Modifier.isStatic(f.getModifiers()) && (f.getType() == long.class || f.getType() == int.class)) {
                        compare(lookup, arena, c.getSimpleName() + "." + f.getName(), ((Number) f.get(null)).longValue(), checked, wrong);
                    }
                }
            }
            compare(lookup, arena, "ObjectLayout.WORD_BYTES", ObjectLayout.WORD_BYTES, checked, wrong);
            compare(lookup, arena, "ObjectLayout.HEADER_BYTES", ObjectLayout.HEADER_BYTES, checked, wrong);
            compare(lookup, arena, "ObjectLayout.REF_BYTES", ObjectLayout.REF_BYTES, checked, wrong);
            compare(lookup, arena, "ObjectLayout.MIN_OBJECT_WORDS", ObjectLayout.MIN_OBJECT_WORDS, checked, wrong);
            compare(lookup, arena, "ObjectLayout.MAGIC", ObjectLayout.MAGIC, checked, wrong);
            compare(lookup, arena, "ObjectLayout.TYPE_NULL_GUARD", ObjectLayout.TYPE_NULL_GUARD, checked, wrong);
            compare(lookup, arena, "ObjectLayout.TYPE_FILLER", ObjectLayout.TYPE_FILLER, checked, wrong);
            compare(lookup, arena, "ObjectLayout.ONE_WORD_FILLER", ObjectLayout.ONE_WORD_FILLER, checked, wrong);
            compare(lookup, arena, "MetadataDescriptor.LOG_CHUNK_BYTES", MetadataDescriptor.LOG_CHUNK_BYTES, checked, wrong);
            compare(lookup, arena, "MetadataDescriptor.NO_OBJECT", MetadataDescriptor.NO_OBJECT, checked, wrong);
            compare(lookup, arena, "PoisonPage.BYTE", Byte.toUnsignedLong(PoisonPage.BYTE), checked, wrong);
            compare(lookup, arena, "PageProtocol.CLAIM_AHEAD_PAGES", PageProtocol.CLAIM_AHEAD_PAGES, checked, wrong);
            compare(lookup, arena, "PageProtocol.HINT_FOLLOW_RUNS", PageProtocol.HINT_FOLLOW_RUNS, checked, wrong);
            compare(lookup, arena, "PageProtocol.HINT_RUN_FAULT_RUNS", PageProtocol.HINT_RUN_FAULT_RUNS, checked, wrong);
        }
        assertTrue(wrong.isEmpty(), "Java and C disagree: " + wrong);
        assertTrue(checked.size() > 80, "too few constants compared: " + checked);
        assertEquals(ControlBlock.BYTES, checkedValue(checked, "ControlBlock.BYTES"));
        assertEquals(64, checkedValue(checked, "TraceRing.RECORD_BYTES"));
    }

    /** C's fl_hist_bucket and LatencyBuckets.bucket put every latency in the same bucket, at every bucket edge. */
    @Test
    void latencyBucketsAreTheSameInC() throws Throwable {
        Assumptions.assumeTrue(NativeLibrary.isLoaded(), () -> "native library: " + NativeLibrary.failureReason());
        MethodHandle bucket = NativeLibrary.downcall("fl_latency_bucket", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        List<Long> values = new ArrayList<>(List.of(0L, 1L, 31L, 32L, 63L, 64L, 65L, 1000L, 35_000L, 1L << 39, (1L << 40) - 1,
            1L << 40, Long.MAX_VALUE));
        for (int b = 0; b < LatencyBuckets.BUCKETS - 1; b++) {
            values.add(LatencyBuckets.lowest(b));
            values.add(LatencyBuckets.highest(b));
            assertEquals(b, LatencyBuckets.bucket(LatencyBuckets.lowest(b)), "lowest of bucket " + b);
            assertEquals(b, LatencyBuckets.bucket(LatencyBuckets.highest(b)), "highest of bucket " + b);
        }
        for (long v : values) {
            assertEquals(LatencyBuckets.bucket(v), (int) bucket.invokeExact(v), "bucket of " + v);
        }
    }

    private static void compare(MethodHandle lookup, Arena arena, String name, long java, List<String> checked,
                                List<String> wrong) throws Throwable {
        long c = (long) lookup.invokeExact(arena.allocateFrom(name));
        if (c == UNKNOWN) {
            wrong.add(name + " is unknown to layout.h");
        } else if (c != java) {
            wrong.add(name + ": Java " + java + ", C " + c);
        }
        checked.add(name + "=" + java);
    }

    private static long checkedValue(List<String> checked, String name) {
        return checked.stream().filter(s -> s.startsWith(name + "=")).mapToLong(s -> Long.parseLong(s.substring(name.length() + 1)))
            .findFirst().orElse(-1);
    }
}
