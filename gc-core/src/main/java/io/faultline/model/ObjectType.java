package io.faultline.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A layout descriptor for a user-defined fixed-shape object: a name, named reference slots and
 * named primitive fields. Instances are immutable and get a process-wide type id when built; a
 * heap registers a type in its {@link TypeRegistry} on first allocation. See {@link ObjectLayout} for the encoding.
 *
 * <pre>{@code
 * ObjectType node = ObjectType.builder("Node").ref("left").ref("right").i32("item").build();
 * int left  = node.refSlot("left");     // slot index for getRef/setRef
 * long item = node.field("item");       // byte offset for getInt/setInt
 * }</pre>
 *
 * Primitive fields are laid out in declaration order, each aligned to its own size.
 */
public final class ObjectType {
    private final String name;
    private final List<String> refNames;
    private final Map<String, Long> fieldOffsets;
    private final Map<String, Integer> fieldSizes;
    private final long dataBytes;
    private static final java.util.concurrent.atomic.AtomicInteger NEXT_ID =
            new java.util.concurrent.atomic.AtomicInteger(ObjectLayout.FIRST_USER_TYPE);
    private final int id;
    private final int refSlots;
    /** An instance's two header words, computed once: allocation writes them as they are. */
    private final long headerWord;
    private final long classWord;

    private ObjectType(String name, List<String> refNames, Map<String, Long> fieldOffsets,
                       Map<String, Integer> fieldSizes, long dataBytes) {
        this.name = name;
        this.refNames = List.copyOf(refNames);
        this.fieldOffsets = Map.copyOf(fieldOffsets);
        this.fieldSizes = Map.copyOf(fieldSizes);
        this.dataBytes = dataBytes;
        this.id = NEXT_ID.getAndIncrement();
        if (id > ObjectLayout.MAX_TYPE_ID) {
            throw new IllegalStateException("too many object types in this process: ids are 16 bits");
        }
        this.refSlots = this.refNames.size();
        this.headerWord = ObjectLayout.headerWord(ObjectLayout.objectWords(refSlots, dataBytes), refSlots);
        this.classWord = ObjectLayout.classWord(id, 0);
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    /** The type id stored in every instance's class word; unique in this process. */
    public int id() {
        return id;
    }

    public int refSlots() {
        return refSlots;
    }

    public long dataBytes() {
        return dataBytes;
    }

    public long sizeWords() {
        return ObjectLayout.sizeWords(headerWord);
    }

    /** The first header word of every instance ({@link ObjectLayout#headerWord}: size and reference count). */
    public long headerWord() {
        return headerWord;
    }

    /** The second header word of every instance ({@link ObjectLayout#classWord}: type id, length 0, magic). */
    public long classWord() {
        return classWord;
    }

    public String refName(int slot) {
        return refNames.get(slot);
    }

    /** Index of the named reference slot. */
    public int refSlot(String refName) {
        int i = refNames.indexOf(refName);
        if (i < 0) {
            throw new IllegalArgumentException("type " + name + " has no reference slot '" + refName + "' (has " + refNames + ")");
        }
        return i;
    }

    /**
     * Byte offset of the named primitive field from the object start: what the mutator's
     * {@code getInt/setInt/...} take.
     */
    public long field(String fieldName) {
        Long off = fieldOffsets.get(fieldName);
        if (off == null) {
            throw new IllegalArgumentException("type " + name + " has no field '" + fieldName + "' (has " + fieldOffsets.keySet() + ")");
        }
        return ObjectLayout.dataOffset(refSlots()) + off;
    }

    /** Name of the field at object offset {@code offset}, or {@code "offset N"} when none starts there. */
    public String fieldNameAt(long offset) {
        long rel = offset - ObjectLayout.dataOffset(refSlots());
        for (Map.Entry<String, Long> e : fieldOffsets.entrySet()) {
            if (e.getValue() == rel) {
                return e.getKey();
            }
        }
        return "offset " + offset;
    }

    @Override
    public String toString() {
        return name + "#" + id + "{refs=" + refNames + ", dataBytes=" + dataBytes + "}";
    }

    /** Builds an {@link ObjectType}; names must be unique within the type. */
    public static final class Builder {
        private final String name;
        private final List<String> refs = new ArrayList<>();
        private final Map<String, Long> offsets = new LinkedHashMap<>();
        private final Map<String, Integer> sizes = new LinkedHashMap<>();
        private long data;

        private Builder(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("type name must be non-empty");
            }
            this.name = name;
        }

        public Builder ref(String refName) {
            checkNew(refName);
            refs.add(refName);
            return this;
        }

        public Builder refs(String... refNames) {
            for (String r : refNames) {
                ref(r);
            }
            return this;
        }

        public Builder i8(String field) {
            return prim(field, 1);
        }

        public Builder i32(String field) {
            return prim(field, 4);
        }

        public Builder i64(String field) {
            return prim(field, 8);
        }

        public Builder f64(String field) {
            return prim(field, 8);
        }

        /** A raw byte range of {@code bytes} bytes, read and written with the byte-range accessors. */
        public Builder bytes(String field, int bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("field " + field + ": byte range length must be positive, got " + bytes);
            }
            return prim(field, bytes);
        }

        private Builder prim(String field, int size) {
            checkNew(field);
            int align = Math.min(size, 8);
            if (Integer.bitCount(align) != 1) {
                align = 1;
            }
            data = (data + align - 1) & -align;
            offsets.put(field, data);
            sizes.put(field, size);
            data += size;
            return this;
        }

        private void checkNew(String n) {
            if (n == null || n.isBlank()) {
                throw new IllegalArgumentException("type " + name + ": field names must be non-empty");
            }
            if (refs.contains(n) || offsets.containsKey(n)) {
                throw new IllegalArgumentException("type " + name + ": duplicate field '" + n + "'");
            }
        }

        public ObjectType build() {
            return new ObjectType(name, refs, offsets, sizes, data);
        }
    }
}
