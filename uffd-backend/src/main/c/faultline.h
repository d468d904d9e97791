/*
 * libfaultline: the native part of the Faultline uffd backend.
 *
 * Everything a mutator blocked in a userfault may wait for runs here, outside HotSpot's
 * safepoint protocol (docs/uffd-modes.md, "The safepoint hazard"): the ABI handshake used by
 * io.faultline.uffd.NativeLibrary (faultline.c), the page compactor (fl_compactor.c), the page
 * protocol (fl_protocol.c) and the uffd heap built on them (fl_backend.c, driven by
 * io.faultline.uffd.UffdBackend), and the benchmark floors (fl_bench.c).
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

/* Bumped whenever an exported signature or a shared memory layout changes. */
#define FL_VERSION 11

#define FL_EXPORT __attribute__((visibility("default")))

/* Returns FL_VERSION; the Java side refuses a library with another value. */
FL_EXPORT int fl_version(void);

/*
 * 1 if this CPU has every instruction the library is compiled for beyond baseline x86-64 (POPCNT:
 * gcc -mpopcnt, for the compactor's forwarding, which counts live words in a bitmap word per
 * reference), else 0; the Java side refuses the library then. Uses no such instruction itself.
 */
FL_EXPORT int fl_cpu_supported(void);

/*
 * Returns the ioctl request number this library uses for the userfaultfd ioctl numbered nr
 * (_UFFDIO_API, _UFFDIO_REGISTER, ..., _UFFDIO_MOVE, _UFFDIO_CONTINUE), or 0 for an unknown nr.
 * Lets the Java bindings check that both sides encode the same requests and struct sizes.
 */
FL_EXPORT unsigned long fl_uffd_request(unsigned int nr);

#include <stdint.h>

/* Page modes: the ordinals of io.faultline.uffd.UffdProbe.Mode. */
#define FL_MODE_CONTINUE 0
#define FL_MODE_COPY 1
#define FL_MODE_MOVE 2

/* Fault delivery: the ordinals of io.faultline.uffd.UffdOptions.Delivery. */
#define FL_DELIVERY_THREAD 0
#define FL_DELIVERY_SIGBUS 1

/* Page supply: the ordinals of io.faultline.uffd.UffdOptions.PageSupply. */
#define FL_SUPPLY_FRESH 0
#define FL_SUPPLY_RECYCLE 1
#define FL_SUPPLY_KEEP 2
#define FL_SUPPLY_FALLOCATE 3

