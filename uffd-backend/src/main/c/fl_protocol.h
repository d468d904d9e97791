/*
 * The page protocol in C: the same functions, under the same names, as
 * io.faultline.backend.PageProtocol (which documents each one), written down once in
 * docs/page-protocol.md. ProtocolDifferentialTest drives both halves through the same seeded
 * schedules. The protocol does not know how a page is built or installed: a backend supplies
 * struct fl_pages (the uffd heap in fl_backend.c, the test double in fl_protocol_test.c).
 *
 * Memory orders: page states are CASed SEQ_CST, published with RELEASE and read with ACQUIRE;
 * every control-block word is accessed SEQ_CST (Java: VarHandle volatile).
 */
#ifndef FL_PROTOCOL_H
#define FL_PROTOCOL_H

#include "layout.h"

#include <stdint.h>

/* claim() results (PageProtocol.CLAIMED, TAKEN, STALE). */
#define CLAIM_OK 1
#define CLAIM_TAKEN 0
#define CLAIM_STALE (-1)

/* serve_fault() results (PageProtocol.FAULT_*). */
#define FAULT_MAPPED 0
#define FAULT_BUILT 1
#define FAULT_MAPPED_RUN 2
#define FAULT_OWNED 3
#define FAULT_STALE 4
#define FAULT_FAILED 5
#define FAULT_ABANDONED 6

/* Spins before a waiting thread starts reading the clock (PageProtocol.SPINS_BEFORE_YIELD). */
#define FL_SPINS_BEFORE_YIELD 64

/*
 * How long a thread that waits for a page another thread owns spins before it starts yielding
 * (PageProtocol.SPIN_BEFORE_YIELD_NANOS). The owner, running on another CPU, finishes a run in
 * tens of microseconds; a sched_yield hands this CPU to any other runnable thread for up to a
 * scheduler slice (a JIT compiler thread took over a millisecond of a faulting mutator's CPU
 * that way, seen with perf sched; docs/results.md, "A waiting fault spins before it yields").
 * The yield is for an owner that is not running, e.g. one preempted on this CPU.
 */
#define FL_SPIN_BEFORE_YIELD_NS 100000

/*
 * How long a waiting fault lets another thread's install of its page run before it maps the page
 * itself (struct fl_pages.map_early): an install of a 64-page run takes 15 to 20 us; one whose
 * thread the scheduler preempted took 1 to 8 ms, most of a fault round's waiting (docs/results.md,
 * "Faults map a preempted install's pages").
 */
#define FL_MAP_EARLY_NS 20000

/*
 * Where a thread builds the pages it claimed: a run at `base` for pages [first, ...) (COPY/MOVE;
 * the backend's supply step points base at the thread's buffer `slot` of `pages` pages, or at
 * recycled from-space), or base == NULL when the backend builds in place (CONTINUE through the GC
 * alias; the test double).
 */
struct fl_target {
	char *base;
	char *slot;
	int64_t first;
	int64_t pages;
	/* Set by the backend's supply step when it could not provide the run's pages (an errno): the
	 * backend's build then fails each page of the run with it instead of writing. */
	int supply_errno;
};

