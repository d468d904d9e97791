/**
 * The userfaultfd backend: availability probing ({@link io.faultline.uffd.UffdProbe}), backend
 * selection ({@link io.faultline.uffd.UffdBackends}), the heap backend
 * ({@link io.faultline.uffd.UffdBackend}), the native library with the fault path
 * ({@link io.faultline.uffd.NativeLibrary}, {@code src/main/c}) and, in
 * {@link io.faultline.uffd.sys}, the FFM bindings to the system calls.
 *
 * <h2>Three ways to put a compacted page under a mutator</h2>
 * In every mode the pause (mutators parked at our safepoints) makes a new mapping the mutator
 * view, so the old heap contents stay where they are as from-space and the to-space range of the
 * view has no page table entries without any being moved or zapped, and registers {@code [0, toSpaceBytes)} with the heap's userfaultfd. A to-space page then becomes
 * visible exactly once, when its builder issues the mode's ioctl; until then a mutator touching it
 * blocks in the kernel and a fault message reaches the service thread.
 *
 * <table>
 *   <caption>The modes side by side</caption>
 *   <tr><th></th><th>CONTINUE (minor faults)</th><th>COPY</th><th>MOVE</th></tr>
 *   <tr><td>heap memory</td><td>memfd (shmem) of 2 x capacity; view = one half, GC alias = all</td>
 *       <td>private anonymous view</td><td>private anonymous view</td></tr>
 *   <tr><td>pause: from-space</td><td>a new mapping of the other half becomes the view; the
 *       old view is the from-space (no page or page-table entry moves)</td>
 *       <td colspan="2">a new anonymous mapping becomes the view; the old view is the from-space
 *       (no page or page-table entry moves)</td></tr>
 *   <tr><td>who copies the bytes</td><td>the builder, into the page cache through the alias; the
 *       kernel only maps the cached page ({@code UFFDIO_CONTINUE})</td>
 *       <td>the builder into a private buffer, then the kernel again, into a page it allocates
 *       ({@code UFFDIO_COPY}: two copies)</td>
 *       <td>the builder into a private staging page; the kernel re-points the PTE to that page
 *       ({@code UFFDIO_MOVE}: one copy, but the staging slot must be refaulted, a zeroed page,
 *       for the next build)</td></tr>
 *   <tr><td>fault kinds</td><td>MISSING (page not yet in the cache: the old half was punched) or
 *       MINOR (cached); registered for both, resolved identically</td>
 *       <td colspan="2">MISSING</td></tr>
 *   <tr><td>from-space release</td><td>{@code fallocate(PUNCH_HOLE)} on the old half (and
 *       {@code madvise(DONTNEED)} on the old view's anonymous allocation area)</td>
 *       <td colspan="2">{@code madvise(DONTNEED)}, then {@code munmap}</td></tr>
 *   <tr><td>address space</td><td>3 x capacity (view + 2 x capacity alias), plus the old view
 *       during a compaction; memory accounted as shmem</td><td colspan="2">capacity, plus the old
 *       view (the from-space) during a compaction, + the build buffers</td></tr>
 *   <tr><td>resident peak</td><td colspan="3">live to-space + not-yet-released from-space</td></tr>
 * </table>
 *
 * <h2>Why the fault path is native</h2>
 * A Java thread blocked in a userfault is, to HotSpot, a thread running Java code that has not
 * reached a safepoint poll. If resolving the fault needed another Java thread, that thread could be
 * stopped at a safepoint (a G1 or ZGC pause, a deoptimisation, a thread dump, exit) that is itself
 * waiting for the faulting mutator: measured on this machine kind, a Java resolver plus a thread
 * churning the Java heap deadlocked within seconds, beyond SIGTERM (docs/uffd-modes.md, "The
 * safepoint hazard, and why the fault path is native"). So everything a blocked mutator may wait
 * for runs outside the safepoint protocol:
 * <ul>
 *   <li>the fault-service loop is a pthread created by {@code libfaultline} (all signals blocked;
 *       {@code poll()} on the uffd and an eventfd), which claims, builds and maps the page or
 *       waits for its owner and wakes the faulter;</li>
 *   <li>compactor threads enter C once per {@code compactPages(max)} call (a bounded step, so
 *       that from-space can be released between steps)
 *       ({@code fl_compact_pages}) and claim, build, map and publish pages there: a thread in a
 *       downcall is "in native", which HotSpot's safepoints do not wait for, and no Java code ever
 *       runs between claiming a page and publishing it;</li>
 *   <li>the page compactor is C ({@code compact_page} in {@code fl_backend.c}), a line-by-line
 *       mirror of {@link io.faultline.gc.compact.PageCompactor} over the same native side tables;
 *       a differential test checks byte-identical pages;</li>
 *   <li>Java compactor threads may be late (descheduled, or held at a HotSpot safepoint between
 *       downcalls). So when the service thread's {@code poll()} times out twice (about 20 ms)
 *       while {@code PAGES_LEFT} stays unchanged and non-zero, it builds the remaining UNPROCESSED
 *       pages itself, with the same validated claims (the backstop);</li>
 *   <li>shutting down closes the uffd inside the same downcall that joins the service thread, so
 *       no Java safepoint poll sits between "nobody serves faults" and "no fault can block".</li>
 * </ul>
 * Java keeps setup (every syscall through FFM), the pause and the policy. The liveness test runs
 * 50 collections with mutators faulting continuously while a thread forces G1 (and, separately,
 * ZGC) pauses, each in a forked JVM that is killed if it stalls.
 */
package io.faultline.uffd;
