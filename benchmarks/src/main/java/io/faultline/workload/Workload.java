package io.faultline.workload;

import io.faultline.heap.Heap;
import java.io.PrintStream;

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
     *
     * @return bytes allocated by all mutators
     * @throws IllegalStateException if the workload's own integrity checks find damaged data
     */
    long run(Heap heap, int threads, PrintStream out);
}
