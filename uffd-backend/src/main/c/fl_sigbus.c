/*
 * SIGBUS delivery: one process-wide SIGBUS handler in front of the one it replaced (HotSpot's),
 * and the registry of live heaps it serves. A heap created with UFFD_FEATURE_SIGBUS gets no fault
 * messages: an access to an unbuilt page raises SIGBUS (si_code BUS_ADRERR) in the faulting
 * thread, whose handler builds (or maps, or waits for) the page through the page protocol and
 * returns, and the access is retried. Any other SIGBUS (another si_code, or an address outside
 * every live heap) goes to the previous handler exactly as if Faultline were not there.
 *
 * Async-signal safety: the handler uses only atomics, memcpy/memset, ioctl, clock_gettime and
 * sched_yield (through the protocol), takes no lock and allocates nothing. It runs no Java: to
 * HotSpot the thread is "in Java" and a safepoint simply waits for the handler to return, and the
 * handler never waits for a Java thread (pages are only ever held inside native code).
 */
#define _GNU_SOURCE
#include "faultline.h"
#include "fl_sigbus.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)

struct registry_slot {
	struct fl_heap *heap; /* NULL: free */
	uint64_t begin;       /* the heap's view, [begin, end) */
	uint64_t end;
	int users;            /* handlers inside this slot right now */
	int closing;          /* the heap is closing: every page is mapped or poisoned; faults just retry */
};

static struct registry_slot registry[FL_SIGBUS_MAX_HEAPS];
static struct sigaction previous;
static int installed;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t chained;
static uint64_t last_chained_address;
static int last_chained_code;

/* Hands a SIGBUS that is not ours to the handler we replaced, as the kernel would have. */
static void chain(int sig, siginfo_t *info, void *context)
{
	ADD(&chained, 1);
	STORE(&last_chained_address, (uint64_t)(uintptr_t)info->si_addr);
	STORE(&last_chained_code, info->si_code);
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction != NULL)
			previous.sa_sigaction(sig, info, context);
	} else if (previous.sa_handler == SIG_DFL) {
		/* Restore the default action; the access faults again on return and terminates. */
		signal(sig, SIG_DFL);
	} else if (previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
	}
}

static void handler(int sig, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	if (info->si_code == BUS_ADRERR) {
		uint64_t address = (uint64_t)(uintptr_t)info->si_addr;
		for (int i = 0; i < FL_SIGBUS_MAX_HEAPS; i++) {
			struct registry_slot *s = &registry[i];
			if (LOAD(&s->heap) == NULL)
				continue;
			ADD(&s->users, 1);
			struct fl_heap *h = LOAD(&s->heap);
			if (h != NULL && address >= LOAD(&s->begin) && address < LOAD(&s->end)) {
				/*
				 * Closing: the fault was raised before the heap's close installed the
				 * last page (or disarmed the range); retrying the access now succeeds.
				 */
				if (!LOAD(&s->closing))
					fl_sigbus_serve(h, address);
				ADD(&s->users, -1);
				errno = saved_errno;
				return;
			}
			ADD(&s->users, -1);
		}
	}
	chain(sig, info, context);
	errno = saved_errno;
}

static int install_handler(void)
{
	pthread_mutex_lock(&install_lock);
	int rc = 0;
	if (!installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		/* Block asynchronous signals while serving a fault (as ART does); synchronous ones stay deliverable. */
		sigfillset(&sa.sa_mask);
		sigdelset(&sa.sa_mask, SIGSEGV);
		sigdelset(&sa.sa_mask, SIGBUS);
		sigdelset(&sa.sa_mask, SIGILL);
		sigdelset(&sa.sa_mask, SIGFPE);
		sigdelset(&sa.sa_mask, SIGABRT);
		if (sigaction(SIGBUS, &sa, &previous) != 0)
			rc = errno;
		else
			STORE(&installed, 1);
	}
	pthread_mutex_unlock(&install_lock);
	return rc;
}

int fl_sigbus_register(struct fl_heap *h, uint64_t begin, uint64_t end)
{
	int rc = install_handler();
	if (rc != 0)
		return rc;
	for (int i = 0; i < FL_SIGBUS_MAX_HEAPS; i++) {
		struct registry_slot *s = &registry[i];
		struct fl_heap *none = NULL;
		if (LOAD(&s->heap) != NULL || LOAD(&s->users) != 0)
			continue;
		/* Claim the slot with a sentinel, fill in the range, then publish the heap. */
		if (__atomic_compare_exchange_n(&s->heap, &none, (struct fl_heap *)(uintptr_t)1, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			STORE(&s->begin, begin);
			STORE(&s->end, begin); /* empty until the heap is published */
			STORE(&s->heap, h);
			STORE(&s->end, end);
			return 0;
		}
	}
	return ENOSPC;
}

void fl_sigbus_move(struct fl_heap *h, uint64_t begin, uint64_t end)
{
	for (int i = 0; i < FL_SIGBUS_MAX_HEAPS; i++) {
		struct registry_slot *s = &registry[i];
		if (LOAD(&s->heap) != h)
			continue;
		/* Empty first, so that a handler never sees the new begin with the old end. */
		STORE(&s->end, LOAD(&s->begin));
		STORE(&s->begin, begin);
		STORE(&s->end, end);
	}
}

void fl_sigbus_closing(struct fl_heap *h)
{
	for (int i = 0; i < FL_SIGBUS_MAX_HEAPS; i++) {
		struct registry_slot *s = &registry[i];
		if (LOAD(&s->heap) == h)
			STORE(&s->closing, 1);
	}
}

void fl_sigbus_unregister(struct fl_heap *h)
{
	for (int i = 0; i < FL_SIGBUS_MAX_HEAPS; i++) {
		struct registry_slot *s = &registry[i];
		if (LOAD(&s->heap) != h)
			continue;
		STORE(&s->end, LOAD(&s->begin));
		STORE(&s->heap, NULL);
		while (LOAD(&s->users) != 0)
			sched_yield();
		STORE(&s->closing, 0);
	}
}

int64_t fl_sigbus_chained(void)
{
	return LOAD(&chained);
}

uint64_t fl_sigbus_last_chained_address(void)
{
	return LOAD(&last_chained_address);
}

int fl_sigbus_installed(void)
{
	return LOAD(&installed);
}
