package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.backend.ForwardingBackend;
import io.faultline.backend.HeapBackend;
import io.faultline.backend.JavaBackend;
import io.faultline.meta.ControlBlock;
import io.faultline.model.ObjectType;
import io.faultline.testing.ModelRunner;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Mutators access the view at absolute addresses, checked only against {@code Heap.viewBytes}, so
 * {@code close()} must not unmap the view under a mutator of another thread: it leaves it mapped
 * until the last such mutator detaches, and every access after the close throws. Seeded: a
 * failure prints the seed that replays its timings.
 */
class CloseWithAttachedMutatorsTest {
    static final ObjectType CELL = ObjectType.builder("close.Cell").ref("next").i64("value").build();

    /** Counts {@link #releaseView} calls. */
    static final class Watching extends ForwardingBackend {
        final AtomicInteger released;

        Watching(HeapBackend inner, AtomicInteger released) {
            super(inner);
            this.released = released;
        }

        @Override
        public void releaseView() {
            released.incrementAndGet();
            super.releaseView();
        }
    }

    private static Heap heap(AtomicInteger released) {
        return Heap.create(HeapConfig.builder().capacity(8L << 20)
                .backend((c, ps) -> new Watching(JavaBackend.factory().create(c, ps), released)).build());
    }

    private static int list(Mutator m, int n) {
        int h = m.push(0);
        for (int i = 0; i < n; i++) {
            int c = m.allocate(CELL);
            m.setLong(c, CELL.field("value"), i);
            m.setRef(c, 0, m.handle(h));
            m.setHandle(h, c);
        }
        return h;
    }

    @Test
    void theViewStaysMappedUntilTheLastOtherMutatorDetaches() throws Exception {
        AtomicInteger released = new AtomicInteger();
        Heap heap = heap(released);
        CountDownLatch attached = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        AtomicReference<Throwable> seenAllocating = new AtomicReference<>();
        AtomicLong controlWhileAttached = new AtomicLong();
        Thread t = Thread.ofPlatform().name("straggler").start(() -> {
            Mutator m = heap.attach();
            int h = list(m, 100);
            attached.countDown();
            try {
                closed.await();
                m.getRef(m.handle(h), 0);
            } catch (Throwable e) {
                seen.set(e);
            }
            assertEquals(0, released.get(), "the view was released while this mutator was attached");
            try {
                m.allocate(CELL);
            } catch (Throwable e) {
                seenAllocating.set(e);
            }
            // The poll reads the control block at its raw address: it must still be allocated.
            controlWhileAttached.set(heap.metadata.control().poll());
            m.close();
        });
        assertTrue(attached.await(10, TimeUnit.SECONDS));
        heap.close();
        assertEquals(0, released.get(), "close() released the view under an attached mutator");
        closed.countDown();
        assertTrue(t.join(Duration.ofSeconds(10)), "straggler hung");
        assertTrue(seen.get() instanceof IllegalStateException && seen.get().getMessage().equals("heap is closed"),
                "the access after close: " + seen.get());
        assertTrue(seenAllocating.get() instanceof IllegalStateException && seenAllocating.get().getMessage().equals("heap is closed"),
                "the allocation (a poll) after close: " + seenAllocating.get());
        assertEquals(ControlBlock.POLL_CLOSED, controlWhileAttached.get() & ControlBlock.POLL_CLOSED,
                "the control block, read while the straggler was attached, says closed");
        assertEquals(1, released.get(), "the last detach releases the view once");
        assertThrows(IllegalStateException.class, () -> heap.metadata.control().poll(),
                "the last detach frees the control block with the view");
    }

