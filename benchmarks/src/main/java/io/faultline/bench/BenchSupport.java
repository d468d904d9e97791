package io.faultline.bench;

import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectLayout;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import io.faultline.uffd.UffdProbe;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.HdrHistogram.Histogram;

/**
 * What the benchmarks and {@code faultline compare} share: backend names, availability (with the
 * probe's reason), heap creation, and a {@link LiveSet} whose top pages can be touched one by one.
 */
public final class BenchSupport {
    /** The backends compared, in table order: the java backend and the three uffd delivery modes. */
    public static final List<String> BACKENDS = List.of("java", "copy", "continue", "move");
    /** Bytes per live object of a {@link LiveSet}: 8 objects per 4 KiB page. */
    public static final int OBJECT_BYTES = 512;
    private static final int OBJECT_LONGS = (OBJECT_BYTES - ObjectLayout.HEADER_BYTES) / 8;
    private static final int PER_HOLDER = 1024;

    private static volatile UffdProbe.Report probe;
    /** Why a (mode, options) combination cannot run here ("" if it can), tried once per JVM. */
    private static final Map<String, String> TRIED = new ConcurrentHashMap<>();
    private static final long ORDER_SENTINEL = 0x5eed_f00d_dead_beefL;
    static volatile long orderSink;

    private BenchSupport() {
    }

    /** A backend that cannot run here: one line, no stack trace (JMH prints it and goes on). */
    public static final class Skipped extends RuntimeException {
        public Skipped(String message) {
            super(message, null, false, false);
        }
    }

    /** The probe's findings, probed once per JVM. */
    public static UffdProbe.Report probe() {
        UffdProbe.Report p = probe;
        if (p == null) {
            p = UffdProbe.probe();
            probe = p;
        }
        return p;
    }

    /** The uffd mode of a backend name, or null for {@code java}. */
    public static UffdProbe.Mode mode(String backend) {
        if (backend.equals("java")) {
            return null;
        }
        if (!BACKENDS.contains(backend)) {
            throw new IllegalArgumentException("backend '" + backend + "' is not one of " + BACKENDS);
        }
        return UffdProbe.Mode.valueOf(backend.toUpperCase(Locale.ROOT));
    }

    /** Null if {@code backend} can run here, else the probe's reason why not. */
    public static String unavailableReason(String backend) {
        UffdProbe.Mode mode = mode(backend);
        if (mode == null) {
            return null;
        }
        UffdProbe.ModeStatus s = probe().mode(mode);
        return s.available() ? null : "uffd " + mode + " unavailable: " + s.detail();
    }

