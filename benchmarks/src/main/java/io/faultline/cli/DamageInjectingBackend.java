package io.faultline.cli;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.PageBuilder;
import io.faultline.meta.GcMetadata;
import io.faultline.meta.MetadataDescriptor;
import java.lang.foreign.ValueLayout;

/**
 * {@code faultline run --inject-damage}: a backend that wraps the real one and, at the first
 * concurrent compaction, right after the real backend's {@link #beginCompaction} (inside the
 * pause, from-space readable, no page built yet), zeroes the header of one live object in
 * from-space: the object the middle to-space page starts with ({@link GcMetadata#firstObjects()}).
 * The page that holds it can then not be built, and the heap must fail loud: the page is never
 * shown, every mutator gets a {@link io.faultline.gc.HeapCorruptedException} naming the page, the
 * path and the errno, and the run exits 1 with {@code verified} false. A debug aid for watching
 * that happen; every other method (the interface's default methods included) is the wrapped
 * backend's ({@link ForwardingBackend}).
 */
public final class DamageInjectingBackend extends ForwardingBackend {
    private GcMetadata metadata;
    private volatile String damage;

    private DamageInjectingBackend(HeapBackend inner) {
        super(inner);
    }

    /** Wraps every backend {@code factory} creates. */
    public static Factory wrap(Factory factory) {
        return (capacity, pageSize) -> new DamageInjectingBackend(factory.create(capacity, pageSize));
    }

    /** What was damaged ({@code from-space offset N (first object of to-space page P)}), or null if nothing yet. */
    public String damage() {
        return damage;
    }

    @Override
    public void attach(GcMetadata md, PageBuilder builder) {
        this.metadata = md;
        delegate().attach(md, builder);
    }

    @Override
    public void beginCompaction(long usedBytes, long firstPage, long endPage) {
        delegate().beginCompaction(usedBytes, firstPage, endPage);
        if (damage != null || firstPage >= endPage) {
            return;
        }
        // The middle page's first object, or the nearest page after it that has one.
        for (long page = (firstPage + endPage) / 2; page < endPage; page++) {
            long offset = metadata.firstObjects().get(page);
            if (offset != MetadataDescriptor.NO_OBJECT) {
                delegate().fromSpace().set(ValueLayout.JAVA_LONG_UNALIGNED, offset, 0L);
                damage = "from-space offset " + offset + " (first object of to-space page " + page + ")";
                return;
            }
        }
    }
}
