package io.faultline.model;

import java.util.Arrays;

/**
 * The user types known to one heap, by id. Built-in ids (null guard, filler, arrays) are fixed by
 * {@link ObjectLayout}; user types carry their own process-wide id ({@link ObjectType#id()}).
 *
 * <p><b>Threading:</b> {@link #register} is synchronized; lookups are lock-free reads of a
 * copy-on-write array, safe from any thread.
 */
public final class TypeRegistry {
    private volatile ObjectType[] byId = new ObjectType[ObjectLayout.FIRST_USER_TYPE];

    /** Registers {@code type}; idempotent. */
    public synchronized void register(ObjectType type) {
        int id = type.id();
        ObjectType[] a = byId;
        if (id < a.length && a[id] == type) {
            return;
        }
        ObjectType[] next = Arrays.copyOf(a, Math.max(a.length, id + 1));
        next[id] = type;
        byId = next;
    }

    /** True if {@code type} is registered here. Lock-free. */
    public boolean contains(ObjectType type) {
        ObjectType[] a = byId;
        int id = type.id();
        return id < a.length && a[id] == type;
    }

    /** The user type with this id, or null for a built-in or unknown id. */
    public ObjectType get(int id) {
        ObjectType[] a = byId;
        return id >= 0 && id < a.length ? a[id] : null;
    }

    /** True for the id of a built-in kind or a registered user type. */
    public boolean isKnown(int id) {
        return (id >= ObjectLayout.TYPE_NULL_GUARD && id <= ObjectLayout.TYPE_DOUBLE_ARRAY) || get(id) != null;
    }

    /** Human-readable name of a type id, for error messages and verifier reports. */
    public String nameOf(int id) {
        return switch (id) {
            case ObjectLayout.TYPE_NULL_GUARD -> "<null-guard>";
            case ObjectLayout.TYPE_FILLER -> "<filler>";
            case ObjectLayout.TYPE_REF_ARRAY -> "ref[]";
            case ObjectLayout.TYPE_BYTE_ARRAY -> "byte[]";
            case ObjectLayout.TYPE_INT_ARRAY -> "int[]";
            case ObjectLayout.TYPE_LONG_ARRAY -> "long[]";
            case ObjectLayout.TYPE_DOUBLE_ARRAY -> "double[]";
            default -> {
                ObjectType t = get(id);
                yield t == null ? "<unknown type " + id + ">" : t.name();
            }
        };
    }

    /** Element size of a primitive array type id, 0 for anything else. */
    public static int elementBytes(int id) {
        return switch (id) {
            case ObjectLayout.TYPE_BYTE_ARRAY -> 1;
            case ObjectLayout.TYPE_INT_ARRAY -> 4;
            case ObjectLayout.TYPE_LONG_ARRAY, ObjectLayout.TYPE_DOUBLE_ARRAY -> 8;
            default -> 0;
        };
    }
}
