package io.faultline.heap;

import io.faultline.gc.HeapBinding;
import io.faultline.model.TypeRegistry;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import java.util.function.IntUnaryOperator;

/**
 * The heap's side of {@link HeapBinding}: the pause-only operations the collector needs, kept out
 * of {@link Heap}'s public API. The calling thread's mutator (if any) takes part in every pause it
 * requests.
 */
final class CollectorBinding implements HeapBinding {
    private final Heap heap;

    CollectorBinding(Heap heap) {
        this.heap = heap;
    }

    @Override
    public boolean stopTheWorld() {
        return heap.safepoints.stopTheWorld(heap.safepoints.current());
    }

    @Override
    public void resumeTheWorld() {
        heap.safepoints.resumeTheWorld(heap.safepoints.current());
    }

    @Override
    public void inSafeRegion(Runnable waiting) {
        Mutator self = heap.safepoints.current();
        if (self == null) {
            waiting.run();
            return;
        }
        self.enterSafeRegion();
        try {
            waiting.run();
        } finally {
            self.leaveSafeRegion();
        }
    }

    @Override
    public int runningMutators() {
        return heap.safepoints.running();
    }

    @Override
    public void retireTlabs() {
        for (Mutator m : heap.safepoints.mutators()) {
            heap.allocator.retire(m);
        }
    }

    @Override
    public void updateRoots(IntUnaryOperator f) {
        for (Mutator m : heap.safepoints.mutators()) {
            m.handles.update(f);
        }
        heap.globals.update(f);
    }

    @Override
    public void setSatbBarrier(boolean on, long newObjectsFrom) {
        heap.satbBarrierOn = on;
        heap.satbNewObjectsFrom = newObjectsFrom;
        for (Mutator m : heap.safepoints.mutators()) {
            m.syncSatbBarrier();
        }
    }

    @Override
    public void setCardLimit(long limit) {
        heap.cardLimit = limit;
        for (Mutator m : heap.safepoints.mutators()) {
            m.syncSatbBarrier();
        }
    }

    @Override
    public byte[] cards() {
        return heap.cards;
    }

    @Override
    public byte[] swapCards(byte[] clean) {
        byte[] used = heap.cards;
        heap.cards = clean;
        return used;
    }

    @Override
    public void drainSatbBuffers(IntConsumer consumer) {
        for (Mutator m : heap.safepoints.mutators()) {
            m.drainSatbBuffer(consumer);
        }
    }

    @Override
    public MemorySegment view() {
        return heap.view;
    }

    @Override
    public MemorySegment collectorReadView() {
        return heap.backend.collectorReadView();
    }

    @Override
    public void setView(MemorySegment view) {
        heap.setView(view);
    }

    @Override
    public long base() {
        return heap.allocator.base();
    }

    @Override
    public long top() {
        return heap.allocator.top();
    }

    @Override
    public void resetAllocation(long base, long top, long limit) {
        heap.allocator.reset(base, top, limit);
    }

    @Override
    public void recycleAllocationPages() {
        heap.allocator.recycle();
    }

    @Override
    public TypeRegistry types() {
        return heap.types;
    }
}
