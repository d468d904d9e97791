/*
 * Floors for the benchmarks (io.faultline.bench.NativeFloors): what the kernel and the memory
 * system cost on this machine with no compaction work at all, measured natively so that the
 * figures of the heap can be reported as ratios to them in the same run.
 *
 * A floor is the cheapest known way to do the same round trip as the heap's fault path:
 *
 *  - Thread delivery: the resolver is one long-lived pthread per region that waits exactly as the
 *    heap's fault-service thread does (fl_backend.c, service_main): all signals blocked, poll() on
 *    the uffd and an eventfd with a 10 ms timeout, read up to 16 messages, serve each. A region is
 *    re-armed and touched pass after pass with the same resolver, and for each pass the resolver
 *    is placed on the CPU of the faulting thread: the cheapest hand-over there is (a resolver
 *    sleeping on the other, idle vCPU must be woken by an IPI: ~33 us per round trip instead of
 *    ~19 us on this VM). FL_BENCH_UNPINNED leaves it where the scheduler puts it, as a heap's
 *    service thread is.
 *  - SIGBUS delivery (UFFD_FEATURE_SIGBUS): no resolver thread; the access raises SIGBUS in the
 *    faulting thread, whose handler (installed once per process, chained in front of the handler
 *    it found, HotSpot's in a JVM) installs the page and returns, and the access re-executes.
 *  - Either way "serve" is: copy 4 KiB of built bytes into a page that is already resident (a
 *    staging page for COPY, the page-cache page through the alias for CONTINUE, a pool page
 *    populated in bulk before the pass for MOVE) and install it with the mode's ioctl. The page
 *    supply a heap pays on top (fresh pages faulted in one by one) is its own cost, reported apart.
 *  - FL_BENCH_BUSY (with SIGBUS): during each pass a second thread of the process spins on another
 *    CPU, as a compactor runs during the heap's faults. Not a floor: what that costs a fault. A
 *    MOVE then pays a TLB shootdown of that CPU (docs/demos/09-move-shootdown.c).
 *
 * Batched installs (fl_bench_install) time the ioctls alone: N contiguous pages per ioctl, no
 * fault, sources resident, and each run's pages written just before its ioctl (untimed), as the
 * heap's builder has just written them: with the pages mapped through the alias and in the cache,
 * CONTINUE's install cost 10 to 15% less (docs/results.md, "A floor the heap beat"). COPY writes
 * every run into the same source buffer, as the heap's compactor builds every run in its build
 * slot: new source pages for each run cost the floor 10 to 15% more than the heap paid.
 *
 * Every function runs entirely inside one downcall: the faulting thread is the calling (Java)
 * thread, which is "in native" for HotSpot while it waits in a userfault or runs the handler, and
 * the resolver is a pthread created and joined here. No Java code ever runs while a fault is
 * pending (docs/uffd-modes.md, the safepoint hazard).
 */
#define _GNU_SOURCE
#include "faultline.h"
#include "fl_uffd.h"

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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The resolver's poll timeout and batch, as the fault-service thread's (fl_backend.c). */
#define FL_BENCH_POLL_MS 10
#define FL_BENCH_MSGS 16
/* SIGBUS regions alive at once (the handler scans them). */
#define FL_BENCH_SIGBUS_SLOTS 16
#define FL_BENCH_PMD (2UL << 20)

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A floor's pages: mapped (and for uffd floors registered) by new, touched pass after pass, freed by free. */
struct fl_bench_region {
	int kind;   /* FL_BENCH_CONTINUE .. FL_BENCH_FLOOR_ANON_FIRST_TOUCH, without the SIGBUS bit */
	int sigbus; /* delivered by SIGBUS to the faulting thread */
	int unpinned; /* thread delivery: the resolver is left where the scheduler puts it */
	int busy;     /* SIGBUS delivery: a spinner thread runs on another CPU during each pass */
	int uffd;
	int memfd;
	int wake_fd;
	char *view;
	char *alias;   /* CONTINUE: the memfd's other mapping, pages resident */
	char *src;     /* one page of 0x5a: the "built" bytes */
	char *staging; /* COPY: one resident page the bytes are built in */
	char *pool;    /* MOVE: one resident private page per page, populated in bulk before each pass */
	uint64_t ps;
	uint64_t len;
	uint64_t stride;
	int64_t npages;
	pthread_t th;
	int started;
	int passes;
	int slot; /* SIGBUS: index in sigbus_regions, or -1 */
	volatile int stop;
	volatile int err;
};