/* What the protocol needs from a backend (PageProtocol.Pages). */
struct fl_pages {
	/* The caller claimed [first, first + n) of target t and is about to build it: provide pages to build into. */
	void (*supply)(void *ctx, struct fl_target *t, int64_t first, int64_t n);
	/* Builds `page` (into target, or in place); 0, or -errno with *bad_offset for -EUCLEAN. */
	int (*build)(void *ctx, const struct fl_target *target, int64_t page, int64_t *bad_offset);
	/* Counters only, may be NULL: one build_run on `path` (FL_PATH_*) built `pages` pages in `nanos`
	 * (timed once per call, not per page: a clock read or a locked add after each page's copy costs
	 * more than it tells). */
	void (*built)(void *ctx, int path, int64_t pages, int64_t nanos);
	/* Makes pages [first, first + n) visible, sources from src[], for `path` (FL_PATH_*, counters
	 * only); 0 or a positive errno. A page that a waiting fault already mapped early (map_early)
	 * is skipped. */
	int (*install)(void *ctx, int path, int64_t first, int64_t n);
	/* May be NULL (C only; PageProtocol has no such step). For a fault that has waited
	 * FL_MAP_EARLY_NS on `first`, MAPPING since another thread's install began: makes
	 * [first, first + n), all MAPPING and so built, visible now, in ascending order, stopping at a
	 * page that is already visible. Returns 0 if `first` is visible, else a positive errno (the
	 * fault then waits on; the owner's install reports any real failure). The owner still
	 * installs, publishes and counts the run. */
	int (*map_early)(void *ctx, int64_t first, int64_t n);
	/* From-space [offset, offset + bytes) will not be read again this cycle: give it back to the
	 * kernel if the supply does; 0 or a positive errno (the caller fails the heap). */
	int (*release)(void *ctx, int64_t offset, int64_t bytes);
	/* Installs a page of FL_POISON_BYTE at `page` (wakes its faulting threads). */
	void (*poison)(void *ctx, int64_t page);
	void *ctx;
};

/*
 * A builder claims a run this many pages ahead of its build (PageProtocol.CLAIM_AHEAD_PAGES): the
 * claims are CASes, and a locked instruction right after a page's copy waits for the copy's stores
 * to drain, so claiming page by page serialised every copy; claimed together, only the first of
 * a batch waits. A fault on a page claimed but not yet built waits for at most this many builds.
 */
#define FL_CLAIM_AHEAD 16

/*
 * A compactor that takes a fault's hint builds this many runs of FL_HINT_RUN_FAULT_RUNS
 * fault-around runs each from it, turning to a newer hint as soon as one is pending
 * (PageProtocol.HINT_FOLLOW_RUNS, PageProtocol.HINT_RUN_FAULT_RUNS).
 */
#define FL_HINT_FOLLOW_RUNS 2
#define FL_HINT_RUN_FAULT_RUNS 2

struct fl_protocol {
	int32_t *states;
	struct fl_control *control;
	const int64_t *first_objects;
	/* Per page, the address of its built bytes (COPY/MOVE: a run is installable at once only where
	 * these are contiguous), or NULL when pages are built in place. */
	int64_t *src;
	int64_t page_size;
	unsigned page_shift;
	struct fl_pages pages;
};

/* True for the paths that serve a fault (FL_PATH_FAULT_*): they leave the release of consumed
 * from-space to the compactors (PageProtocol.releases), and the backend counts their build and
 * install time apart. */
static inline int fl_fault_path(int path)
{
	return path == FL_PATH_FAULT_THREAD || path == FL_PATH_FAULT_SIGBUS || path == FL_PATH_FAULT_JAVA;
}

int64_t active_epoch(const struct fl_protocol *p);
int claim(struct fl_protocol *p, int64_t page, int64_t epoch);
int64_t claim_run(struct fl_protocol *p, int64_t first, int64_t max, int64_t limit, int64_t epoch);
int64_t build_run(struct fl_protocol *p, const struct fl_target *t, int64_t first, int64_t n, int path);
int64_t map_run(struct fl_protocol *p, int64_t first, int64_t n, int path);
int64_t compact_step(struct fl_protocol *p, struct fl_target *t, int64_t max_pages);
int64_t sweep(struct fl_protocol *p, struct fl_target *t, int64_t max_pages, int64_t epoch, int path);
int serve_fault(struct fl_protocol *p, struct fl_target *t, int64_t page, int wait, int path);
int64_t help_ahead(struct fl_protocol *p, struct fl_target *t, int64_t page, int path);
void advance_frontier(struct fl_protocol *p, int path);
void fail_run(struct fl_protocol *p, int64_t first, int64_t n, int path, int err, int64_t from_offset);
/* ControlBlock.recordFailure: first caller wins; returns 1 if this call recorded it. */
int record_failure(struct fl_control *c, int path, int64_t page, int err, int64_t from_offset);

#endif /* FL_PROTOCOL_H */
