package io.faultline.gc;

import io.faultline.meta.MarkBitmap;
import io.faultline.meta.ObjectStartBitmap;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Snapshot-at-the-beginning (SATB) concurrent marking: the marking of a concurrent cycle, from
 * its initial-mark pause to its remark pause. {@link ConcurrentCycle} drives it.
 *
 * <ol>
 *   <li>{@link #begin} (initial-mark pause): copies the roots (every handle and global root) into
 *       a snapshot array and turns the mutators' write barrier on. O(roots).</li>
 *   <li>{@link #markConcurrently} (mutators running): traces from the snapshot, then from the
 *       references the barrier logged, in rounds: a round ends when no marker has work and no
 *       completed SATB buffer is queued; another round starts if buffers arrived since.</li>
 *   <li>{@link #remark} (remark pause): marks from the entries still in the mutators' partly
 *       filled buffers, finishes tracing and turns the barrier off. O(SATB entries) plus what
 *       they reach that was not yet marked.</li>
 * </ol>
 *
 * <p><b>Assumptions and Guarantees:</b>
 * <ul>
 *   <li>Every object reachable at the initial mark is marked by the end of {@link #remark}. An
 *       object reachable at the initial mark is reachable from a snapshot root by a path of
 *       reference slots; if every slot on the path still holds its value when the marker reads
 *       it, the marker follows the path; if a mutator overwrote one of them first, the barrier
 *       logged the value it overwrote (it is on for every mutator from the initial-mark pause
 *       to the remark pause, and a mutator attached in between turns it on when it attaches),
 *       and the marker traces from the logged value. Handles and global roots need no barrier:
 *       their values at the initial mark are in the snapshot, and any value stored in them later
 *       was reachable at the initial mark or allocated after it.</li>
 *   <li>Objects allocated after the initial mark (at or above the mark-start top) are never
 *       traced: {@link ConcurrentCycle} marks them live wholesale (allocated black). So every
 *       object reachable at the remark is marked or black: a mutator can only hold what was
 *       reachable at the initial mark or allocated after it.</li>
 *   <li>The barrier filters: it logs only non-null values below the mark-start top whose first
 *       bit was not yet set. A set bit means a marker owns the object and will scan it.</li>
 *   <li>Marking threads never wait for a mutator or a pause; they leave when the cycle's
 *       {@link AbortableWork} is abandoned (checked every {@code 1024} objects). With one
 *       marking thread the bitmap is written with plain stores, with several with atomic ORs
 *       ({@link MarkBitmap#markObject}).</li>
 *   <li>Helper threads ({@code markingThreads - 1}, named {@code faultline-marker-N}) are daemon
 *       threads; an exception in one fails the heap and abandons the cycle; {@link #close} stops
 *       and joins them.</li>
 * </ul>
 */
final class ConcurrentMarking implements AutoCloseable {
    /** Rounds of concurrent marking before the remark pause takes what is left. */
    static final int MAX_ROUNDS = 64;
    /** How long {@link #close} waits for each helper before it says which one it waits for. */
    static final long JOIN_REPORT_MILLIS = 10_000;

    private final HeapBinding heap;
    private final SatbQueue satb = new SatbQueue();
    private final MarkPackets packets;
    private final Marker[] markers;
    private final AbortableWork work;
    private final MarkingHooks hooks;
    private final HeapFailure failure;
    private final Thread[] helpers;
    private final Object roundLock = new Object();
    private long roundGeneration;
    private int helpersInRound;
    private boolean stopping;
    private final AtomicLong satbEntries = new AtomicLong();

    private int[] roots = new int[256];
    private int rootCount;
    private int rounds;
    private long remarkEntries;

    ConcurrentMarking(HeapBinding heap, MarkBitmap bitmap, ObjectStartBitmap starts, AbortableWork work, MarkingHooks hooks, HeapFailure failure,
                      int threads) {
        this.heap = heap;
        this.work = work;
        this.hooks = hooks;
        this.failure = failure;
        this.packets = new MarkPackets(threads);
        this.markers = new Marker[threads];
        for (int i = 0; i < threads; i++) {
            markers[i] = new Marker(bitmap, starts, threads > 1, packets);
        }
        this.helpers = new Thread[threads - 1];
        for (int i = 1; i < threads; i++) {
            int id = i;
            helpers[i - 1] = Thread.ofPlatform().daemon().name("faultline-marker-" + i).start(() -> helperLoop(id));
        }
    }

    /** Where mutators hand their full barrier buffers. */
    SatbQueue satbQueue() {
        return satb;
    }

    /**
     * In the initial-mark pause: snapshots the roots, prepares the markers for the objects of
     * {@code [base, markStartTop)} and turns the barrier on. The bitmap below
     * {@code markStartTop} must be clear (the null guard excepted).
     */
    void begin(MemorySegment view, MemorySegment low, long base, long markStartTop) {
        rootCount = 0;
        heap.updateRoots(r -> {
            if (rootCount == roots.length) {
                roots = Arrays.copyOf(roots, rootCount * 2);
            }
            roots[rootCount++] = r;
            return r;
        });
        for (Marker m : markers) {
            m.begin(view, low, base, markStartTop, true, hooks);
        }
        rounds = 0;
        remarkEntries = 0;
        satbEntries.set(0);
        packets.reset();
        heap.setSatbBarrier(true, markStartTop);
    }

    private OldGeneration old;

    /** Once, before the first cycle: where a young cycle's dirty cards are. */
    void setOldGeneration(OldGeneration old) {
        this.old = old;
    }

    /** Roots in the last snapshot. */
    int rootCount() {
        return rootCount;
    }

    /**
     * Outside pauses, on the thread driving the cycle (marker 0; helpers join each round): traces
     * from the root snapshot, then from logged values, round after round. Returns false if the
     * cycle was abandoned meanwhile.
     */
    boolean markConcurrently() {
        if (!work.enter()) {
            return false;
        }
        try {
            Marker m0 = markers[0];
            if (old != null) {
                old.prepareMarking(); // before anything is traced: the cards the initial mark took
            }
            startRound();
            boolean finished = true;
            for (int i = 0; i < rootCount && finished; i++) {
                m0.mark(roots[i]);
                finished = m0.drain(work);
            }
            for (int i = 0; old != null && i < old.dirtyCards() && finished; i++) { // a young cycle's other roots
                long cardStart = old.dirtyCardStart(i);
                long cardEnd = Math.min(cardStart + OldGeneration.CARD_BYTES, old.youngEnd());
                if (m0.scanOldObjects(old.covering(cardStart, m0.viewAddress(), m0.lowAddress(), m0.split()), cardStart, cardEnd,
                        old.survivorEnd())) {
                    old.keepCard(i);
                }
                finished = m0.drain(work);
            }
            finished = finished && workUntilRoundEnds(m0);
            endRound();
            while (finished && satb.hasCompleted() && rounds < MAX_ROUNDS) {
                startRound();
                finished = workUntilRoundEnds(m0);
                endRound();
            }
            return finished && !work.aborted();
        } catch (RuntimeException | Error e) {
            work.abandon(); // the helpers leave; the caller fails the heap
            endRound();
            throw e;
        } finally {
            work.leave();
        }
    }

    private void startRound() {
        rounds++;
        packets.startRound();
        synchronized (roundLock) {
            roundGeneration++;
            helpersInRound = helpers.length;
            roundLock.notifyAll();
        }
    }

    /** Waits until every helper has left the round. */
    private void endRound() {
        synchronized (roundLock) {
            while (helpersInRound > 0) {
                try {
                    roundLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for marking helpers", e);
                }
            }
        }
    }

    /** One marker's part of a round; false if the cycle was abandoned. */
    private boolean workUntilRoundEnds(Marker m) {
        while (true) {
            if (!m.drain(work)) {
                return false;
            }
            if (packets.take(m)) {
                continue;
            }
            int[] buffer = satb.poll();
            if (buffer != null) {
                satbEntries.addAndGet(markAll(m, buffer, buffer.length));
                satb.recycle(buffer);
                continue;
            }
            if (packets.idleUntilWorkOrEnd(satb, work)) {
                return !work.aborted();
            }
        }
    }

    private static long markAll(Marker m, int[] refs, int count) {
        long n = 0;
        for (int i = 0; i < count; i++) {
            if (refs[i] != 0) {
                m.mark(refs[i]);
                n++;
            }
        }
        return n;
    }

    private void helperLoop(int id) {
        long seen = 0;
        while (true) {
            synchronized (roundLock) {
                while (!stopping && roundGeneration == seen) {
                    try {
                        roundLock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (stopping) {
                    return;
                }
                seen = roundGeneration;
            }
            try {
                if (work.enter()) {
                    try {
                        workUntilRoundEnds(markers[id]);
                    } finally {
                        work.leave();
                    }
                }
            } catch (RuntimeException | Error e) {
                failure.record(HeapCorruptedException.collectorFailure(Thread.currentThread().getName() + " failed", e));
                work.abandon();
            } finally {
                synchronized (roundLock) {
                    helpersInRound--;
                    roundLock.notifyAll();
                }
            }
        }
    }

    /**
     * In the remark pause: marks from every logged value not yet processed (the mutators' partly
     * filled buffers and completed buffers still queued), traces to the end and turns the barrier
     * off. Marking of the objects below the mark-start top is then complete.
     */
    void remark() {
        Marker m0 = markers[0];
        m0.silence(); // no hook may block inside a pause
        packets.reset(); // the last round left this marker idle: it must not give work to nobody
        long[] n = {0};
        heap.drainSatbBuffers(ref -> {
            m0.mark(ref);
            n[0]++;
        });
        int[] buffer;
        while ((buffer = satb.poll()) != null) {
            n[0] += markAll(m0, buffer, buffer.length);
            satb.recycle(buffer);
        }
        m0.drain(null);
        remarkEntries = n[0];
        heap.setSatbBarrier(false, 0);
        for (Marker m : markers) {
            m.end();
        }
    }

    /**
     * In a pause of another collection (which takes the side tables over), after the cycle's
     * work was abandoned and every marker has left: turns the barrier off and drops every
     * logged value and every marker's stack.
     */
    void abandonInPause() {
        heap.setSatbBarrier(false, 0);
        heap.drainSatbBuffers(ref -> { });
        satb.discardCompleted();
        packets.reset();
        for (Marker m : markers) {
            m.end();
        }
    }

    /** Concurrent rounds of the last marking. */
    int rounds() {
        return rounds;
    }

    /** Logged values processed by the concurrent rounds of the last marking. */
    long satbEntries() {
        return satbEntries.get();
    }

    /** Logged values processed by the last remark pause. */
    long remarkEntries() {
        return remarkEntries;
    }

    /** Objects marked by the last marking (all threads). */
    long objectsMarked() {
        long n = 0;
        for (Marker m : markers) {
            n += m.objects();
        }
        return n;
    }

    /** Stops and joins the helper threads (the cycle's work must have been abandoned first). */
    @Override
    public void close() {
        synchronized (roundLock) {
            stopping = true;
            roundLock.notifyAll();
        }
        for (Thread t : helpers) {
            try {
                if (!t.join(java.time.Duration.ofMillis(JOIN_REPORT_MILLIS))) {
                    System.getLogger("io.faultline.gc").log(System.Logger.Level.WARNING, "close: " + t.getName()
                            + " did not stop within " + JOIN_REPORT_MILLIS + " ms; it is a daemon thread, left running");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