/* ---- serving one fault (resolver thread or SIGBUS handler; async-signal-safe) ------------------ */

static int resolve(struct fl_bench_region *g, uint64_t addr)
{
	uint64_t page = addr & ~(g->ps - 1);
	uint64_t off = page - (uint64_t)(uintptr_t)g->view;
	int rc = 0;
	switch (g->kind) {
	case FL_BENCH_COPY: {
		memcpy(g->staging, g->src, g->ps);
		struct uffdio_copy c = { .dst = page, .src = (uint64_t)(uintptr_t)g->staging, .len = g->ps,
					 .mode = g->sigbus ? UFFDIO_COPY_MODE_DONTWAKE : 0 };
		rc = ioctl(g->uffd, UFFDIO_COPY, &c);
		break;
	}
	case FL_BENCH_CONTINUE:
		memcpy(g->alias + off, g->src, g->ps); /* the page-cache page exists and the alias maps it */
		/* fall through */
	case FL_BENCH_CONTINUE_CACHED: {
		struct uffdio_continue c = { .range = { .start = page, .len = g->ps },
					     .mode = g->sigbus ? UFFDIO_CONTINUE_MODE_DONTWAKE : 0 };
		rc = ioctl(g->uffd, UFFDIO_CONTINUE, &c);
		break;
	}
	case FL_BENCH_MOVE: {
		char *p = g->pool + off;
		memcpy(p, g->src, g->ps);
		struct uffdio_move m = { .dst = page, .src = (uint64_t)(uintptr_t)p, .len = g->ps,
					 .mode = g->sigbus ? UFFDIO_MOVE_MODE_DONTWAKE : 0 };
		rc = ioctl(g->uffd, UFFDIO_MOVE, &m);
		break;
	}
	default:
		return EINVAL;
	}
	if (rc != 0 && errno == EEXIST) {
		if (g->sigbus)
			return 0; /* mapped already; the access will see it */
		struct uffdio_range w = { .start = page, .len = g->ps };
		rc = ioctl(g->uffd, UFFDIO_WAKE, &w);
	}
	return rc == 0 ? 0 : errno;
}

/* ---- thread delivery: the resolver waits as the fault-service thread does --------------------- */

static void *resolver_main(void *arg)
{
	struct fl_bench_region *g = arg;
	struct uffd_msg msgs[FL_BENCH_MSGS];
	for (;;) {
		struct pollfd fds[2] = { { .fd = g->uffd, .events = POLLIN }, { .fd = g->wake_fd, .events = POLLIN } };
		int n = poll(fds, 2, FL_BENCH_POLL_MS);
		if (g->stop || (n > 0 && fds[1].revents != 0))
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			g->err = errno;
			break;
		}
		if (n == 0 || !(fds[0].revents & POLLIN))
			continue;
		ssize_t r = read(g->uffd, msgs, sizeof msgs);
		if (r < 0)
			continue; /* EAGAIN: another wake-up raced us */
		for (size_t i = 0; i < (size_t)r / sizeof msgs[0]; i++) {
			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			int e = resolve(g, msgs[i].arg.pagefault.address);
			if (e != 0 && g->err == 0)
				g->err = e;
		}
	}
	return NULL;
}

/* ---- SIGBUS delivery: one handler per process, chained -------------------------------------------- */

static struct fl_bench_region *sigbus_regions[FL_BENCH_SIGBUS_SLOTS];
static struct sigaction sigbus_previous;
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static int sigbus_install_err;

static void chain_sigbus(int sig, siginfo_t *info, void *context)
{
	if (sigbus_previous.sa_flags & SA_SIGINFO) {
		sigbus_previous.sa_sigaction(sig, info, context);
	} else if (sigbus_previous.sa_handler == SIG_DFL) {
		sigaction(SIGBUS, &sigbus_previous, NULL); /* the access re-executes and dies as it would have */
	} else if (sigbus_previous.sa_handler != SIG_IGN) {
		sigbus_previous.sa_handler(sig);
	}
}

/*
 * A SIGBUS in a live SIGBUS floor region is a userfault (BUS_ADRERR): serve it and return, and the
 * access re-executes. Anything else goes to the handler we replaced, exactly as if we were not here.
 */
