/*
 * The native fault path of the uffd heap backend: the page compactor (a mirror of
 * io.faultline.gc.compact.PageCompactor), the claim-and-compact loop of compactor threads, the
 * fault-service thread, and the metadata guard. See io.faultline.uffd.UffdBackend for the
 * protocol and package-info.java for why this is C.
 *
 * Memory orders: page states are CASed SEQ_CST (PageStates.claim is a volatile CAS), published
 * with RELEASE (PageStates.publish) and read with ACQUIRE (PageStates.stateAcquire); every
 * CompactionControl word is accessed SEQ_CST.
 */
#define _GNU_SOURCE
#include "faultline.h"
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

struct fl_heap {
	int mode;
	int uffd;
	int memfd;
	int wake_fd;
	char *view;
	uint64_t capacity;
	uint64_t page_size;

	/* Collector metadata (attach); valid until `detached` is set. */
	const uint64_t *bitmap;
	const uint64_t *offsets;
	const int64_t *first;
	int32_t *states;
	struct fl_control *control;

	/* The current cycle (set in the pause, before page states are published). */
	const char *from;
	char *to_alias;
	int64_t to_alias_file_offset;
	/* Bumped by fl_heap_begin (in the pause, before the page states are published). */
	int64_t epoch;

	/* Lifecycle. */
	int service_started;
	pthread_t service;
	int stopping;
	int detached;
	int in_flight;
	int active;
	char *service_staging;

	int64_t stats[FL_STAT_COUNT];
};

/* ---- the page compactor: a line-by-line mirror of PageCompactor ------------------------------ */

