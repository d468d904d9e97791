package io.faultline.testing;

import static io.faultline.testing.TestTypes.Kind;

import io.faultline.heap.Heap;
import io.faultline.heap.HeapExhaustedException;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.testing.TestTypes.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded random program of allocate / link / unlink / move / write / drop-root / stash /
 * collect steps, run at once against a {@link Mutator} and against a plain-Java reference model
 * of the same graph. "Move" and "stash" are the lost-object race's pattern (a reference is copied
 * into another object, a handle or a global root, then the slot it came from is cleared), which
 * concurrent marking must survive whenever it meets them mid-way.
 * {@link #checkGraph()} compares the whole graph reachable from this program's roots: shape,
 * reference identity (a bijection between model objects and heap references) and every data
 * byte. Any difference throws an {@link AssertionError} naming the path to it.
 *
 * <p>One program belongs to one mutator thread. Objects in {@code shared} (held by global roots)
 * may be linked to but are never written, so several programs can run on one heap at once.
 */
public final class RandomProgram {
    private final Heap heap;
    private final Mutator m;
    private final SplittableRandom r;
    private final int maxRoots;
    private final int base;
    private final List<ModelObject> roots = new ArrayList<>();
    /** Global roots this program added (slot, model object); at most {@link #MAX_GLOBALS}. */
    private final List<Integer> globalSlots = new ArrayList<>();
    private final List<ModelObject> globalModel = new ArrayList<>();
    private static final int MAX_GLOBALS = 6;
    private final List<ModelObject> sharedModel;
    private final int[] sharedSlots;
    private long lastCheckedCycle;
    private long ops;
    private long collectsRequested;
    private long exhausted;

    /**
     * @param shared      model twins of shared objects, or empty
     * @param sharedSlots global-root slots holding them, same order
     */
    public RandomProgram(Heap heap, Mutator m, long seed, int maxRoots, List<ModelObject> shared, int[] sharedSlots) {
        this.heap = heap;
        this.m = m;
        this.r = new SplittableRandom(seed);
        this.maxRoots = maxRoots;
        this.base = m.handleMark();
        this.sharedModel = shared;
        this.sharedSlots = sharedSlots;
    }

    public long exhaustedCount() {
        return exhausted;
    }

    public long collectsRequested() {
        return collectsRequested;
    }

    /**
     * Runs {@code steps} random steps, checking the graph after every collection this thread
     * observes (its own or another thread's). {@code collectPercent} is the chance per step of an
     * explicit collection.
     */
    public void run(int steps, int collectPercent) {
        for (int i = 0; i < steps; i++) {
            step(collectPercent);
            long cycles = heap.stats().gcCycles();
            if (cycles != lastCheckedCycle) {
                lastCheckedCycle = cycles;
                checkGraph();
            }
        }
        checkGraph();
    }

    private void step(int collectPercent) {
        ops++;
        int p = r.nextInt(100);
        try {
            if (p < collectPercent) {
                collectsRequested++;
                m.collect();
            } else if (p < 40) {
                allocate();
            } else if (p < 51) {
                link();
            } else if (p < 57) {
                moveRef();
            } else if (p < 68) {
                writeData();
            } else if (p < 78) {
                readCheck();
            } else if (p < 85) {
                dropRoot();
            } else if (p < 90) {
                rootToReachable();
            } else if (p < 94) {
                stashAndClear(r.nextBoolean());
            } else if (p < 96) {
                dropGlobal();
            } else if (p < 98) {
                heap.requestCollection(); // a concurrent cycle starts while this program goes on
            } else {
                m.poll();
            }
        } catch (HeapExhaustedException e) {
            exhausted++;
            // The heap stays consistent; drop half the roots and go on.
            for (int i = roots.size() / 2; i > 0; i--) {
                removeRoot(r.nextInt(roots.size()));
            }
            while (!globalSlots.isEmpty()) {
                dropGlobal();
            }
        }
    }

    // ---- steps ------------------------------------------------------------------------------

    private void allocate() {
        Shape s = TestTypes.randomShape(r);
        int obj = TestTypes.allocate(m, s);
        ModelObject mo = new ModelObject(s.kind(), s.refCount(), s.dataBytes());
        fillRandom(obj, mo, s);
        if (roots.size() < maxRoots || r.nextInt(4) == 0) {
            if (roots.size() >= maxRoots) {
                removeRoot(r.nextInt(roots.size()));
            }
            m.push(obj);
            roots.add(mo);
            return;
        }
        // Store it in a field of a reachable, writable object (the raw ref is still valid: no
        // allocation or poll happens during the walk).
        Target t = walk(true);
        if (t != null && t.mo.refs.length > 0) {
            int slot = r.nextInt(t.mo.refs.length);
            m.setRef(t.ref, slot, obj);
            t.mo.refs[slot] = mo;
        }
    }

    private void fillRandom(int obj, ModelObject mo, Shape s) {
        int n = mo.data.length;
        if (n == 0) {
            return;
        }
        int len = Math.min(n, r.nextInt(1, 48));
        int at = r.nextInt(n - len + 1);
        byte[] bytes = new byte[len];
        r.nextBytes(bytes);
        m.setBytes(obj, s.dataBegin() + at, bytes, 0, len);
        System.arraycopy(bytes, 0, mo.data, at, len);
    }

    private void link() {
        Target a = walk(true);
        if (a == null || a.mo.refs.length == 0) {
            return;
        }
        int slot = r.nextInt(a.mo.refs.length);
        if (r.nextInt(6) == 0) {
            m.setRef(a.ref, slot, 0);
            a.mo.refs[slot] = null;
            return;
        }
        Target b = r.nextInt(8) == 0 && !sharedModel.isEmpty() ? shared() : walk(false);
        if (b == null) {
            return;
        }
        m.setRef(a.ref, slot, b.ref);
        a.mo.refs[slot] = b.mo;
    }

    /** Copies a reference into a slot of another reachable object, then clears the slot it came from. */
    private void moveRef() {
        Target a = walk(true);
        if (a == null || a.mo.refs.length == 0) {
            return;
        }
        int from = r.nextInt(a.mo.refs.length);
        ModelObject moved = a.mo.refs[from];
        if (moved == null) {
            return;
        }
        int movedRef = m.getRef(a.ref, from);
        Target b = walk(true);
        if (b == null || b.mo.refs.length == 0) {
            return;
        }
        int to = r.nextInt(b.mo.refs.length);
        m.setRef(b.ref, to, movedRef);
        b.mo.refs[to] = moved;
        m.setRef(a.ref, from, 0);
        a.mo.refs[from] = null;
    }

    /** Takes a reference out of a slot into a new handle or global root, then clears the slot. */
    private void stashAndClear(boolean global) {
        Target a = walk(true);
        if (a == null || a.mo.refs.length == 0) {
            return;
        }
        int from = r.nextInt(a.mo.refs.length);
        ModelObject moved = a.mo.refs[from];
        if (moved == null) {
            return;
        }
        int ref = m.getRef(a.ref, from);
        if (global) {
            if (globalSlots.size() == MAX_GLOBALS) {
                dropGlobal();
            }
            globalSlots.add(heap.globals().add(ref));
            globalModel.add(moved);
        } else {
            if (roots.size() >= maxRoots) {
                return;
            }
            m.push(ref);
            roots.add(moved);
        }
        m.setRef(a.ref, from, 0);
        a.mo.refs[from] = null;
    }

    private void dropGlobal() {
        if (!globalSlots.isEmpty()) {
            int i = r.nextInt(globalSlots.size());
            heap.globals().remove(globalSlots.remove(i));
            globalModel.remove(i);
        }
    }

    private void writeData() {
        Target t = walk(true);
        if (t == null || t.mo.data.length == 0) {
            return;
        }
        ModelObject mo = t.mo;
        ByteBuffer bb = ByteBuffer.wrap(mo.data).order(ByteOrder.LITTLE_ENDIAN);
        long v = r.nextLong();
        switch (mo.kind) {
            case NODE -> {
                if (r.nextBoolean()) {
                    m.setInt(t.ref, TestTypes.NODE.field("x"), (int) v);
                    bb.putInt((int) (TestTypes.NODE.field("x") - ObjectLayout.dataOffset(2)), (int) v);
                } else {
                    m.setLong(t.ref, TestTypes.NODE.field("y"), v);
                    bb.putLong((int) (TestTypes.NODE.field("y") - ObjectLayout.dataOffset(2)), v);
                }
            }
            case WIDE -> {
                double d = Double.longBitsToDouble(v);
                m.setDouble(t.ref, TestTypes.WIDE.field("d"), d);
                bb.putLong((int) (TestTypes.WIDE.field("d") - ObjectLayout.dataOffset(5)), Double.doubleToRawLongBits(d));
            }
            case LEAF -> {
                m.setLong(t.ref, TestTypes.LEAF.field("v"), v);
                bb.putLong(0, v);
            }
            case INT_ARRAY -> {
                int i = r.nextInt(mo.data.length / 4);
                m.setIntAt(t.ref, i, (int) v);
                bb.putInt(4 * i, (int) v);
            }
            case LONG_ARRAY -> {
                int i = r.nextInt(mo.data.length / 8);
                m.setLongAt(t.ref, i, v);
                bb.putLong(8 * i, v);
            }
            case DOUBLE_ARRAY -> {
                int i = r.nextInt(mo.data.length / 8);
                double d = Double.longBitsToDouble(v);
                m.setDoubleAt(t.ref, i, d);
                bb.putLong(8 * i, Double.doubleToRawLongBits(d));
            }
            case BYTE_ARRAY -> {
                int i = r.nextInt(mo.data.length);
                m.setByteAt(t.ref, i, (byte) v);
                mo.data[i] = (byte) v;
            }
            case REF_ARRAY -> { }
        }
    }

    private void readCheck() {
        Target t = walk(false);
        if (t != null) {
            compareObject(t.mo, t.ref, "walk");
        }
    }

    private void dropRoot() {
        if (!roots.isEmpty()) {
            removeRoot(r.nextInt(roots.size()));
        }
    }

    private void rootToReachable() {
        Target t = walk(false);
        if (t != null && !roots.isEmpty()) {
            int i = r.nextInt(roots.size());
            m.setHandle(base + i, t.ref);
            roots.set(i, t.mo);
        }
    }

    private void removeRoot(int i) {
        int last = roots.size() - 1;
        m.setHandle(base + i, m.handle(base + last));
        roots.set(i, roots.get(last));
        roots.remove(last);
        m.popTo(base + last);
    }

    // ---- walking ------------------------------------------------------------------------------

    private record Target(ModelObject mo, int ref) {}

    private Target shared() {
        int i = r.nextInt(sharedModel.size());
        return new Target(sharedModel.get(i), heap.globals().get(sharedSlots[i]));
    }

    /** A random object reachable from a root, walking up to 4 random non-null references. */
    private Target walk(boolean writable) {
        if (roots.isEmpty()) {
            return null;
        }
        int i = r.nextInt(roots.size());
        ModelObject mo = roots.get(i);
        int ref = m.handle(base + i);
        if (mo == null) {
            return null;
        }
        for (int steps = r.nextInt(5); steps > 0 && mo.refs.length > 0; steps--) {
            int slot = r.nextInt(mo.refs.length);
            ModelObject next = mo.refs[slot];
            if (next == null || (writable && next.shared)) {
                break;
            }
            ref = m.getRef(ref, slot);
            mo = next;
        }
        if (writable && mo.shared) {
            return null;
        }
        return new Target(mo, ref);
    }

    // ---- comparison ----------------------------------------------------------------------------

    /** Compares everything reachable from this program's roots with the model. */
    public void checkGraph() {
        Map<ModelObject, Integer> m2h = new IdentityHashMap<>();
        Map<Integer, ModelObject> h2m = new HashMap<>();
        ArrayDeque<Object[]> work = new ArrayDeque<>();
        for (int i = 0; i < roots.size(); i++) {
            work.add(new Object[] {roots.get(i), m.handle(base + i), "root" + i});
        }
        for (int i = 0; i < globalSlots.size(); i++) {
            work.add(new Object[] {globalModel.get(i), heap.globals().get(globalSlots.get(i)), "global" + i});
        }
        while (!work.isEmpty()) {
            Object[] w = work.poll();
            ModelObject mo = (ModelObject) w[0];
            int ref = (Integer) w[1];
            String path = (String) w[2];
            if (mo == null) {
                check(ref == 0, path, "model null but heap holds 0x" + Integer.toHexString(ref));
                continue;
            }
            check(ref != 0, path, "heap null but model holds a " + mo.kind);
            Integer seen = m2h.get(mo);
            if (seen != null) {
                check(seen == ref, path, "one model object is two heap objects: 0x" + Integer.toHexString(seen)
                        + " and 0x" + Integer.toHexString(ref));
                continue;
            }
            ModelObject other = h2m.get(ref);
            check(other == null, path, "two model objects share heap object 0x" + Integer.toHexString(ref));
            m2h.put(mo, ref);
            h2m.put(ref, mo);
            compareObject(mo, ref, path);
            for (int s = 0; s < mo.refs.length; s++) {
                work.add(new Object[] {mo.refs[s], m.getRef(ref, s), path + "." + s});
            }
        }
    }

    private void compareObject(ModelObject mo, int ref, String path) {
        Shape s = new Shape(mo.kind, mo.kind == Kind.REF_ARRAY ? mo.refs.length : lengthOf(mo));
        check(m.typeId(ref) == s.typeId(), path, "type id " + m.typeId(ref) + ", model " + mo.kind);
        if (mo.kind.ordinal() >= Kind.REF_ARRAY.ordinal()) {
            check(m.length(ref) == s.length(), path, "length " + m.length(ref) + ", model " + s.length());
        }
        if (mo.data.length > 0) {
            byte[] got = new byte[mo.data.length];
            m.getBytes(ref, s.dataBegin(), got, 0, got.length);
            for (int i = 0; i < got.length; i++) {
                if (got[i] != mo.data[i]) {
                    check(false, path, "data byte " + i + " is " + got[i] + ", model " + mo.data[i]);
                }
            }
        }
    }

    private static int lengthOf(ModelObject mo) {
        return switch (mo.kind) {
            case INT_ARRAY -> mo.data.length / 4;
            case LONG_ARRAY, DOUBLE_ARRAY -> mo.data.length / 8;
            case BYTE_ARRAY -> mo.data.length;
            default -> 0;
        };
    }

    private void check(boolean ok, String path, String what) {
        if (!ok) {
            throw new AssertionError("graph mismatch at " + path + " after " + ops + " steps (GC cycle "
                    + heap.stats().gcCycles() + "): " + what);
        }
    }

    // ---- shared objects ---------------------------------------------------------------------------

    /**
     * Builds {@code n} small shared, never-written objects (a chain of nodes with data), roots
     * each in a global root, and returns their model twins; slots go to {@code slotsOut}.
     */
    public static List<ModelObject> buildShared(Mutator m, int n, long seed, int[] slotsOut) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ModelObject> model = new ArrayList<>();
        ModelObject prev = null;
        int prevSlot = -1;
        for (int i = 0; i < n; i++) {
            int obj = m.allocate(TestTypes.NODE);
            ModelObject mo = new ModelObject(Kind.NODE, 2, (int) TestTypes.NODE.dataBytes());
            mo.shared = true;
            long v = r.nextLong();
            m.setLong(obj, TestTypes.NODE.field("y"), v);
            ByteBuffer.wrap(mo.data).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong((int) (TestTypes.NODE.field("y") - ObjectLayout.dataOffset(2)), v);
            if (prev != null) {
                m.setRef(obj, 0, m.heap().globals().get(prevSlot));
                mo.refs[0] = prev;
            }
            int slot = m.heap().globals().add(obj);
            slotsOut[i] = slot;
            model.add(mo);
            prev = mo;
            prevSlot = slot;
        }
        return model;
    }
}
