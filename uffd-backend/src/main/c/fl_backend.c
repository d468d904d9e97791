/*
 * The native fault path of the uffd heap backend: how pages are built, installed, poisoned and
 * released in each mode (struct fl_pages for the page protocol, fl_protocol.c), the compactor
 * threads' entry point, and the fault-service thread. See io.faultline.uffd.UffdBackend for the
 * mappings and package-info.java for why this is C: nothing a mutator blocked in a userfault may
 * wait for runs Java code.
 */
#define _GNU_SOURCE
#include "faultline.h"
#include "fl_compactor.h"
#include "fl_protocol.h"
#include "fl_sigbus.h"
#include "fl_trace.h"
#include "fl_uffd.h"
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define STAT(h, i) __atomic_fetch_add(&(h)->stats[(i)], 1, __ATOMIC_RELAXED)
#define STAT_ADD(h, i, n) __atomic_fetch_add(&(h)->stats[(i)], (n), __ATOMIC_RELAXED)

/* Build buffers for COPY/MOVE: FL_SLOTS runs of slot_pages pages, claimed through a bitmap. */
#define FL_SLOTS 64
/*
 * The shortest run MOVE mode moves; shorter runs (a fault's, with the default fault-around) are
 * copied. A move unmaps its source pages, so every other CPU running the process (a compactor)
 * takes a TLB-flush interrupt while the mover waits, and on x86 a flush of up to 33 pages goes
 * page by page: below 34 pages MOVE was dearer than COPY on this project's VMs, and a fault that
 * moved its one page waited 24 us instead of 8 on a KVM host (docs/uffd-modes.md).
 */
#define FL_MOVE_MIN_RUN 34
/* The service thread's poll timeout; the backstop counts idle polls in these. */
#define FL_IDLE_POLL_MS 10

struct fl_heap {
	int mode;
	int delivery; /* FL_DELIVERY_THREAD or FL_DELIVERY_SIGBUS */
	int supply;   /* FL_SUPPLY_* */
	int registered; /* in the SIGBUS registry */
	int uffd;
	int memfd;
	int wake_fd;
	char *view;
	uint64_t capacity;
	int64_t page_size;

	/* CONTINUE: the GC alias of the whole 2 x capacity memfd, and the halves' file offsets. */
	char *alias;
	int64_t to_half_offset;
	int64_t from_half_offset;
	/* COPY/MOVE: the from-space mapping (offsets as in the view) and its extent. */
	char *from;
	int64_t from_bytes;

	struct fl_compactor compactor;
	struct fl_protocol protocol;
	uint64_t *kept_populated; /* CONTINUE KEEP: per half, a bit per page whose alias entry the builders made */
	size_t kept_words;        /* words of kept_populated per half */
	int64_t *src;       /* COPY/MOVE: per page, address of its built bytes */
	size_t src_bytes;
	char *slots;        /* COPY/MOVE: FL_SLOTS build buffers of slot_pages pages */
	int64_t slot_pages;
	uint64_t slots_used;
	char *poison_page;  /* COPY/MOVE: one page of FL_POISON_BYTE */
	int attached;

	pthread_t service;
	int service_started;
	int64_t backstop_polls; /* idle polls without progress before the backstop sweeps; 0: never */
	int stopping;
	int active;

	int64_t stats[FL_STAT_COUNT];
	/* Fault latencies (FL_STAT_FAULT_NS per fault), bucketed by fl_hist_bucket (LatencyBuckets). */
	int64_t fault_hist[FL_HIST_BUCKETS];
};

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * A fault on `page` was served, from t0 to now: its latency goes into FL_STAT_FAULT_NS, the fault
 * histogram and its maximum (atomic adds and a CAS loop: no lock, no allocation), and, when
 * tracing, a FAULT record. `ordinal` numbers the fault for the trace's sampling.
 */
