/*
 * Floors for the benchmarks (io.faultline.bench.NativeFloors): what the kernel and the memory
 * system cost on this machine with no compaction work at all, measured natively so that the
 * figures of the heap can be reported as ratios to them in the same run.
 *
 * Every function runs entirely inside one downcall: the faulting thread is the calling (Java)
 * thread, which is "in native" for HotSpot while it waits in a userfault, and the resolver is a
 * pthread created and joined here. No Java code ever runs while a fault is pending (see
 * design-notes.md, the safepoint hazard).
 */
#define _GNU_SOURCE
#include "faultline.h"
#include "fl_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct rt {
	int mode;
	int uffd;
	char *view;
	char *alias;
	char *src;
	char *staging;
	uint64_t ps;
	volatile int stop;
	volatile int err;
};

static int resolve(struct rt *r, uint64_t addr)
{
	uint64_t off = addr - (uint64_t)(uintptr_t)r->view;
	int rc = 0;
	switch (r->mode) {
	case FL_BENCH_COPY: {
		struct uffdio_copy c = { .dst = addr, .src = (uint64_t)(uintptr_t)r->src, .len = r->ps, .mode = 0 };
		rc = ioctl(r->uffd, UFFDIO_COPY, &c);
		break;
	}
	case FL_BENCH_CONTINUE:
		memcpy(r->alias + off, r->src, r->ps); /* allocates the page-cache page */
		/* fall through */
	case FL_BENCH_CONTINUE_CACHED: {
		struct uffdio_continue c = { .range = { .start = addr, .len = r->ps }, .mode = 0 };
		rc = ioctl(r->uffd, UFFDIO_CONTINUE, &c);
		break;
	}
	case FL_BENCH_MOVE: {
		memcpy(r->staging, r->src, r->ps); /* refaults the staging slot as a fresh page */
		struct uffdio_move m = { .dst = addr, .src = (uint64_t)(uintptr_t)r->staging, .len = r->ps, .mode = 0 };
		rc = ioctl(r->uffd, UFFDIO_MOVE, &m);
		break;
	}
	default:
		return EINVAL;
	}
	if (rc != 0 && errno == EEXIST) {
		struct uffdio_range w = { .start = addr, .len = r->ps };
		rc = ioctl(r->uffd, UFFDIO_WAKE, &w);
	}
	return rc == 0 ? 0 : errno;
}

static void *handler_main(void *arg)
{
	struct rt *r = arg;
	struct pollfd p = { .fd = r->uffd, .events = POLLIN };
	while (!r->stop) {
		int n = poll(&p, 1, 5);
		if (n <= 0) {
			continue;
		}
		struct uffd_msg msg;
		ssize_t got = read(r->uffd, &msg, sizeof msg);
		if (got != (ssize_t)sizeof msg) {
			continue;
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			continue;
		}
		int e = resolve(r, msg.arg.pagefault.address & ~(uint64_t)(r->ps - 1));
		if (e != 0 && r->err == 0) {
			r->err = e;
		}
	}
	return NULL;
}

static int open_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL) {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	}
	return fd;
}

/* A floor's pages, ready to be touched once: set up by new, touched (timed) by touch, freed by free. */
struct fl_bench_region {
	struct rt r;
	int floor;
	int memfd;
	uint64_t len;
	uint64_t stride;
	int64_t npages;
	pthread_t th;
	int started;
	int touched;
};

void fl_bench_region_free(struct fl_bench_region *g)
{
	if (g == NULL) {
		return;
	}
	if (g->started) {
		g->r.stop = 1;
		pthread_join(g->th, NULL);
	}
	if (g->r.uffd >= 0) {
		close(g->r.uffd); /* unregisters everything, wakes any waiter */
	}
	if (g->r.view != NULL && g->r.view != MAP_FAILED) {
		munmap(g->r.view, g->len);
	}
	if (g->r.alias != NULL && g->r.alias != MAP_FAILED) {
		munmap(g->r.alias, g->len);
	}
	if (g->r.staging != NULL && g->r.staging != MAP_FAILED) {
		munmap(g->r.staging, g->r.ps);
	}
	if (g->r.src != NULL && g->r.src != MAP_FAILED) {
		munmap(g->r.src, g->r.ps);
	}
	if (g->memfd >= 0) {
		close(g->memfd);
	}
	free(g);
}

