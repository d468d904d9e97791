package io.faultline.verify;

import io.faultline.meta.MetadataDescriptor;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.model.TypeRegistry;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;

/**
 * Walks the used region {@code [base, top)} object by object and checks that every header is
 * well formed (magic, known type, size consistent with the type or array length, inside the used
 * region) and that every reference, in objects and in roots, is null or points at the start of a
 * real object (not a filler, not the null guard, not the middle of an object). With young
 * cycles, also that every object below the old end that references one at or above it, and
 * every survivor that references one at or above the survivors' end, has its card set.
 *
 * <p><b>Assumptions and Guarantees:</b> the caller has stopped the world and every page of the
 * view is mapped. Reads only.
 */
public final class HeapVerifier {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private HeapVerifier() {}

    /**
     * Verifies the objects of {@code [base, top)} (base 0: the null guard first) and the given
     * roots; returns the first problem found, or an OK report.
     */
    public static VerifyReport verify(MemorySegment view, long base, long top, TypeRegistry types, int[] roots, int rootCount) {
        return verify(view, base, top, types, roots, rootCount, 0, 0, null);
    }

    /**
     * As above, and with young cycles' cards ({@code cards}: one byte per
     * {@link MetadataDescriptor#CHUNK_BYTES} of the heap; null, or {@code oldEnd} 0: not
     * checked): every object below {@code oldEnd} that references an object at or above it has
     * its card set, and so has every survivor (an object in {@code [oldEnd, survivorEnd)}) that
     * references an object at or above {@code survivorEnd}.
     */
    public static VerifyReport verify(MemorySegment view, long base, long top, TypeRegistry types, int[] roots, int rootCount,
            long oldEnd, long survivorEnd, byte[] cards) {
        boolean checkCards = cards != null && oldEnd > 0;
        long cardedEnd = Math.max(oldEnd, survivorEnd);
        BitSet starts = new BitSet((int) Math.min(Integer.MAX_VALUE, top >>> 3));
        long objects = 0;
        long off = base;
        // Pass 1: headers, and where objects start.
        while (off < top) {
            long hw = view.get(LONG, off);
            if (hw == ObjectLayout.ONE_WORD_FILLER) {
                off += ObjectLayout.WORD_BYTES;
                continue;
            }
            String bad = checkHeader(view, off, top, types);
            if (bad != null) {
                return new VerifyReport(objects, top, bad, off);
            }
            long cw = view.get(LONG, off + ObjectLayout.WORD_BYTES);
            int t = ObjectLayout.typeId(cw);
            if (t != ObjectLayout.TYPE_FILLER && t != ObjectLayout.TYPE_NULL_GUARD) {
                starts.set((int) (off >>> 3));
                objects++;
            }
            off += ObjectLayout.sizeWords(hw) << 3;
        }
        if (off != top) {
            return new VerifyReport(objects, top, "the last object ends at 0x" + Long.toHexString(off)
                    + ", past the used top 0x" + Long.toHexString(top), off);
        }
        // Pass 2: references.
        off = base;
        while (off < top) {
            long hw = view.get(LONG, off);
            if (hw == ObjectLayout.ONE_WORD_FILLER) {
                off += ObjectLayout.WORD_BYTES;
                continue;
            }
            long refs = ObjectLayout.refCount(hw);
            for (long i = 0; i < refs; i++) {
                int r = view.get(INT, off + ObjectLayout.refSlotOffset(i));
                if (r != 0 && !isStart(starts, r, top)) {
                    return new VerifyReport(objects, top, describe(view, off, types) + " slot " + slotName(view, off, types, i)
                            + " holds 0x" + Integer.toHexString(r) + " (heap offset 0x" + Long.toHexString(ObjectLayout.refToOffset(r))
                            + "), which is not the start of an object", off);
                }
                if (checkCards && off < cardedEnd && r != 0) {
                    boolean old = off < oldEnd;
                    long target = ObjectLayout.refToOffset(r);
                    if (target >= (old ? oldEnd : cardedEnd) && cards[(int) (off >>> MetadataDescriptor.LOG_CHUNK_BYTES)] == 0) {
                        return new VerifyReport(objects, top, "young cycles' cards: " + (old ? "old " : "survivor ")
                                + describe(view, off, types) + " (old end 0x" + Long.toHexString(oldEnd) + ", survivors' end 0x"
                                + Long.toHexString(cardedEnd) + ") slot " + slotName(view, off, types, i) + " holds the "
                                + (old ? "young" : "new") + " object at 0x" + Long.toHexString(target)
                                + ", but its card (" + (off >>> MetadataDescriptor.LOG_CHUNK_BYTES) + ") is clean", off);
                    }
                }
            }
            off += ObjectLayout.sizeWords(hw) << 3;
        }
        for (int i = 0; i < rootCount; i++) {
            int r = roots[i];
            if (r != 0 && !isStart(starts, r, top)) {
                return new VerifyReport(objects, top, "root #" + i + " holds 0x" + Integer.toHexString(r)
                        + ", which is not the start of an object", ObjectLayout.refToOffset(r));
            }
        }
        return new VerifyReport(objects, top, null, -1);
    }

