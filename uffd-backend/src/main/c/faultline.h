/*
 * libfaultline: the native part of the Faultline uffd backend.
 *
 * Everything a mutator blocked in a userfault may wait for runs here, outside HotSpot's
 * safepoint protocol (see design-notes.md): the ABI handshake used by io.faultline.uffd.NativeLibrary
 * (faultline.c) and the uffd heap backend's page compactor, claim loop and fault-service thread
 * (fl_backend.c, driven by io.faultline.uffd.UffdBackend).
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

/* Bumped whenever an exported signature or a shared memory layout changes. */
#define FL_VERSION 3

#define FL_EXPORT __attribute__((visibility("default")))

/* Returns FL_VERSION; the Java side refuses a library with another value. */
FL_EXPORT int fl_version(void);

/*
 * Returns the ioctl request number this library uses for the userfaultfd ioctl numbered nr
 * (_UFFDIO_API, _UFFDIO_REGISTER, ..., _UFFDIO_MOVE, _UFFDIO_CONTINUE), or 0 for an unknown nr.
 * Lets the Java bindings check that both sides encode the same requests and struct sizes.
 */
FL_EXPORT unsigned long fl_uffd_request(unsigned int nr);

#include <stdint.h>

/* Delivery modes: the ordinals of io.faultline.uffd.UffdProbe.Mode. */
#define FL_MODE_CONTINUE 0
#define FL_MODE_COPY 1
#define FL_MODE_MOVE 2

/* Counters of fl_stats(); indexes mirrored by io.faultline.uffd.UffdBackend.Stat. */
#define FL_STAT_FAULTS 0          /* page-fault messages read from the uffd */
#define FL_STAT_MINOR_FAULTS 1    /* ... of which UFFD_PAGEFAULT_FLAG_MINOR */
#define FL_STAT_MISSING_FAULTS 2  /* ... of which MISSING */
#define FL_STAT_FAULT_BUILT 3     /* pages the service thread claimed and built */
#define FL_STAT_FAULT_WAITED 4    /* faults on a page another thread owned (waited, then WAKE) */
#define FL_STAT_IOCTL_CONTINUE 5
#define FL_STAT_IOCTL_COPY 6
#define FL_STAT_IOCTL_MOVE 7
#define FL_STAT_IOCTL_WAKE 8
#define FL_STAT_IOCTL_ZEROPAGE 9
#define FL_STAT_EEXIST 10
#define FL_STAT_EAGAIN 11
#define FL_STAT_ERRORS 12
#define FL_STAT_LAST_ERRNO 13
#define FL_STAT_LAST_ERROR_PAGE 14
#define FL_STAT_DETACHED_FAULTS 15 /* faults resolved with zeros after the metadata was detached */
#define FL_STAT_COMPACTOR_BUILT 16 /* pages built by fl_compact_pages */
#define FL_STAT_GUARD_HELD 17      /* 1 once fl_hold_metadata holds the collector's tables */
#define FL_STAT_BACKSTOP_BUILT 18  /* pages the service thread built for a cycle without progress */
#define FL_STAT_COUNT 19

struct fl_heap;

/*
 * Creates the native state of one heap and starts its fault-service thread (a pthread that
 * blocks all signals and poll()s the uffd and an eventfd). On success the uffd belongs to the
 * state (fl_heap_stop closes it); memfd (-1 unless CONTINUE) and view stay the caller's. On failure returns NULL with *err = errno.
 */
FL_EXPORT struct fl_heap *fl_heap_new(int mode, int uffd, int memfd, void *view, uint64_t capacity,
				      uint64_t page_size, int *err);
/* Records the collector's side tables (raw addresses, layouts in layout.h). */
FL_EXPORT void fl_heap_attach(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first,
			      void *states, void *control);
/* Inside the pause: from-space base, CONTINUE's alias of the to-space half and its memfd offset. */
FL_EXPORT void fl_heap_begin(struct fl_heap *h, const void *from, void *to_alias, int64_t to_alias_file_offset);
/*
 * Called by a dedicated Java thread with the metadata segments as arguments, which keeps their
 * arena acquired (it cannot be closed) until this returns: when CompactionControl.abandon is set
 * or fl_heap_stop() runs. Before returning it detaches the service thread from the metadata and
 * waits until it is not using it.
 */