    /**
     * Null if {@code backend} can run here with {@code options} (null: the defaults; the java
     * backend takes none but the defaults), else why not, in one line: the probe's reason, the
     * mode's refusal of the page supply ({@link UffdOptions#check}), or what the backend said when
     * a small heap was created with these options (e.g. a delivery it does not implement yet).
     */
    public static String unavailableReason(String backend, UffdOptions options) {
        UffdProbe.Mode mode = mode(backend);
        if (mode == null) {
            if (options != null && !options.equals(UffdOptions.defaults().withBackstop(options.backstop()))) {
                return "delivery and page supply apply to the uffd modes, not the java backend";
            }
            return null;
        }
        String why = unavailableReason(backend);
        if (why != null || options == null) {
            return why;
        }
        try {
            options.check(mode);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (options.delivery() == UffdOptions.Delivery.SIGBUS && !probe().sigbusAvailable()) {
            return "UFFD_FEATURE_SIGBUS unavailable: " + probe().sigbusDetail();
        }
        String key = mode + "/" + options.delivery() + "/" + options.supply();
        String tried = TRIED.computeIfAbsent(key, k -> tryBackend(mode, options));
        return tried.isEmpty() ? null : tried;
    }

    /** Creates and closes a 16-page backend with {@code options}: "" if that works, else the reason. */
    private static String tryBackend(UffdProbe.Mode mode, UffdOptions options) {
        int pageSize = HeapConfig.osPageSize();
        try {
            new UffdBackend(mode, options, 16L * pageSize, pageSize).close();
            return "";
        } catch (RuntimeException e) {
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            return options.delivery().label() + " delivery: " + message;
        }
    }

    /** Throws {@link Skipped} with the probe's reason if {@code backend} cannot run here. */
    public static void requireAvailable(String backend) {
        requireAvailable(backend, null);
    }

    /** Throws {@link Skipped} with the reason if {@code backend} cannot run here with {@code options} (null: defaults). */
    public static void requireAvailable(String backend, UffdOptions options) {
        String why = unavailableReason(backend, options);
        if (why != null) {
            throw new Skipped("skipped backend " + backend + (options == null ? "" : " (" + describe(options) + ")") + ": " + why);
        }
    }

    /** {@code delivery thread, supply fresh}. */
    public static String describe(UffdOptions options) {
        return "delivery " + options.delivery().label() + ", supply " + options.supply().label();
    }

    /** Parses a delivery name ({@code thread}, {@code sigbus}); IllegalArgumentException naming the choices. */
    public static UffdOptions.Delivery delivery(String name) {
        for (UffdOptions.Delivery d : UffdOptions.Delivery.values()) {
            if (d.label().equals(name.toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not one of " + labels(UffdOptions.Delivery.values()));
    }

    /** Parses a page supply name ({@code fresh}, {@code recycle}, {@code keep}, {@code fallocate}). */
    public static UffdOptions.PageSupply supply(String name) {
        for (UffdOptions.PageSupply s : UffdOptions.PageSupply.values()) {
            if (s.label().equals(name.toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not one of " + labels(UffdOptions.PageSupply.values()));
    }

    /** Which page supply each uffd mode takes, e.g. {@code continue: fresh, keep, fallocate; copy: fresh; ...}. */
    public static String supplyChoices() {
        List<String> parts = new java.util.ArrayList<>();
        for (UffdProbe.Mode m : UffdProbe.Mode.values()) {
            parts.add(m.name().toLowerCase(Locale.ROOT) + ": " + String.join(", ", java.util.Arrays.stream(UffdOptions.PageSupply.values())
                    .filter(s -> s.appliesTo(m)).map(UffdOptions.PageSupply::label).toList()));
        }
        return String.join("; ", parts);
    }

    private static String labels(Enum<?>[] values) {
        return String.join(", ", java.util.Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT)).toList());
    }

    /**
     * JMH parameters {@code delivery} and {@code supply} as options: the defaults with them, or null
     * for the java backend with {@code thread}/{@code fresh} (the only values it takes).
     */
    public static UffdOptions options(String backend, String delivery, String supply) {
        UffdOptions o = UffdOptions.defaults().withDelivery(delivery(delivery)).withSupply(supply(supply));
        return mode(backend) == null && o.equals(UffdOptions.defaults()) ? null : o;
    }

    public static HeapBackend.Factory factory(String backend) {
        return factory(backend, null);
    }

    /** The backend's factory with {@code options} (null: the defaults). */
    public static HeapBackend.Factory factory(String backend, UffdOptions options) {
        UffdProbe.Mode mode = mode(backend);
        if (mode == null) {
            return JavaBackend.factory();
        }
        return options == null ? UffdBackend.factory(mode) : UffdBackend.factory(mode, options);
    }

    /**
     * A config builder for {@code backend} with {@code options} (null: defaults), concurrent
     * compaction by {@code compactorThreads} threads; callers add run pages, fault-around and the
     * rest. Throws {@link Skipped} if the combination cannot run here.
     */
    public static HeapConfig.Builder config(String backend, UffdOptions options, long capacity, int compactorThreads) {
        requireAvailable(backend, options);
        return HeapConfig.builder()
                .capacity(capacity)
                .backend(factory(backend, options))
                .concurrentCompaction(true)
                .compactorThreads(compactorThreads);
    }

    /** A JMH {@code @Param} of run length or fault-around: {@code default} is the heap's default. */
    public static long pagesParam(String value, long dflt) {
        return value.equals("default") ? dflt : Long.parseLong(value);
    }

    /** A heap on {@code backend} with concurrent compaction by {@code compactorThreads} threads. */
    public static Heap newHeap(String backend, long capacity, int compactorThreads) {
        return newHeap(backend, capacity, compactorThreads, HeapConfig.DEFAULT_COMPACTION_STEP_PAGES);
    }

    /** As above, with the pages per native compaction step ({@link HeapConfig.Builder#compactionStepPages}). */
    public static Heap newHeap(String backend, long capacity, int compactorThreads, long stepPages) {
        return newHeap(backend, capacity, compactorThreads, stepPages, null);
    }

    /** As above; {@code created}, if not null, receives the backend the heap creates. */
    public static Heap newHeap(String backend, long capacity, int compactorThreads, long stepPages,
                               java.util.function.Consumer<HeapBackend> created) {
        HeapConfig.Builder b = config(backend, null, capacity, compactorThreads).compactionStepPages(stepPages);
        if (created != null) {
            HeapBackend.Factory f = factory(backend);
            b.backend((c, ps) -> {
                HeapBackend backendCreated = f.create(c, ps);
                created.accept(backendCreated);
                return backendCreated;
            });
        }
        return Heap.create(b.build());
    }

    /**
     * Faults served so far: the uffd backend's count (service thread plus SIGBUS handler), or the
     * java backend's software faults.
     */
    public static long faults(Heap heap) {
        Map<String, Long> c = heap.backendCounters();
        Long served = c.get("faults");
        return served != null ? served + c.getOrDefault("sigbus_faults", 0L) : heap.stats().faults();
    }

    /** Closes quietly in reverse order of creation (mutator, then heap); nulls are skipped. */
    public static void closeAll(Mutator m, Heap heap) {
        try {
            if (m != null && !m.isClosed() && heap != null && !heap.isClosed()) {
                m.close();
            }
        } finally {
            if (heap != null) {
                heap.close();
            }
        }
    }

    /**
     * A live set of {@code bytes} of 512-byte long[] objects, held by a directory of ref arrays
     * in a global root, plus global roots on one object per top page (highest address first):
     * touching {@link #touch} element 0 of root {@code i} touches a distinct to-space page. The
     * concurrent compactor claims pages in ascending order, so the top pages are the last it
     * reaches: the mutator finds them unmapped right after a pause.
     */
    public static final class LiveSet {
        final Heap heap;
        final int dirSlot;
        final int[] topSlots;
        /** Refs of the top-page objects after the last {@link #refreshTopRefs}. */
        public final int[] topRefs;
        public final long liveBytes;

        private LiveSet(Heap heap, int dirSlot, int[] topSlots, long liveBytes) {
            this.heap = heap;
            this.dirSlot = dirSlot;
            this.topSlots = topSlots;
            this.topRefs = new int[topSlots.length];
            this.liveBytes = liveBytes;
        }

        /**
         * Allocates the set with {@code m} (one garbage object after each live one, so the first
         * cycle really moves objects), runs one full cycle so the layout is final, and roots
         * {@code topPages} objects on distinct top pages.
         */
        public static LiveSet build(Mutator m, long bytes, int topPages) {
            Heap heap = m.heap();
            int objects = (int) Math.max(PER_HOLDER, bytes / OBJECT_BYTES);
            int holders = (objects + PER_HOLDER - 1) / PER_HOLDER;
            int mark = m.handleMark();
            int dirH = m.push(m.allocateRefArray(holders));
            for (int i = 0; i < objects; i++) {
                int slot = i % PER_HOLDER;
                if (slot == 0) {
                    int holder = m.allocateRefArray(PER_HOLDER);
                    m.setRef(m.handle(dirH), i / PER_HOLDER, holder);
                }
                int obj = m.allocateLongArray(OBJECT_LONGS);
                m.setLongAt(obj, 0, i);
                int holder = m.getRef(m.handle(dirH), i / PER_HOLDER);
                m.setRef(holder, slot, obj);
                m.allocateLongArray(OBJECT_LONGS); // garbage
            }
            int dirSlot = heap.globals().add(m.handle(dirH));
            m.popTo(mark);
            m.collect();
            heap.awaitCompaction();
            // Layout is final now (no garbage left): pick one object per page, from the top down.
            int dir = heap.globals().get(dirSlot);
            int[] chosen = new int[topPages];
            int n = 0;
            long lastPage = Long.MAX_VALUE;
            int shift = Integer.numberOfTrailingZeros(heap.config().pageSize());
            for (int i = objects - 1; i >= 0 && n < topPages; i--) {
                int obj = m.getRef(m.getRef(dir, i / PER_HOLDER), i % PER_HOLDER);
                long page = (ObjectLayout.refToOffset(obj) + ObjectLayout.HEADER_BYTES) >>> shift;
                if (page < lastPage) {
                    chosen[n++] = obj;
                    lastPage = page;
                }
            }
            if (n < topPages) {
                throw new IllegalArgumentException("live set of " + bytes + " bytes has only " + n + " pages, need " + topPages);
            }
            int[] slots = new int[topPages];
            for (int i = 0; i < topPages; i++) {
                slots[i] = heap.globals().add(chosen[i]);
            }
            return new LiveSet(heap, dirSlot, slots, (long) objects * OBJECT_BYTES);
        }

        /** Number of live objects. */
        public int objects() {
            return (int) (liveBytes / OBJECT_BYTES);
        }

        /**
         * The raw ref of live object {@code i} (reads the directory: call only when no compaction
         * is in flight, and use the ref only until the next allocation or poll).
         */
        public int objectRef(Mutator m, int i) {
            return m.getRef(m.getRef(heap.globals().get(dirSlot), i / PER_HOLDER), i % PER_HOLDER);
        }

        /** Reads the top-page roots into {@link #topRefs} (no heap access, no allocation). */
        public void refreshTopRefs() {
            for (int i = 0; i < topSlots.length; i++) {
                topRefs[i] = heap.globals().get(topSlots[i]);
            }
        }

        /** Touches (reads) the top page of root {@code i}: the access a mutator makes. */
        public static long touch(Mutator m, int ref) {
            return m.getLongAt(ref, 0);
        }

        /**
         * One timed touch: reads element 0 of {@code ref} between two {@link System#nanoTime()}
         * calls and records the ns in {@code h} (if not null). The JIT may otherwise move a plain
         * off-heap load out of the timed window (the fault then happens, unmeasured, between two
         * samples: seen in practice), so the load's address depends on the first clock read and
         * a branch on the loaded value precedes the second. Allocates nothing.
         */
        public static long timedTouch(Mutator m, int ref, Histogram h) {
            long t0 = System.nanoTime();
            int r = t0 == Long.MIN_VALUE ? ref + 1 : ref; // never taken; orders the load after t0
            long v = m.getLongAt(r, 0);
            if (v == ORDER_SENTINEL) {
                orderSink = v; // never taken; the branch orders the load before t1
            }
            long dt = System.nanoTime() - t0;
            if (h != null) {
                Latencies.record(h, dt);
            }
            return v;
        }
    }
}
