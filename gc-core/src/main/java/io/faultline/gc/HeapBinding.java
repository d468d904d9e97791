package io.faultline.gc;

import io.faultline.model.TypeRegistry;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import java.util.function.IntUnaryOperator;

/**
 * What the collector needs from the heap it collects: the counterpart of MMTk's VM binding. The
 * heap package implements it; nothing else does. Keeping these operations here, rather than as
 * public methods of {@code Heap}, is what keeps the pause-only operations out of the embedding API.
 *
 * <p><b>Threading:</b> "in the pause" means between a {@link #stopTheWorld()} that returned true
 * and the matching {@link #resumeTheWorld()}, on the thread that stopped the world.
 */
public interface HeapBinding {
    /**
     * Stops every attached mutator except the calling thread's own (if it is one). Returns true
     * when the world is stopped and the caller owns the pause; false if another pause ran while
     * the caller waited (a calling mutator took part in it) or the heap is closing: re-check what
     * made you ask. Waits without bound for a mutator that does not reach a safepoint, but says
     * so: after the heap's safepoint timeout it logs the laggard's thread and stack.
     */
    boolean stopTheWorld();

    /** Ends the pause begun by a successful {@link #stopTheWorld()}. */
    void resumeTheWorld();

    /**
     * Runs {@code waiting} with the calling mutator (if the caller is one) in a safe region, so
     * that a pause never waits for a thread that is itself waiting for the collector.
     */
    void inSafeRegion(Runnable waiting);

    /** Attached mutators that are running now (not parked, not in a safe region); a racy count. */
    int runningMutators();

    /** In the pause: plugs the unused tail of every TLAB so that the used region is parsable. */
    void retireTlabs();

    /** In the pause: replaces every root (handles, global roots) {@code r} with {@code f(r)}. */
    void updateRoots(IntUnaryOperator f);

    /**
     * In the pause: turns the snapshot-at-the-beginning write barrier on or off, for every
     * mutator and for mutators attached later. While it is on, a reference store first logs the
     * value it overwrites, if that value is not null, lies below {@code newObjectsFrom} (objects
     * allocated since marking began need no logging) and is not yet marked.
     */
    void setSatbBarrier(boolean on, long newObjectsFrom);

    /**
     * In the pause: passes every value in every mutator's partly filled barrier buffer to
     * {@code consumer} and empties the buffers.
     */
    void drainSatbBuffers(IntConsumer consumer);

    /** The segment mutators access (in the pause: stable). */
    MemorySegment view();

    /**
     * In a pause: from now on a reference store into an object below {@code limit} sets its
     * card. Only with young cycles on ({@link #cards()} not null).
     */
    void setCardLimit(long limit);

    /** The card table (one byte per 512 bytes of the heap, set by reference stores below the card limit), or null with young cycles off. */
    byte[] cards();

    /** In a pause: reference stores set cards in {@code clean} (all zero, as long as {@link #cards()}) from now on; returns the table they used. */
    byte[] swapCards(byte[] clean);

    /** In a pause or while marking: the backend's {@link io.faultline.backend.HeapBackend#collectorReadView()}. */
    MemorySegment collectorReadView();

    /** In the pause: the segment mutators access from now on. */
    void setView(MemorySegment view);

    /** The bottom of the used region: objects live in {@code [base, top)}. */
    long base();

    /** The top of the used region. */
    long top();

    /**
     * In the pause: objects now live in {@code [base, top)}; allocation resumes at {@code top}
     * and may grow to {@code limit}.
     */
    void resetAllocation(long base, long top, long limit);

    /**
     * After a compaction ended ({@link io.faultline.backend.HeapBackend#endCompaction}), in the
     * thread that completed it and before the cycle counts as complete (so no pause runs
     * meanwhile): lets allocation take the resident pages the backend recycles
     * ({@link io.faultline.backend.HeapBackend#recycleAllocationPages}). Mutators run on; one
     * whose allocation reaches past the recycled range waits for the move.
     */
    void recycleAllocationPages();

    /** The heap's registered types (for the verifier). */
    TypeRegistry types();
}
