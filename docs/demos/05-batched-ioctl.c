/*
 * 05-batched-ioctl.c: one ioctl for N contiguous pages vs N one-page ioctls.
 *
 * UFFDIO_COPY and UFFDIO_CONTINUE take a range, not a page. Nothing requires a pending fault:
 * a GC that has built a run of pages ahead of the mutators may install them all at once. Each
 * ioctl pays a fixed cost (system call entry, taking the mm's locks, walking to the page table,
 * flushing) and a per-page cost (COPY: allocate, zero and copy a page; CONTINUE: look the page
 * up in the page cache and write a PTE). Batching spreads the fixed cost over N pages.
 *
 * This demo installs the same pages, runs of N at a time, both ways, and prints us per page:
 *   COPY      into a private anonymous range registered MISSING; MADV_DONTNEED empties it again;
 *   CONTINUE  into a memfd view registered MINOR whose page cache was filled by fallocate;
 *             MADV_DONTNEED zaps the view's PTEs but keeps the cached pages, so it can repeat.
 * Numbers depend on the machine; in a VM each ioctl also pays for TLB-flush work.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d05 docs/demos/05-batched-ioctl.c && /tmp/d05
 * Exit status: 0 shown, 1 failed, 77 this kernel cannot show it (the reason is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGES 1024      /* pages installed per measurement (4 MiB with 4 KiB pages) */
#define ROUNDS 5        /* best of */
static long page_size;
static int uffd;

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

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Installs [dst, dst + PAGES pages) in runs of `run` pages, `per_ioctl` pages per ioctl.
 * Returns the best us per page over ROUNDS; the range is emptied before each round. */
static double install(int use_continue, char *dst, const char *src, int run, int per_ioctl) {
    double best = 1e9;
    for (int round = 0; round < ROUNDS; round++) {
        if (madvise(dst, PAGES * page_size, MADV_DONTNEED) < 0) fail("madvise(MADV_DONTNEED)");
        double start = now_us();
        for (long first = 0; first < PAGES; first += run) {
            for (long p = first; p < first + run; p += per_ioctl) {
                unsigned long long len = (unsigned long long) per_ioctl * page_size;
                if (use_continue) {
                    struct uffdio_continue c = { .range = { (uintptr_t) (dst + p * page_size), len } };
                    if (ioctl(uffd, UFFDIO_CONTINUE, &c) < 0) fail("UFFDIO_CONTINUE");
                } else {
                    struct uffdio_copy c = { .dst = (uintptr_t) (dst + p * page_size),
                                             .src = (uintptr_t) (src + p * page_size), .len = len };
                    if (ioctl(uffd, UFFDIO_COPY, &c) < 0) fail("UFFDIO_COPY");
                }
            }
        }
        double us = (now_us() - start) / PAGES;
        if (us < best) best = us;
    }
    return best;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (uffd < 0) skip("userfaultfd() failed: %s", strerror(errno));
    if (ioctl(uffd, UFFDIO_API, &api) < 0) skip("UFFDIO_API handshake failed: %s", strerror(errno));
    long bytes = PAGES * page_size;

    /* COPY: a source buffer with the pages' contents, and a destination registered MISSING. */
    char *src = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    char *anon = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (src == MAP_FAILED || anon == MAP_FAILED) fail("mmap");
    memset(src, 0x5a, bytes);
    struct uffdio_register reg = { .range = { (uintptr_t) anon, bytes }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING failed: %s", strerror(errno));

    /* CONTINUE: a memfd whose pages are all in the page cache, a view registered MINOR. */
    int memfd = memfd_create("demo-batch", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, bytes) < 0 || fallocate(memfd, 0, 0, bytes) < 0) fail("memfd");
    char *view = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (view == MAP_FAILED) fail("mmap(memfd)");
    struct uffdio_register vreg = { .range = { (uintptr_t) view, bytes }, .mode = UFFDIO_REGISTER_MODE_MINOR };
    int have_continue = (api.features & UFFD_FEATURE_MINOR_SHMEM) && ioctl(uffd, UFFDIO_REGISTER, &vreg) == 0;
    if (!have_continue) printf("CONTINUE not measured: this kernel cannot register a memfd MINOR\n");

    printf("%d pages of %ld bytes installed in runs of N; us per page, best of %d\n", PAGES, page_size, ROUNDS);
    printf("'one': one ioctl installs the run of N pages; 'N x 1': N ioctls of one page each\n");
    printf("%5s %15s %15s %15s %15s\n", "N", "COPY one", "COPY N x 1", "CONTINUE one", "CONTINUE N x 1");
    static const int runs[] = { 1, 8, 64, 512 };
    for (int i = 0; i < 4; i++) {
        int n = runs[i];
        double copy_batched = install(0, anon, src, n, n);
        double copy_single = install(0, anon, src, n, 1);
        if (anon[(PAGES - 1) * page_size] != 0x5a) { printf("FAIL: COPY installed wrong contents\n"); return 1; }
        if (have_continue) {
            double cont_batched = install(1, view, NULL, n, n);
            double cont_single = install(1, view, NULL, n, 1);
            printf("%5d %15.2f %15.2f %15.2f %15.2f\n", n, copy_batched, copy_single, cont_batched, cont_single);
        } else {
            printf("%5d %15.2f %15.2f %15s %15s\n", n, copy_batched, copy_single, "-", "-");
        }
    }
    printf("OK: one ioctl per run of N pages vs one per page (read down a column: batching pays for N > 1)\n");
    return 0;
}
