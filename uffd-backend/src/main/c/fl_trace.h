/*
 * Writing trace records from C: the native half of io.faultline.meta.TraceRing (layout in
 * layout.h). Every call site first asks fl_trace_on(control, kind): one relaxed load of the
 * control block's TRACE word and a branch the CPU predicts (not taken) when no ring exists, a
 * second load of the ring's mask when one does. A record costs a CAS on the ring's `next`, a
 * clock_gettime(CLOCK_MONOTONIC) (vDSO: no system call) and the stores of one 64-byte slot; a
 * full ring drops the record and counts it. No lock, no allocation, no system call: safe in the
 * SIGBUS handler and on the fault-service thread.
 */
#ifndef FL_TRACE_H
#define FL_TRACE_H

#include "layout.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline struct fl_trace *fl_trace_ring(const struct fl_control *c)
{
	return (struct fl_trace *)(uintptr_t)__atomic_load_n(&c->trace, __ATOMIC_RELAXED);
}

/* The ring, if records of `kind` are wanted now; else NULL. */
static inline struct fl_trace *fl_trace_on(const struct fl_control *c, int kind)
{
	struct fl_trace *t = fl_trace_ring(c);
	if (__builtin_expect(t == NULL, 1))
		return NULL;
	return (__atomic_load_n(&t->mask, __ATOMIC_RELAXED) & (1ULL << kind)) ? t : NULL;
}

static inline int64_t fl_trace_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Claims, fills and commits one record; a full ring counts it in `dropped` instead. */
static inline void fl_trace_write(struct fl_trace *t, int64_t time, int64_t epoch, int kind, int64_t page, int64_t value,
				  int a, int b)
{
	uint64_t n = __atomic_load_n(&t->next, __ATOMIC_RELAXED);
	for (;;) {
		if (n - __atomic_load_n(&t->drained, __ATOMIC_ACQUIRE) >= t->capacity) {
			__atomic_fetch_add(&t->dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		if (__atomic_compare_exchange_n(&t->next, &n, n + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
	}
	struct fl_trace_record *r = &t->records[n & (t->capacity - 1)];
	r->time = time;
	r->page = page;
	r->value = value;
	r->thread = (int64_t)pthread_self();
	r->epoch = epoch;
	r->kind = kind;
	r->a = a;
	r->b = b;
	r->origin = FL_TRACE_ORIGIN_NATIVE;
	__atomic_store_n(&r->seq, n + 1, __ATOMIC_RELEASE);
}

/* A page state transition, stamped now, in the control block's current epoch. */
static inline void fl_trace_state(const struct fl_control *c, int64_t page, int32_t from, int32_t to)
{
	struct fl_trace *t = fl_trace_on(c, FL_TRACE_STATE);
	if (__builtin_expect(t != NULL, 0))
		fl_trace_write(t, fl_trace_now(), __atomic_load_n(&c->epoch, __ATOMIC_RELAXED), FL_TRACE_STATE, page, 0, from, to);
}

/*
 * A fault served in latency ns from start; `ordinal` is the fault's number (from a counter the
 * caller increments anyway), for the one-in-N sample of the faults below the threshold.
 */
static inline void fl_trace_fault(const struct fl_control *c, int64_t page, int64_t start, int64_t latency, int delivery,
				  int result, uint64_t ordinal)
{
	struct fl_trace *t = fl_trace_on(c, FL_TRACE_FAULT);
	if (__builtin_expect(t == NULL, 1))
		return;
	int64_t sample = __atomic_load_n(&t->fault_sample, __ATOMIC_RELAXED);
	if (latency >= __atomic_load_n(&t->fault_threshold, __ATOMIC_RELAXED) || sample <= 1 || ordinal % (uint64_t)sample == 0)
		fl_trace_write(t, start, __atomic_load_n(&c->epoch, __ATOMIC_RELAXED), FL_TRACE_FAULT, page, latency, delivery, result);
}

#endif /* FL_TRACE_H */
