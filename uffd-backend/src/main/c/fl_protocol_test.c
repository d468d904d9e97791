/*
 * The page protocol's test double: fl_protocol.c driven one protocol function per call over the
 * caller's tables, with a backend that builds nothing and installs by state only. Its Java twin is
 * the test backend of ProtocolDifferentialTest; both must fail the same pages the same way
 * (build: EUCLEAN with the damaged offset page * page_size; install: the chosen errno).
 */
#include "faultline.h"
#include "fl_protocol.h"

#include <errno.h>
#include <stdlib.h>

#define FL_PTEST_MAX_FAILURES 64

struct fl_protocol_test {
	struct fl_protocol p;
	int64_t fail_page[FL_PTEST_MAX_FAILURES];
	int fail_err[FL_PTEST_MAX_FAILURES];
	int nfail;
	int64_t counts[6];
};

static int failure_of(const struct fl_protocol_test *t, int64_t page, int want_install)
{
	for (int i = 0; i < t->nfail; i++) {
		if (t->fail_page[i] == page && ((t->fail_err[i] != 0) == want_install))
			return want_install ? t->fail_err[i] : EUCLEAN;
	}
	return 0;
}

static void test_supply(void *ctx, struct fl_target *target, int64_t first, int64_t n)
{
	(void)target;
	(void)first;
	struct fl_protocol_test *t = ctx;
	t->counts[5] += n;
}

static int test_build(void *ctx, const struct fl_target *target, int64_t page, int64_t *bad_offset)
{
	(void)target;
	struct fl_protocol_test *t = ctx;
	t->counts[0]++;
	if (failure_of(t, page, 0)) {
		*bad_offset = page * t->p.page_size;
		return -EUCLEAN;
	}
	return 0;
}

static int test_install(void *ctx, int path, int64_t first, int64_t n)
{
	struct fl_protocol_test *t = ctx;
	(void)path;
	t->counts[1]++;
	for (int64_t q = first; q < first + n; q++) {
		int e = failure_of(t, q, 1);
		if (e)
			return e;
	}
	t->counts[2] += n;
	return 0;
}

static int test_release(void *ctx, int64_t offset, int64_t bytes)
{
	(void)offset;
	struct fl_protocol_test *t = ctx;
	t->counts[3] += bytes;
	return 0;
}

static void test_poison(void *ctx, int64_t page)
{
	(void)page;
	struct fl_protocol_test *t = ctx;
	t->counts[4]++;
}

struct fl_protocol_test *fl_ptest_new(void *states, void *control, const void *first_objects, int64_t page_size)
{
	struct fl_protocol_test *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->p = (struct fl_protocol){
		.states = states,
		.control = control,
		.first_objects = first_objects,
		.src = NULL,
		.page_size = page_size,
		.page_shift = (unsigned)__builtin_ctzll((unsigned long long)page_size),
		.pages = { .supply = test_supply, .build = test_build, .install = test_install, .release = test_release, .poison = test_poison,
			   .ctx = t },
	};
	return t;
}

void fl_ptest_free(struct fl_protocol_test *t)
{
	free(t);
}

void fl_ptest_fail(struct fl_protocol_test *t, int64_t page, int err)
{
	if (page < 0) {
		t->nfail = 0;
	} else if (t->nfail < FL_PTEST_MAX_FAILURES) {
		t->fail_page[t->nfail] = page;
		t->fail_err[t->nfail] = err;
		t->nfail++;
	}
}

static struct fl_target in_place(void)
{
	return (struct fl_target){ .base = NULL, .slot = NULL, .first = 0, .pages = INT64_MAX };
}

int fl_ptest_claim(struct fl_protocol_test *t, int64_t page, int64_t epoch)
{
	return claim(&t->p, page, epoch);
}

int64_t fl_ptest_claim_run(struct fl_protocol_test *t, int64_t first, int64_t max, int64_t limit, int64_t epoch)
{
	return claim_run(&t->p, first, max, limit, epoch);
}

int64_t fl_ptest_build_run(struct fl_protocol_test *t, int64_t first, int64_t n, int path)
{
	struct fl_target target = in_place();
	return build_run(&t->p, &target, first, n, path);
}

int64_t fl_ptest_map_run(struct fl_protocol_test *t, int64_t first, int64_t n, int path)
{
	return map_run(&t->p, first, n, path);
}

int64_t fl_ptest_compact_step(struct fl_protocol_test *t, int64_t max_pages)
{
	struct fl_target target = in_place();
	return compact_step(&t->p, &target, max_pages);
}

int64_t fl_ptest_sweep(struct fl_protocol_test *t, int64_t max_pages, int64_t epoch, int path)
{
	struct fl_target target = in_place();
	return sweep(&t->p, &target, max_pages, epoch, path);
}

int fl_ptest_serve_fault(struct fl_protocol_test *t, int64_t page, int wait, int path)
{
	struct fl_target target = in_place();
	return serve_fault(&t->p, &target, page, wait, path);
}

int64_t fl_ptest_help_ahead(struct fl_protocol_test *t, int64_t page, int path)
{
	struct fl_target target = in_place();
	return help_ahead(&t->p, &target, page, path);
}

void fl_ptest_advance_frontier(struct fl_protocol_test *t, int path)
{
	advance_frontier(&t->p, path);
}

int64_t fl_ptest_active_epoch(struct fl_protocol_test *t)
{
	return active_epoch(&t->p);
}

int64_t fl_ptest_count(struct fl_protocol_test *t, int what)
{
	return what >= 0 && what < 6 ? t->counts[what] : -1;
}