static void sigbus_handler(int sig, siginfo_t *info, void *context)
{
	if (info->si_code == BUS_ADRERR) {
		uint64_t a = (uint64_t)(uintptr_t)info->si_addr;
		for (int i = 0; i < FL_BENCH_SIGBUS_SLOTS; i++) {
			struct fl_bench_region *g = LOAD(&sigbus_regions[i]);
			if (g == NULL || a < (uint64_t)(uintptr_t)g->view || a >= (uint64_t)(uintptr_t)g->view + g->len)
				continue;
			int saved = errno;
			int e = resolve(g, a);
			if (e != 0) {
				/* Never re-fault forever: disarm the range (the access then reads zero) and report. */
				if (g->err == 0)
					g->err = e;
				struct uffdio_range r = { .start = (uint64_t)(uintptr_t)g->view, .len = g->len };
				ioctl(g->uffd, UFFDIO_UNREGISTER, &r);
			}
			errno = saved;
			return;
		}
	}
	chain_sigbus(sig, info, context);
}

static void install_sigbus_handler(void)
{
	struct sigaction now;
	if (sigaction(SIGBUS, NULL, &now) != 0) {
		sigbus_install_err = errno;
		return;
	}
	struct sigaction sa = { .sa_sigaction = sigbus_handler, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };
	sa.sa_mask = now.sa_mask; /* the chained handler runs with the mask it was installed with */
	if (sigaction(SIGBUS, &sa, &sigbus_previous) != 0)
		sigbus_install_err = errno;
}

static int sigbus_register(struct fl_bench_region *g)
{
	pthread_once(&sigbus_once, install_sigbus_handler);
	if (sigbus_install_err != 0)
		return sigbus_install_err;
	for (int i = 0; i < FL_BENCH_SIGBUS_SLOTS; i++) {
		struct fl_bench_region *none = NULL;
		if (__atomic_compare_exchange_n(&sigbus_regions[i], &none, g, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			g->slot = i;
			return 0;
		}
	}
	return EBUSY;
}

/* ---- regions -------------------------------------------------------------------------------------- */

static int open_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return fd;
}

/* Fills [p, p + len) with resident private pages: MADV_POPULATE_WRITE (5.14+), else one write per page. */
static void populate(char *p, uint64_t len, uint64_t ps)
{
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return;
	for (uint64_t o = 0; o < len; o += ps)
		p[o] = 0;
}

