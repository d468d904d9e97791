package io.faultline.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.backend.PageProtocol;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.Mutator;
import io.faultline.meta.ControlBlock;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import io.faultline.meta.PageStates;
import io.faultline.model.ObjectLayout;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdProbe;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The answers of docs/exercises.md, computed from the code: each answer follows a line
 * {@code <!-- answer:ID -->}, and its bold numbers, in order, must be the numbers computed here.
 * Planning runs a real heap (the worked example of docs/metadata-and-planning.md with B live);
 * runs and faults drive the Java half of the page protocol ({@link PageProtocol}, which
 * {@code ProtocolDifferentialTest} holds equal to the C half) over 200 pages and count installs;
 * the CONTINUE mappings open a real CONTINUE backend and read /proc/self/maps.
 */
class DocExercisesTest {
    private static final Pattern BOLD_NUMBER = Pattern.compile("\\*\\*(-?[0-9][0-9,]*)\\*\\*");
    private static final int SMALL_PAGE = 512;
    private static final int PAGE = 4096;
    private static final long PAGES = 200;

    @Test
    void planningWithBLive() {
        List<Long> answer = new ArrayList<>();
        List<Long> first = new ArrayList<>();
        example(true, (m, refs, md, builds) -> {
            answer.add(ObjectLayout.refToOffset(refs[0]));
            answer.add(ObjectLayout.refToOffset(refs[1]));
            answer.add(ObjectLayout.refToOffset(refs[2]));
            answer.add(md.control().get(ControlBlock.END_PAGE) - md.control().get(ControlBlock.FIRST_PAGE));
            long f1 = md.firstObjects().get(1);
            long toPage1 = SMALL_PAGE;
            long newStart = md.offsets().forward(f1);
            first.add(f1);
            first.add(f1 + (toPage1 - newStart));
        });
        assertEquals(answer, answer("planning-b-live"));
        assertEquals(first, answer("planning-b-live-first"));
    }

    @Test
    void releaseInTheWorkedExample() {
        List<Long> answer = new ArrayList<>();
        example(false, (m, refs, md, builds) -> {
            assertEquals(2, builds.size(), "two page builds");
            assertEquals(1, builds.get(1)[0]);
            answer.add(builds.get(1)[1]);
            answer.add(builds.get(1)[2]);
            answer.add(md.control().get(ControlBlock.RELEASED));
            answer.add(md.control().get(ControlBlock.FROM_TOP) - md.control().get(ControlBlock.RELEASED));
        });
        assertEquals(answer, answer("release-worked-example"));
    }

    @Test
    void installsWithoutMutators() {
        assertEquals(List.of(installs(64, -1, false).installs, installs(1, -1, false).installs), answer("copy-ioctls"));
    }

    @Test
    void oneFaultWithFaultAround() {
        Count fault = installs(HeapConfig.DEFAULT_RUN_PAGES, 100, false);
        assertEquals(List.of(fault.faultBuilt, fault.installs), answer("fault-around"));
    }

    @Test
    void aFaultThenTheCompactor() {
        assertEquals(List.of(installs(HeapConfig.DEFAULT_RUN_PAGES, 100, true).installs), answer("fault-then-compactor"));
    }

