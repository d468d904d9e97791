/*
 * Test hooks: a "previous handler" for SIGBUS chaining (SigbusDeliveryTest), which a test installs
 * before Faultline's so that it can see a SIGBUS that is not a heap fault reach it; a delay in every
 * page build; the shortest run MOVE mode moves (UffdModelTest's small heaps); one fault message
 * that the service thread serves again after the next flip
 * (StaleMessageTest); a failing poll in the service thread (ServiceThreadFailureTest); and a failing
 * fallocate page supply and a failing from-space release (FailedPageBuildTest); an install that
 * stalls, as if its thread were preempted (MapEarlyTest).
 */
#define _GNU_SOURCE
#include "faultline.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>

static struct sigaction canary_previous;
static int64_t canary_count;

static void canary(int sig, siginfo_t *info, void *context)
{
	if (info->si_code <= 0) { /* sent by raise/kill/tgkill: not a fault, safe to return from */
		__atomic_fetch_add(&canary_count, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (canary_previous.sa_flags & SA_SIGINFO)
		canary_previous.sa_sigaction(sig, info, context);
	else if (canary_previous.sa_handler == SIG_DFL)
		signal(sig, SIG_DFL);
	else if (canary_previous.sa_handler != SIG_IGN)
		canary_previous.sa_handler(sig);
}

int fl_test_install_canary(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = canary;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, &canary_previous) == 0 ? 0 : -1;
}

int64_t fl_test_canary_count(void)
{
	return __atomic_load_n(&canary_count, __ATOMIC_SEQ_CST);
}

void fl_test_raise_sigbus(void)
{
	raise(SIGBUS);
}

int64_t fl_test_build_delay_ns;

void fl_test_set_build_delay(int64_t ns)
{
	__atomic_store_n(&fl_test_build_delay_ns, ns, __ATOMIC_SEQ_CST);
}

int64_t fl_test_move_min_run;

void fl_test_set_move_min_run(int64_t pages)
{
	__atomic_store_n(&fl_test_move_min_run, pages, __ATOMIC_SEQ_CST);
}

int64_t fl_test_replay_armed;
int64_t fl_test_replayed;
int64_t fl_test_replayed_at;

/* Arms (non-zero) a replay of the next fault message a service thread reads, once its view moves. */
void fl_test_replay_next_message(int64_t arm)
{
	__atomic_store_n(&fl_test_replay_armed, arm, __ATOMIC_SEQ_CST);
}

/* Messages kept for a replay so far. */
int64_t fl_test_replayed_messages(void)
{
	return __atomic_load_n(&fl_test_replayed, __ATOMIC_SEQ_CST);
}

/* The fault address of the last message kept for a replay. */
int64_t fl_test_replayed_address(void)
{
	return __atomic_load_n(&fl_test_replayed_at, __ATOMIC_SEQ_CST);
}

int64_t fl_test_service_errno;

/* The next poll of any service thread fails with err (0: none), as if the kernel had returned it. */
void fl_test_fail_service_poll(int64_t err)
{
	__atomic_store_n(&fl_test_service_errno, err, __ATOMIC_SEQ_CST);
}

int64_t fl_test_supply_errno;

/* The next FALLOCATE page supply of any heap fails with err (0: none), as if fallocate had. */
void fl_test_fail_supply(int64_t err)
{
	__atomic_store_n(&fl_test_supply_errno, err, __ATOMIC_SEQ_CST);
}

int64_t fl_test_release_errno;

/* The next from-space release of any heap fails with err (0: none), as if madvise had. */
void fl_test_fail_release(int64_t err)
{
	__atomic_store_n(&fl_test_release_errno, err, __ATOMIC_SEQ_CST);
}

int64_t fl_test_install_stall_ns;
int64_t fl_test_install_stalling;

/* The next install of any heap sleeps ns before its ioctl, its pages MAPPING (0: none). */
void fl_test_stall_next_install(int64_t ns)
{
	__atomic_store_n(&fl_test_install_stall_ns, ns, __ATOMIC_SEQ_CST);
}

/* 1 while an install stalled by fl_test_stall_next_install sleeps. */
int64_t fl_test_install_stalled(void)
{
	return __atomic_load_n(&fl_test_install_stalling, __ATOMIC_SEQ_CST);
}
