package io.faultline.testing;

import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import java.util.SplittableRandom;

/** The object kinds random programs allocate: small and wide user types, and every array kind. */
public final class TestTypes {
    private TestTypes() {}

    public static final ObjectType NODE = ObjectType.builder("test.Node").refs("a", "b").i32("x").i64("y").build();
    public static final ObjectType WIDE = ObjectType.builder("test.Wide").refs("r0", "r1", "r2", "r3", "r4")
            .f64("d").bytes("blob", 13).build();
    public static final ObjectType LEAF = ObjectType.builder("test.Leaf").i64("v").build();

    public enum Kind { NODE, WIDE, LEAF, REF_ARRAY, INT_ARRAY, LONG_ARRAY, BYTE_ARRAY, DOUBLE_ARRAY }

    /** A request to allocate: kind and length (arrays). */
    public record Shape(Kind kind, int length) {
        int refCount() {
            return switch (kind) {
                case NODE -> 2;
                case WIDE -> 5;
                case REF_ARRAY -> length;
                default -> 0;
            };
        }

        int dataBytes() {
            return switch (kind) {
                case NODE -> (int) NODE.dataBytes();
                case WIDE -> (int) WIDE.dataBytes();
                case LEAF -> (int) LEAF.dataBytes();
                case REF_ARRAY -> 0;
                case INT_ARRAY -> 4 * length;
                case LONG_ARRAY, DOUBLE_ARRAY -> 8 * length;
                case BYTE_ARRAY -> length;
            };
        }

        /** Offset of the data area from the object start. */
        long dataBegin() {
            return ObjectLayout.dataOffset(refCount());
        }

        int typeId() {
            return switch (kind) {
                case NODE -> NODE.id();
                case WIDE -> WIDE.id();
                case LEAF -> LEAF.id();
                case REF_ARRAY -> ObjectLayout.TYPE_REF_ARRAY;
                case INT_ARRAY -> ObjectLayout.TYPE_INT_ARRAY;
                case LONG_ARRAY -> ObjectLayout.TYPE_LONG_ARRAY;
                case BYTE_ARRAY -> ObjectLayout.TYPE_BYTE_ARRAY;
                case DOUBLE_ARRAY -> ObjectLayout.TYPE_DOUBLE_ARRAY;
            };
        }
    }

    /**
     * A random shape: mostly small objects, arrays that cross 64-word chunk boundaries, and now
     * and then one several pages long.
     */
    public static Shape randomShape(SplittableRandom r) {
        int p = r.nextInt(100);
        if (p < 30) {
            return new Shape(Kind.NODE, 0);
        } else if (p < 42) {
            return new Shape(Kind.WIDE, 0);
        } else if (p < 55) {
            return new Shape(Kind.LEAF, 0);
        } else if (p < 72) {
            return new Shape(Kind.REF_ARRAY, r.nextInt(0, 80));
        } else if (p < 80) {
            return new Shape(Kind.INT_ARRAY, r.nextInt(0, 300));
        } else if (p < 87) {
            return new Shape(Kind.BYTE_ARRAY, r.nextInt(0, 70));
        } else if (p < 93) {
            return new Shape(Kind.DOUBLE_ARRAY, r.nextInt(0, 40));
        } else if (p < 98) {
            return new Shape(Kind.LONG_ARRAY, r.nextInt(0, 64));
        } else {
            return new Shape(Kind.LONG_ARRAY, r.nextInt(600, 2600)); // 5..20 KiB: spans pages
        }
    }

    /** Allocates {@code s} on the heap (a safepoint: raw references die). */
    static int allocate(Mutator m, Shape s) {
        return switch (s.kind()) {
            case NODE -> m.allocate(NODE);
            case WIDE -> m.allocate(WIDE);
            case LEAF -> m.allocate(LEAF);
            case REF_ARRAY -> m.allocateRefArray(s.length());
            case INT_ARRAY -> m.allocateIntArray(s.length());
            case LONG_ARRAY -> m.allocateLongArray(s.length());
            case BYTE_ARRAY -> m.allocateByteArray(s.length());
            case DOUBLE_ARRAY -> m.allocateDoubleArray(s.length());
        };
    }
}