    @Test
    void withNoOtherMutatorCloseReleasesTheViewAndLaterAccessesThrow() {
        AtomicInteger released = new AtomicInteger();
        Heap heap = heap(released);
        Mutator m = heap.attach();
        int h = list(m, 10);
        int cell = m.handle(h);
        heap.close();
        assertEquals(1, released.get(), "nothing else was attached: close() releases the view");
        for (Runnable access : new Runnable[] {() -> m.getRef(cell, 0), () -> m.setRef(cell, 0, 0),
                () -> m.getLong(cell, CELL.field("value")), () -> m.setLong(cell, CELL.field("value"), 1),
                () -> m.length(cell), () -> m.allocate(CELL), m::poll}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, access::run);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
        assertThrows(IllegalStateException.class, () -> heap.metadata.control().poll(),
                "nothing else was attached: close() frees the control block; this thread's polls read the closed word");
        m.close();
        assertEquals(1, released.get());
        assertThrows(IllegalStateException.class, heap::attach);
    }

    /** What a racing thread does with its own mutator until the heap closes under it. */
    @FunctionalInterface
    interface Racer {
        /** Runs until an access throws; counts {@code ready} down once it is under way. */
        void run(Mutator m, CountDownLatch ready);
    }

    /**
     * Allocators (a poll each, at the control block's raw address) closed under at a random
     * moment, while they collect: each ends with "heap is closed", never a crash or a read of
     * freed memory.
     */
    @Test
    void allocatorsRacingCloseFailWithAnException() throws Exception {
        raceClose("allocator", 2_000_000, (m, ready) -> {
            ready.countDown();
            while (true) {
                int c = m.allocate(CELL);
                m.setLong(c, CELL.field("value"), 7);
            }
        });
    }

    /** A reader in a loop without safepoints, closed under at a random moment: it ends with "heap is closed", never a crash. */
    @Test
    void readersRacingCloseFailWithAnException() throws Exception {
        raceClose("reader", 200_000, (m, ready) -> {
            int h = list(m, 2000);
            ready.countDown();
            long sum = 0;
            while (true) {
                for (int c = m.handle(h); c != 0; c = m.getRef(c, 0)) {
                    sum += m.getLong(c, CELL.field("value"));
                }
                if (sum == 42) {
                    Thread.onSpinWait(); // keeps sum alive
                }
            }
        });
    }

    /**
     * 20 seeded rounds: two threads run {@code racer}, each with its own mutator, and the heap
     * closes under them after a random spin of up to {@code maxSpinNanos}. Each must end with
     * "heap is closed"; the view and the control block are released once, after both detached.
     */
    private static void raceClose(String name, long maxSpinNanos, Racer racer) throws Exception {
        long seed = ModelRunner.replaySeed() >= 0 ? ModelRunner.replaySeed() : System.nanoTime();
        SplittableRandom random = new SplittableRandom(seed);
        try {
            for (int round = 0; round < 20; round++) {
                AtomicInteger released = new AtomicInteger();
                Heap heap = heap(released);
                CountDownLatch ready = new CountDownLatch(2);
                AtomicReference<Throwable> wrong = new AtomicReference<>();
                Thread[] racers = new Thread[2];
                for (int r = 0; r < racers.length; r++) {
                    racers[r] = Thread.ofPlatform().name(name + "-" + r).start(() -> {
                        try (Mutator m = heap.attach()) {
                            racer.run(m, ready);
                        } catch (IllegalStateException expected) {
                            if (!expected.getMessage().contains("closed")) {
                                wrong.compareAndSet(null, expected);
                            }
                        } catch (Throwable e) {
                            wrong.compareAndSet(null, e);
                        }
                    });
                }
                assertTrue(ready.await(10, TimeUnit.SECONDS));
                long spin = random.nextLong(maxSpinNanos);
                for (long end = System.nanoTime() + spin; System.nanoTime() < end; ) {
                    Thread.onSpinWait();
                }
                heap.close();
                for (Thread t : racers) {
                    assertTrue(t.join(Duration.ofSeconds(10)), t.getName() + " hung after close");
                }
                if (wrong.get() != null) {
                    throw new AssertionError("round " + round + ": a " + name + " failed the wrong way", wrong.get());
                }
                assertEquals(1, released.get(), "round " + round + ": the view is released once, after both " + name + "s detached");
                assertThrows(IllegalStateException.class, () -> heap.metadata.control().poll(),
                        "round " + round + ": the control block is freed with the view");
            }
        } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " (replay: -Dfaultline.seed=" + seed + "): " + e.getMessage(), e);
        }
    }
}