    private static boolean isStart(BitSet starts, int ref, long top) {
        long off = ObjectLayout.refToOffset(ref);
        return off < top && starts.get((int) (off >>> 3));
    }

    private static String checkHeader(MemorySegment view, long off, long top, TypeRegistry types) {
        String at = "object at 0x" + Long.toHexString(off);
        if (off + ObjectLayout.HEADER_BYTES > top) {
            return at + ": header runs past the used top 0x" + Long.toHexString(top);
        }
        long hw = view.get(LONG, off);
        long cw = view.get(LONG, off + ObjectLayout.WORD_BYTES);
        long words = ObjectLayout.sizeWords(hw);
        long refs = ObjectLayout.refCount(hw);
        if (ObjectLayout.magic(cw) != ObjectLayout.MAGIC) {
            return at + ": bad magic 0x" + Integer.toHexString(ObjectLayout.magic(cw)) + " (header 0x"
                    + Long.toHexString(hw) + ", class word 0x" + Long.toHexString(cw) + ")";
        }
        int t = ObjectLayout.typeId(cw);
        String type = types.nameOf(t);
        at = at + " (" + type + ")";
        if (!types.isKnown(t)) {
            return at + ": unknown type id " + t;
        }
        if (words < ObjectLayout.MIN_OBJECT_WORDS) {
            return at + ": size " + words + " words is below the minimum of " + ObjectLayout.MIN_OBJECT_WORDS;
        }
        if (off + (words << 3) > top) {
            return at + ": size " + words + " words runs past the used top 0x" + Long.toHexString(top);
        }
        if (t == ObjectLayout.TYPE_NULL_GUARD && off != 0) {
            return at + ": a null guard away from offset 0";
        }
        if (off == 0 && t != ObjectLayout.TYPE_NULL_GUARD) {
            return at + ": offset 0 must hold the null guard";
        }
        long len = ObjectLayout.length(cw);
        long expectWords;
        ObjectType ut = types.get(t);
        if (ut != null) {
            if (refs != ut.refSlots()) {
                return at + ": " + refs + " reference slots, type has " + ut.refSlots();
            }
            expectWords = ut.sizeWords();
        } else if (t == ObjectLayout.TYPE_REF_ARRAY) {
            if (refs != len) {
                return at + ": length " + len + " but " + refs + " reference slots";
            }
            expectWords = ObjectLayout.objectWords(refs, 0);
        } else if (TypeRegistry.elementBytes(t) > 0) {
            if (refs != 0) {
                return at + ": a primitive array with " + refs + " reference slots";
            }
            expectWords = ObjectLayout.objectWords(0, len * TypeRegistry.elementBytes(t));
        } else {
            if (refs != 0) {
                return at + ": a " + type + " with " + refs + " reference slots";
            }
            expectWords = words;
        }
        if (words != expectWords) {
            return at + ": size " + words + " words, expected " + expectWords;
        }
        return null;
    }

    private static String describe(MemorySegment view, long off, TypeRegistry types) {
        return types.nameOf(ObjectLayout.typeId(view.get(LONG, off + ObjectLayout.WORD_BYTES))) + "@0x" + Long.toHexString(off);
    }

    private static String slotName(MemorySegment view, long off, TypeRegistry types, long slot) {
        ObjectType t = types.get(ObjectLayout.typeId(view.get(LONG, off + ObjectLayout.WORD_BYTES)));
        return t != null && slot < t.refSlots() ? slot + " (" + t.refName((int) slot) + ")" : String.valueOf(slot);
    }
}