static inline uint64_t ld64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t ld32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline void st64(char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline void st32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline int64_t forward(const struct fl_heap *h, int64_t offset)
{
	uint64_t chunk = (uint64_t)offset >> FL_LOG_CHUNK_BYTES;
	unsigned bit = (unsigned)(((uint64_t)offset >> 3) & 63);
	uint64_t below = h->bitmap[chunk] & ((1ULL << bit) - 1);
	return (int64_t)h->offsets[chunk] + ((int64_t)__builtin_popcountll(below) << 3);
}

static inline int is_marked(const struct fl_heap *h, int64_t offset)
{
	uint64_t w = (uint64_t)offset >> 3;
	return (h->bitmap[w >> 6] & (1ULL << (w & 63))) != 0;
}

static int64_t next_marked(const struct fl_heap *h, int64_t offset, int64_t limit)
{
	uint64_t w = (uint64_t)offset >> 3;
	uint64_t end_w = (uint64_t)limit >> 3;
	if (w >= end_w)
		return limit;
	uint64_t idx = w >> 6;
	uint64_t word = h->bitmap[idx] & (~0ULL << (w & 63));
	uint64_t last_idx = (end_w - 1) >> 6;
	for (;;) {
		if (word != 0) {
			uint64_t found = (idx << 6) + (uint64_t)__builtin_ctzll(word);
			return found < end_w ? (int64_t)(found << 3) : limit;
		}
		if (++idx > last_idx)
			return limit;
		word = h->bitmap[idx];
	}
}

static void write_filler(char *at, int64_t bytes)
{
	int64_t words = bytes >> FL_LOG_WORD_BYTES;
	if (words == 1) {
		st64(at, FL_ONE_WORD_FILLER);
	} else if (words >= FL_MIN_OBJECT_WORDS) {
		st64(at, fl_header_word((uint64_t)words, 0));
		st64(at + FL_WORD_BYTES, fl_class_word(FL_TYPE_FILLER, 0));
	}
}

static inline int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static inline int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* PageCompactor.compactPage(from, page, dst, 0): builds to-space page `page` into dst. */
static int compact_page(const struct fl_heap *h, const char *from, int64_t page, char *dst)
{
	const int64_t page_size = (int64_t)h->page_size;
	const int64_t from_top = LOAD(&h->control->from_top);
	const int64_t new_top = LOAD(&h->control->new_top);
	int64_t p_begin = page * page_size;
	int64_t p_end = min64(p_begin + page_size, new_top);
	int64_t filled = max64(0, p_end - p_begin);
	if (filled < page_size) {
		memset(dst + filled, 0, (size_t)(page_size - filled));
		write_filler(dst + filled, page_size - filled);
	}
	int64_t obj = h->first[page];
	if (obj == FL_NO_OBJECT)
		return 0;
	while (obj < from_top) {
		uint64_t header = ld64(from + obj);
		int64_t size = (int64_t)(fl_size_words(header) << FL_LOG_WORD_BYTES);
		if (size == 0)
			return -EUCLEAN; /* damaged from-space: without this the walk spins forever */
		int64_t new_addr = forward(h, obj);
		if (new_addr >= p_end)
			break;
		int64_t s = max64(new_addr, p_begin);
		int64_t e = min64(new_addr + size, p_end);
		if (e > s)
			memcpy(dst + (s - p_begin), from + obj + (s - new_addr), (size_t)(e - s));
		int64_t refs_begin = new_addr + FL_HEADER_BYTES;
		int64_t refs_end = refs_begin + (int64_t)fl_ref_count(header) * FL_REF_BYTES;
		int64_t rs = max64(refs_begin, s);
		int64_t re = min64(refs_end, e);
		for (int64_t a = rs; a < re; a += FL_REF_BYTES) {
			uint32_t old = ld32(from + obj + (a - new_addr));
			if (old != 0) {
				int64_t moved = forward(h, (int64_t)((uint64_t)old << FL_LOG_WORD_BYTES));
				st32(dst + (a - p_begin), (uint32_t)((uint64_t)moved >> FL_LOG_WORD_BYTES));
			}
		}
		int64_t next = obj + size;
		if (next >= from_top)
			break;
		obj = is_marked(h, next) ? next : next_marked(h, next, from_top);
	}
	return 0;
}

/* ---- mapping a page ---------------------------------------------------------------------------- */

static void record_error(struct fl_heap *h, int64_t page, int err)
{
	STAT(h, FL_STAT_ERRORS);
	__atomic_store_n(&h->stats[FL_STAT_LAST_ERRNO], err, __ATOMIC_RELAXED);
	__atomic_store_n(&h->stats[FL_STAT_LAST_ERROR_PAGE], page, __ATOMIC_RELAXED);
}

static int wake(struct fl_heap *h, int64_t page)
{
	struct uffdio_range range = {
		.start = (uint64_t)(uintptr_t)(h->view + (uint64_t)page * h->page_size),
		.len = h->page_size,
	};
	STAT(h, FL_STAT_IOCTL_WAKE);
	/* A stale message can name a page whose range is already unregistered: not an error. */
	return ioctl(h->uffd, UFFDIO_WAKE, &range) == 0 ? 0 : -errno;
}

/* Installs the built page with the mode's ioctl (which wakes the faulting threads). */
static int install(struct fl_heap *h, int64_t page, char *src)
{
	uint64_t dst = (uint64_t)(uintptr_t)(h->view + (uint64_t)page * h->page_size);
	for (;;) {
		int rc;
		if (h->mode == FL_MODE_CONTINUE) {
			struct uffdio_continue c = { .range = { .start = dst, .len = h->page_size }, .mode = 0 };
			STAT(h, FL_STAT_IOCTL_CONTINUE);
			rc = ioctl(h->uffd, UFFDIO_CONTINUE, &c);
		} else if (h->mode == FL_MODE_COPY) {
			struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)src, .len = h->page_size, .mode = 0 };
			STAT(h, FL_STAT_IOCTL_COPY);
			rc = ioctl(h->uffd, UFFDIO_COPY, &c);
		} else {
			struct uffdio_move m = { .dst = dst, .src = (uint64_t)(uintptr_t)src, .len = h->page_size, .mode = 0 };
			STAT(h, FL_STAT_IOCTL_MOVE);
			rc = ioctl(h->uffd, UFFDIO_MOVE, &m);
		}
		if (rc == 0)
			return 0;
		int e = errno;
		if (e == EEXIST) {
			/* Someone installed a page first (only possible after a detach); make sure nobody sleeps. */
			STAT(h, FL_STAT_EEXIST);
			wake(h, page);
			return 0;
		}
		if (e == EAGAIN || e == EINTR) {
			STAT(h, FL_STAT_EAGAIN);
			sched_yield();
			continue;
		}
		record_error(h, page, e);
		return -e;
	}
}