    @Test
    void continueMappings() throws IOException {
        UffdProbe.ModeStatus s = UffdProbe.probe().mode(UffdProbe.Mode.CONTINUE);
        Assumptions.assumeTrue(s.available(), () -> "uffd CONTINUE unavailable: " + s.detail());
        long capacity = 64L << 20;
        UffdOptions small = UffdOptions.defaults().withAllocationPages(UffdOptions.AllocationPages.SMALL);
        try (UffdBackend backend = new UffdBackend(UffdProbe.Mode.CONTINUE, small, capacity, PAGE)) {
            long total = 0;
            long largest = 0;
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                if (line.contains("memfd:faultline-heap")) {
                    String[] range = line.split("\\s+")[0].split("-");
                    long bytes = Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16);
                    total += bytes;
                    largest = Math.max(largest, bytes);
                }
            }
            assertEquals(List.of(total >> 20, largest >> 20), answer("continue-address-space"), backend.name());
        }
    }

    /** Installs (and pages built by the fault) of one 200-page cycle driven through the Java page protocol. */
    private record Count(long installs, long faultBuilt) {
    }

    private static Count installs(long runPages, long faultPage, boolean compactAfterFault) {
        try (GcMetadata md = new GcMetadata(PAGES * PAGE, PAGE)) {
            ControlBlock c = md.control();
            c.set(ControlBlock.EPOCH, 1);
            c.set(ControlBlock.FROM_TOP, PAGES * PAGE);
            c.set(ControlBlock.NEW_TOP, PAGES * PAGE);
            c.set(ControlBlock.FIRST_PAGE, 0);
            c.set(ControlBlock.END_PAGE, PAGES);
            c.set(ControlBlock.NEXT_PAGE, 0);
            c.set(ControlBlock.FRONTIER_PAGE, 0);
            c.set(ControlBlock.RUN_PAGES, runPages);
            c.set(ControlBlock.FAULT_AROUND, HeapConfig.DEFAULT_FAULT_AROUND_PAGES);
            c.set(ControlBlock.RELEASE_BATCH, HeapConfig.DEFAULT_RELEASE_BATCH_BYTES);
            for (long p = 0; p < PAGES; p++) {
                md.firstObjects().set(p, MetadataDescriptor.NO_OBJECT);
            }
            md.pageStates().publishRange(0, PAGES, PageStates.UNPROCESSED);
            c.set(ControlBlock.PAGES_LEFT, PAGES);
            c.set(ControlBlock.ACTIVE_EPOCH, 1);
            long[] installs = {0};
            PageProtocol protocol = new PageProtocol(md, new PageProtocol.Pages() {
                @Override
                public void build(long page) {
                }

                @Override
                public int install(long first, long n) {
                    installs[0]++;
                    return 0;
                }

                @Override
                public int release(long offset, long bytes) {
                    return 0;
                }

                @Override
                public void poison(long page) {
                }
            });
            long faultBuilt = 0;
            if (faultPage >= 0) {
                assertEquals(PageProtocol.FAULT_BUILT, protocol.serveFault(faultPage, true, ControlBlock.PATH_FAULT_JAVA));
                faultBuilt = c.get(ControlBlock.FAULT_BUILT_PAGES);
            }
            if (faultPage < 0 || compactAfterFault) {
                while (protocol.compactStep(HeapConfig.DEFAULT_COMPACTION_STEP_PAGES) > 0) {
                    // one compactor thread, step by step
                }
                assertEquals(0, c.get(ControlBlock.PAGES_LEFT), "every page mapped");
            }
            return new Count(installs[0], faultBuilt);
        }
    }

    /** What a planning exercise reads after the collection: the mutator, C/E/F's new refs, the side tables. */
    private interface AfterCollection {
        void accept(Mutator m, int[] cef, GcMetadata metadata, List<long[]> builds);
    }

    /**
     * The worked example's heap (B live too if {@code bLive}), one collection with one page per run
     * and a release batch of one page; {@code builds} holds, per page build, the page and the
     * control block's CONSUMED and RELEASED as the build starts.
     */
    private static void example(boolean bLive, AfterCollection check) {
        ObjectType aType = ObjectType.builder("exercise.A").ref("e").i64("v").build();
        ObjectType eType = ObjectType.builder("exercise.E").refs("f", "n").bytes("data", 456).build();
        ObjectType fType = ObjectType.builder("exercise.F").refs("c", "a").bytes("data", 40).build();
        GcMetadata[] metadata = new GcMetadata[1];
        List<long[]> builds = new ArrayList<>();
        HeapConfig cfg = HeapConfig.builder().capacity(64 * SMALL_PAGE).pageSize(SMALL_PAGE).tlabBytes(16 << 20)
                .concurrentMarking(false).concurrentCompaction(false).runPages(1).releaseBatchBytes(SMALL_PAGE)
                .backend((capacity, pageSize) -> new MetadataKeeping(new JavaBackend(capacity, pageSize), metadata, builds)).build();
        try (Heap heap = Heap.create(cfg); Mutator m = heap.attach()) {
            int a = m.allocate(aType);
            int b = m.allocateLongArray(8);
            int c = m.allocateByteArray(384);
            m.allocateLongArray(28);
            int e = m.allocate(eType);
            int f = m.allocate(fType);
            assertEquals(List.of(16L, 48L, 128L, 768L, 1248L), List.of(ObjectLayout.refToOffset(a), ObjectLayout.refToOffset(b),
                    ObjectLayout.refToOffset(c), ObjectLayout.refToOffset(e), ObjectLayout.refToOffset(f)), "the worked example's heap");
            m.setRef(a, 0, e);
            m.setRef(e, 0, f);
            m.setRef(f, 0, c);
            m.setRef(f, 1, a);
            int ha = m.push(a);
            if (bLive) {
                m.push(b);
            }
            m.collect();
            int e2 = m.getRef(m.handle(ha), 0);
            int f2 = m.getRef(e2, 0);
            int c2 = m.getRef(f2, 0);
            assertNotNull(metadata[0]);
            check.accept(m, new int[] {c2, e2, f2}, metadata[0], builds);
        }
    }

    /** The java backend, keeping the metadata it is attached to so that the exercise can read the plan. */
    private static final class MetadataKeeping extends ForwardingBackend {
        private final JavaBackend inner;
        private final GcMetadata[] metadata;
        private final List<long[]> builds;

        MetadataKeeping(JavaBackend inner, GcMetadata[] metadata, List<long[]> builds) {
            super(inner);
            this.inner = inner;
            this.metadata = metadata;
            this.builds = builds;
        }

        @Override public void attach(GcMetadata md, PageBuilder builder) {
            metadata[0] = md;
            ControlBlock c = md.control();
            inner.attach(md, (from, page, dst, dstOffset) -> {
                builds.add(new long[] {page, c.get(ControlBlock.CONSUMED), c.get(ControlBlock.RELEASED)});
                builder.build(from, page, dst, dstOffset);
            });
        }
    }

    /** The bold numbers of the answer marked {@code id} in docs/exercises.md, in order. */
    static List<Long> answer(String id) {
        DocPages.Page page = DocPages.page("docs/exercises.md");
        int i = page.lines().indexOf("<!-- answer:" + id + " -->");
        if (i < 0) {
            throw new AssertionError("docs/exercises.md has no <!-- answer:" + id + " --> marker");
        }
        List<Long> numbers = new ArrayList<>();
        for (int j = i + 1; j < page.lines().size() && !page.lines().get(j).isBlank(); j++) {
            Matcher m = BOLD_NUMBER.matcher(page.lines().get(j));
            while (m.find()) {
                numbers.add(Long.parseLong(m.group(1).replace(",", "")));
            }
        }
        return numbers;
    }
}