void fl_bench_region_free(struct fl_bench_region *g)
{
	if (g == NULL)
		return;
	if (g->started) {
		g->stop = 1;
		uint64_t one = 1;
		while (write(g->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
			;
		pthread_join(g->th, NULL);
	}
	if (g->slot >= 0)
		STORE(&sigbus_regions[g->slot], NULL);
	if (g->uffd >= 0)
		close(g->uffd); /* unregisters everything, wakes any waiter */
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	if (g->view != NULL && g->view != MAP_FAILED)
		munmap(g->view, g->len);
	if (g->alias != NULL && g->alias != MAP_FAILED)
		munmap(g->alias, g->len);
	if (g->pool != NULL && g->pool != MAP_FAILED)
		munmap(g->pool, g->len);
	if (g->staging != NULL && g->staging != MAP_FAILED)
		munmap(g->staging, g->ps);
	if (g->src != NULL && g->src != MAP_FAILED)
		munmap(g->src, g->ps);
	if (g->memfd >= 0)
		close(g->memfd);
	free(g);
}

static int region_setup(struct fl_bench_region *g)
{
	int kind = g->kind;
	int uffd_floor = kind <= FL_BENCH_CONTINUE_CACHED;
	int shmem = kind == FL_BENCH_CONTINUE || kind == FL_BENCH_CONTINUE_CACHED || kind == FL_BENCH_FLOOR_SHMEM_MINOR;
	/*
	 * Shmem read faults map the cached pages around the faulting one too (fault-around, 64 KiB
	 * by default), so the plain minor-fault floor touches one page per 64 KiB window: each touch
	 * is a real fault. uffd-registered ranges never fault around; anonymous writes neither.
	 */
	g->stride = kind == FL_BENCH_FLOOR_SHMEM_MINOR ? (65536 > g->ps ? 65536 / g->ps : 1) * g->ps : g->ps;
	g->len = (uint64_t)g->npages * g->stride;
	g->src = mmap(NULL, g->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->src == MAP_FAILED)
		return errno;
	memset(g->src, 0x5a, g->ps);
	if (shmem) {
		g->memfd = (int)syscall(SYS_memfd_create, "faultline-floor", MFD_CLOEXEC);
		if (g->memfd < 0 || ftruncate(g->memfd, (off_t)g->len) != 0)
			return errno;
		g->alias = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
		if (g->alias == MAP_FAILED)
			return errno;
		g->view = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
		if (g->view == MAP_FAILED)
			return errno;
		/* Every page cached and mapped in the alias; the view has no PTEs yet. */
		for (uint64_t o = 0; o < g->len; o += g->ps)
			memcpy(g->alias + o, g->src, g->ps);
	} else {
		g->view = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (g->view == MAP_FAILED)
			return errno;
		madvise(g->view, g->len, MADV_NOHUGEPAGE);
		if (kind == FL_BENCH_COPY) {
			g->staging = mmap(NULL, g->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (g->staging == MAP_FAILED)
				return errno;
			memset(g->staging, 0, g->ps);
		} else if (kind == FL_BENCH_MOVE) {
			g->pool = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (g->pool == MAP_FAILED)
				return errno;
			madvise(g->pool, g->len, MADV_NOHUGEPAGE);
		}
	}
	if (!uffd_floor)
		return 0;
	g->uffd = open_uffd();
	if (g->uffd < 0)
		return errno;
	struct uffdio_api api = { .api = UFFD_API, .features = g->sigbus ? UFFD_FEATURE_SIGBUS : 0 };
	if (shmem)
		api.features |= UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MISSING_SHMEM;
	else if (kind == FL_BENCH_MOVE)
		api.features |= UFFD_FEATURE_MOVE;
	if (ioctl(g->uffd, UFFDIO_API, &api) != 0)
		return errno;
	struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)g->view, .len = g->len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING | (shmem ? UFFDIO_REGISTER_MODE_MINOR : 0) };
	if (ioctl(g->uffd, UFFDIO_REGISTER, &reg) != 0)
		return errno;
	if (g->sigbus)
		return sigbus_register(g);
	g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->wake_fd < 0)
		return errno;
	/* As the fault-service thread: every signal blocked (HotSpot's signals are not for it). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&g->th, NULL, resolver_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return e;
	pthread_setname_np(g->th, "faultline-floor");
	g->started = 1;
	return 0;
}

struct fl_bench_region *fl_bench_region_new(int floor, int64_t npages, int *err)
{
	*err = 0;
	int kind = floor & ~(FL_BENCH_SIGBUS | FL_BENCH_UNPINNED | FL_BENCH_BUSY);
	int sigbus = (floor & FL_BENCH_SIGBUS) != 0;
	int unpinned = (floor & FL_BENCH_UNPINNED) != 0;
	int busy = (floor & FL_BENCH_BUSY) != 0;
	if (npages <= 0 || kind < 0 || kind > FL_BENCH_FLOOR_ANON_FIRST_TOUCH
	    || ((sigbus || unpinned) && kind > FL_BENCH_CONTINUE_CACHED) || (sigbus && unpinned) || (busy && !sigbus)) {
		*err = EINVAL;
		return NULL;
	}
	struct fl_bench_region *g = calloc(1, sizeof *g);
	if (g == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	g->kind = kind;
	g->sigbus = sigbus;
	g->unpinned = unpinned;
	g->busy = busy;
	g->npages = npages;
	g->memfd = -1;
	g->uffd = -1;
	g->wake_fd = -1;
	g->slot = -1;
	g->ps = (uint64_t)sysconf(_SC_PAGESIZE);
	int e = region_setup(g);
	if (e != 0) {
		fl_bench_region_free(g);
		*err = e;
		return NULL;
	}
	return g;
}

static int touch_pages(struct fl_bench_region *g, int64_t *lat);

/* ---- CPU placement ------------------------------------------------------------------------------- */

static cpu_set_t one_cpu(int cpu)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return one;
}

/* Pins the calling thread to the CPU it is on: *cpu, its affinity before in *saved; 0 or an errno. */
static int pin_here(cpu_set_t *saved, int *cpu)
{
	*cpu = sched_getcpu();
	if (*cpu < 0 || sched_getaffinity(0, sizeof *saved, saved) != 0)
		return errno;
	cpu_set_t one = one_cpu(*cpu);
	return sched_setaffinity(0, sizeof one, &one) == 0 ? 0 : errno;
}