/* The owner of a PROCESSING page: build, map, publish. No Java code runs in between. */
static int build_and_publish(struct fl_heap *h, int64_t page, char *staging)
{
	char *dst = h->mode == FL_MODE_CONTINUE ? h->to_alias + (uint64_t)page * h->page_size : staging;
	int rc = compact_page(h, h->from, page, dst);
	if (rc < 0)
		record_error(h, page, -rc);
	__atomic_store_n(&h->states[page], FL_PAGE_PROCESSED, __ATOMIC_RELEASE);
	int irc = install(h, page, dst);
	if (rc == 0)
		rc = irc;
	/* Published even after a failed ioctl (recorded in the stats): a waiter must not spin forever. */
	__atomic_store_n(&h->states[page], FL_PAGE_MAPPED, __ATOMIC_RELEASE);
	ADD(&h->control->pages_left, -1);
	return rc;
}

/*
 * Claims an UNPROCESSED page of the cycle whose setup is complete. A claimer can be stale: a
 * compactor preempted between cycles, or the service thread reading a fault message from an
 * earlier cycle. The pause bumps `epoch` (fl_heap_begin), then publishes the page states, then
 * stores PAGES_LEFT last; the cycle before it ended with PAGES_LEFT == 0. So "epoch e, then
 * PAGES_LEFT > 0, then the CAS, then still epoch e" proves the page belongs to cycle e and that
 * cycle e's setup is complete. If the epoch moved we revert the CAS (we own the page, so nobody
 * else wrote it) and report CLAIM_STALE.
 */
#define CLAIM_FAILED 0
#define CLAIM_OK 1
#define CLAIM_STALE 2