static int region_setup(struct fl_bench_region *g)
{
	struct rt *r = &g->r;
	int floor = g->floor;
	int uffd_floor = floor <= FL_BENCH_CONTINUE_CACHED;
	int shmem = floor == FL_BENCH_CONTINUE || floor == FL_BENCH_CONTINUE_CACHED || floor == FL_BENCH_FLOOR_SHMEM_MINOR;
	/*
	 * Shmem read faults map the cached pages around the faulting one too (fault-around, 64 KiB
	 * by default), so the plain minor-fault floor touches one page per 64 KiB window: each touch
	 * is a real fault. uffd-registered ranges never fault around; anonymous writes neither.
	 */
	g->stride = floor == FL_BENCH_FLOOR_SHMEM_MINOR ? (65536 > r->ps ? 65536 / r->ps : 1) * r->ps : r->ps;
	g->len = (uint64_t)g->npages * g->stride;
	r->src = mmap(NULL, r->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->src == MAP_FAILED) {
		return errno;
	}
	memset(r->src, 0x5a, r->ps);
	if (shmem) {
		g->memfd = (int)syscall(SYS_memfd_create, "faultline-floor", MFD_CLOEXEC);
		if (g->memfd < 0 || ftruncate(g->memfd, (off_t)g->len) != 0) {
			return errno;
		}
		r->alias = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
		if (r->alias == MAP_FAILED) {
			return errno;
		}
		r->view = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
		if (r->view == MAP_FAILED) {
			return errno;
		}
		if (floor != FL_BENCH_CONTINUE) {
			/* cached pages; the view has no PTEs yet */
			for (uint64_t o = 0; o < g->len; o += r->ps) {
				memcpy(r->alias + o, r->src, r->ps);
			}
		}
	} else {
		r->view = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r->view == MAP_FAILED) {
			return errno;
		}
		madvise(r->view, g->len, MADV_NOHUGEPAGE);
		if (floor == FL_BENCH_MOVE) {
			r->staging = mmap(NULL, r->ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (r->staging == MAP_FAILED) {
				return errno;
			}
		}
	}
	if (!uffd_floor) {
		return 0;
	}
	r->uffd = open_uffd();
	if (r->uffd < 0) {
		return errno;
	}
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (shmem) {
		api.features = UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MISSING_SHMEM;
	} else if (floor == FL_BENCH_MOVE) {
		api.features = UFFD_FEATURE_MOVE;
	}
	if (ioctl(r->uffd, UFFDIO_API, &api) != 0) {
		return errno;
	}
	struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)r->view, .len = g->len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING | (shmem ? UFFDIO_REGISTER_MODE_MINOR : 0) };
	if (ioctl(r->uffd, UFFDIO_REGISTER, &reg) != 0) {
		return errno;
	}
	int e = pthread_create(&g->th, NULL, handler_main, r);
	if (e != 0) {
		return e;
	}
	g->started = 1;
	return 0;
}

struct fl_bench_region *fl_bench_region_new(int floor, int64_t npages, int *err)
{
	*err = 0;
	if (npages <= 0 || floor < 0 || floor > FL_BENCH_FLOOR_ANON_FIRST_TOUCH) {
		*err = EINVAL;
		return NULL;
	}
	struct fl_bench_region *g = calloc(1, sizeof *g);
	if (g == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	g->floor = floor;
	g->npages = npages;
	g->memfd = -1;
	g->r.uffd = -1;
	g->r.mode = floor;
	g->r.ps = (uint64_t)sysconf(_SC_PAGESIZE);
	int e = region_setup(g);
	if (e != 0) {
		fl_bench_region_free(g);
		*err = e;
		return NULL;
	}
	return g;
}

int fl_bench_region_touch(struct fl_bench_region *g, int64_t *lat)
{
	if (g == NULL || g->touched) {
		return -EINVAL;
	}
	g->touched = 1;
	if (g->floor == FL_BENCH_FLOOR_ANON_FIRST_TOUCH) {
		for (int64_t i = 0; i < g->npages; i++) {
			int64_t t0 = now_ns();
			*(volatile char *)(g->r.view + (uint64_t)i * g->stride) = 1; /* allocates and zeroes a page */
			lat[i] = now_ns() - t0;
		}
		return 0;
	}
	for (int64_t i = 0; i < g->npages; i++) {
		int64_t t0 = now_ns();
		(void)*(volatile char *)(g->r.view + (uint64_t)i * g->stride);
		lat[i] = now_ns() - t0;
		if (g->r.err != 0) {
			return -g->r.err;
		}
	}
	return -g->r.err;
}

static int once(int floor, int64_t npages, int64_t *lat)
{
	int err;
	struct fl_bench_region *g = fl_bench_region_new(floor, npages, &err);
	if (g == NULL) {
		return -err;
	}
	int rc = fl_bench_region_touch(g, lat);
	fl_bench_region_free(g);
	return rc;
}

int fl_bench_uffd_roundtrip(int mode, int64_t npages, int64_t *lat)
{
	if (mode < 0 || mode > FL_BENCH_CONTINUE_CACHED) {
		return -EINVAL;
	}
	return once(mode, npages, lat);
}

int fl_bench_plain_fault(int kind, int64_t npages, int64_t *lat)
{
	if (kind < 0 || kind > FL_BENCH_ANON_FIRST_TOUCH) {
		return -EINVAL;
	}
	return once(kind == FL_BENCH_SHMEM_MINOR ? FL_BENCH_FLOOR_SHMEM_MINOR : FL_BENCH_FLOOR_ANON_FIRST_TOUCH, npages, lat);
}

int64_t fl_bench_memcpy(int64_t chunk, int64_t total, int64_t reps)
{
	if (chunk <= 0 || total < chunk || reps <= 0) {
		return -EINVAL;
	}
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
	if (src != MAP_FAILED) {
		munmap(src, (size_t)total);
	}
	if (dst != MAP_FAILED) {
		munmap(dst, (size_t)total);
	}
	return result;
}