/* Counters of fl_stats(); indexes mirrored by io.faultline.uffd.UffdBackend.Stat. */
#define FL_STAT_FAULTS 0           /* page-fault messages read from the uffd */
#define FL_STAT_MINOR_FAULTS 1     /* ... of which UFFD_PAGEFAULT_FLAG_MINOR */
#define FL_STAT_MISSING_FAULTS 2   /* ... of which MISSING */
#define FL_STAT_FAULT_BUILT 3      /* faults whose page the service thread built (with its fault-around) */
#define FL_STAT_FAULT_OWNED 4      /* faults on a page another thread owned (left to its install's wake-up) */
#define FL_STAT_IOCTL_CONTINUE 5
#define FL_STAT_IOCTL_COPY 6
#define FL_STAT_IOCTL_MOVE 7
#define FL_STAT_IOCTL_WAKE 8
#define FL_STAT_INSTALL_RUNS 9     /* runs installed (one install call each; partial results resume) */
#define FL_STAT_PAGES_INSTALLED 10 /* pages installed by those runs */
#define FL_STAT_EAGAIN 11
#define FL_STAT_ERRORS 12
#define FL_STAT_LAST_ERRNO 13
#define FL_STAT_LAST_ERROR_PAGE 14
#define FL_STAT_POISONED 15        /* pages installed filled with FL_POISON_BYTE (failure, or close mid-cycle) */
#define FL_STAT_COMPACTOR_BUILT 16 /* pages built by fl_compact_step */
#define FL_STAT_MOVE_EBUSY 17      /* MOVE runs that fell back to COPY on EBUSY */
#define FL_STAT_BACKSTOP_BUILT 18  /* pages the service thread built for a cycle without progress */
#define FL_STAT_RELEASES 19        /* from-space release calls (madvise / punch hole) during compaction */
#define FL_STAT_RELEASED_BYTES 20  /* bytes those calls released */
#define FL_STAT_BUILD_NS 21        /* ns spent building pages, all threads: each build_run timed once, its claims of the next batch excluded, its state publishes included */
#define FL_STAT_INSTALL_NS 22      /* ns spent in install ioctls, all threads */
#define FL_STAT_SUPPLY_NS 23       /* ns spent supplying pages to build into (CONTINUE: FALLOCATE's fallocate, KEEP's alias population) */
#define FL_STAT_FAULT_NS 24        /* ns from taking a fault to serving it (service thread: message read to done) */
#define FL_STAT_SIGBUS_FAULTS 25   /* faults served by the SIGBUS handler of the faulting thread */
#define FL_STAT_RECYCLED_PAGES 26  /* pages built in recycled (consumed) from-space pages */
#define FL_STAT_FAULT_MAX_NS 27    /* the longest fault (as FL_STAT_FAULT_NS measures it) */
#define FL_STAT_STALE_MESSAGES 28  /* fault messages for a retired view, read after the flip that moved the view */
#define FL_STAT_DENSE_BUILT 29     /* pages compact_page built by its dense path (one copy, one walk) */
#define FL_STAT_KEPT_POPULATED_BYTES 30 /* CONTINUE KEEP: to-space bytes whose alias entries were made in bulk, where the half's to-space never reached before */
#define FL_STAT_VERBATIM_BUILT 31 /* pages compact_page copied as they were (young cycles' old pages no dirty card touches) */
#define FL_STAT_MAPPED_EARLY 32    /* pages a waiting SIGBUS fault mapped while their owner's install was late (CONTINUE) */
#define FL_STAT_FAULT_BUILD_NS 33  /* the part of FL_STAT_BUILD_NS that threads serving a fault spent (its run, its fault-around, a run it helped ahead) */
#define FL_STAT_FAULT_INSTALL_NS 34 /* the part of FL_STAT_INSTALL_NS that threads serving a fault spent */
#define FL_STAT_COUNT 35

struct fl_heap;

/*
 * Creates the native state of one heap and starts its fault-service thread (a pthread that
 * blocks all signals and poll()s the uffd and an eventfd). On success the uffd belongs to the
 * state (fl_heap_stop closes it); memfd, view and alias (CONTINUE: the GC alias of the whole
 * memfd; else NULL) stay the caller's. delivery FL_DELIVERY_SIGBUS: the uffd was created with
 * UFFD_FEATURE_SIGBUS; the view is registered with the process-wide SIGBUS handler (installed on
 * first use, in front of the previous one). supply: where pages are built (FL_SUPPLY_*). backstop_ms: how long a compaction may make no progress
 * before the service thread builds the rest itself (0: never). On failure returns NULL with *err = errno.
 */
FL_EXPORT struct fl_heap *fl_heap_new(int mode, int delivery, int supply, int uffd, int memfd, void *view,
				      void *alias, uint64_t capacity, uint64_t page_size, int64_t backstop_ms, int *err);
/*
 * Records the collector's side tables (raw addresses, layouts in layout.h) and, for COPY/MOVE,
 * maps the build buffers, sized by the control block's RUN_PAGES and FAULT_AROUND (set before).
 * The tables must stay allocated until fl_heap_free: the heap closes its metadata after its
 * backend. Returns 0 or an errno.
 */
FL_EXPORT int fl_heap_attach(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first,
			     void *states, void *control);
/*
 * Inside the pause, before the to-space is registered and before fl_heap_begin: the mutator view
 * is now the mapping at view (the backend maps a fresh view every cycle, so that the pause moves
 * or zaps no page-table entry). Faults, installs and the SIGBUS registry use it from now on. No
 * fault on this heap may be in flight (the last compaction has ended).
 */