/* ---- a busy sibling: another thread of the process running on another CPU ------------------------- */

struct spinner {
	pthread_t th;
	int cpu;
	int state; /* 0 starting, 1 spinning, 2 asked to stop; LOAD and STORE */
};

static void *spinner_main(void *arg)
{
	struct spinner *sp = arg;
	cpu_set_t one = one_cpu(sp->cpu);
	sched_setaffinity(0, sizeof one, &one);
	STORE(&sp->state, 1);
	while (LOAD(&sp->state) != 2)
		;
	return NULL;
}

/*
 * Pins the caller to its CPU and starts a thread spinning on another one; returns 0, or an errno
 * (ENXIO: no other CPU is allowed). Every signal is blocked in the spinner.
 */
static int spinner_start(struct spinner *sp, cpu_set_t *saved)
{
	int cpu;
	int e = pin_here(saved, &cpu);
	if (e != 0)
		return e;
	sp->cpu = -1;
	for (int c = 0; c < CPU_SETSIZE && sp->cpu < 0; c++) {
		if (c != cpu && CPU_ISSET(c, saved))
			sp->cpu = c;
	}
	e = sp->cpu < 0 ? ENXIO : 0;
	if (e == 0) {
		STORE(&sp->state, 0);
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&sp->th, NULL, spinner_main, sp);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (e != 0) {
		sched_setaffinity(0, sizeof *saved, saved);
		return e;
	}
	pthread_setname_np(sp->th, "faultline-spin");
	while (LOAD(&sp->state) != 1)
		sched_yield();
	return 0;
}

static void spinner_stop(struct spinner *sp, cpu_set_t *saved)
{
	STORE(&sp->state, 2);
	pthread_join(sp->th, NULL);
	sched_setaffinity(0, sizeof *saved, saved);
}

/* Before every pass but the first: empty the view again (the range stays registered) and refill the sources. */
static void rearm(struct fl_bench_region *g)
{
	madvise(g->view, g->len, MADV_DONTNEED); /* shmem: zaps the view's PTEs, the page cache stays */
	if (g->kind == FL_BENCH_MOVE)
		populate(g->pool, g->len, g->ps); /* the last pass moved every pool page away */
}

int fl_bench_region_touch(struct fl_bench_region *g, int64_t *lat)
{
	if (g == NULL)
		return -EINVAL;
	if (g->err != 0)
		return -g->err;
	if (g->passes > 0)
		rearm(g);
	else if (g->kind == FL_BENCH_MOVE)
		populate(g->pool, g->len, g->ps);
	g->passes++;
	/* FL_BENCH_BUSY (SIGBUS delivery): a sibling spins on another CPU for the pass. */
	if (g->busy) {
		struct spinner sp;
		cpu_set_t saved_busy;
		int e = spinner_start(&sp, &saved_busy);
		if (e != 0)
			return -e;
		int rc = touch_pages(g, lat);
		spinner_stop(&sp, &saved_busy);
		return rc;
	}
	/*
	 * Thread delivery: the toucher stays on the CPU it is on for the pass, and the resolver is
	 * placed on the same CPU, so every hand-over is a wake-up on the CPU the faulting thread just
	 * left: the cheapest there is (on this VM ~19 us per round trip, against ~33 us when the
	 * resolver sleeps on the other, idle vCPU and must be woken by an IPI; MOVE's TLB shootdown
	 * then also needs no IPI). A heap's service thread is placed by the scheduler, so part of its
	 * fault ratio may be its placement: FL_BENCH_UNPINNED measures the floor placed that way too.
	 */
	cpu_set_t saved;
	int cpu;
	int pinned = g->started && !g->unpinned && pin_here(&saved, &cpu) == 0;
	if (pinned) {
		cpu_set_t one = one_cpu(cpu);
		pthread_setaffinity_np(g->th, sizeof one, &one);
	}
	int rc = touch_pages(g, lat);
	if (pinned)
		sched_setaffinity(0, sizeof saved, &saved);
	return rc;
}

