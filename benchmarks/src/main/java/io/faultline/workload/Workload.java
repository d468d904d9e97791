package io.faultline.workload;

import io.faultline.heap.Heap;
import java.io.PrintStream;
import java.util.concurrent.atomic.LongAdder;

/**
 * A program that runs on a {@link Heap} with one or more mutator threads, each attached as its
 * own {@link io.faultline.heap.Mutator}. Instances hold only their parameters; {@link #run} may
 * be called again on another heap.
 */
public interface Workload {

    /** The name used on the command line, e.g. {@code binarytrees}. */
    String name();

    /**
     * Runs to completion on {@code heap} with {@code threads} mutator threads, printing the
     * workload's own text (if it has any) to {@code out}. The calling thread must not be attached.
     * Each mutator adds the bytes it allocated to {@code allocatedBytes} when it ends, also when
     * the run fails (e.g. with {@link io.faultline.heap.HeapExhaustedException}), so a failed run
     * still reports what it allocated.
     *
     * @throws IllegalStateException if the workload's own integrity checks find damaged data
     */
    void run(Heap heap, int threads, PrintStream out, LongAdder allocatedBytes);
}
