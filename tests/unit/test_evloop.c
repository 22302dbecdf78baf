// SPDX-License-Identifier: MIT
/* evloop: fds parked with an empty interest, hang-ups, re-watching, timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>
#include "evloop.h"

static int calls;

static void on_fd(struct evloop *loop, int fd, unsigned mask, void *data)
{
	(void)fd;
	(void)mask;
	(void)data;
	calls++;
	evloop_stop(loop);
}

static void on_timer(struct evloop *loop, void *data)
{
	(void)data;
	evloop_stop(loop);
}

/* A parked fd whose peer hangs up wakes nobody: no busy loop until the timer. */
static void test_evloop_parked_hangup(void **state)
{
	struct evloop *loop;
	int sv[2];

	(void)state;
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(evloop_watch(loop, sv[0], EVLOOP_READ, on_fd, NULL), 0);
	assert_int_equal(evloop_watch(loop, sv[0], 0, on_fd, NULL), 0);
	assert_int_equal(evloop_mask(loop, sv[0]), 0);
	close(sv[1]);
	calls = 0;
	assert_true(evloop_timer_add(loop, 100, on_timer, NULL) > 0);
	unsigned long before = evloop_iteration(loop);
	evloop_run(loop);
	assert_int_equal(calls, 0);
	assert_true(evloop_iteration(loop) - before < 10); /* was one per epoll_wait: thousands */

	/* Watched again, the hang-up is reported as readable. */
	assert_int_equal(evloop_watch(loop, sv[0], EVLOOP_READ, on_fd, NULL), 0);
	evloop_run(loop);
	assert_int_equal(calls, 1);
	evloop_unwatch(loop, sv[0]);
	evloop_unwatch(loop, sv[0]); /* twice is harmless */
	close(sv[0]);
	evloop_free(loop);
}

/* Parked then unwatched: nothing left in epoll, the fd number can be reused at once. */
static void test_evloop_parked_unwatch_reuse(void **state)
{
	struct evloop *loop;
	int sv[2];

	(void)state;
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(evloop_watch(loop, sv[0], 0, on_fd, NULL), 0);
	evloop_unwatch(loop, sv[0]);
	assert_int_equal(evloop_watch(loop, sv[0], EVLOOP_READ, on_fd, NULL), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	calls = 0;
	evloop_run(loop);
	assert_int_equal(calls, 1);
	evloop_unwatch(loop, sv[0]);
	close(sv[0]);
	close(sv[1]);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evloop_parked_hangup),
		cmocka_unit_test(test_evloop_parked_unwatch_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
