// SPDX-License-Identifier: MIT
/* proxy_poll: many more waiting polls than the loop has timer slots, cancel, re-queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../userspace/portgate-proxy/proxy_poll.c"

#define N_POLLS 1000 /* the loop has 64 timer slots */

struct waiter {
	struct proxy_poll poll;
	int fired;
	bool again; /* queue itself once more from its callback */
};

static struct waiter waiters[N_POLLS];
static struct evloop *loop;
static struct proxy_polls queue;
static int fired_total, expected_total;

static void on_poll(struct proxy_poll *p)
{
	struct waiter *w = (struct waiter *)((char *)p - offsetof(struct waiter, poll));

	w->fired++;
	if (w->again) {
		w->again = false;
		assert_int_equal(proxy_poll_in(loop, &queue, p, 1, on_poll), 0);
	}
	if (++fired_total == expected_total)
		evloop_stop(loop);
}

static void on_deadline(struct evloop *l, void *data)
{
	(void)data;
	evloop_stop(l); /* the test fails on the counts below */
}

static void test_proxy_poll_many(void **state)
{
	(void)state;
	assert_int_equal(evloop_new(&loop), 0);
	for (int i = 0; i < N_POLLS; i++) {
		waiters[i] = (struct waiter){ .again = i % 100 == 0 };
		assert_int_equal(
		    proxy_poll_in(loop, &queue, &waiters[i].poll, (uint64_t)(i % 7), on_poll), 0);
	}
	/* An earlier due time wins over a later one; cancelled ones never run. */
	assert_int_equal(proxy_poll_in(loop, &queue, &waiters[6].poll, 50, on_poll), 0);
	assert_int_equal(waiters[6].poll.due <= evloop_now_ms() + 6, true);
	proxy_poll_cancel(&queue, &waiters[1].poll);
	proxy_poll_cancel(&queue, &waiters[1].poll); /* twice: nothing */
	expected_total = N_POLLS - 1 + N_POLLS / 100;
	assert_true(evloop_timer_add(loop, 5000, on_deadline, NULL) > 0);
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(fired_total, expected_total);
	for (int i = 0; i < N_POLLS; i++)
		assert_int_equal(waiters[i].fired, i == 1 ? 0 : i % 100 == 0 ? 2 : 1);
	assert_null(queue.first);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_poll_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
