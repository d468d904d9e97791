/*
 * 02-memfd-continue.c: one memfd mapped twice; MINOR vs MISSING faults; UFFDIO_CONTINUE.
 *
 * A memfd is a file that lives only in memory (shmem). Its pages sit in the page cache, owned by
 * the file, not by any mapping. Map it twice with MAP_SHARED and both mappings show the same
 * pages: a "view" (what the program, or a GC's mutators, read) and a "GC alias" (where a GC
 * builds pages). Each mapping has its own PTEs; a PTE may be missing while the page is cached.
 *
 * Registered MISSING|MINOR, a touch of the view raises one of two faults:
 *   MINOR    the page is in the page cache, only this mapping's PTE is missing;
 *   MISSING  there is no page at all (never written, or its hole punched with fallocate).
 * Both are resolved the same way: write the page through the alias (that creates the page-cache
 * page if needed), then UFFDIO_CONTINUE, which installs a PTE for the cached page in the view and
 * wakes the toucher. No copy: the view and the alias map the very same physical page.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d02 docs/demos/02-memfd-continue.c && /tmp/d02
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
#include <unistd.h>

#define PAGES 2
static long page_size;
static int uffd, memfd;
static char *view, *alias;
static const char *volatile last_kind; /* set by the handler, read by the toucher once woken */

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

/* The UFFDIO_API handshake may be done once per descriptor, so ask the kernel what it has on a
 * throwaway descriptor first, then open the real one asking for exactly what we need. */
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

/* The handler: a GC's fault-service thread in miniature. Runs until the process exits. */
static void *handler(void *arg) {
    (void) arg;
    for (unsigned serial = 1;; serial++) {
        struct uffd_msg msg;
        if (read(uffd, &msg, sizeof msg) != sizeof msg) fail("read(uffd)");
        unsigned long long addr = msg.arg.pagefault.address & ~(unsigned long long) (page_size - 1);
        long offset = (long) (addr - (uintptr_t) view);
        /* UFFD_PAGEFAULT_FLAG_MINOR tells the two kinds apart. */
        last_kind = (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) ? "MINOR" : "MISSING";
        if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) /* the alias shows the cached page */
            printf("[handler] MINOR fault at view page %ld; page cache holds \"%.50s\"\n",
                   offset / page_size, alias + offset);
        else
            printf("[handler] MISSING fault at view page %ld; no page in the page cache\n", offset / page_size);
        /* Build the page through the alias (same file offset). For MISSING this write allocates
         * the page-cache page; for MINOR it overwrites the cached one. */
        snprintf(alias + offset, 64, "built by handler, fault #%u (%s)", serial, last_kind);
        /* Map the cached page into the view: installs the PTE and wakes the toucher. */
        struct uffdio_continue cont = { .range = { .start = addr, .len = page_size }, .mode = 0 };
        if (ioctl(uffd, UFFDIO_CONTINUE, &cont) < 0) fail("UFFDIO_CONTINUE");
    }
    return NULL;
}

/* Reads the start of a view page; prints which fault that took (if any) and what it read. */
static void touch(int page, const char *why, const char *expected) {
    last_kind = "no fault";
    printf("[toucher] touch view page %d: %s\n", page, why);
    char seen[64];
    memcpy(seen, view + page * page_size, sizeof seen); /* the load that may fault */
    __asm__ volatile("" ::: "memory"); /* the compiler must not read last_kind before the load */
    seen[63] = 0;
    printf("[toucher]   -> %s; read \"%s\"\n", last_kind, seen);
    if (strcmp((const char *) last_kind, expected) != 0) { printf("FAIL: expected %s\n", expected); exit(1); }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);
    uffd = open_uffd(UFFD_FEATURE_MINOR_SHMEM, "UFFD_FEATURE_MINOR_SHMEM (Linux 5.13+)");

    /* One memfd of PAGES pages, mapped twice. */
    memfd = memfd_create("demo-heap", MFD_CLOEXEC);
    if (memfd < 0) fail("memfd_create");
    if (ftruncate(memfd, PAGES * page_size) < 0) fail("ftruncate");
    view = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    alias = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (view == MAP_FAILED || alias == MAP_FAILED) fail("mmap");
    printf("[main] memfd of %d pages: view at %p, GC alias at %p\n", PAGES, (void *) view, (void *) alias);

    /* Only the view is registered: the alias never faults into the userfaultfd. */
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t) view, .len = PAGES * page_size },
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR,
    };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING|MINOR on a memfd: %s", strerror(errno));
    if (!(reg.ioctls & (1ULL << _UFFDIO_CONTINUE))) skip("UFFDIO_CONTINUE not in the range's ioctls mask");
    printf("[main] view registered MISSING|MINOR; ioctls mask 0x%llx includes CONTINUE\n",
           (unsigned long long) reg.ioctls);

    /* Page 1 gets contents through the alias before anyone touches the view: the page is cached,
     * the view has no PTE for it. */
    strcpy(alias + page_size, "written through the alias before the touch");

    pthread_t thread;
    pthread_create(&thread, NULL, handler, NULL);

    touch(0, "never written anywhere (no page in the page cache)", "MISSING");
    touch(1, "written through the alias only (cached, no PTE in the view)", "MINOR");
    touch(0, "again (PTE present now)", "no fault");

    /* MADV_DONTNEED on a shared mapping drops this mapping's PTEs only; the pages stay cached. */
    if (madvise(view, PAGES * page_size, MADV_DONTNEED) < 0) fail("madvise(MADV_DONTNEED)");
    printf("[main] MADV_DONTNEED on the view: PTEs zapped, page cache kept\n");
    touch(0, "after its PTE was zapped", "MINOR");

    /* Punching a hole frees the page itself (and zaps every PTE that mapped it). */
    if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, page_size, page_size) < 0)
        fail("fallocate(PUNCH_HOLE)");
    printf("[main] fallocate(PUNCH_HOLE) on page 1: the page is gone from the page cache\n");
    touch(1, "after its hole was punched", "MISSING");

    printf("OK: MINOR for a cached page, MISSING for an absent one; both resolved by UFFDIO_CONTINUE\n");
    return 0;
}
