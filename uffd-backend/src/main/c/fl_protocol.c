/*
 * The page protocol in C: a function-by-function mirror of io.faultline.backend.PageProtocol,
 * whose Javadoc documents each function; docs/page-protocol.md is the protocol itself. The one
 * addition is wait_for_target(): a COPY/MOVE builder builds into a buffer run (struct fl_target)
 * from which another thread may be mapping pages it took, so the buffer is reused only once all
 * of its pages are MAPPED or FAILED (the Java half builds in place and needs no buffer).
 */
#define _GNU_SOURCE
#include "fl_protocol.h"
#include "fl_trace.h"

#include <errno.h>
#include <sched.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)

static inline int32_t state_acquire(const struct fl_protocol *p, int64_t page)
{
	return __atomic_load_n(&p->states[page], __ATOMIC_ACQUIRE);
}

/* The owner's release store; traced with the state it replaces (the owner's own, so stable). */
static inline void publish(struct fl_protocol *p, int64_t page, int32_t state)
{
	if (__builtin_expect(fl_trace_ring(p->control) != NULL, 0))
		fl_trace_state(p->control, page, state_acquire(p, page), state);
	__atomic_store_n(&p->states[page], state, __ATOMIC_RELEASE);
}

static inline int cas_state(struct fl_protocol *p, int64_t page, int32_t from, int32_t to)
{
	if (!__atomic_compare_exchange_n(&p->states[page], &from, to, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	fl_trace_state(p->control, page, from, to);
	return 1;
}

static inline int is_built(int32_t s)
{
	return s == FL_PAGE_MAPPED || s == FL_PAGE_PROCESSED || s == FL_PAGE_MAPPING;
}

static inline int abandoned(const struct fl_protocol *p)
{
	return LOAD(&p->control->abandon) != 0;
}

static inline int failed(const struct fl_protocol *p)
{
	return (LOAD(&p->control->poll) & FL_POLL_FAILED) != 0;
}

/* ControlBlock.raise: returns the old value. */
static int64_t raise_word(int64_t *word, int64_t value)
{
	int64_t old = LOAD(word);
	while (old < value && !__atomic_compare_exchange_n(word, &old, value, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	return old;
}

/* A wait for a page another thread owns: spins (pause) for FL_SPIN_BEFORE_YIELD_NS, then yields each turn. */
struct backoff {
	unsigned spins;
	int64_t since; /* when the spins began to read the clock, 0 before */
};

static void backoff(struct backoff *b)
{
	if (++b->spins < FL_SPINS_BEFORE_YIELD) {
		__builtin_ia32_pause();
		return;
	}
	int64_t now = fl_trace_now();
	if (b->since == 0)
		b->since = now;
	if (now - b->since < FL_SPIN_BEFORE_YIELD_NS)
		__builtin_ia32_pause();
	else
		sched_yield();
}

int record_failure(struct fl_control *c, int path, int64_t page, int err, int64_t from_offset)
{
	int64_t none = FL_PATH_NONE;
	if (!__atomic_compare_exchange_n(&c->failed_path, &none, (int64_t)path, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return 0;
	STORE(&c->failed_page, page);
	STORE(&c->failed_errno, (int64_t)err);
	STORE(&c->failed_offset, from_offset);
	__atomic_fetch_or(&c->poll, (int64_t)FL_POLL_FAILED, __ATOMIC_SEQ_CST);
	return 1;
}

int64_t active_epoch(const struct fl_protocol *p)
{
	int64_t active = LOAD(&p->control->active_epoch);
	return active == LOAD(&p->control->epoch) ? active : -1;
}

int claim(struct fl_protocol *p, int64_t page, int64_t epoch)
{
	if (!cas_state(p, page, FL_PAGE_UNPROCESSED, FL_PAGE_PROCESSING))
		return CLAIM_TAKEN;
	if (LOAD(&p->control->epoch) != epoch) {
		publish(p, page, FL_PAGE_UNPROCESSED);
		return CLAIM_STALE;
	}
	return CLAIM_OK;
}

int64_t claim_run(struct fl_protocol *p, int64_t first, int64_t max, int64_t limit, int64_t epoch)
{
	int r = claim(p, first, epoch);
	if (r != CLAIM_OK)
		return r == CLAIM_STALE ? -1 : 0;
	int64_t n = 1;
	while (n < max && first + n < limit && cas_state(p, first + n, FL_PAGE_UNPROCESSED, FL_PAGE_PROCESSING))
		n++;
	return n;
}

void fail_run(struct fl_protocol *p, int64_t first, int64_t n, int path, int err, int64_t from_offset)
{
	record_failure(p->control, path, first, err, from_offset);
	for (int64_t q = first; q < first + n; q++) {
		p->pages.poison(p->pages.ctx, q);
		publish(p, q, FL_PAGE_FAILED);
	}
}

int64_t build_run(struct fl_protocol *p, const struct fl_target *t, int64_t first, int64_t n, int path)
{
	int64_t t0 = p->pages.built != NULL ? fl_trace_now() : 0; /* CLOCK_MONOTONIC ns */
	int64_t q = first;
	for (; q < first + n; q++) {
		int64_t bad = -1;
		int rc = p->pages.build(p->pages.ctx, t, q, &bad);
		if (rc < 0) {
			fail_run(p, q, first + n - q, path, -rc, bad);
			break;
		}
		publish(p, q, FL_PAGE_PROCESSED);
	}
	if (p->pages.built != NULL)
		p->pages.built(p->pages.ctx, path, q - first, fl_trace_now() - t0);
	return q - first;
}

/* True if page q's built bytes directly follow page q - 1's (always, when built in place). */
static inline int contiguous(const struct fl_protocol *p, int64_t q)
{
	return p->src == NULL || p->src[q] == p->src[q - 1] + p->page_size;
}

int64_t map_run(struct fl_protocol *p, int64_t first, int64_t n, int path)
{
	int64_t mapped = 0;
	int64_t q = first;
	int64_t end = first + n;
	while (q < end) {
		if (!cas_state(p, q, FL_PAGE_PROCESSED, FL_PAGE_MAPPING)) {
			q++;
			continue;
		}
		int64_t r = q + 1;
		while (r < end && contiguous(p, r) && cas_state(p, r, FL_PAGE_PROCESSED, FL_PAGE_MAPPING))
			r++;
		int err = p->pages.install(p->pages.ctx, path, q, r - q);
		if (err != 0) {
			fail_run(p, q, r - q, path, err, -1);
			q = r;
			continue;
		}
		for (int64_t s = q; s < r; s++)
			publish(p, s, FL_PAGE_MAPPED);
		advance_frontier(p, path);
		ADD(&p->control->pages_left, -(r - q));
		mapped += r - q;
		q = r;
	}
	return mapped;
}

/* C only: a buffer run is reused once every page built into it is MAPPED or FAILED. */
static void wait_for_target(struct fl_protocol *p, int64_t first, int64_t n)
{
	if (p->src == NULL)
		return;
	for (int64_t q = first; q < first + n; q++) {
		struct backoff b = { 0, 0 };
		for (;;) {
			int32_t s = state_acquire(p, q);
			if (s == FL_PAGE_MAPPED || s == FL_PAGE_FAILED)
				break;
			backoff(&b);
		}
	}
}

/* PageProtocol.hintPending: a compactor has a fault's hint to turn to. */
static inline int hint_pending(const struct fl_protocol *p, int path)
{
	return path == FL_PATH_COMPACTOR && LOAD(&p->control->fault_hint) != 0;
}

/*
 * PageProtocol.claimBuildMap: claims a run up to FL_CLAIM_AHEAD pages ahead of its build, builds
 * and maps it; returns pages built, or -1 on a stale claim. A compactor ends its run at the next
 * batch once a fault's hint is pending.
 */
static int64_t claim_build_map(struct fl_protocol *p, struct fl_target *t, int64_t from, int64_t to, int64_t epoch,
			       int path)
{
	int64_t built = 0;
	int64_t q = from;
	while (q < to && !failed(p) && !hint_pending(p, path)) {
		if (state_acquire(p, q) != FL_PAGE_UNPROCESSED) {
			q++;
			continue;
		}
		int r = claim(p, q, epoch);
		if (r == CLAIM_STALE)
			return -1;
		if (r == CLAIM_TAKEN) {
			q++;
			continue;
		}
		int64_t first = q;
		int64_t end = to;
		if (t->base != NULL && end - first > t->pages)
			end = first + t->pages;
		t->first = first;
		p->pages.supply(p->pages.ctx, t, first, end - first);
		int64_t good = 0;
		for (;;) {
			/* q is ours: claim up to FL_CLAIM_AHEAD - 1 more, then build the batch */
			int64_t claimed = q + 1;
			while (claimed < end && claimed - q < FL_CLAIM_AHEAD &&
			       cas_state(p, claimed, FL_PAGE_UNPROCESSED, FL_PAGE_PROCESSING))
				claimed++;
			int64_t b = build_run(p, t, q, claimed - q, path);
			good += b;
			int ok = q + b == claimed; /* else build_run failed the rest of the batch */
			q = claimed;
			/* the run ends where a page fails or another thread claimed one */
			if (!ok || q >= end || hint_pending(p, path) || !cas_state(p, q, FL_PAGE_UNPROCESSED, FL_PAGE_PROCESSING))
				break;
		}
		map_run(p, first, good, path);
		wait_for_target(p, first, q - first);
		built += q - first;
	}
	return built;
}

/* PageProtocol.takeHint: the pending fault hint, now taken (CAS to 0); 0 if there is none. */
static inline int64_t take_hint(struct fl_control *c)
{
	int64_t h = LOAD(&c->fault_hint);
	return h != 0 && __atomic_compare_exchange_n(&c->fault_hint, &h, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ? h : 0;
}

/*
 * PageProtocol.serveHint: takes the fault hint, if any, and builds a run of FL_HINT_RUN_FAULT_RUNS
 * fault-around runs there, then the runs after it (FL_HINT_FOLLOW_RUNS in all), turning to a newer
 * hint as soon as one is pending. Returns pages built, 0 if there was no hint to take, -1 on a
 * stale claim.
 */
static int64_t serve_hint(struct fl_protocol *p, struct fl_target *t, int64_t epoch)
{
	struct fl_control *c = p->control;
	int64_t h = take_hint(c);
	if (h == 0)
		return 0;
	int64_t first = LOAD(&c->first_page);
	int64_t end = LOAD(&c->end_page);
	int64_t n = FL_HINT_RUN_FAULT_RUNS * (1 + LOAD(&c->fault_around));
	int64_t built = 0;
	for (int i = 0; i < FL_HINT_FOLLOW_RUNS && h >= first && h < end && !abandoned(p) && !failed(p); i++) {
		int64_t b = claim_build_map(p, t, h, h + n < end ? h + n : end, epoch, FL_PATH_COMPACTOR);
		if (b < 0)
			return -1;
		built += b;
		int64_t newer = take_hint(c);
		h = newer != 0 ? newer : h + n;
	}
	return built;
}

int64_t compact_step(struct fl_protocol *p, struct fl_target *t, int64_t max_pages)
{
	struct fl_control *c = p->control;
	int64_t epoch = active_epoch(p);
	if (epoch < 0 || LOAD(&c->pages_left) == 0)
		return 0;
	int64_t run = LOAD(&c->run_pages);
	if (run < 1)
		run = 1;
	int64_t end = LOAD(&c->end_page);
	int64_t built = 0;
	while (built < max_pages && !abandoned(p) && !failed(p)) {
		int64_t slot = ADD(&c->next_page, run);
		if (slot >= end || LOAD(&c->epoch) != epoch)
			break;
		for (;;) {
			/* the slot's run, stopping early to build a fault's next run; then the rest of the slot */
			int64_t b = claim_build_map(p, t, slot, slot + run < end ? slot + run : end, epoch, FL_PATH_COMPACTOR);
			if (b < 0)
				return built;
			built += b;
			int64_t h = serve_hint(p, t, epoch);
			if (h < 0)
				return built;
			built += h;
			if ((h == 0 && !hint_pending(p, FL_PATH_COMPACTOR)) || abandoned(p))
				break;
		}
	}
	if (built < max_pages) {
		int64_t b = sweep(p, t, max_pages - built, epoch, FL_PATH_COMPACTOR);
		if (b > 0)
			built += b;
	}
	return built;
}

int64_t sweep(struct fl_protocol *p, struct fl_target *t, int64_t max_pages, int64_t epoch, int path)
{
	struct fl_control *c = p->control;
	int64_t run = LOAD(&c->run_pages);
	if (run < 1)
		run = 1;
	int64_t end = LOAD(&c->end_page);
	int64_t built = 0;
	int64_t q = LOAD(&c->frontier_page);
	while (q < end && built < max_pages && !abandoned(p) && !failed(p)) {
		if (state_acquire(p, q) != FL_PAGE_UNPROCESSED) {
			q++;
			continue;
		}
		int64_t to = q + run < end ? q + run : end;
		int64_t b = claim_build_map(p, t, q, to, epoch, path);
		if (b < 0)
			return built == 0 ? -1 : built;
		built += b;
		int64_t h = path == FL_PATH_COMPACTOR ? serve_hint(p, t, epoch) : 0;
		if (h < 0)
			return built == 0 ? -1 : built;
		built += h;
		if (h == 0 && !hint_pending(p, path))
			q = to;
	}
	return built;
}

/* PageProtocol.faultRunPages: the most pages a fault claims, its own and its fault-around. */
static int64_t fault_run_pages(const struct fl_protocol *p, const struct fl_target *t)
{
	int64_t around = LOAD(&p->control->fault_around);
	int64_t max = 1 + (around > 0 ? around : 0);
	return t->base != NULL && max > t->pages ? t->pages : max;
}

/*
 * PageProtocol.buildFaultRun: claims `first` and the UNPROCESSED pages after it, up to
 * fault_run_pages; with `hint` and fault-around on, hints the compactors past them; then
 * supplies, builds, maps and counts them. Returns the pages claimed, 0 if `first` was taken, -1
 * on a stale claim.
 */
static int64_t build_fault_run(struct fl_protocol *p, struct fl_target *t, int64_t first, int64_t epoch, int hint, int path)
{
	struct fl_control *c = p->control;
	int64_t end = LOAD(&c->end_page);
	int64_t n = claim_run(p, first, fault_run_pages(p, t), end, epoch);
	if (n <= 0)
		return n;
	if (hint && LOAD(&c->fault_around) > 0 && first + n < end)
		STORE(&c->fault_hint, first + n); /* a compactor builds the next run meanwhile */
	t->first = first;
	p->pages.supply(p->pages.ctx, t, first, n);
	map_run(p, first, build_run(p, t, first, n, path), path);
	wait_for_target(p, first, n);
	ADD(&c->fault_built_pages, n);
	return n;
}

/*
 * PageProtocol.helpAhead: a fault waiting for `page`, which another thread is building, builds
 * the first unclaimed run within two fault-around runs after it instead of idling, and hints the
 * compactors past that run. Returns pages built (0 also when a claim found the cycle over).
 */
int64_t help_ahead(struct fl_protocol *p, struct fl_target *t, int64_t page, int path)
{
	int64_t epoch = active_epoch(p);
	if (epoch < 0)
		return 0;
	int64_t end = LOAD(&p->control->end_page);
	int64_t max = fault_run_pages(p, t);
	int64_t limit = page + 2 * max < end ? page + 2 * max : end;
	int64_t q = page + 1;
	while (q < limit && state_acquire(p, q) != FL_PAGE_UNPROCESSED)
		q++;
	if (q >= limit)
		return 0;
	int64_t n = build_fault_run(p, t, q, epoch, 1, path);
	return n > 0 ? n : 0;
}

/*
 * C only: a fault that has waited FL_MAP_EARLY_NS on `page`, MAPPING, maps it and the MAPPING
 * pages after it (at most a fault-around run) itself: the owner's install may be preempted for
 * milliseconds, and the pages are built. Returns 1 if `page` is now visible.
 */
static int map_early(struct fl_protocol *p, const struct fl_target *t, int64_t page)
{
	int64_t end = LOAD(&p->control->end_page);
	int64_t max = fault_run_pages(p, t);
	int64_t n = 1;
	while (n < max && page + n < end && state_acquire(p, page + n) == FL_PAGE_MAPPING && contiguous(p, page + n))
		n++;
	return p->pages.map_early(p->pages.ctx, page, n) == 0;
}

int serve_fault(struct fl_protocol *p, struct fl_target *t, int64_t page, int wait, int path)
{
	struct fl_control *c = p->control;
	ADD(&c->faults, 1);
	struct backoff b = { 0, 0 };
	int helped = 0;
	int64_t mapping_since = 0; /* when this fault first saw its page MAPPING */
	int result = FAULT_MAPPED;
	for (;;) {
		int32_t st = state_acquire(p, page);
		switch (st) {
		case FL_PAGE_MAPPED:
			return result;
		case FL_PAGE_FAILED:
			return FAULT_FAILED;
		case FL_PAGE_UNPROCESSED: {
			int64_t epoch = active_epoch(p);
			if (epoch < 0)
				return FAULT_STALE; /* a message from an earlier cycle, read during a pause */
			int64_t n = build_fault_run(p, t, page, epoch, wait, path);
			if (n < 0)
				return FAULT_STALE;
			if (n > 0)
				result = FAULT_BUILT;
			break;
		}
		case FL_PAGE_PROCESSED: {
			int64_t end = LOAD(&c->end_page);
			int64_t q = page + 1;
			while (q < end && state_acquire(p, q) == FL_PAGE_PROCESSED)
				q++;
			if (map_run(p, page, q - page, path) > 0 && result == FAULT_MAPPED)
				result = FAULT_MAPPED_RUN;
			break;
		}
		default: /* PROCESSING or MAPPING: its owner finishes it */
			if (!wait)
				return FAULT_OWNED;
			if (failed(p))
				return FAULT_FAILED;
			if (abandoned(p))
				return FAULT_ABANDONED;
			if (st == FL_PAGE_PROCESSING && !helped && LOAD(&c->fault_around) > 0) {
				/* once per fault: build what comes next while the page's builder finishes it */
				helped = 1;
				help_ahead(p, t, page, path);
				continue;
			}
			if (st == FL_PAGE_MAPPING && p->pages.map_early != NULL) {
				int64_t now = fl_trace_now();
				if (mapping_since == 0)
					mapping_since = now;
				else if (now - mapping_since >= FL_MAP_EARLY_NS) {
					if (map_early(p, t, page))
						return FAULT_MAPPED_RUN;
					mapping_since = now; /* refused: wait as long again before the next try */
				}
			}
			backoff(&b);
		}
	}
}

/* PageProtocol.releases: a fault leaves the release of consumed from-space to the compactors. */
static inline int releases(int path)
{
	return !fl_fault_path(path);
}

void advance_frontier(struct fl_protocol *p, int path)
{
	struct fl_control *c = p->control;
	int64_t end = LOAD(&c->end_page);
	int64_t f = LOAD(&c->frontier_page);
	int64_t g = f;
	while (g < end && is_built(state_acquire(p, g)))
		g++;
	if (g > f)
		raise_word(&c->frontier_page, g);
	int64_t first = g < end ? p->first_objects[g] : FL_NO_OBJECT;
	int64_t limit = first == FL_NO_OBJECT ? LOAD(&c->from_top) : first;
	limit = (int64_t)(((uint64_t)limit >> p->page_shift) << p->page_shift);
	int64_t old = raise_word(&c->consumed, limit);
	if (old > limit)
		limit = old; /* what a fault consumed and left unreleased */
	if (releases(path)) {
		int64_t released = LOAD(&c->released);
		if (limit - released >= LOAD(&c->release_batch) &&
		    __atomic_compare_exchange_n(&c->released, &released, limit, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			struct fl_trace *t = fl_trace_on(c, FL_TRACE_RELEASE);
			if (t != NULL)
				fl_trace_write(t, fl_trace_now(), LOAD(&c->epoch), FL_TRACE_RELEASE, released >> p->page_shift,
					       limit - released, 0, 0);
			int e = p->pages.release(p->pages.ctx, released, limit - released);
			if (e != 0)
				record_failure(c, path, FL_FAILED_PAGE_RELEASE, e, released);
		}
	}
}
