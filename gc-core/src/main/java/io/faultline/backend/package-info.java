/**
 * Where the heap's bytes live, and how a compacted page reaches the mutators.
 *
 * <p>{@link io.faultline.backend.HeapBackend} is the collector's only view of memory. It supplies
 * the mutator view, keeps from-space readable after the pause ({@code beginCompaction}), builds
 * and publishes a page ({@code buildPage}, or natively through {@code compactPages}), releases
 * from-space, and drops it at the end. Offsets crossing the interface are byte offsets from the
 * start of the view, never raw pointers. Each method's Javadoc says what the fallback does.
 *
 * <p>{@link io.faultline.backend.JavaBackend} is the pure-Java fallback. It uses two native
 * segments that swap roles at each pause, and mutators detect unbuilt pages in software (one
 * page-state load per access). The userfaultfd backend in {@code uffd-backend} implements the same
 * interface with real page faults.
 *
 * <p><b>Threading:</b> {@code beginCompaction} runs inside the pause. {@code buildPage} may be
 * called by several threads at once, each for a page it owns. {@code endCompaction} runs once per
 * cycle, in the thread that completes it. See {@code docs/gc-cycle.md}.
 */
package io.faultline.backend;