FL_EXPORT void fl_heap_move_view(struct fl_heap *h, void *view);
/*
 * Inside the pause, after the control block holds the cycle's bounds: the from-space, in every mode
 * the old view and its used extent (NULL, 0 when compaction ends); CONTINUE also the halves' file
 * offsets (from: punched as it is consumed, unless KEEP; to: built through the alias), and
 * from_split: the old view's to-space [0, from_split), which the compactor reads through the alias,
 * where its entries are (0 otherwise).
 */
FL_EXPORT void fl_heap_begin(struct fl_heap *h, const void *from, int64_t from_bytes, int64_t from_half_offset,
			     int64_t to_half_offset, int64_t from_split);
/*
 * Compactor thread (or the pausing thread): one bounded step of the page protocol
 * (compact_step: cursor runs, then a sweep); returns pages built (0: nothing left to claim).
 */
FL_EXPORT int64_t fl_compact_step(struct fl_heap *h, int64_t max_pages);
/* Builds to-space page `page` into buffer with the native compactor (the differential test). */
FL_EXPORT void fl_compact_page_into(struct fl_heap *h, void *buffer, int64_t page);
/*
 * Stops the service thread (joined), waits for compactor calls in flight, poisons every to-space
 * page of a compaction in flight that is not mapped (waking its faulting threads), then closes
 * the uffd. All in one downcall, so no Java safepoint poll sits between "nobody serves faults"
 * and "no fault can block". Idempotent.
 */
FL_EXPORT void fl_heap_stop(struct fl_heap *h);
/*
 * fl_heap_stop, then leaves the SIGBUS registry and frees the state, its eventfd and buffers. Call
 * only once no mutator can touch the view (Java closes the view's arena first).
 */
FL_EXPORT void fl_heap_free(struct fl_heap *h);
FL_EXPORT void fl_stats(struct fl_heap *h, int64_t *out, int n);
/*
 * The fault-latency histogram: out[i] = faults whose latency (FL_STAT_FAULT_NS's measure) fell in
 * bucket i of fl_hist_bucket (layout.h, io.faultline.meta.LatencyBuckets), for i < n.
 */
FL_EXPORT void fl_fault_histogram(struct fl_heap *h, int64_t *out, int n);
/* fl_hist_bucket(nanos), for the test that compares it with LatencyBuckets.bucket. */
FL_EXPORT int fl_latency_bucket(int64_t nanos);

/*
 * The page protocol's test double (fl_protocol_test.c): the C half of the protocol over the given
 * tables, with a backend that builds nothing, installs by state only, fails the builds of chosen
 * pages with EUCLEAN and the installs of chosen pages with an errno, and counts what it did. One
 * call per protocol function, so ProtocolDifferentialTest can interleave them.
 */
struct fl_protocol_test;
FL_EXPORT struct fl_protocol_test *fl_ptest_new(void *states, void *control, const void *first_objects,
						int64_t page_size);
FL_EXPORT void fl_ptest_free(struct fl_protocol_test *t);
/* page < 0 clears the list; errno 0 = build fails with EUCLEAN; else install fails with errno. */
FL_EXPORT void fl_ptest_fail(struct fl_protocol_test *t, int64_t page, int err);
FL_EXPORT int fl_ptest_claim(struct fl_protocol_test *t, int64_t page, int64_t epoch);
FL_EXPORT int64_t fl_ptest_claim_run(struct fl_protocol_test *t, int64_t first, int64_t max, int64_t limit, int64_t epoch);
FL_EXPORT int64_t fl_ptest_build_run(struct fl_protocol_test *t, int64_t first, int64_t n, int path);
FL_EXPORT int64_t fl_ptest_map_run(struct fl_protocol_test *t, int64_t first, int64_t n, int path);
FL_EXPORT int64_t fl_ptest_compact_step(struct fl_protocol_test *t, int64_t max_pages);
FL_EXPORT int64_t fl_ptest_sweep(struct fl_protocol_test *t, int64_t max_pages, int64_t epoch, int path);
FL_EXPORT int fl_ptest_serve_fault(struct fl_protocol_test *t, int64_t page, int wait, int path);
FL_EXPORT int64_t fl_ptest_help_ahead(struct fl_protocol_test *t, int64_t page, int path);
FL_EXPORT void fl_ptest_advance_frontier(struct fl_protocol_test *t, int path);
FL_EXPORT int64_t fl_ptest_active_epoch(struct fl_protocol_test *t);
/* What the test backend did: 0 builds, 1 installs, 2 installed pages, 3 released bytes, 4 poisoned pages, 5 supplied pages. */
FL_EXPORT int64_t fl_ptest_count(struct fl_protocol_test *t, int what);

