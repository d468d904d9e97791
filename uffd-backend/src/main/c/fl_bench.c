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

int fl_bench_uffd_roundtrip(int mode, int64_t npages, int64_t *lat)
{
	struct rt r;
	memset(&r, 0, sizeof r);
	r.mode = mode;
	r.ps = (uint64_t)sysconf(_SC_PAGESIZE);
	r.uffd = -1;
	uint64_t len = (uint64_t)npages * r.ps;
	int memfd = -1;
	int err = 0;
	pthread_t th;
	int started = 0;

	if (npages <= 0 || mode < 0 || mode > FL_BENCH_CONTINUE_CACHED) {
		return -EINVAL;
	}
	r.src = mmap(NULL, r.ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.src == MAP_FAILED) {
		r.src = NULL;
		err = errno;
		goto out;
	}
	memset(r.src, 0x5a, r.ps);
	r.uffd = open_uffd();
	if (r.uffd < 0) {
		err = errno;
		goto out;
	}
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int continue_mode = mode == FL_BENCH_CONTINUE || mode == FL_BENCH_CONTINUE_CACHED;
	if (continue_mode) {
		api.features = UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MISSING_SHMEM;
	} else if (mode == FL_BENCH_MOVE) {
		api.features = UFFD_FEATURE_MOVE;
	}
	if (ioctl(r.uffd, UFFDIO_API, &api) != 0) {
		err = errno;
		goto out;
	}
	uint64_t reg_mode = UFFDIO_REGISTER_MODE_MISSING;
	if (continue_mode) {
		memfd = (int)syscall(SYS_memfd_create, "faultline-floor", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, (off_t)len) != 0) {
			err = errno;
			goto out;
		}
		r.alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		r.view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (r.alias == MAP_FAILED || r.view == MAP_FAILED) {
			err = errno;
			goto out;
		}
		if (mode == FL_BENCH_CONTINUE_CACHED) {
			for (uint64_t o = 0; o < len; o += r.ps) {
				memcpy(r.alias + o, r.src, r.ps);
			}
		}
		reg_mode |= UFFDIO_REGISTER_MODE_MINOR;
	} else {
		r.view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r.view == MAP_FAILED) {
			err = errno;
			goto out;
		}
		madvise(r.view, len, MADV_NOHUGEPAGE);
		if (mode == FL_BENCH_MOVE) {
			r.staging = mmap(NULL, r.ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (r.staging == MAP_FAILED) {
				err = errno;
				goto out;
			}
		}
	}
	struct uffdio_register reg = { .range = { .start = (uint64_t)(uintptr_t)r.view, .len = len }, .mode = reg_mode };
	if (ioctl(r.uffd, UFFDIO_REGISTER, &reg) != 0) {
		err = errno;
		goto out;
	}
	if ((err = pthread_create(&th, NULL, handler_main, &r)) != 0) {
		goto out;
	}
	started = 1;
	for (int64_t i = 0; i < npages; i++) {
		int64_t t0 = now_ns();
		(void)*(volatile char *)(r.view + (uint64_t)i * r.ps);
		lat[i] = now_ns() - t0;
		if (r.err != 0) {
			break;
		}
	}
	err = r.err;
out:
	if (started) {
		r.stop = 1;
		pthread_join(th, NULL);
	}
	if (r.uffd >= 0) {
		close(r.uffd); /* unregisters everything */
	}
	if (r.view != NULL && r.view != MAP_FAILED) {
		munmap(r.view, len);
	}
	if (r.alias != NULL && r.alias != MAP_FAILED) {
		munmap(r.alias, len);
	}
	if (r.staging != NULL && r.staging != MAP_FAILED) {
		munmap(r.staging, r.ps);
	}
	if (r.src != NULL) {
		munmap(r.src, r.ps);
	}
	if (memfd >= 0) {
		close(memfd);
	}
	return -err;
}

int fl_bench_plain_fault(int kind, int64_t npages, int64_t *lat)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	/*
	 * Shmem read faults map the cached pages around the faulting one too (fault-around, 64 KiB
	 * by default), so the minor-fault floor touches one page per 64 KiB window: each touch is a
	 * real fault. The anonymous floor writes, which never faults around.
	 */
	uint64_t stride = kind == FL_BENCH_SHMEM_MINOR ? (65536 > ps ? 65536 / ps : 1) * ps : ps;
	uint64_t len = (uint64_t)npages * stride;
	int err = 0;
	int memfd = -1;
	char *alias = MAP_FAILED;
	char *view = MAP_FAILED;
	if (npages <= 0 || kind < 0 || kind > FL_BENCH_ANON_FIRST_TOUCH) {
		return -EINVAL;
	}
	if (kind == FL_BENCH_SHMEM_MINOR) {
		memfd = (int)syscall(SYS_memfd_create, "faultline-floor", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, (off_t)len) != 0) {
			err = errno;
			goto out;
		}
		alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (alias == MAP_FAILED || view == MAP_FAILED) {
			err = errno;
			goto out;
		}
		memset(alias, 0x5a, len); /* the pages are cached; the view has no PTEs yet */
		for (int64_t i = 0; i < npages; i++) {
			int64_t t0 = now_ns();
			(void)*(volatile char *)(view + (uint64_t)i * stride);
			lat[i] = now_ns() - t0;
		}
	} else {
		view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (view == MAP_FAILED) {
			err = errno;
			goto out;
		}
		madvise(view, len, MADV_NOHUGEPAGE);
		for (int64_t i = 0; i < npages; i++) {
			int64_t t0 = now_ns();
			*(volatile char *)(view + (uint64_t)i * ps) = 1; /* allocates and zeroes a page */
			lat[i] = now_ns() - t0;
		}
	}
out:
	if (view != MAP_FAILED) {
		munmap(view, len);
	}
	if (alias != MAP_FAILED) {
		munmap(alias, len);
	}
	if (memfd >= 0) {
		close(memfd);
	}
	return -err;
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
