/*
 * 03-move.c: UFFDIO_MOVE, a page handed over instead of copied.
 *
 * UFFDIO_COPY (demo 01) allocates a fresh page in the kernel and copies 4 KiB into it.
 * UFFDIO_MOVE (Linux 6.8) takes a page that already exists in a private anonymous mapping of this
 * process, unhooks it from its PTE there, and hooks it into the faulting address's PTE: no new
 * page, no copy. The source is left with a hole: reading it gives a fresh zero page, as if it had
 * never been touched. A GC builds a page in a private "staging" area and moves it into place.
 *
 * Limits: both ranges must be private anonymous memory (not a memfd); the destination range must
 * be registered with this userfaultfd and its page must be absent; the source page must be
 * present (or UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES given) and not shared with another process.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d03 docs/demos/03-move.c && /tmp/d03
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

/* The Linux 6.8 uapi additions, missing from older <linux/userfaultfd.h> (Debian 12 has 6.1). */
#ifndef UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#define UFFD_FEATURE_MOVE (1ULL << 16)
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64) 1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64) 1 << 1)
struct uffdio_move {
    __u64 dst;
    __u64 src;
    __u64 len;
    __u64 mode;
    __s64 move;     /* out: bytes moved, or a negated errno */
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

static long page_size;
static int uffd;
static char *heap, *staging;

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

/* UFFDIO_API may be done once per descriptor: learn the features on a throwaway one first. */
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

/* Whether the page at addr has a page behind it (mincore: bit 0 of one byte per page). */
static const char *resident(void *addr) {
    unsigned char vec = 0;
    if (mincore(addr, page_size, &vec) < 0) fail("mincore");
    return (vec & 1) ? "resident" : "not resident";
}

/* The handler: serves one fault by building the page in staging and moving it into place. */
static void *handler(void *arg) {
    (void) arg;
    struct uffd_msg msg;
    if (read(uffd, &msg, sizeof msg) != sizeof msg) fail("read(uffd)");
    unsigned long long addr = msg.arg.pagefault.address & ~(unsigned long long) (page_size - 1);
    printf("[handler] MISSING fault at 0x%llx\n", addr);

    /* Build the page in the staging area; the first write allocates a page there. */
    memset(staging, 0, page_size);
    strcpy(staging, "built in staging, moved by UFFDIO_MOVE");
    printf("[handler] staging page at %p built: \"%s\" (%s)\n", (void *) staging, staging, resident(staging));

    /* DONTWAKE, then UFFDIO_WAKE after printing: only so that the output reads in order. */
    struct uffdio_move move = { .dst = addr, .src = (uintptr_t) staging, .len = page_size,
                                .mode = UFFDIO_MOVE_MODE_DONTWAKE };
    if (ioctl(uffd, UFFDIO_MOVE, &move) < 0) fail("UFFDIO_MOVE");
    printf("[handler] UFFDIO_MOVE dst=0x%llx src=%p -> moved %lld bytes\n",
           addr, (void *) staging, (long long) move.move);
    struct uffdio_range wake = { .start = addr, .len = page_size };
    if (ioctl(uffd, UFFDIO_WAKE, &wake) < 0) fail("UFFDIO_WAKE");
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);
    uffd = open_uffd(UFFD_FEATURE_MOVE, "UFFD_FEATURE_MOVE (UFFDIO_MOVE, Linux 6.8+)");

    /* The "heap" (registered MISSING) and the staging area (not registered): both private anonymous. */
    heap = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    staging = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (heap == MAP_FAILED || staging == MAP_FAILED) fail("mmap");
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t) heap, .len = page_size },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING failed: %s", strerror(errno));
    if (!(reg.ioctls & (1ULL << _UFFDIO_MOVE))) skip("UFFDIO_MOVE not in the range's ioctls mask");
    printf("[main] heap page %p registered MISSING (ioctls mask 0x%llx includes MOVE); staging page %p\n",
           (void *) heap, (unsigned long long) reg.ioctls, (void *) staging);

    pthread_t thread;
    pthread_create(&thread, NULL, handler, NULL);

    printf("[toucher] reading the heap page...\n");
    char seen[64];
    memcpy(seen, heap, sizeof seen);
    seen[63] = 0;
    printf("[toucher] read \"%s\"\n", seen);
    pthread_join(thread, NULL);

    /* The page now belongs to the heap. The staging address has no page behind it any more. */
    printf("[main] staging page after the move: %s\n", resident(staging));
    int zeros = 1;
    for (long i = 0; i < page_size; i++) zeros &= staging[i] == 0;
    printf("[main] staging page reads %s (a hole reads as a zero page)\n", zeros ? "all zero" : "NOT zero");

    if (strcmp(seen, "built in staging, moved by UFFDIO_MOVE") != 0 || !zeros) {
        printf("FAIL: unexpected contents\n");
        return 1;
    }
    printf("OK: the page built in staging was moved, not copied, into the faulting address\n");
    return 0;
}
