package io.faultline.testing;

import io.faultline.gc.MarkingHooks;
import java.util.concurrent.locks.LockSupport;

/**
 * Marking hooks that hold the collector for tens to hundreds of microseconds at pseudo-random
 * points (every other cycle right after the initial mark, before the remark and before the flip;
 * one traced object in 16), so that in model tests mutators run while the marker is mid-way and
 * between remark and flip. The points derive
 * from the seed, the cycle and the reference, so any number of marking threads can share one
 * instance.
 */
public final class JitteryMarking implements MarkingHooks {
    private final long seed;

    public JitteryMarking(long seed) {
        this.seed = seed;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    @Override
    public void initialMarkDone(long cycle) {
        hold(mix(seed ^ cycle), 2);
    }

    @Override
    public void traced(int ref) {
        hold(mix(seed + ref), 16);
    }

    @Override
    public void beforeRemark(long cycle) {
        hold(mix(seed ^ (cycle << 1)), 2);
    }

    @Override
    public void beforeFlip(long cycle) {
        hold(mix(seed ^ (cycle << 2)), 2);
    }

    /** With probability 1/{@code oneIn}: parks 10..200 us. */
    private static void hold(long h, int oneIn) {
        if (Long.remainderUnsigned(h, oneIn) == 0) {
            LockSupport.parkNanos(10_000 + Long.remainderUnsigned(h >>> 16, 190_000));
        }
    }
}