static int touch_pages(struct fl_bench_region *g, int64_t *lat)
{
	if (g->kind == FL_BENCH_FLOOR_ANON_FIRST_TOUCH) {
		for (int64_t i = 0; i < g->npages; i++) {
			int64_t t0 = now_ns();
			*(volatile char *)(g->view + (uint64_t)i * g->stride) = 1; /* allocates and zeroes a page */
			lat[i] = now_ns() - t0;
		}
		return 0;
	}
	for (int64_t i = 0; i < g->npages; i++) {
		int64_t t0 = now_ns();
		(void)*(volatile char *)(g->view + (uint64_t)i * g->stride);
		lat[i] = now_ns() - t0;
		if (g->err != 0)
			return -g->err;
	}
	return -g->err;
}

static int once(int floor, int64_t npages, int64_t *lat)
{
	int err;
	struct fl_bench_region *g = fl_bench_region_new(floor, npages, &err);
	if (g == NULL)
		return -err;
	int rc = fl_bench_region_touch(g, lat);
	fl_bench_region_free(g);
	return rc;
}

int fl_bench_uffd_roundtrip(int mode, int64_t npages, int64_t *lat)
{
	int kind = mode & ~(FL_BENCH_SIGBUS | FL_BENCH_UNPINNED | FL_BENCH_BUSY);
	if (kind < 0 || kind > FL_BENCH_CONTINUE_CACHED)
		return -EINVAL;
	return once(mode, npages, lat);
}

int fl_bench_plain_fault(int kind, int64_t npages, int64_t *lat)
{
	if (kind < 0 || kind > FL_BENCH_ANON_FIRST_TOUCH)
		return -EINVAL;
	return once(kind == FL_BENCH_SHMEM_MINOR ? FL_BENCH_FLOOR_SHMEM_MINOR : FL_BENCH_FLOOR_ANON_FIRST_TOUCH, npages, lat);
}

/* ---- batched installs: the ioctl alone ----------------------------------------------------------- */

/* len bytes at a 2 MiB boundary (so that a run of up to 512 pages stays inside one page table); unmap base, span bytes. */
static char *map_aligned(int shared_fd, uint64_t len, char **base, uint64_t *span)
{
	*span = len + FL_BENCH_PMD;
	char *p = mmap(NULL, *span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*base = p;
	char *a = (char *)(((uintptr_t)p + FL_BENCH_PMD - 1) & ~(uintptr_t)(FL_BENCH_PMD - 1));
	void *m = shared_fd >= 0 ? mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, shared_fd, 0)
				 : mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	madvise(a, len, MADV_NOHUGEPAGE);
	return a;
}

/* One ioctl of the mode over [dst, dst + len) (resuming after a partial result); 0 or errno. */
static int install_range(int uffd, int mode, uint64_t dst, uint64_t src, uint64_t len)
{
	uint64_t done = 0;
	int stalls = 0;
	while (done < len) {
		int rc;
		int64_t progressed;
		if (mode == FL_BENCH_CONTINUE) {
			struct uffdio_continue c = { .range = { .start = dst + done, .len = len - done }, .mode = 0 };
			rc = ioctl(uffd, UFFDIO_CONTINUE, &c);
			progressed = c.mapped;
		} else if (mode == FL_BENCH_COPY) {
			struct uffdio_copy c = { .dst = dst + done, .src = src + done, .len = len - done, .mode = 0 };
			rc = ioctl(uffd, UFFDIO_COPY, &c);
			progressed = c.copy;
		} else {
			struct uffdio_move m = { .dst = dst + done, .src = src + done, .len = len - done, .mode = 0 };
			rc = ioctl(uffd, UFFDIO_MOVE, &m);
			progressed = m.move;
		}
		if (rc == 0)
			return 0;
		int e = errno;
		if (e != EAGAIN && e != EINTR)
			return e;
		if (progressed > 0)
			done += (uint64_t)progressed;
		else if (++stalls > 1000)
			return e; /* no progress: give up rather than spin */
	}
	return 0;
}