/* SIGBUS delivery: SIGBUS signals the handler passed on to the previous handler; 1 once installed. */
FL_EXPORT int64_t fl_sigbus_chained(void);
FL_EXPORT int fl_sigbus_installed(void);
/* The address of the last SIGBUS passed on (diagnostics). */
FL_EXPORT uint64_t fl_sigbus_last_chained_address(void);

/*
 * Test hooks (fl_test_hooks.c): a canary SIGBUS handler installed in place (it counts SIGBUS
 * signals that are not faults, and passes the rest to the handler it replaced), and a raise(SIGBUS).
 */
FL_EXPORT int fl_test_install_canary(void);
FL_EXPORT int64_t fl_test_canary_count(void);
FL_EXPORT void fl_test_raise_sigbus(void);
/* Makes every page build in this process take at least ns longer (0: off), so a test can make
 * several threads fault on one page while it is being built. */
FL_EXPORT void fl_test_set_build_delay(int64_t ns);
/* Sets the shortest run MOVE mode moves, and with RECYCLE builds in recycled from-space, to pages
 * (0: FL_MOVE_MIN_RUN, 34), in every heap of this process: a test's small heaps then move too. */
FL_EXPORT void fl_test_set_move_min_run(int64_t pages);
/* Arms (non-zero) or disarms a replay: the next fault message any service thread reads is served
 * as usual and once more after a flip has moved its heap's view, as a message read that late would
 * be. The messages kept for a replay so far, and the address of the last one. */
FL_EXPORT void fl_test_replay_next_message(int64_t arm);
FL_EXPORT int64_t fl_test_replayed_messages(void);
FL_EXPORT int64_t fl_test_replayed_address(void);
/* Makes the next poll of any service thread fail with err (0: none), as if the kernel had. */
FL_EXPORT void fl_test_fail_service_poll(int64_t err);
/* Makes the next FALLOCATE page supply of any heap fail with err (0: none), as if fallocate had. */
FL_EXPORT void fl_test_fail_supply(int64_t err);
/* Makes the next from-space release of any heap fail with err (0: none), as if madvise had. */
FL_EXPORT void fl_test_fail_release(int64_t err);
/* Makes the next install of any heap sleep ns before its ioctl, its run MAPPING (0: none), as if its
 * thread were preempted there; 1 while such an install sleeps. */
FL_EXPORT void fl_test_stall_next_install(int64_t ns);
FL_EXPORT int64_t fl_test_install_stalled(void);

/* The value of a layout constant by name (LayoutAbiTest compares them with the Java side); INT64_MIN if unknown. */
FL_EXPORT int64_t fl_layout_constant(const char *name);

/*
 * Benchmark floors (fl_bench.c), measured with no compaction work: the cheapest known way to do
 * the heap's own round trip. Each runs in one downcall: the caller is the faulting thread; in
 * thread delivery the resolver is a long-lived pthread (joined by free) that waits exactly as the
 * fault-service thread does and is placed on the faulting thread's CPU for each pass (the
 * cheapest hand-over); in SIGBUS delivery a handler in the faulting thread serves the fault.
 * Serving builds 4 KiB into a resident page and installs it with the mode's ioctl.
 */
