/*
 * 08-installed-first-read.c: what a mutator pays to read a page a compactor has already installed.
 *
 * After a flip, a compactor installs to-space pages into the new view with UFFDIO_CONTINUE, 64
 * pages per ioctl (demo 5). A mutator that then reads such a page takes no fault: the kernel made
 * the PTE. And yet, on a VM whose hypervisor shadows the guest's page tables (PVM, or KVM
 * without EPT/NPT), the first access through each new PTE costs the hypervisor a shadow entry,
 * which the guest never sees (demo 7 shows it for anonymous memory). This demo measures it where
 * the heap meets it: pages of a memfd, written through an alias, installed in a fresh registered
 * view with UFFDIO_CONTINUE, then read one byte per page:
 *
 *   install        UFFDIO_CONTINUE, 64 pages per ioctl (what the compactor pays)
 *   first read     the mutator's first read of each installed page
 *   second read    the same again: the PTE and its shadow exist now
 *   other thread   a fresh view whose pages another thread read first; then this thread's
 *                  first read. If it is cheap, the shadow entry is per address space, not per
 *                  CPU: whoever touches a new PTE first pays for everyone.
 *
 * On bare metal or an EPT guest, first and second read cost about the same. Under shadow paging
 * the first read costs microseconds: more than the install itself, and a floor under the stall
 * of any mutator read of a page mapped since the last flip, fault or no fault.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d08 docs/demos/08-installed-first-read.c && /tmp/d08
 * Exit status: 0 shown, 1 failed, 77 this kernel cannot show it (the reason is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
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

#define PAGES 4096 /* 16 MiB */
#define RUN 64     /* pages per UFFDIO_CONTINUE, the heap's default run */
#define ROUNDS 3   /* best of */

static long page_size;
static int uffd, memfd;
static char *alias;

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

/* As in demo 2: ask what the kernel has on a throwaway descriptor, then open the real one. */
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

/* A fresh view of the memfd, registered MINOR, every page installed: returns the install time. */
static char *installed_view(double *install_us) {
    size_t len = (size_t)PAGES * page_size;
    char *view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (view == MAP_FAILED) fail("mmap view");
    struct uffdio_register reg = { .range = { (uintptr_t)view, len }, .mode = UFFDIO_REGISTER_MODE_MINOR };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) fail("UFFDIO_REGISTER");
    double t0 = now_us();
    for (long p = 0; p < PAGES; p += RUN) {
        struct uffdio_continue c = { .range = { (uintptr_t)view + p * page_size, (uint64_t)RUN * page_size } };
        if (ioctl(uffd, UFFDIO_CONTINUE, &c) < 0) fail("UFFDIO_CONTINUE");
    }
    *install_us = now_us() - t0;
    return view;
}

/* One byte per page; returns us per page. The sum is checked so the reads cannot be dropped. */
static double read_all(const char *view) {
    unsigned long sum = 0;
    double t0 = now_us();
    for (long p = 0; p < PAGES; p++) sum += (unsigned char)view[p * page_size];
    double us = (now_us() - t0) / PAGES;
    if (sum != (unsigned long)PAGES * 0x5a) {
        printf("FAIL: read %lu, expected the alias's bytes (%lu)\n", sum, (unsigned long)PAGES * 0x5a);
        exit(1);
    }
    return us;
}

static void *reader(void *view) {
    read_all(view);
    return NULL;
}

int main(void) {
    page_size = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)PAGES * page_size;
    uffd = open_uffd(UFFD_FEATURE_MINOR_SHMEM, "UFFD_FEATURE_MINOR_SHMEM (Linux 5.13+)");
    memfd = memfd_create("demo08", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)len) < 0) fail("memfd");
    alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (alias == MAP_FAILED) fail("mmap alias");
    memset(alias, 0x5a, len); /* the "built" pages: in the page cache, mapped by the alias */

    double best[4] = { 1e12, 1e12, 1e12, 1e12 };
    for (int r = 0; r < ROUNDS; r++) {
        double install, t[4];
        char *view = installed_view(&install);
        t[0] = install / PAGES;
        t[1] = read_all(view);
        t[2] = read_all(view);
        munmap(view, len);

        view = installed_view(&install);
        pthread_t th;
        if (pthread_create(&th, NULL, reader, view) != 0 || pthread_join(th, NULL) != 0) fail("reader thread");
        t[3] = read_all(view);
        munmap(view, len);
        for (int i = 0; i < 4; i++) if (t[i] < best[i]) best[i] = t[i];
    }
    printf("%d MiB memfd, installed with UFFDIO_CONTINUE in runs of %d pages; us per 4 KiB page, best of %d\n",
           PAGES * (int)(page_size >> 10) >> 10, RUN, ROUNDS);
    printf("%-44s %8.3f\n", "install (UFFDIO_CONTINUE)", best[0]);
    printf("%-44s %8.3f\n", "first read of an installed page", best[1]);
    printf("%-44s %8.3f\n", "second read", best[2]);
    printf("%-44s %8.3f\n", "first read after another thread read it", best[3]);
    printf("OK: the first read of an installed page cost %.1fx the install and %.1fx a second read\n",
           best[1] / (best[0] > 0 ? best[0] : 1e-3), best[1] / (best[2] > 0 ? best[2] : 1e-3));
    return 0;
}
