/*
 * 07-first-touch.c: why the allocation area of a userfaultfd heap is backed by huge pages.
 *
 * Every flip maps a new view (demo 6), so every page the mutators allocate in after it is reached
 * through a page-table entry (PTE) the kernel has just created. The allocator asks for those PTEs
 * in bulk, ahead of itself, with madvise(MADV_POPULATE_WRITE): no page fault is left for the
 * mutator to take. But the first access through a new PTE can still cost something the kernel
 * never sees: in a VM whose hypervisor shadows the guest's page tables (PVM, or KVM without
 * EPT/NPT), the hypervisor builds its own copy of each new entry when the guest first uses it.
 * That copy is per entry, so a 2 MiB huge page (one PMD entry for 512 pages of 4 KiB) pays it once
 * where 4 KiB pages pay it 512 times.
 *
 * This demo maps 64 MiB of private anonymous memory twice, once advised MADV_NOHUGEPAGE (4 KiB
 * pages) and once MADV_HUGEPAGE, populates each with MADV_POPULATE_WRITE, then writes one byte
 * per 4 KiB page twice, and prints us per 4 KiB page for each step. On bare metal or an EPT guest
 * the first and second writes cost about the same; under shadow paging the first write through a
 * 4 KiB PTE costs microseconds, the first write into a huge page almost nothing. It checks, from
 * /proc/self/smaps, that the kernel really gave huge pages (AnonHugePages), and skips if it did not.
 *
 * The last two columns answer what recycling the old view's allocation area saves (the heap does
 * it with the KEEP supply: it moves those pages into the new view and zeroes them itself, and
 * keeps the rest in a pool instead of unmapping it): zeroing resident memory with memset, and
 * moving it elsewhere 2 MiB at a time with mremap, against the populate column, where the kernel
 * finds and zeroes a fresh page for every 4 KiB or 2 MiB. The slowest round's populate is printed
 * too: memory the process has not used lately can cost far more than the best round, when the
 * host must back it again.
 *
 * Build and run:  gcc -O2 -o /tmp/d07 docs/demos/07-first-touch.c && /tmp/d07
 * Exit status: 0 shown, 1 failed, 77 this kernel cannot show it (the reason is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define MIB 64        /* the range, MiB */
#define ROUNDS 3      /* best of */
#define PAGE 4096
#define HUGE (2UL << 20)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* AnonHugePages of the mapping that starts at p, in KiB (-1 if not found). */
static long anon_huge_kib(void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int ours = 0;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            ours = start == (uintptr_t)p;
        } else if (ours && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

/* One round: map, advise, populate, write twice, memset, move; times[0..4] = us per 4 KiB page. */
static int round_of(int huge, double times[5], long *huge_kib) {
    size_t len = (size_t)MIB << 20, pages = len / PAGE;
    char *raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) { printf("FAIL: mmap: %s\n", strerror(errno)); return 1; }
    char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1)); /* huge pages need 2 MiB alignment */
    if (madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0) {
        printf("SKIP: madvise(%s): %s\n", huge ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", strerror(errno));
        munmap(raw, len + HUGE);
        return 77;
    }
    double t0 = now_us();
    if (madvise(p, len, MADV_POPULATE_WRITE) != 0) {
        printf("SKIP: madvise(MADV_POPULATE_WRITE): %s (Linux 5.14+)\n", strerror(errno));
        munmap(raw, len + HUGE);
        return 77;
    }
    double t1 = now_us();
    for (size_t o = 0; o < len; o += PAGE) p[o] = 1;
    double t2 = now_us();
    for (size_t o = 0; o < len; o += PAGE) p[o] = 2;
    double t3 = now_us();
    memset(p, 0, len);
    double t4 = now_us();
    if (p[len / 2] != 0) { printf("FAIL: memset did not zero\n"); munmap(raw, len + HUGE); return 1; }
    *huge_kib = anon_huge_kib(p);
    char *raw2 = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw2 == MAP_FAILED) { printf("FAIL: mmap: %s\n", strerror(errno)); munmap(raw, len + HUGE); return 1; }
    char *q = (char *)(((uintptr_t)raw2 + HUGE - 1) & ~(HUGE - 1));
    p[len - 1] = 3;
    double t5 = now_us();
    for (size_t o = 0; o < len; o += HUGE) {
        if (mremap(p + o, HUGE, HUGE, MREMAP_MAYMOVE | MREMAP_FIXED, q + o) == MAP_FAILED) {
            printf("FAIL: mremap: %s\n", strerror(errno));
            munmap(raw, len + HUGE);
            munmap(raw2, len + HUGE);
            return 1;
        }
    }
    double t6 = now_us();
    int moved = q[len - 1] == 3;
    munmap(raw2, len + HUGE);
    if (!moved) { printf("FAIL: mremap did not move the bytes\n"); munmap(raw, len + HUGE); return 1; }
    times[0] = (t1 - t0) / pages;
    times[1] = (t2 - t1) / pages;
    times[2] = (t3 - t2) / pages;
    times[3] = (t4 - t3) / pages;
    times[4] = (t6 - t5) / pages;
    munmap(raw, len + HUGE);
    return 0;
}

int main(void) {
    double best[2][5] = { { 1e12, 1e12, 1e12, 1e12, 1e12 }, { 1e12, 1e12, 1e12, 1e12, 1e12 } };
    double slowest_populate[2] = { 0, 0 };
    long huge_kib[2] = { 0, 0 };
    for (int r = 0; r < ROUNDS; r++) {
        for (int huge = 0; huge < 2; huge++) {
            double t[5];
            long kib;
            int rc = round_of(huge, t, &kib);
            if (rc) return rc;
            for (int i = 0; i < 5; i++) if (t[i] < best[huge][i]) best[huge][i] = t[i];
            if (t[0] > slowest_populate[huge]) slowest_populate[huge] = t[0];
            if (kib > huge_kib[huge]) huge_kib[huge] = kib;
        }
    }
    if (huge_kib[1] <= 0) {
        printf("SKIP: the kernel gave no transparent huge pages (AnonHugePages 0; see "
               "/sys/kernel/mm/transparent_hugepage/enabled)\n");
        return 77;
    }
    if (huge_kib[0] != 0) {
        printf("FAIL: MADV_NOHUGEPAGE memory has %ld KiB of huge pages\n", huge_kib[0]);
        return 1;
    }
    printf("%d MiB private anonymous memory; us per 4 KiB page, best of %d\n", MIB, ROUNDS);
    printf("%-34s %10s %12s %12s %12s %12s\n", "pages", "populate", "first write", "second write", "memset", "mremap 2 MiB");
    printf("%-34s %10.3f %12.3f %12.3f %12.3f %12.3f\n", "4 KiB (MADV_NOHUGEPAGE)", best[0][0], best[0][1], best[0][2], best[0][3], best[0][4]);
    printf("%-34s %10.3f %12.3f %12.3f %12.3f %12.3f\n", "2 MiB (MADV_HUGEPAGE)", best[1][0], best[1][1], best[1][2], best[1][3], best[1][4]);
    printf("populate, slowest round: %.3f (4 KiB pages), %.3f (2 MiB pages)\n", slowest_populate[0], slowest_populate[1]);
    printf("huge pages given: %ld KiB of %d MiB\n", huge_kib[1], MIB);
    printf("OK: a first write through a new 4 KiB PTE cost %.1fx one into a huge page\n",
           best[0][1] / (best[1][1] > 0 ? best[1][1] : 1e-3));
    return 0;
}
