/*
 * 01-copy-missing.c: a MISSING fault, read from the userfaultfd and resolved with UFFDIO_COPY.
 *
 * The idea in one paragraph: an anonymous mapping starts with no pages at all; the first touch of
 * a page normally makes the kernel allocate a zeroed page and install a PTE (page table entry)
 * for it. After UFFDIO_REGISTER with mode MISSING, the kernel instead stops the touching thread
 * and queues a message (struct uffd_msg) on a file descriptor, the userfaultfd. Another thread
 * reads the message, builds the page's contents wherever it likes, and hands them to the kernel
 * with UFFDIO_COPY, which allocates the page, copies the bytes in, installs the PTE and wakes the
 * waiting thread. The touching thread never knows: its load simply returns the handler's data.
 * A garbage collector uses this to let a mutator touch a page before the GC has built it.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d01 docs/demos/01-copy-missing.c && /tmp/d01
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

static long page_size;
static int uffd;
static char *region;            /* 2 pages, registered MISSING */

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

/* The handler thread: serves exactly two faults, then returns. */
static void *handler(void *arg) {
    (void) arg;
    /* The page contents we will hand to the kernel; any memory of ours will do. */
    char *source = aligned_alloc(page_size, page_size);
    for (int served = 0; served < 2; served++) {
        struct uffd_msg msg;
        /* A blocking read: it returns when a thread has faulted in a registered range. */
        if (read(uffd, &msg, sizeof msg) != sizeof msg) fail("read(uffd)");
        if (msg.event != UFFD_EVENT_PAGEFAULT) { printf("unexpected event %u\n", msg.event); exit(1); }
        unsigned long long addr = msg.arg.pagefault.address;
        unsigned long long flags = msg.arg.pagefault.flags;
        int page = (int) ((addr - (uintptr_t) region) / page_size);
        /* flags: UFFD_PAGEFAULT_FLAG_WRITE for a store; neither WP nor MINOR is set: this fault is
         * MISSING, the only kind this range was registered for. The address is page-aligned
         * unless UFFD_FEATURE_EXACT_ADDRESS was asked for in the handshake. */
        printf("[handler] uffd_msg: event=PAGEFAULT address=0x%llx (page %d) flags=0x%llx (%s)\n",
               addr, page, flags, (flags & UFFD_PAGEFAULT_FLAG_WRITE) ? "WRITE" : "read");

        /* Build the page: here, a number the toucher will see, 1000 + page. */
        memset(source, 0, page_size);
        *(int *) (source + 64) = 1000 + page;

        struct uffdio_copy copy = {
            .dst = addr & ~(unsigned long long) (page_size - 1),
            .src = (uintptr_t) source,
            .len = page_size,
            /* Mode 0 would also wake the toucher. DONTWAKE lets us print first, so that the
             * output reads in order; UFFDIO_WAKE below then lets the toucher go. */
            .mode = UFFDIO_COPY_MODE_DONTWAKE,
        };
        if (ioctl(uffd, UFFDIO_COPY, &copy) < 0) fail("UFFDIO_COPY");
        /* copy.copy reports how many bytes were installed. */
        printf("[handler] UFFDIO_COPY dst=0x%llx len=%llu -> copied %lld bytes\n",
               copy.dst, copy.len, (long long) copy.copy);
        struct uffdio_range wake = { .start = copy.dst, .len = page_size };
        if (ioctl(uffd, UFFDIO_WAKE, &wake) < 0) fail("UFFDIO_WAKE");
    }
    free(source);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);

    /* 1. Create the userfaultfd. UFFD_USER_MODE_ONLY: only faults from user-space accesses (all we
     *    need); with it a non-root user may open one even when vm.unprivileged_userfaultfd is 0. */
    uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (uffd < 0) skip("userfaultfd() failed: %s", strerror(errno));

    /* 2. The UFFDIO_API handshake: we name the API version and the optional features we want
     *    (none here); the kernel answers with every feature it has and the ioctls allowed on
     *    the descriptor itself. It may be done once per descriptor. */
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    if (ioctl(uffd, UFFDIO_API, &api) < 0) skip("UFFDIO_API handshake failed: %s", strerror(errno));
    printf("[main] UFFDIO_API: kernel features=0x%llx, descriptor ioctls=0x%llx (API, REGISTER, UNREGISTER)\n",
           (unsigned long long) api.features, (unsigned long long) api.ioctls);

    /* 3. Two pages of private anonymous memory: no page exists until the first touch. */
    region = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) fail("mmap");

    /* 4. UFFDIO_REGISTER the range in MISSING mode. The kernel answers with the ioctls mask: bit
     *    _UFFDIO_x set means UFFDIO_x may be used on this range. */
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t) region, .len = 2 * page_size },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING failed: %s", strerror(errno));
    printf("[main] registered %p..%p MISSING; ioctls mask=0x%llx (COPY %s, ZEROPAGE %s, WAKE %s)\n",
           (void *) region, (void *) (region + 2 * page_size), (unsigned long long) reg.ioctls,
           reg.ioctls & (1ULL << _UFFDIO_COPY) ? "yes" : "no",
           reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE) ? "yes" : "no",
           reg.ioctls & (1ULL << _UFFDIO_WAKE) ? "yes" : "no");

    pthread_t thread;
    pthread_create(&thread, NULL, handler, NULL);

    /* 5. Touch page 0 with a load. This thread sleeps inside the page fault until the handler's
     *    UFFDIO_COPY; then the load re-executes and finds the handler's page. */
    volatile int *first = (volatile int *) (region + 64);
    printf("[toucher] reading page 0 at %p (no page there yet)...\n", (void *) first);
    int value = *first;
    printf("[toucher] read value %d from page 0\n", value);

    /* 6. Touch page 1 with a store: the message now has the WRITE flag. The handler's page is
     *    installed first, then our store lands on it. */
    volatile int *second = (volatile int *) (region + page_size + 128);
    printf("[toucher] writing 7 to page 1 at %p...\n", (void *) second);
    *second = 7;
    printf("[toucher] page 1 now holds %d (handler's) and %d (ours)\n",
           *(volatile int *) (region + page_size + 64), *second);

    /* 7. A second touch of page 0 does not fault: the PTE is there now. */
    printf("[toucher] reading page 0 again: %d (no fault: the page is mapped)\n", *first);

    pthread_join(thread, NULL);
    if (value != 1000) { printf("FAIL: expected 1000, read %d\n", value); return 1; }
    printf("OK: a MISSING fault was read from the userfaultfd and resolved with UFFDIO_COPY\n");
    return 0;
}
