/*
 * 09-move-shootdown.c: what UFFDIO_MOVE pays when another thread of the process is running.
 *
 * UFFDIO_MOVE (demo 03) unhooks a page from its source PTE. A CPU may still hold that
 * translation in its TLB, so the kernel flushes it: on this CPU directly, and on every other CPU
 * that runs a thread of this process by an inter-processor interrupt (a "TLB shootdown"), which
 * waits for the other CPU to answer. A CPU that runs nothing of this process is skipped (it is
 * "lazy" and flushes when it comes back). UFFDIO_COPY and UFFDIO_CONTINUE only fill empty PTEs
 * and flush nothing. A GC moves pages while its own threads run: the compactor, the mutators.
 *
 * This program moves pages one per ioctl (as a fault with no fault-around does), and copies
 * pages one per ioctl for contrast, in two settings:
 *
 *   alone          no other thread of this process is running
 *   sibling busy   a second thread spins on another CPU (it touches no memory of interest;
 *                  being scheduled there is enough)
 *
 * On a VM an interrupt between virtual CPUs goes through the hypervisor: expect the move with a
 * busy sibling to cost several times the move alone, and the copy not to change.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d09 docs/demos/09-move-shootdown.c && /tmp/d09
 * Exit status: 0 shown, 1 failed, 77 this machine cannot show it (the reason is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The Linux 6.8 uapi additions, missing from older <linux/userfaultfd.h> (Debian 12 has 6.1). */
#ifndef UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#define UFFD_FEATURE_MOVE (1ULL << 16)
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64) 1 << 0)
struct uffdio_move {
    __u64 dst;
    __u64 src;
    __u64 len;
    __u64 mode;
    __s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

#define PAGES 2048 /* 8 MiB per round */
#define ROUNDS 5   /* median of */

static long page_size;
static int uffd;
static atomic_int spin_state; /* 0 idle, 1 spin, 2 exit */

static void skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(77);
}

static void fail(const char *what) {
    printf("FAIL: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int open_uffd(unsigned long long want, const char *want_name) {
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd < 0) skip("userfaultfd() failed: %s", strerror(errno));
    if (ioctl(fd, UFFDIO_API, &api) < 0) skip("UFFDIO_API handshake failed: %s", strerror(errno));
    close(fd);
    if ((api.features & want) != want) skip("kernel lacks %s (features 0x%llx)", want_name, api.features);
    fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    api = (struct uffdio_api) { .api = UFFD_API, .features = want };
    if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0) fail("userfaultfd + UFFDIO_API");
    return fd;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) fail("sched_setaffinity");
}

/* The sibling: on CPU 1, spins while asked to, sleeps otherwise. */
static void *sibling(void *arg) {
    (void) arg;
    pin(1);
    for (;;) {
        int s = atomic_load(&spin_state);
        if (s == 2) return NULL;
        if (s == 0) usleep(1000);
    }
}

/* A fresh registered destination and a source whose pages are present; returns us per page. */
static double one_round(int move) {
    size_t len = (size_t) PAGES * page_size;
    char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (dst == MAP_FAILED || src == MAP_FAILED) fail("mmap");
    madvise(dst, len, MADV_NOHUGEPAGE);
    madvise(src, len, MADV_NOHUGEPAGE);
    memset(src, 0x5a, len); /* every source page present, outside the timed part */
    struct uffdio_register reg = { .range = { .start = (uintptr_t) dst, .len = len },
                                   .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING failed: %s", strerror(errno));
    if (move && !(reg.ioctls & (1ULL << _UFFDIO_MOVE))) skip("UFFDIO_MOVE not in the range's ioctls mask");
    double t0 = now_us();
    for (long i = 0; i < PAGES; i++) {
        if (move) {
            struct uffdio_move m = { .dst = (uintptr_t) dst + i * page_size, .src = (uintptr_t) src + i * page_size,
                                     .len = page_size, .mode = UFFDIO_MOVE_MODE_DONTWAKE };
            if (ioctl(uffd, UFFDIO_MOVE, &m) < 0) fail("UFFDIO_MOVE");
        } else {
            struct uffdio_copy c = { .dst = (uintptr_t) dst + i * page_size, .src = (uintptr_t) src + i * page_size,
                                     .len = page_size, .mode = UFFDIO_COPY_MODE_DONTWAKE };
            if (ioctl(uffd, UFFDIO_COPY, &c) < 0) fail("UFFDIO_COPY");
        }
    }
    double us = (now_us() - t0) / PAGES;
    if (dst[(PAGES - 1) * page_size] != 0x5a) {
        errno = 0;
        fail("the last page did not arrive");
    }
    munmap(dst, len);
    munmap(src, len);
    return us;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double median(int move) {
    double r[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) r[i] = one_round(move);
    qsort(r, ROUNDS, sizeof r[0], cmp);
    return r[ROUNDS / 2];
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) skip("one CPU: no other CPU to interrupt");
    uffd = open_uffd(UFFD_FEATURE_MOVE, "UFFD_FEATURE_MOVE (UFFDIO_MOVE, Linux 6.8+)");
    pin(0);
    pthread_t t;
    if (pthread_create(&t, NULL, sibling, NULL) != 0) fail("pthread_create");

    double move_alone = median(1), copy_alone = median(0);
    atomic_store(&spin_state, 1);
    usleep(20000); /* let the sibling get onto CPU 1 */
    double move_busy = median(1), copy_busy = median(0);
    atomic_store(&spin_state, 0);
    usleep(20000);
    double move_alone2 = median(1);
    atomic_store(&spin_state, 2);
    pthread_join(t, NULL);

    printf("one page per ioctl, %d pages, median of %d rounds, us per page:\n", PAGES, ROUNDS);
    printf("  UFFDIO_MOVE  alone %.2f, sibling busy %.2f, alone again %.2f\n", move_alone, move_busy, move_alone2);
    printf("  UFFDIO_COPY  alone %.2f, sibling busy %.2f\n", copy_alone, copy_busy);
    double base = move_alone < move_alone2 ? move_alone : move_alone2;
    printf("  a busy sibling adds %.2f us to each move (x%.1f) and %.2f to each copy\n",
           move_busy - base, move_busy / base, copy_busy - copy_alone);
    if (move_busy > 1.5 * base) {
        printf("OK: each move flushed the source's TLB entry on the sibling's CPU too, and paid for it\n");
    } else {
        printf("OK: a move cost about the same with the sibling running (no dear cross-CPU flush here)\n");
    }
    return 0;
}