#define FL_BENCH_CONTINUE 0        /* MISSING|MINOR memfd range; resolver writes the (cached, alias-mapped) page via the alias, UFFDIO_CONTINUE */
#define FL_BENCH_COPY 1            /* MISSING anonymous range; resolver fills a resident staging page, UFFDIO_COPY */
#define FL_BENCH_MOVE 2            /* MISSING anonymous range; resolver fills a resident pool page, UFFDIO_MOVE */
#define FL_BENCH_CONTINUE_CACHED 3 /* as CONTINUE without the write: a pure minor-fault round trip */
#define FL_BENCH_SIGBUS 0x10       /* or'ed with a uffd kind (0..3): UFFD_FEATURE_SIGBUS, served by a handler in the faulting thread */
#define FL_BENCH_UNPINNED 0x20     /* or'ed with a uffd kind (0..3), thread delivery: the resolver stays where the scheduler puts it */
#define FL_BENCH_BUSY 0x40         /* or'ed with a uffd kind (0..3) | FL_BENCH_SIGBUS: during each pass a second thread of the process spins on another CPU, as a compactor runs during the heap's faults (not a floor: what that costs a fault, e.g. MOVE's TLB shootdown) */
#define FL_BENCH_SHMEM_MINOR 0     /* fl_bench_plain_fault: cached memfd page, no PTE, no uffd */
#define FL_BENCH_ANON_FIRST_TOUCH 1 /* fl_bench_plain_fault: anonymous first write (allocate + zero) */
/* Touches npages fresh pages of a registered range, one at a time; lat[i] = ns of touch i. 0 or -errno. */
FL_EXPORT int fl_bench_uffd_roundtrip(int mode, int64_t npages, int64_t *lat);
/* Touches npages pages with no userfaultfd; lat[i] = ns of touch i. 0 or -errno. */
FL_EXPORT int fl_bench_plain_fault(int kind, int64_t npages, int64_t *lat);
/* Floors as regions, so that a benchmark can time the touches alone: FL_BENCH_CONTINUE..CONTINUE_CACHED
 * (optionally | FL_BENCH_SIGBUS, | FL_BENCH_SIGBUS | FL_BENCH_BUSY, or | FL_BENCH_UNPINNED), or: */
#define FL_BENCH_FLOOR_SHMEM_MINOR 4
#define FL_BENCH_FLOOR_ANON_FIRST_TOUCH 5
struct fl_bench_region;
/*
 * Maps (and for uffd floors registers, and starts the resolver pthread for, or enters in the
 * process's SIGBUS handler) npages; NULL with *err = errno (EBUSY: 16 SIGBUS regions alive already).
 */
FL_EXPORT struct fl_bench_region *fl_bench_region_new(int floor, int64_t npages, int *err);
/*
 * One pass: touches every page once, one at a time; lat[i] = ns of touch i. Before every pass
 * but the first the region is re-armed, untimed (view emptied, MOVE's pool repopulated), so a
 * region serves pass after pass with the same resolver thread. 0 or -errno.
 */
FL_EXPORT int fl_bench_region_touch(struct fl_bench_region *g, int64_t *lat);
/* Stops the resolver (joined), closes the uffd and unmaps everything. NULL is ignored. */
FL_EXPORT void fl_bench_region_free(struct fl_bench_region *g);
/*
 * Batched installs, no faults: total_pages pages installed with mode's ioctl (FL_BENCH_CONTINUE,
 * COPY or MOVE) in runs of run_pages contiguous pages, one ioctl per run, sources resident
 * (COPY: a filled buffer; CONTINUE: the page cache, fallocated, mapped through an alias; MOVE:
 * private pages repopulated before each round), 2 MiB aligned, each run's sources written just
 * before its ioctl as a builder writes them; rounds times. round_ns[r] = ns of round r's ioctls
 * (the writes untimed). 0 or -errno.
 */
FL_EXPORT int fl_bench_install(int mode, int64_t run_pages, int64_t total_pages, int64_t rounds, int64_t *round_ns);
/* memcpy of [0, total) in chunk-byte pieces, reps times, between two pre-touched buffers: ns, or -errno. */
FL_EXPORT int64_t fl_bench_memcpy(int64_t chunk, int64_t total, int64_t reps);

#endif /* FAULTLINE_H */