static int claim(struct fl_heap *h, int64_t page, int64_t epoch)
{
	if (LOAD(&h->control->pages_left) == 0)
		return CLAIM_STALE;
	int32_t expected = FL_PAGE_UNPROCESSED;
	if (!__atomic_compare_exchange_n(&h->states[page], &expected, FL_PAGE_PROCESSING, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return CLAIM_FAILED;
	if (LOAD(&h->epoch) != epoch) {
		__atomic_store_n(&h->states[page], FL_PAGE_UNPROCESSED, __ATOMIC_RELEASE);
		return CLAIM_STALE;
	}
	return CLAIM_OK;
}

static char *map_staging(uint64_t page_size)
{
	void *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : (char *)p;
}

/* One step of fl_compact_pages: claims `page` for `epoch` and, if won, builds and maps it. */
static int claim_and_build(struct fl_heap *h, int64_t page, int64_t epoch, char *staging, int64_t *built, int *err)
{
	int r = claim(h, page, epoch);
	if (r == CLAIM_OK) {
		int rc = build_and_publish(h, page, staging);
		if (rc < 0)
			*err = rc;
		(*built)++;
	}
	return r;
}

/*
 * Claims and builds the UNPROCESSED pages below `pages` in ascending order until `*built` reaches
 * max_pages. Used after the cursor by fl_compact_pages (pages whose cursor slot a stale claimer
 * consumed: a compactor preempted across a pause can take a slot of the new cycle and then stop;
 * without the sweep such a page waits for a mutator to touch it, and the cycle might never end)
 * and by the service thread's backstop. Returns CLAIM_STALE if it stopped on a stale claim.
 */
static int sweep(struct fl_heap *h, int64_t pages, int64_t epoch, char *staging, int64_t max_pages, int64_t *built,
		 int *err)
{
	struct fl_control *c = h->control;
	for (int64_t p = 0; *built < max_pages && p < pages && !LOAD(&c->abandon) && !LOAD(&h->stopping); p++) {
		if (__atomic_load_n(&h->states[p], __ATOMIC_ACQUIRE) != FL_PAGE_UNPROCESSED)
			continue;
		if (claim_and_build(h, p, epoch, staging, built, err) == CLAIM_STALE)
			return CLAIM_STALE;
	}
	return CLAIM_OK;
}

int64_t fl_compact_pages(struct fl_heap *h, int64_t max_pages)
{
	ADD(&h->active, 1);
	if (LOAD(&h->stopping) || h->control == NULL || LOAD(&h->detached)) {
		ADD(&h->active, -1);
		return 0;
	}
	char *staging = NULL;
	if (h->mode != FL_MODE_CONTINUE) {
		staging = map_staging(h->page_size);
		if (staging == NULL) {
			int e = errno;
			record_error(h, -1, e);
			ADD(&h->active, -1);
			return -e;
		}
	}
	struct fl_control *c = h->control;
	int64_t epoch = LOAD(&h->epoch);
	int64_t built = 0;
	int err = 0;
	if (LOAD(&c->pages_left) > 0) {
		int64_t pages = LOAD(&c->to_space_pages);
		int stale = 0;
		/* The cursor, in ascending order. */
		while (!stale && built < max_pages && !LOAD(&c->abandon) && !LOAD(&h->stopping)) {
			int64_t p = ADD(&c->next_page, 1);
			if (p >= pages || LOAD(&h->epoch) != epoch)
				break;
			stale = claim_and_build(h, p, epoch, staging, &built, &err) == CLAIM_STALE;
		}
		if (!stale)
			sweep(h, pages, epoch, staging, max_pages, &built, &err);
	}
	if (staging != NULL)
		munmap(staging, h->page_size);
	__atomic_fetch_add(&h->stats[FL_STAT_COMPACTOR_BUILT], built, __ATOMIC_RELAXED);
	ADD(&h->active, -1);
	return err < 0 ? err : built;
}

/* ---- the fault-service thread ------------------------------------------------------------------ */

/* After the collector's metadata is gone: resolve with zeros so nobody stays blocked. */
static void serve_detached(struct fl_heap *h, int64_t page)
{
	STAT(h, FL_STAT_DETACHED_FAULTS);
	uint64_t dst = (uint64_t)(uintptr_t)(h->view + (uint64_t)page * h->page_size);
	int rc;
	if (h->mode == FL_MODE_CONTINUE) {
		/* Make sure the page-cache page exists, then map it. */
		if (fallocate(h->memfd, 0, h->to_alias_file_offset + page * (int64_t)h->page_size,
			      (off_t)h->page_size) != 0)
			record_error(h, page, errno);
		struct uffdio_continue c = { .range = { .start = dst, .len = h->page_size }, .mode = 0 };
		STAT(h, FL_STAT_IOCTL_CONTINUE);
		rc = ioctl(h->uffd, UFFDIO_CONTINUE, &c);
	} else {
		struct uffdio_zeropage z = { .range = { .start = dst, .len = h->page_size }, .mode = 0 };
		STAT(h, FL_STAT_IOCTL_ZEROPAGE);
		rc = ioctl(h->uffd, UFFDIO_ZEROPAGE, &z);
	}
	if (rc != 0 && errno != EAGAIN)
		wake(h, page);
}

static void serve_fault(struct fl_heap *h, uint64_t address, uint64_t flags)
{
	uint64_t base = (uint64_t)(uintptr_t)h->view;
	if (address < base || address >= base + h->capacity) {
		record_error(h, -1, EFAULT);
		return;
	}
	int64_t page = (int64_t)((address - base) / h->page_size);
	STAT(h, FL_STAT_FAULTS);
	STAT(h, (flags & UFFD_PAGEFAULT_FLAG_MINOR) ? FL_STAT_MINOR_FAULTS : FL_STAT_MISSING_FAULTS);

	STORE(&h->in_flight, 1);
	if (LOAD(&h->detached) || h->control == NULL) {
		STORE(&h->in_flight, 0);
		serve_detached(h, page);
		return;
	}
	struct fl_control *c = h->control;
	ADD(&c->faults, 1);
	/*
	 * Re-evaluate until the page is resolved; never wait for one particular state, because a
	 * message can be stale (a second fault on a page already mapped, read after the cycle ended)
	 * and the page may change under us: MAPPED -> UNPROCESSED in the next pause.
	 */
	unsigned spins = 0;
	int waited = 0;
	for (;;) {
		int64_t epoch = LOAD(&h->epoch);
		int32_t st = __atomic_load_n(&h->states[page], __ATOMIC_ACQUIRE);
		if (st == FL_PAGE_MAPPED) {
			wake(h, page);
			break;
		}
		if (st == FL_PAGE_UNPROCESSED) {
			/*
			 * CLAIM_STALE: the page belongs to a cycle whose pause is still setting it up, when
			 * no mutator runs, so the message is from an earlier cycle and its thread was
			 * already woken. Building now would race with the pause (see claim()).
			 */
			int r = claim(h, page, epoch);
			if (r == CLAIM_STALE) {
				wake(h, page);
				break;
			}
			if (r == CLAIM_OK) {
				build_and_publish(h, page, h->service_staging);
				ADD(&c->fault_built_pages, 1);
				STAT(h, FL_STAT_FAULT_BUILT);
				break;
			}
			continue;
		}
		/* PROCESSING or PROCESSED: the owner (native code) is finishing it. */
		if (!waited) {
			waited = 1;
			STAT(h, FL_STAT_FAULT_WAITED);
		}
		if (++spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
	STORE(&h->in_flight, 0);
}

/*
 * Backstop: the service thread builds the pages of a cycle that has made no progress for two
 * idle poll periods (~20 ms). Compactor threads are Java threads and may be late (descheduled,
 * stopped at a HotSpot safepoint, or not restarted for a cycle); a cycle must still end, since a
 * collection waits for it. Same validated claims as everyone else.
 */
#define FL_IDLE_POLL_MS 10

static void backstop(struct fl_heap *h, int64_t *last_left, int *idle)
{
	STORE(&h->in_flight, 1);
	struct fl_control *c = h->control;
	if (LOAD(&h->detached) || c == NULL) {
		STORE(&h->in_flight, 0);
		return;
	}
	int64_t epoch = LOAD(&h->epoch);
	int64_t left = LOAD(&c->pages_left);
	if (left == 0 || left != *last_left) {
		*last_left = left;
		*idle = 0;
		STORE(&h->in_flight, 0);
		return;
	}
	if (++*idle < 2) {
		STORE(&h->in_flight, 0);
		return;
	}
	int64_t built = 0;
	int err = 0; /* each failure is already in the error stats (record_error) */
	sweep(h, LOAD(&c->to_space_pages), epoch, h->service_staging, INT64_MAX, &built, &err);
	__atomic_fetch_add(&h->stats[FL_STAT_BACKSTOP_BUILT], built, __ATOMIC_RELAXED);
	*idle = 0;
	STORE(&h->in_flight, 0);
}

static void *service_main(void *arg)
{
	struct fl_heap *h = arg;
	struct uffd_msg msgs[16];
	int64_t last_left = 0;
	int idle = 0;
	for (;;) {
		struct pollfd fds[2] = { { .fd = h->uffd, .events = POLLIN }, { .fd = h->wake_fd, .events = POLLIN } };
		int n = poll(fds, 2, FL_IDLE_POLL_MS);
		if (n == 0) {
			backstop(h, &last_left, &idle);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			record_error(h, -1, errno);
			break;
		}
		if (fds[1].revents != 0)
			break;
		if (fds[0].revents & (POLLERR | POLLNVAL)) {
			record_error(h, -1, EBADF);
			break;
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		ssize_t r = read(h->uffd, msgs, sizeof msgs);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			record_error(h, -1, errno);
			break;
		}
		for (size_t i = 0; i < (size_t)r / sizeof msgs[0]; i++) {
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT)
				serve_fault(h, msgs[i].arg.pagefault.address, msgs[i].arg.pagefault.flags);
		}
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

struct fl_heap *fl_heap_new(int mode, int uffd, int memfd, void *view, uint64_t capacity, uint64_t page_size,
			    int *err)
{
	struct fl_heap *h = calloc(1, sizeof *h);
	if (h == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	h->mode = mode;
	h->uffd = uffd;
	h->memfd = memfd;
	h->view = view;
	h->capacity = capacity;
	h->page_size = page_size;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		*err = errno;
		free(h);
		return NULL;
	}
	if (mode != FL_MODE_CONTINUE) {
		h->service_staging = map_staging(page_size);
		if (h->service_staging == NULL) {
			*err = errno;
			close(h->wake_fd);
			free(h);
			return NULL;
		}
	}
	/* The service thread blocks every signal: HotSpot's signals are not for it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&h->service, NULL, service_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*err = rc;
		if (h->service_staging != NULL)
			munmap(h->service_staging, page_size);
		close(h->wake_fd);
		free(h);
		return NULL;
	}
	pthread_setname_np(h->service, "faultline-uffd");
	h->service_started = 1;
	*err = 0;
	return h;
}

void fl_heap_attach(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first, void *states,
		    void *control)
{
	h->bitmap = bitmap;
	h->offsets = offsets;
	h->first = first;
	h->states = states;
	STORE(&h->control, (struct fl_control *)control);
}

void fl_heap_begin(struct fl_heap *h, const void *from, void *to_alias, int64_t to_alias_file_offset)
{
	h->from = from;
	h->to_alias = to_alias;
	h->to_alias_file_offset = to_alias_file_offset;
	ADD(&h->epoch, 1);
}

void fl_hold_metadata(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first,
		      const void *states, const void *control)
{
	(void)bitmap;
	(void)offsets;
	(void)first;
	(void)states;
	const struct fl_control *c = control;
	struct timespec nap = { .tv_sec = 0, .tv_nsec = 2 * 1000 * 1000 };
	STORE(&h->stats[FL_STAT_GUARD_HELD], 1);
	while (!LOAD(&c->abandon) && !LOAD(&h->stopping))
		nanosleep(&nap, NULL);
	fl_heap_detach(h);
}

void fl_heap_detach(struct fl_heap *h)
{
	STORE(&h->detached, 1);
	while (LOAD(&h->in_flight))
		sched_yield();
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
	while (LOAD(&h->active) != 0)
		sched_yield();
	/* Closing the uffd wakes every thread still blocked in a fault; the range is no longer armed. */
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
	if (h->service_staging != NULL)
		munmap(h->service_staging, h->page_size);
	close(h->wake_fd);
	free(h);
}

int fl_install_page(struct fl_heap *h, int64_t page, void *src)
{
	return install(h, page, src);
}

void fl_compact_page_into(struct fl_heap *h, void *buffer, int64_t page)
{
	compact_page(h, h->from, page, buffer);
}

void fl_stats(struct fl_heap *h, int64_t *out, int n)
{
	for (int i = 0; i < n && i < FL_STAT_COUNT; i++)
		out[i] = __atomic_load_n(&h->stats[i], __ATOMIC_RELAXED);
}
