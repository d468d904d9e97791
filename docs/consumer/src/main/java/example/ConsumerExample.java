package example;

import io.faultline.heap.HandleScope;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapStats;
import io.faultline.heap.Mutator;
import io.faultline.model.ObjectType;
import io.faultline.uffd.UffdBackend;
import io.faultline.uffd.UffdProbe;

/**
 * A program that uses Faultline as a library: it keeps a linked list alive in a handle while
 * allocating garbage, collects, and checks that the list survived the moves. It runs on the java
 * backend, then on the userfaultfd backend in CONTINUE mode if this machine supports it.
 * Run it with {@code --enable-native-access=ALL-UNNAMED}.
 */
public final class ConsumerExample {
    /** A list cell: a reference to the next cell and a value. */
    static final ObjectType CELL = ObjectType.builder("Cell").ref("next").i64("value").build();
    static final int NEXT = CELL.refSlot("next");
    static final long VALUE = CELL.field("value");
    static final int CELLS = 10_000;

    public static void main(String[] args) {
        run("java", HeapConfig.builder());

        UffdProbe.ModeStatus uffd = UffdProbe.probe().mode(UffdProbe.Mode.CONTINUE);
        if (uffd.available()) {
            run("uffd/continue", HeapConfig.builder().backend(UffdBackend.factory(UffdProbe.Mode.CONTINUE)));
        } else {
            System.out.println("uffd/continue: not available here: " + uffd.detail());
        }
    }

    static void run(String backend, HeapConfig.Builder config) {
        try (Heap heap = Heap.create(config.capacity(1 << 20).verifyAfterGc(true).build());
             Mutator m = heap.attach()) {
            heap.register(CELL);
            try (HandleScope scope = m.openScope()) {
                int list = scope.push(0); // a handle: a root the collector updates when the list moves
                for (int i = 1; i <= CELLS; i++) {
                    int cell = m.allocate(CELL); // a raw reference, valid until the next allocation
                    m.setLong(cell, VALUE, i);
                    m.setRef(cell, NEXT, m.handle(list));
                    m.setHandle(list, cell);
                    for (int g = 0; g < 10; g++) {
                        m.allocate(CELL); // garbage: nothing refers to it
                    }
                }
                m.collect(); // every raw reference dies here; handles are updated

                long cells = 0;
                long sum = 0;
                for (int cell = m.handle(list); cell != 0; cell = m.getRef(cell, NEXT)) {
                    cells++;
                    sum += m.getLong(cell, VALUE);
                }
                boolean intact = cells == CELLS && sum == (long) CELLS * (CELLS + 1) / 2;
                boolean verified = heap.verify().ok(); // stops the world and checks every object and root
                HeapStats stats = heap.stats();
                System.out.printf("%s: %d cells, sum %d, list %s, heap %s after %d collections, %d pages compacted%n",
                        backend, cells, sum, intact ? "intact" : "DAMAGED", verified ? "verified" : "DAMAGED",
                        stats.gcCycles(), stats.pagesCompacted());
                if (!intact || !verified) {
                    throw new IllegalStateException(backend + ": the list or the heap did not survive: " + stats);
                }
            }
        }
    }
}