static void record_fault(struct fl_heap *h, int64_t page, int64_t t0, int delivery, int result, uint64_t ordinal)
{
	int64_t ns = now_ns() - t0;
	STAT_ADD(h, FL_STAT_FAULT_NS, ns);
	__atomic_fetch_add(&h->fault_hist[fl_hist_bucket((uint64_t)ns)], 1, __ATOMIC_RELAXED);
	int64_t max = __atomic_load_n(&h->stats[FL_STAT_FAULT_MAX_NS], __ATOMIC_RELAXED);
	while (ns > max && !__atomic_compare_exchange_n(&h->stats[FL_STAT_FAULT_MAX_NS], &max, ns, 1, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
	if (h->protocol.control != NULL)
		fl_trace_fault(h->protocol.control, page, t0, ns, delivery, result, ordinal);
}

static void record_error(struct fl_heap *h, int64_t page, int err)
{
	STAT(h, FL_STAT_ERRORS);
	__atomic_store_n(&h->stats[FL_STAT_LAST_ERRNO], err, __ATOMIC_RELAXED);
	__atomic_store_n(&h->stats[FL_STAT_LAST_ERROR_PAGE], page, __ATOMIC_RELAXED);
}

static inline uint64_t page_address(const struct fl_heap *h, int64_t page)
{
	return (uint64_t)(uintptr_t)(h->view + page * h->page_size);
}

/* ---- struct fl_pages: build, install, poison, release ------------------------------------------ */

extern int64_t fl_test_build_delay_ns; /* fl_test_hooks.c */
extern int64_t fl_test_supply_errno;
extern int64_t fl_test_release_errno;
extern int64_t fl_test_service_errno;
extern int64_t fl_test_move_min_run;
extern int64_t fl_test_install_stall_ns;
extern int64_t fl_test_install_stalling;

/* FL_MOVE_MIN_RUN, or what a test set (fl_test_set_move_min_run). */
static inline int64_t move_min_run(void)
{
	int64_t n = __atomic_load_n(&fl_test_move_min_run, __ATOMIC_RELAXED);
	return n > 0 ? n : FL_MOVE_MIN_RUN;
}

/* Tests only: takes (and clears) what a test hook armed for the next call (an errno, a delay); 0 if none. */
static inline int64_t take_hook(int64_t *hook)
{
	return __atomic_load_n(hook, __ATOMIC_RELAXED) ? __atomic_exchange_n(hook, 0, __ATOMIC_SEQ_CST) : 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Runs body for each word w of a page bitmap that covers pages [from, to), mask the bits of those pages in it. */
#define FOR_BITMAP_WORDS(from, to, w, mask, body)                                                      \
	for (int64_t p_ = (from); p_ < (to);) {                                                          \
		int64_t w = p_ >> 6;                                                                      \
		int b_ = (int)(p_ & 63);                                                                  \
		int64_t take_ = 64 - b_ < (to) - p_ ? 64 - b_ : (to) - p_;                                \
		uint64_t mask = (take_ == 64 ? ~0ULL : ((1ULL << take_) - 1)) << b_;                      \
		body;                                                                                     \
		p_ += take_;                                                                              \
	}

/*
 * CONTINUE with KEEP: the halves keep their page cache and the alias its entries across cycles, so
 * a to-space page needs a new entry (and, the first time, a page) only where this half's to-space
 * never reached before. A run with such a page has its alias range populated for writing with one
 * MADV_POPULATE_WRITE, instead of by a fault per page inside the copy; a bit per page and half
 * remembers what was populated (KEEP never punches the halves, so a bit never has to be cleared).
 * The bits are a hint: two builders may populate the same run, which costs time only.
 */
static void populate_kept_targets(struct fl_heap *h, int64_t first, int64_t n)
{
	uint64_t *bits = h->kept_populated + (h->to_half_offset != 0 ? h->kept_words : 0);
	int missing = 0;
	FOR_BITMAP_WORDS(first, first + n, w, mask, missing |= (__atomic_load_n(&bits[w], __ATOMIC_RELAXED) & mask) != mask);
	if (!missing)
		return;
	int64_t bytes = n * h->page_size;
	if (madvise(h->alias + h->to_half_offset + first * h->page_size, (size_t)bytes, MADV_POPULATE_WRITE) != 0)
		return; /* best effort: the copy's faults make the entries, as without this */
	STAT_ADD(h, FL_STAT_KEPT_POPULATED_BYTES, bytes);
	FOR_BITMAP_WORDS(first, first + n, w, mask, __atomic_fetch_or(&bits[w], mask, __ATOMIC_RELAXED));
}

/*
 * The pages a claimed run is built in. CONTINUE builds through the alias (FALLOCATE: the run's
 * page cache is allocated with one fallocate first; KEEP: new alias ranges are populated first,
 * populate_kept_targets). COPY/MOVE build in the thread's buffer, except MOVE with RECYCLE and a
 * run of at least FL_MOVE_MIN_RUN pages: then n contiguous consumed from-space pages are taken
 * from the recycling pool [RECYCLE_NEXT, CONSUMED) by CAS, and the run is later moved into the
 * heap from there (no copy, no page allocated).
 */
static void supply_pages(void *ctx, struct fl_target *t, int64_t first, int64_t n)
{
	struct fl_heap *h = ctx;
	if (h->kept_populated != NULL) {
		int64_t t0 = now_ns();
		populate_kept_targets(h, first, n);
		STAT_ADD(h, FL_STAT_SUPPLY_NS, now_ns() - t0);
	}
	t->supply_errno = 0;
	if (h->mode == FL_MODE_CONTINUE) {
		if (h->supply == FL_SUPPLY_FALLOCATE) {
			int64_t t0 = now_ns();
			int rc;
			int injected = (int)take_hook(&fl_test_supply_errno);
			if (injected != 0) {
				rc = -1;
				errno = injected;
			} else {
				do
					rc = fallocate(h->memfd, FALLOC_FL_KEEP_SIZE, h->to_half_offset + first * h->page_size,
						       n * h->page_size);
				while (rc != 0 && errno == EINTR);
			}
			/*
			 * No page cache for the run (ENOSPC, ENOMEM): a write through the alias would fault in
			 * this thread, so the run is not built; its pages fail with the errno (fail loud).
			 */
			if (rc != 0)
				t->supply_errno = errno;
			STAT_ADD(h, FL_STAT_SUPPLY_NS, now_ns() - t0);
		}
		return;
	}
	t->base = t->slot;
	if (h->supply != FL_SUPPLY_RECYCLE || n < move_min_run())
		return;
	struct fl_control *c = h->protocol.control;
	int64_t bytes = n * h->page_size;
	int64_t r = LOAD(&c->recycle_next);
	for (;;) {
		if (r + bytes > LOAD(&c->consumed))
			return; /* not enough consumed yet: build in the buffer */
		if (__atomic_compare_exchange_n(&c->recycle_next, &r, r + bytes, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			break;
	}
	t->base = h->from + r;
	STAT_ADD(h, FL_STAT_RECYCLED_PAGES, n);
}

static int build_page(void *ctx, const struct fl_target *t, int64_t page, int64_t *bad_offset)
{
	struct fl_heap *h = ctx;
	char *dst;
	if (h->mode == FL_MODE_CONTINUE) {
		dst = h->alias + h->to_half_offset + page * h->page_size;
	} else {
		dst = t->base + (page - t->first) * h->page_size;
		h->src[page] = (int64_t)(uintptr_t)dst;
	}
	if (t->supply_errno != 0) {
		record_error(h, page, t->supply_errno);
		return -t->supply_errno;
	}
	int rc = compact_page(&h->compactor, page, dst, bad_offset);
	if (__atomic_load_n(&fl_test_build_delay_ns, __ATOMIC_RELAXED) > 0) {
		/* re-read each turn: a test that set a long delay ends it by setting 0 */
		int64_t t0 = now_ns();
		while (now_ns() - t0 < __atomic_load_n(&fl_test_build_delay_ns, __ATOMIC_RELAXED))
			sched_yield();
	}
	if (rc > 0) {
		STAT(h, rc == 2 ? FL_STAT_VERBATIM_BUILT : FL_STAT_DENSE_BUILT);
		rc = 0;
	}
	if (rc < 0)
		record_error(h, page, -rc);
	return rc;
}

/*
 * BUILD_NS (and a fault's FAULT_BUILD_NS), once per build_run: no clock read or locked add between
 * one page's copy and the next.
 */
static void built_pages(void *ctx, int path, int64_t pages, int64_t nanos)
{
	(void)pages;
	STAT_ADD((struct fl_heap *)ctx, FL_STAT_BUILD_NS, nanos);
	if (fl_fault_path(path))
		STAT_ADD((struct fl_heap *)ctx, FL_STAT_FAULT_BUILD_NS, nanos);
}

/* INSTALL_NS (and a fault's FAULT_INSTALL_NS) of one install_run that began at t0. */
static void installed(struct fl_heap *h, int path, int64_t t0)
{
	int64_t ns = now_ns() - t0;
	STAT_ADD(h, FL_STAT_INSTALL_NS, ns);
	if (fl_fault_path(path))
		STAT_ADD(h, FL_STAT_FAULT_INSTALL_NS, ns);
}

static inline int is_from_space(const struct fl_heap *h, int64_t address)
{
	return h->from != NULL && address >= (int64_t)(uintptr_t)h->from && address < (int64_t)(uintptr_t)h->from + h->from_bytes;
}

/* One ioctl of the mode over [first, first + n), resuming after partial results; 0 or errno. */
static int install_run(void *ctx, int path, int64_t first, int64_t n)
{
	struct fl_heap *h = ctx;
	int64_t len = n * h->page_size;
	int64_t done = 0;
	/* MOVE moves a run built in recycled from-space (RECYCLE) or a buffer run of at least
	 * FL_MOVE_MIN_RUN pages (FRESH), and copies the rest: short runs, and RECYCLE's runs built
	 * in the buffer before enough from-space was consumed. */
	int move = h->mode == FL_MODE_MOVE
		   && (h->supply == FL_SUPPLY_RECYCLE ? is_from_space(h, h->src[first]) : n >= move_min_run());
	int64_t stall = take_hook(&fl_test_install_stall_ns);
	if (stall > 0) {
		__atomic_store_n(&fl_test_install_stalling, 1, __ATOMIC_SEQ_CST);
		struct timespec ts = { .tv_sec = stall / 1000000000, .tv_nsec = stall % 1000000000 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		__atomic_store_n(&fl_test_install_stalling, 0, __ATOMIC_SEQ_CST);
	}
	int64_t t0 = now_ns();
	STAT(h, FL_STAT_INSTALL_RUNS);
	while (done < len) {
		uint64_t dst = page_address(h, first) + (uint64_t)done;
		int rc;
		int64_t progressed = 0;
		if (h->mode == FL_MODE_CONTINUE) {
			struct uffdio_continue c = { .range = { .start = dst, .len = (uint64_t)(len - done) }, .mode = 0 };
			STAT(h, FL_STAT_IOCTL_CONTINUE);
			rc = ioctl(h->uffd, UFFDIO_CONTINUE, &c);
			progressed = c.mapped > 0 ? c.mapped : 0;
		} else if (!move) {
			struct uffdio_copy c = { .dst = dst, .src = (uint64_t)h->src[first] + (uint64_t)done,
						 .len = (uint64_t)(len - done), .mode = 0 };
			STAT(h, FL_STAT_IOCTL_COPY);
			rc = ioctl(h->uffd, UFFDIO_COPY, &c);
			progressed = c.copy > 0 ? c.copy : 0;
		} else {
			struct uffdio_move m = { .dst = dst, .src = (uint64_t)h->src[first] + (uint64_t)done,
						 .len = (uint64_t)(len - done), .mode = 0 };
			STAT(h, FL_STAT_IOCTL_MOVE);
			rc = ioctl(h->uffd, UFFDIO_MOVE, &m);
			progressed = m.move > 0 ? m.move : 0;
		}
		if (rc == 0) {
			done = len;
			break;
		}
		int e = errno;
		done += progressed;
		if (e == EAGAIN || e == EINTR) {
			STAT(h, FL_STAT_EAGAIN);
			continue;
		}
		if (e == EEXIST && h->mode == FL_MODE_CONTINUE) {
			/* the page at `done` is mapped already: a waiting fault mapped it early (map_early),
			 * with the bytes this run holds; go on after it (in COPY and MOVE, a bug: reported) */
			done += h->page_size;
			continue;
		}
		if (move && e == EBUSY) {
			STAT(h, FL_STAT_MOVE_EBUSY);
			move = 0; /* the page is pinned or shared: copy the rest from the same buffer */
			continue;
		}
		record_error(h, first + done / h->page_size, e);
		installed(h, path, t0);
		return e;
	}
	installed(h, path, t0);
	STAT_ADD(h, FL_STAT_PAGES_INSTALLED, n);
	return 0;
}

/*
 * CONTINUE: a waiting fault maps [first, first + n), MAPPING and so built, before their owner's
 * install does (struct fl_pages.map_early); stops at a page already mapped. 0 if `first` is
 * mapped now, else the errno.
 */
static int map_early_pages(void *ctx, int64_t first, int64_t n)
{
	struct fl_heap *h = ctx;
	uint64_t start = page_address(h, first);
	uint64_t len = (uint64_t)(n * h->page_size);
	uint64_t done = 0;
	while (done < len) {
		struct uffdio_continue c = { .range = { .start = start + done, .len = len - done }, .mode = 0 };
		STAT(h, FL_STAT_IOCTL_CONTINUE);
		int rc = ioctl(h->uffd, UFFDIO_CONTINUE, &c);
		if (c.mapped > 0) {
			STAT_ADD(h, FL_STAT_MAPPED_EARLY, c.mapped / h->page_size);
			done += (uint64_t)c.mapped;
		}
		if (rc == 0)
			return 0;
		int e = errno;
		if (e == EEXIST) /* the owner got there first */
			return 0;
		if (e != EAGAIN && e != EINTR)
			return done > 0 ? 0 : e;
	}
	return 0;
}

static void poison_page(void *ctx, int64_t page)
{
	struct fl_heap *h = ctx;
	uint64_t dst = page_address(h, page);
	int rc;
	STAT(h, FL_STAT_POISONED);
	if (h->mode == FL_MODE_CONTINUE) {
		memset(h->alias + h->to_half_offset + page * h->page_size, FL_POISON_BYTE, (size_t)h->page_size);
		struct uffdio_continue c = { .range = { .start = dst, .len = (uint64_t)h->page_size }, .mode = 0 };
		rc = ioctl(h->uffd, UFFDIO_CONTINUE, &c);
	} else {
		struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)h->poison_page,
					 .len = (uint64_t)h->page_size, .mode = 0 };
		rc = ioctl(h->uffd, UFFDIO_COPY, &c);
	}
	if (rc != 0 && errno != EEXIST)
		record_error(h, page, errno);
}

/* Gives consumed from-space back to the kernel; 0 or the errno of the call that failed (the
 * protocol then fails the heap, naming the offset: a counter alone would hide the leak). */
static int release_from_space(void *ctx, int64_t offset, int64_t bytes)
{
	struct fl_heap *h = ctx;
	/* RECYCLE builds into consumed pages. KEEP keeps the half's page cache for the next cycle, and
	 * leaves the old view alone until its munmap: releasing its anonymous part as compaction passes
	 * it (madvise) halved compare's continue/keep compaction MB/s and doubled its fault service. */
	if (h->from_bytes <= 0 || offset >= h->from_bytes || h->supply == FL_SUPPLY_RECYCLE || h->supply == FL_SUPPLY_KEEP)
		return 0;
	if (offset + bytes > h->from_bytes)
		bytes = h->from_bytes - offset;
	STAT(h, FL_STAT_RELEASES);
	STAT_ADD(h, FL_STAT_RELEASED_BYTES, bytes);
	int rc = 0;
	int injected = (int)take_hook(&fl_test_release_errno);
	if (injected != 0) {
		rc = -1;
		errno = injected;
	}
	/* CONTINUE: the page cache of the old half; and (all modes) the old view's private pages, which
	 * for CONTINUE are its allocation area when it has huge allocation pages. */
	if (rc == 0 && h->mode == FL_MODE_CONTINUE)
		rc = fallocate(h->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, h->from_half_offset + offset, bytes);
	if (rc == 0)
		rc = madvise(h->from + offset, (size_t)bytes, MADV_DONTNEED);
	if (rc == 0)
		return 0;
	int e = errno;
	record_error(h, -1, e);
	return e;
}

/* A fault on a heap whose tables are not attached yet: nothing can build the page. */
static void record_failure_detached(struct fl_heap *h, int64_t page)
{
	record_error(h, page, EPROTO);
	poison_page(h, page);
}

/* ---- build buffers ------------------------------------------------------------------------------ */

static int acquire_slot(struct fl_heap *h, struct fl_target *t)
{
	if (h->mode == FL_MODE_CONTINUE) {
		*t = (struct fl_target){ .base = NULL, .slot = NULL, .first = 0, .pages = INT64_MAX };
		return -1;
	}
	unsigned spins = 0;
	for (;;) {
		uint64_t used = LOAD(&h->slots_used);
		if (used != ~0ULL) {
			int i = __builtin_ctzll(~used);
			if (__atomic_compare_exchange_n(&h->slots_used, &used, used | (1ULL << i), 0, __ATOMIC_SEQ_CST,
							__ATOMIC_SEQ_CST)) {
				char *slot = h->slots + (int64_t)i * h->slot_pages * h->page_size;
				*t = (struct fl_target){ .base = slot, .slot = slot, .first = 0, .pages = h->slot_pages };
				return i;
			}
			continue;
		}
		if (++spins < FL_SPINS_BEFORE_YIELD)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

static void release_slot(struct fl_heap *h, int slot)
{
	if (slot >= 0)
		__atomic_fetch_and(&h->slots_used, ~(1ULL << slot), __ATOMIC_SEQ_CST);
}

/* ---- compactor threads ---------------------------------------------------------------------------- */

int64_t fl_compact_step(struct fl_heap *h, int64_t max_pages)
{
	ADD(&h->active, 1);
	if (LOAD(&h->stopping) || !LOAD(&h->attached)) {
		ADD(&h->active, -1);
		return 0;
	}
	struct fl_target t;
	int slot = acquire_slot(h, &t);
	int64_t built = compact_step(&h->protocol, &t, max_pages);
	release_slot(h, slot);
	STAT_ADD(h, FL_STAT_COMPACTOR_BUILT, built);
	ADD(&h->active, -1);
	return built;
}

/* ---- the fault-service thread ----------------------------------------------------------------------- */

static int wake(struct fl_heap *h, int64_t page)
{
	struct uffdio_range range = { .start = page_address(h, page), .len = (uint64_t)h->page_size };
	STAT(h, FL_STAT_IOCTL_WAKE);
	return ioctl(h->uffd, UFFDIO_WAKE, &range) == 0 ? 0 : -errno;
}

/*
 * One fault message. A page another thread owns is skipped: the owner's install (or poison)
 * wakes every thread faulting in its range, and the kernel queues a faulting thread before it
 * re-checks the page table, so no wake-up is lost (docs/page-protocol.md).
 */
static void serve_message(struct fl_heap *h, struct fl_target *t, uint64_t address, uint64_t flags)
{
	uint64_t base = (uint64_t)(uintptr_t)__atomic_load_n(&h->view, __ATOMIC_ACQUIRE); /* moved by each flip */
	if (address < base || address >= base + h->capacity) {
		/*
		 * Only views are registered, and every flip maps a new one. A message read this late was
		 * queued before a flip, by a mutator that an install has woken since (the flip waited
		 * for it): nobody waits on it, and the retired view's range may already be unmapped.
		 */
		STAT(h, FL_STAT_STALE_MESSAGES);
		return;
	}
	int64_t page = (int64_t)((address - base) / (uint64_t)h->page_size);
	int64_t t0 = now_ns();
	uint64_t ordinal = (uint64_t)__atomic_fetch_add(&h->stats[FL_STAT_FAULTS], 1, __ATOMIC_RELAXED);
	STAT(h, (flags & UFFD_PAGEFAULT_FLAG_MINOR) ? FL_STAT_MINOR_FAULTS : FL_STAT_MISSING_FAULTS);
	int r = serve_fault(&h->protocol, t, page, 0, FL_PATH_FAULT_THREAD);
	switch (r) {
	case FAULT_BUILT:
		STAT(h, FL_STAT_FAULT_BUILT);
		break;
	case FAULT_OWNED:
		STAT(h, FL_STAT_FAULT_OWNED);
		break;
	case FAULT_MAPPED:
	case FAULT_STALE:
		wake(h, page); /* mapped before we looked, or a message from an earlier cycle */
		break;
	default:
		break;
	}
	record_fault(h, page, t0, FL_TRACE_DELIVERY_THREAD, r, ordinal);
}

/* Builds the pages of a cycle that has made no progress for backstop_polls idle polls (compactor
 * threads are Java threads and may be late: descheduled, stopped at a HotSpot safepoint). */
static void backstop(struct fl_heap *h, struct fl_target *t, int64_t *last_left, int64_t *idle)
{
	struct fl_control *c = h->protocol.control;
	int64_t left = LOAD(&c->pages_left);
	if (left == 0 || left != *last_left || h->backstop_polls == 0) {
		*last_left = left;
		*idle = 0;
		return;
	}
	if (++*idle < h->backstop_polls)
		return;
	int64_t epoch = active_epoch(&h->protocol);
	if (epoch >= 0) {
		int64_t built = sweep(&h->protocol, t, INT64_MAX, epoch, FL_PATH_BACKSTOP);
		if (built > 0)
			STAT_ADD(h, FL_STAT_BACKSTOP_BUILT, built);
	}
	*idle = 0;
}

/*
 * Installs poison over every page of the cycle in flight that nobody has claimed, so that a thread
 * blocked in a fault on it (or faulting next) wakes up to the pattern and the heap's FAILED or
 * CLOSED bit, never to stale or zero-filled memory. Each page is claimed first, so that a SIGBUS
 * handler or compactor entering late finds it FAILED (and returns to the poison) instead of
 * building and installing over it.
 */
static void poison_unbuilt(struct fl_heap *h)
{
	if (!LOAD(&h->attached) || h->uffd < 0)
		return;
	struct fl_control *c = h->protocol.control;
	int64_t end = LOAD(&c->end_page);
	if (LOAD(&c->pages_left) <= 0)
		return;
	for (int64_t q = LOAD(&c->first_page); q < end; q++) {
		int32_t expected = FL_PAGE_UNPROCESSED;
		if (__atomic_compare_exchange_n(&h->protocol.states[q], &expected, FL_PAGE_PROCESSING, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			fl_trace_state(c, q, FL_PAGE_UNPROCESSED, FL_PAGE_PROCESSING);
			poison_page(h, q);
			fl_trace_state(c, q, FL_PAGE_PROCESSING, FL_PAGE_FAILED);
			__atomic_store_n(&h->protocol.states[q], FL_PAGE_FAILED, __ATOMIC_RELEASE);
		}
	}
}

/*
 * The service thread cannot go on (poll or read on the uffd failed): nobody would read the next
 * fault message, and its mutator would wait for good. Fails the heap (every mutator's next
 * operation throws, naming this thread and errno) and poisons the unbuilt pages of the cycle in
 * flight, which wakes every thread blocked in a fault on them.
 */
static void fail_service(struct fl_heap *h, int err)
{
	record_error(h, -1, err);
	if (LOAD(&h->attached))
		record_failure(h->protocol.control, FL_PATH_FAULT_THREAD, -1, err, -1);
	poison_unbuilt(h);
}

extern int64_t fl_test_replay_armed; /* fl_test_hooks.c */
extern int64_t fl_test_replayed;
extern int64_t fl_test_replayed_at;

/*
 * Tests only (StaleMessageTest): a copy of one fault message, served a second time once a flip has
 * moved the view it was read under. The first serving wakes its mutator as usual, so the copy is
 * what a message read after the flip looks like: its mutator has long gone on.
 */
struct replayed_message {
	int present;
	struct uffd_msg msg;
	char *view;
};

/* Keeps a copy of msg if a test has armed the hook (one message per arming). */
static void keep_for_replay(struct fl_heap *h, struct replayed_message *d, const struct uffd_msg *msg)
{
	if (d->present || !__atomic_load_n(&fl_test_replay_armed, __ATOMIC_SEQ_CST)
	    || !__atomic_exchange_n(&fl_test_replay_armed, 0, __ATOMIC_SEQ_CST))
		return;
	d->present = 1;
	d->msg = *msg;
	d->view = __atomic_load_n(&h->view, __ATOMIC_ACQUIRE);
	__atomic_store_n(&fl_test_replayed_at, (int64_t)msg->arg.pagefault.address, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fl_test_replayed, 1, __ATOMIC_SEQ_CST);
}

static void replay(struct fl_heap *h, struct replayed_message *d)
{
	if (!d->present || __atomic_load_n(&h->view, __ATOMIC_ACQUIRE) == d->view)
		return;
	d->present = 0;
	struct fl_target t;
	int slot = acquire_slot(h, &t);
	serve_message(h, &t, d->msg.arg.pagefault.address, d->msg.arg.pagefault.flags);
	release_slot(h, slot);
}

static void *service_main(void *arg)
{
	struct fl_heap *h = arg;
	struct uffd_msg msgs[16];
	int64_t last_left = 0;
	int64_t idle = 0;
	struct replayed_message replayed = { 0 };
	for (;;) {
		struct pollfd fds[2] = { { .fd = h->uffd, .events = POLLIN }, { .fd = h->wake_fd, .events = POLLIN } };
		int n = poll(fds, 2, FL_IDLE_POLL_MS);
		int injected = (int)take_hook(&fl_test_service_errno);
		if (injected != 0) { /* a test's poll failure (ServiceThreadFailureTest) */
			n = -1;
			errno = injected;
		}
		if (LOAD(&h->stopping) || (n > 0 && fds[1].revents != 0))
			break;
		replay(h, &replayed);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail_service(h, errno);
			break;
		}
		struct fl_target t;
		if (n == 0) {
			if (LOAD(&h->attached)) {
				int slot = acquire_slot(h, &t);
				backstop(h, &t, &last_left, &idle);
				release_slot(h, slot);
			}
			continue;
		}
		if (fds[0].revents & (POLLERR | POLLNVAL)) {
			fail_service(h, EBADF);
			break;
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		ssize_t r = read(h->uffd, msgs, sizeof msgs);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fail_service(h, errno);
			break;
		}
		int slot = acquire_slot(h, &t);
		for (size_t i = 0; i < (size_t)r / sizeof msgs[0]; i++) {
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT) {
				keep_for_replay(h, &replayed, &msgs[i]);
				serve_message(h, &t, msgs[i].arg.pagefault.address, msgs[i].arg.pagefault.flags);
			}
		}
		release_slot(h, slot);
	}
	return NULL;
}

/* ---- SIGBUS delivery -------------------------------------------------------------------------------- */

/*
 * Called by the SIGBUS handler (fl_sigbus.c) in the faulting thread: serve the fault through the
 * page protocol and return, so that the access is retried on a mapped page. A page another thread
 * owns is waited for (bounded spin, then sched_yield): its owner is native code that never waits
 * for Java and always finishes the run it claimed, also while the heap closes (so abandonment does
 * not end the wait here). The page must be mapped when this returns, or the access faults again.
 */
void fl_sigbus_serve(struct fl_heap *h, uint64_t address)
{
	ADD(&h->active, 1);
	int64_t t0 = now_ns();
	int64_t page = (int64_t)((address - (uint64_t)(uintptr_t)h->view) / (uint64_t)h->page_size);
	uint64_t ordinal = (uint64_t)__atomic_fetch_add(&h->stats[FL_STAT_SIGBUS_FAULTS], 1, __ATOMIC_RELAXED);
	int r = FAULT_FAILED;
	if (!LOAD(&h->attached)) {
		record_failure_detached(h, page);
	} else {
		struct fl_target t;
		int slot = acquire_slot(h, &t);
		unsigned spins = 0;
		while ((r = serve_fault(&h->protocol, &t, page, 1, FL_PATH_FAULT_SIGBUS)) == FAULT_ABANDONED) {
			if (++spins < FL_SPINS_BEFORE_YIELD)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
		release_slot(h, slot);
		if (r == FAULT_BUILT)
			STAT(h, FL_STAT_FAULT_BUILT);
		if (r == FAULT_STALE) {
			/* A running mutator faulted on a page of a cycle still being set up: cannot happen. */
			record_failure(h->protocol.control, FL_PATH_FAULT_SIGBUS, page, EPROTO, -1);
			poison_page(h, page);
		}
	}
	record_fault(h, page, t0, FL_TRACE_DELIVERY_SIGBUS, r, ordinal);
	ADD(&h->active, -1);
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

static void *map_anonymous(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct fl_heap *fl_heap_new(int mode, int delivery, int supply, int uffd, int memfd, void *view, void *alias,
			    uint64_t capacity, uint64_t page_size, int64_t backstop_ms, int *err)
{
	struct fl_heap *h = calloc(1, sizeof *h);
	if (h == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	h->mode = mode;
	h->delivery = delivery;
	h->supply = supply;
	h->uffd = uffd;
	h->memfd = memfd;
	h->view = view;
	h->alias = alias;
	h->capacity = capacity;
	h->page_size = (int64_t)page_size;
	h->backstop_polls = backstop_ms <= 0 ? 0 : (backstop_ms + FL_IDLE_POLL_MS - 1) / FL_IDLE_POLL_MS;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		*err = errno;
		free(h);
		return NULL;
	}
	/* The service thread blocks every signal: HotSpot's signals are not for it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&h->service, NULL, service_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*err = rc;
		fl_heap_free(h);
		return NULL;
	}
	pthread_setname_np(h->service, "faultline-uffd");
	h->service_started = 1;
	if (delivery == FL_DELIVERY_SIGBUS) {
		rc = fl_sigbus_register(h, (uint64_t)(uintptr_t)view, (uint64_t)(uintptr_t)view + capacity);
		if (rc != 0) {
			*err = rc;
			fl_heap_free(h);
			return NULL;
		}
		h->registered = 1;
	}
	*err = 0;
	return h;
}

int fl_heap_attach(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first, void *states,
		   void *control)
{
	struct fl_control *c = control;
	if (h->mode != FL_MODE_CONTINUE) {
		/* A build buffer holds the longest run one thread claims: a compactor run or a fault with its fault-around. */
		int64_t run = LOAD(&c->run_pages);
		int64_t fault = 1 + LOAD(&c->fault_around);
		h->slot_pages = run > fault ? run : fault;
		if (h->slot_pages < 1)
			h->slot_pages = 1;
		h->src_bytes = (h->capacity / (uint64_t)h->page_size) * sizeof(int64_t);
		h->src = map_anonymous(h->src_bytes);
		h->slots = map_anonymous((size_t)(FL_SLOTS * h->slot_pages * h->page_size));
		h->poison_page = map_anonymous((size_t)h->page_size);
		if (h->src == NULL || h->slots == NULL || h->poison_page == NULL)
			return errno;
		memset(h->poison_page, FL_POISON_BYTE, (size_t)h->page_size);
	}
	if (h->mode == FL_MODE_CONTINUE && h->supply == FL_SUPPLY_KEEP && h->kept_populated == NULL) {
		h->kept_words = (size_t)((h->capacity / (uint64_t)h->page_size + 63) / 64);
		h->kept_populated = map_anonymous(2 * h->kept_words * sizeof(uint64_t));
		if (h->kept_populated == NULL)
			return errno;
	}
	h->compactor.bitmap = bitmap;
	h->compactor.offsets = offsets;
	h->compactor.first = first;
	h->compactor.page_size = h->page_size;
	h->protocol = (struct fl_protocol){
		.states = states,
		.control = control,
		.first_objects = first,
		.src = h->src,
		.page_size = h->page_size,
		.page_shift = (unsigned)__builtin_ctzll((unsigned long long)h->page_size),
		.pages = { .supply = supply_pages, .build = build_page, .built = built_pages, .install = install_run,
			   .map_early = h->mode == FL_MODE_CONTINUE ? map_early_pages : NULL, .release = release_from_space,
			   .poison = poison_page, .ctx = h },
	};
	STORE(&h->attached, 1);
	return 0;
}

void fl_heap_begin(struct fl_heap *h, const void *from, int64_t from_bytes, int64_t from_half_offset,
		   int64_t to_half_offset, int64_t from_split)
{
	struct fl_control *c = h->protocol.control;
	h->from = (char *)from;
	h->from_bytes = from_bytes;
	h->from_half_offset = from_half_offset;
	h->to_half_offset = to_half_offset;
	h->compactor.from = h->from;
	/* CONTINUE reads the old view's to-space through the alias: the same pages, whose entries the
	 * last builds (and this cycle's marking) made; the old view's were never touched. */
	int split = from != NULL && from_split > 0;
	h->compactor.from_low = split ? h->alias + from_half_offset : NULL;
	h->compactor.from_split = split ? from_split : 0;
	h->compactor.from_top = LOAD(&c->from_top);
	h->compactor.new_top = LOAD(&c->new_top);
	h->compactor.verbatim_end = LOAD(&c->verbatim_end);
}

void fl_heap_move_view(struct fl_heap *h, void *view)
{
	__atomic_store_n(&h->view, (char *)view, __ATOMIC_RELEASE); /* the service thread reads it */
	if (h->registered)
		fl_sigbus_move(h, (uint64_t)(uintptr_t)view, (uint64_t)(uintptr_t)view + h->capacity);
}

void fl_heap_stop(struct fl_heap *h)
{
	STORE(&h->stopping, 1);
	if (h->service_started) {
		uint64_t one = 1;
		while (write(h->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
			;
		pthread_join(h->service, NULL);
		h->service_started = 0;
	}
	/* Compactor calls and SIGBUS handlers in flight finish their runs; new handlers only poison. */
	while (LOAD(&h->active) != 0)
		sched_yield();
	/*
	 * Nothing builds any more. A compaction may be in flight: install poison over every page not
	 * yet mapped, so that a thread blocked in a fault (or faulting next) wakes up to the pattern and
	 * the heap's CLOSED bit, never to stale or zero-filled memory.
	 */
	poison_unbuilt(h);
	/*
	 * From now on a SIGBUS in flight for the view only retries its access (the page is mapped or
	 * poisoned), so no handler issues an ioctl on the uffd when it closes (the fd number could be
	 * reused). The heap leaves the SIGBUS registry in fl_heap_free, after Java closed the view.
	 */
	if (h->registered)
		fl_sigbus_closing(h);
	while (LOAD(&h->active) != 0)
		sched_yield();
	if (h->uffd >= 0) {
		close(h->uffd);
		h->uffd = -1;
	}
}

void fl_heap_free(struct fl_heap *h)
{
	if (h == NULL)
		return;
	fl_heap_stop(h);
	if (h->registered) {
		fl_sigbus_unregister(h);
		h->registered = 0;
	}
	if (h->src != NULL)
		munmap(h->src, h->src_bytes);
	if (h->slots != NULL)
		munmap(h->slots, (size_t)(FL_SLOTS * h->slot_pages * h->page_size));
	if (h->poison_page != NULL)
		munmap(h->poison_page, (size_t)h->page_size);
	if (h->kept_populated != NULL)
		munmap(h->kept_populated, 2 * h->kept_words * sizeof(uint64_t));
	close(h->wake_fd);
	free(h);
}

void fl_compact_page_into(struct fl_heap *h, void *buffer, int64_t page)
{
	int64_t bad;
	compact_page(&h->compactor, page, buffer, &bad);
}

void fl_stats(struct fl_heap *h, int64_t *out, int n)
{
	for (int i = 0; i < n && i < FL_STAT_COUNT; i++)
		out[i] = __atomic_load_n(&h->stats[i], __ATOMIC_RELAXED);
}

void fl_fault_histogram(struct fl_heap *h, int64_t *out, int n)
{
	for (int i = 0; i < n && i < FL_HIST_BUCKETS; i++)
		out[i] = __atomic_load_n(&h->fault_hist[i], __ATOMIC_RELAXED);
}

int fl_latency_bucket(int64_t nanos)
{
	return fl_hist_bucket((uint64_t)(nanos < 0 ? 0 : nanos));
}
