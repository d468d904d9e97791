/**
 * The embedding API: a managed heap in native memory, the threads that use it, and their roots.
 *
 * <p>{@link io.faultline.heap.Heap#create} builds a heap from a {@link io.faultline.heap.HeapConfig}
 * (capacity, page size, TLAB size, checked access, verification, backend, compactor threads).
 * A thread calls {@link io.faultline.heap.Heap#attach()} to get a {@link io.faultline.heap.Mutator},
 * which it uses to allocate (bump pointer in a thread-local allocation buffer), read and write
 * fields, and hold precise roots in a handle stack (optionally bracketed by a
 * {@link io.faultline.heap.HandleScope}). Heap-wide roots are {@link io.faultline.heap.GlobalRoots}.
 * An allocation that cannot be satisfied after bounded collection retries throws
 * {@link io.faultline.heap.HeapExhaustedException}, and leaves the heap consistent.
 *
 * <p><b>The raw-reference contract:</b> a raw {@code int} reference is valid only until the
 * mutator's next allocation or poll, because a collection may move every object there. Keep an
 * object across such a point in a handle, a global root, or a reachable object's field.
 *
 * <p><b>Threading:</b> a {@code Mutator} is confined to the thread that attached it.
 * {@link io.faultline.heap.Safepoints} implements this project's own cooperative safepoints (not
 * HotSpot's): a pause stops each mutator at its next allocation or {@code poll()}, and a mutator
 * that blocks on anything else must first enter a safe region. The other {@code Heap} methods
 * and {@code GlobalRoots} are safe from any thread. See {@code docs/object-model.md}.
 */
package io.faultline.heap;