FL_EXPORT void fl_hold_metadata(struct fl_heap *h, const void *bitmap, const void *offsets, const void *first,
				const void *states, const void *control);
/* Detaches the service thread from the collector's tables now and waits until it is not using them. */
FL_EXPORT void fl_heap_detach(struct fl_heap *h);
/*
 * Compactor thread: claims, builds, maps and publishes up to max_pages pages (cursor first, then a
 * sweep for unclaimed pages); returns pages built (0: nothing left to claim) or -errno. Bounded so
 * that the caller can release from-space between calls.
 */
FL_EXPORT int64_t fl_compact_pages(struct fl_heap *h, int64_t max_pages);
/* Maps a page built by the caller (CONTINUE: in the alias; COPY/MOVE: at src). 0 or -errno. */
FL_EXPORT int fl_install_page(struct fl_heap *h, int64_t page, void *src);
/* Builds to-space page `page` into buffer with the native compactor (the differential test). */
FL_EXPORT void fl_compact_page_into(struct fl_heap *h, void *buffer, int64_t page);
/*
 * Stops the service thread (joined), waits for compactor calls in flight, then closes the uffd
 * (which wakes every thread still blocked in a fault). All in one downcall, so no Java safepoint
 * poll sits between "nobody serves faults" and "no fault can block". Idempotent.
 */
FL_EXPORT void fl_heap_stop(struct fl_heap *h);
/* fl_heap_stop, then frees the state, its eventfd and staging page. */
FL_EXPORT void fl_heap_free(struct fl_heap *h);
FL_EXPORT void fl_stats(struct fl_heap *h, int64_t *out, int n);

/*
 * Benchmark floors (fl_bench.c), measured with no compaction work. Each runs in one downcall:
 * the caller is the faulting thread, the resolver a pthread joined before returning.
 */
#define FL_BENCH_CONTINUE 0        /* MISSING|MINOR memfd range; resolver writes the page via an alias, UFFDIO_CONTINUE */
#define FL_BENCH_COPY 1            /* MISSING anonymous range; UFFDIO_COPY of a 4 KiB source page */
#define FL_BENCH_MOVE 2            /* MISSING anonymous range; resolver fills a staging page, UFFDIO_MOVE */
#define FL_BENCH_CONTINUE_CACHED 3 /* as CONTINUE but the pages are already cached: a pure minor-fault round trip */
#define FL_BENCH_SHMEM_MINOR 0     /* fl_bench_plain_fault: cached memfd page, no PTE, no uffd */
#define FL_BENCH_ANON_FIRST_TOUCH 1 /* fl_bench_plain_fault: anonymous first write (allocate + zero) */
/* Touches npages fresh pages of a registered range, one at a time; lat[i] = ns of touch i. 0 or -errno. */
FL_EXPORT int fl_bench_uffd_roundtrip(int mode, int64_t npages, int64_t *lat);
/* Touches npages pages with no userfaultfd; lat[i] = ns of touch i. 0 or -errno. */
FL_EXPORT int fl_bench_plain_fault(int kind, int64_t npages, int64_t *lat);
/* Floors as regions, so that a benchmark can time the touches alone: FL_BENCH_CONTINUE..CONTINUE_CACHED, or: */
#define FL_BENCH_FLOOR_SHMEM_MINOR 4
#define FL_BENCH_FLOOR_ANON_FIRST_TOUCH 5
struct fl_bench_region;
/* Maps (and for uffd floors registers, and starts the resolver pthread for) npages; NULL with *err = errno. */
FL_EXPORT struct fl_bench_region *fl_bench_region_new(int floor, int64_t npages, int *err);
/* Touches every page once, one at a time (allowed once per region); lat[i] = ns of touch i. 0 or -errno. */
FL_EXPORT int fl_bench_region_touch(struct fl_bench_region *g, int64_t *lat);
/* Stops the resolver (joined), closes the uffd and unmaps everything. NULL is ignored. */
FL_EXPORT void fl_bench_region_free(struct fl_bench_region *g);
/* memcpy of [0, total) in chunk-byte pieces, reps times, between two pre-touched buffers: ns, or -errno. */
FL_EXPORT int64_t fl_bench_memcpy(int64_t chunk, int64_t total, int64_t reps);

#endif /* FAULTLINE_H */
