package io.faultline.heap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.model.ObjectType;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A collection never waits silently for a mutator: a thread that ended while attached is detached
 * by the next pause; a second attach on the same thread is an error; a mutator blocked outside a
 * safe region is named (thread and stack) in the GC log after the safepoint timeout and then at
 * doubling intervals, and with failOnSafepointTimeout the collection gives up with an exception
 * naming it.
 */
class NoSilentHangTest {
    static final ObjectType NODE = ObjectType.builder("hang.Node").refs("next").i64("v").build();

    private static Heap heap(List<String> log, Duration timeout, boolean fail) {
        return Heap.create(HeapConfig.builder().capacity(4L << 20).gcLog(log::add).safepointTimeout(timeout)
                .failOnSafepointTimeout(fail).verifyAfterGc(true).build());
    }

    @Test
    void aThreadThatEndsAttachedIsDetachedByTheNextPause() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        try (Heap heap = heap(log, Duration.ofSeconds(30), false)) {
            AtomicReference<Mutator> leaked = new AtomicReference<>();
            Thread t = Thread.ofPlatform().name("leaves-attached").start(() -> {
                Mutator m = heap.attach(); // never closed
                m.push(m.allocate(NODE));
                leaked.set(m);
            });
            t.join();
            try (Mutator m = heap.attach()) {
                int keep = m.push(m.allocate(NODE));
                long t0 = System.nanoTime();
                m.collect();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(ms < 10_000, "the collection took " + ms + " ms");
                assertTrue(leaked.get().isClosed(), "the ended thread's mutator is detached");
                assertTrue(log.stream().anyMatch(l -> l.contains("'leaves-attached' ended while attached")), log.toString());
                heap.awaitCompaction();
                assertTrue(heap.verify().ok());
                assertEquals(0, m.getLong(m.handle(keep), NODE.field("v")));
            }
        }
    }

    @Test
    void aSecondAttachOnTheSameThreadIsAnError() {
        try (Heap heap = heap(new CopyOnWriteArrayList<>(), Duration.ofSeconds(5), false); Mutator m = heap.attach()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, heap::attach);
            assertTrue(e.getMessage().contains("'" + Thread.currentThread().getName() + "' is already attached"), e.getMessage());
            m.allocate(NODE); // the first mutator still works
        }
    }

    @Test
    void aMutatorBlockedOutsideASafeRegionIsNamedWithItsStack() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        try (Heap heap = heap(log, Duration.ofMillis(100), false)) {
            CountDownLatch attached = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread blocked = Thread.ofPlatform().name("blocked-on-a-latch").start(() -> {
                try (Mutator m = heap.attach()) {
                    attached.countDown();
                    release.await(); // blocks on a Java latch outside a safe region: a misuse
                    m.poll();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(attached.await(10, TimeUnit.SECONDS));
            Thread collector = Thread.ofPlatform().start(heap::collect);
            long t0 = System.nanoTime();
            while (log.stream().noneMatch(l -> l.contains("blocked-on-a-latch")) && System.nanoTime() - t0 < 10_000_000_000L) {
                Thread.sleep(10);
            }
            long firstReport = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            Thread.sleep(1_000);
            release.countDown();
            assertTrue(collector.join(Duration.ofSeconds(10)), "the collection finished once the mutator polled");
            blocked.join();
            List<String> reports = log.stream().filter(l -> l.contains("have not reached a safepoint")).toList();
            assertTrue(!reports.isEmpty(), "the pause never said whom it waited for: " + log);
            String first = reports.get(0);
            assertTrue(first.contains("thread 'blocked-on-a-latch' (WAITING)"), first);
            assertTrue(first.contains("CountDownLatch.await"), "the stack shows where it blocks: " + first);
            assertTrue(firstReport < 5_000, "first report after " + firstReport + " ms (timeout 100 ms)");
            // Then at a slower rate: at ~100, ~300, ~900 ms of waiting, not every 100 ms.
            assertTrue(reports.size() >= 2 && reports.size() <= 5, reports.size() + " reports in ~1.1 s: " + reports);
        }
    }

    @Test
    void failOnSafepointTimeoutGivesUpNamingTheMutator() throws Exception {
        try (Heap heap = heap(new CopyOnWriteArrayList<>(), Duration.ofMillis(100), true)) {
            CountDownLatch attached = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread blocked = Thread.ofPlatform().name("stuck-mutator").start(() -> {
                try (Mutator m = heap.attach()) {
                    attached.countDown();
                    release.await();
                    m.poll();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(attached.await(10, TimeUnit.SECONDS));
            SafepointTimeoutException e = assertThrows(SafepointTimeoutException.class, heap::collect);
            assertTrue(e.getMessage().contains("thread 'stuck-mutator'"), e.getMessage());
            release.countDown();
            blocked.join();
            heap.collect(); // the heap is still usable once the mutator is gone
            heap.awaitCompaction();
            assertTrue(heap.verify().ok());
        }
    }
}
