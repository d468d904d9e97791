/*
 * 04-sigbus.c: UFFD_FEATURE_SIGBUS: the faulting thread resolves its own fault.
 *
 * With UFFD_FEATURE_SIGBUS asked for in the UFFDIO_API handshake, a fault in a registered range
 * queues no message and puts no thread to sleep: the kernel sends SIGBUS to the faulting thread.
 * Its signal handler (installed with sigaction and SA_SIGINFO, so it gets si_addr) builds the
 * page, installs it with UFFDIO_COPY and returns; the faulting instruction re-executes and now
 * finds the page. No handler thread, no wake-up, no context switch: ART's collector works so.
 *
 * A process usually has a SIGBUS handler already (HotSpot has one). Ours must handle only
 * addresses in its range and pass every other SIGBUS to the handler it replaced: "chaining".
 * Here a stand-in for that earlier handler handles a SIGBUS of its own kind: a load from a
 * mapped file page beyond the end of the file. It extends the file and returns.
 *
 * Build and run:  gcc -O2 -pthread -o /tmp/d04 docs/demos/04-sigbus.c && /tmp/d04
 * Exit status: 0 shown, 1 failed, 77 this kernel cannot show it (the reason is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
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
static int uffd, file_fd;
static char *heap, *source;             /* heap: 2 pages registered MISSING; source: where pages are built */
static struct sigaction previous;       /* the SIGBUS handler ours replaced */
/* What each handler saw. A signal handler may not call printf; it records, main prints. */
static volatile int ours_code, prev_code, ours_count, prev_count;
static void *volatile ours_addr, *volatile prev_addr;

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

/* Stands in for the runtime's own SIGBUS handler: a load past the end of a file. */
static void previous_handler(int sig, siginfo_t *info, void *context) {
    (void) sig, (void) context;
    prev_count++, prev_code = info->si_code, prev_addr = info->si_addr;
    int saved = errno;
    ftruncate(file_fd, page_size);  /* async-signal-safe; the load re-executes and succeeds */
    errno = saved;
}

/* Ours: resolve faults in the heap, chain everything else. Only async-signal-safe calls here. */
static void uffd_sigbus_handler(int sig, siginfo_t *info, void *context) {
    char *addr = info->si_addr;
    if (addr >= heap && addr < heap + 2 * page_size) {
        int saved = errno;
        ours_count++, ours_code = info->si_code, ours_addr = addr;
        long page = (addr - heap) / page_size;
        memset(source, 0, page_size);                   /* build the page (plain stores: safe) */
        *(int *) (source + 64) = 2000 + (int) page;
        struct uffdio_copy copy = { .dst = (uintptr_t) (heap + page * page_size), .src = (uintptr_t) source,
                                    .len = page_size, .mode = UFFDIO_COPY_MODE_DONTWAKE }; /* nobody sleeps */
        if (ioctl(uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST) abort();
        errno = saved;
        return;                                         /* the faulting load re-executes */
    }
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler == SIG_DFL) {
        sigaction(SIGBUS, &previous, NULL);             /* re-executes and dies as it would have */
    } else if (previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page_size = sysconf(_SC_PAGESIZE);
    uffd = open_uffd(UFFD_FEATURE_SIGBUS, "UFFD_FEATURE_SIGBUS (Linux 4.14+)");
    printf("[main] UFFDIO_API with UFFD_FEATURE_SIGBUS: faults will raise SIGBUS, no messages\n");

    /* 1. The handler that was there first (in a JVM: HotSpot's). */
    struct sigaction sa = { .sa_sigaction = previous_handler, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, NULL) < 0) fail("sigaction(previous)");
    /* 2. Ours, remembering the one it replaces. */
    sa.sa_sigaction = uffd_sigbus_handler;
    if (sigaction(SIGBUS, &sa, &previous) < 0) fail("sigaction(ours)");
    printf("[main] installed our SIGBUS handler; it chains to the previous one\n");

    source = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    heap = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (source == MAP_FAILED || heap == MAP_FAILED) fail("mmap");
    struct uffdio_register reg = { .range = { .start = (uintptr_t) heap, .len = 2 * page_size },
                                   .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) skip("UFFDIO_REGISTER MISSING failed: %s", strerror(errno));
    printf("[main] heap %p..%p registered MISSING\n", (void *) heap, (void *) (heap + 2 * page_size));

    /* 3. Touch the heap: SIGBUS in this very thread, resolved by our handler. */
    for (int page = 0; page < 2; page++) {
        volatile int *p = (volatile int *) (heap + page * page_size + 64);
        int value = *p;
        printf("[main] load from heap page %d at %p read %d; our handler saw si_code=%d (%s) si_addr=%p\n",
               page, (void *) p, value, ours_code, ours_code == BUS_ADRERR ? "BUS_ADRERR" : "?", ours_addr);
        if (value != 2000 + page || ours_count != page + 1) { printf("FAIL: page %d\n", page); return 1; }
    }
    printf("[main] a second load of page 0 reads %d; handler calls so far: %d (no new fault)\n",
           *(volatile int *) (heap + 64), ours_count);

    /* 4. A SIGBUS outside the heap: a shared mapping of a file one page long, truncated to 0. */
    file_fd = memfd_create("demo-file", MFD_CLOEXEC);
    if (file_fd < 0 || ftruncate(file_fd, page_size) < 0) fail("memfd_create/ftruncate");
    char *file = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
    if (file == MAP_FAILED || ftruncate(file_fd, 0) < 0) fail("mmap/ftruncate");
    int value = *(volatile int *) file;
    printf("[main] load past the end of a file at %p read %d; the previous handler saw si_code=%d (%s)"
           " si_addr=%p\n", (void *) file, value, prev_code, prev_code == BUS_ADRERR ? "BUS_ADRERR" : "?",
           prev_addr);
    printf("[main] SIGBUS count: ours resolved %d in the heap, chained %d to the previous handler\n",
           ours_count, prev_count);
    if (prev_count != 1 || ours_count != 2 || value != 0) { printf("FAIL: chaining\n"); return 1; }
    printf("OK: the faulting thread resolved its own faults with UFFDIO_COPY; other SIGBUS went to the"
           " previous handler\n");
    return 0;
}