int fl_bench_install(int mode, int64_t run_pages, int64_t total_pages, int64_t rounds, int64_t *round_ns)
{
	if (mode < FL_BENCH_CONTINUE || mode > FL_BENCH_MOVE || run_pages <= 0 || total_pages <= 0 || rounds <= 0)
		return -EINVAL;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t len = (uint64_t)total_pages * ps;
	int shmem = mode == FL_BENCH_CONTINUE;
	int uffd = -1, memfd = -1, rc = 0;
	char *dst_base = NULL, *src_base = NULL;
	uint64_t dst_span = 0, src_span = 0;
	char *dst = NULL, *src = NULL;
	char *alias = MAP_FAILED;

	if (shmem) {
		memfd = (int)syscall(SYS_memfd_create, "faultline-install-floor", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, (off_t)len) != 0 || fallocate(memfd, 0, 0, (off_t)len) != 0) {
			rc = -errno;
			goto out;
		}
		/* The builder's view of the page cache, as the heap's alias: the pages are written here. */
		alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (alias == MAP_FAILED) {
			rc = -errno;
			goto out;
		}
		src = alias;
	} else {
		src = map_aligned(-1, len, &src_base, &src_span);
		if (src == NULL) {
			rc = -errno;
			goto out;
		}
		memset(src, 0x5a, len);
	}
	uffd = open_uffd();
	if (uffd < 0) {
		rc = -errno;
		goto out;
	}
	struct uffdio_api api = { .api = UFFD_API, .features = shmem ? UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MISSING_SHMEM
								      : mode == FL_BENCH_MOVE ? UFFD_FEATURE_MOVE : 0 };
	if (ioctl(uffd, UFFDIO_API, &api) != 0) {
		rc = -errno;
		goto out;
	}
	for (int64_t r = 0; r < rounds; r++) {
		/*
		 * A new, registered destination every round, as the heap maps a new view every cycle:
		 * installing into a fresh mapping is cheaper on some hosts (shadow-paging hypervisors)
		 * than refilling one emptied with MADV_DONTNEED. shmem keeps its page cache either way.
		 */
		if (dst_base != NULL)
			munmap(dst_base, dst_span);
		dst_base = NULL;
		dst = map_aligned(memfd, len, &dst_base, &dst_span);
		struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)dst, .len = len },
					       .mode = UFFDIO_REGISTER_MODE_MISSING | (shmem ? UFFDIO_REGISTER_MODE_MINOR : 0) };
		if (dst == NULL || ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
			rc = -errno;
			goto out;
		}
		if (mode == FL_BENCH_MOVE && r > 0)
			populate(src, len, ps); /* the last round moved every source page away */
		int64_t spent = 0;
		for (int64_t first = 0; first < total_pages; first += run_pages) {
			int64_t n = total_pages - first < run_pages ? total_pages - first : run_pages;
			uint64_t off = (uint64_t)first * ps;
			/* COPY builds every run in the same buffer, as the heap's compactor reuses its build slot */
			uint64_t soff = mode == FL_BENCH_COPY ? 0 : off;
			memset(src + soff, 0x5a, (size_t)((uint64_t)n * ps)); /* "built", untimed */
			int64_t t0 = now_ns();
			int e = install_range(uffd, mode, (uint64_t)(uintptr_t)dst + off, (uint64_t)(uintptr_t)src + soff, (uint64_t)n * ps);
			spent += now_ns() - t0;
			if (e != 0) {
				rc = -e;
				goto out;
			}
		}
		round_ns[r] = spent;
	}
	if (dst[len - 1] != 0x5a)
		rc = -EIO; /* installed, but not our bytes */
out:
	if (uffd >= 0)
		close(uffd);
	if (dst_base != NULL)
		munmap(dst_base, dst_span);
	if (src_base != NULL)
		munmap(src_base, src_span);
	if (alias != MAP_FAILED)
		munmap(alias, len);
	if (memfd >= 0)
		close(memfd);
	return rc;
}

/* ---- memcpy ---------------------------------------------------------------------------------------- */

int64_t fl_bench_memcpy(int64_t chunk, int64_t total, int64_t reps)
{
	if (chunk <= 0 || total < chunk || reps <= 0)
		return -EINVAL;
	char *src = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t result;
	if (src == MAP_FAILED || dst == MAP_FAILED) {
		result = -errno;
		goto out;
	}
	memset(src, 0x5a, (size_t)total);
	memset(dst, 0, (size_t)total);
	int64_t t0 = now_ns();
	for (int64_t r = 0; r < reps; r++) {
		for (int64_t o = 0; o + chunk <= total; o += chunk) {
			memcpy(dst + o, src + o, (size_t)chunk);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
	}
	result = now_ns() - t0;
out:
	if (src != MAP_FAILED)
		munmap(src, (size_t)total);
	if (dst != MAP_FAILED)
		munmap(dst, (size_t)total);
	return result;
}
