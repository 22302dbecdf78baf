// SPDX-License-Identifier: MIT
/* test_audit_agg: flood aggregation with exact counts, windows, eviction, scan detection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "../../userspace/portgated/audit_agg.h"

#define SEC	1000000ull
#define MAX_OUT 4096

/* What the aggregator emitted, and the scans it announced. */
struct sink {
	struct audit_event out[MAX_OUT];
	size_t n, nscan_calls;
	uint64_t total;
	struct audit_event scan_call;
};

static void sink_emit(const struct audit_event *ev, void *arg)
{
	struct sink *s = arg;

	assert_true(s->n < MAX_OUT);
	s->out[s->n++] = *ev;
	if (ev->action != AUDIT_SCAN)
		s->total += ev->count ? ev->count : 1;
}

static void sink_scan(const struct audit_event *ev, void *arg)
{
	struct sink *s = arg;

	s->nscan_calls++;
	s->scan_call = *ev;
}

struct fixture {
	struct sink sink;
	struct audit_agg *g;
};

static struct audit_agg *agg_make(struct fixture *f, uint64_t threshold, size_t keys)
{
	struct audit_agg_cfg cfg = {
		.window_us = 10 * SEC, .threshold = threshold, .scan_ports = 20, .max_keys = keys
	};
	struct audit_agg_ops ops = { .emit = sink_emit, .scan = sink_scan, .arg = &f->sink };

	assert_int_equal(audit_agg_new(&cfg, &ops, &f->g), 0);
	return f->g;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	return f ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	audit_agg_free(f->g);
	free(f);
	return 0;
}

static struct audit_event packet(const char *src, uint16_t port, uint64_t t)
{
	struct audit_event ev = { .time_us = t,
				  .action = AUDIT_PACKET,
				  .result = AUDIT_DENIED,
				  .protocol = IPPROTO_TCP,
				  .has_src = true,
				  .dst_port = port,
				  .pid = -1,
				  .uid = -1 };

	ev.family = strchr(src, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(ev.family, src, ev.src), 1);
	return ev;
}

static struct audit_event bind_denied(uint64_t cgroup, uint64_t t)
{
	struct audit_event ev = { .time_us = t,
				  .action = AUDIT_BIND,
				  .result = AUDIT_DENIED,
				  .dst_port = 8080,
				  .pid = 7,
				  .uid = 1000,
				  .cgroup_id = cgroup };

	return ev;
}

static void test_audit_agg_bad_config(void **state)
{
	struct fixture *f = *state;
	struct audit_agg_cfg cfg = { .window_us = 0, .threshold = 1 };
	struct audit_agg_ops ops = { .emit = sink_emit, .arg = &f->sink };

	assert_int_equal(audit_agg_new(&cfg, &ops, &f->g), -EINVAL);
	cfg.window_us = SEC;
	cfg.threshold = 0;
	assert_int_equal(audit_agg_new(&cfg, &ops, &f->g), -EINVAL);
	f->g = NULL;
}

/* Below the threshold everything passes as it is. */
static void test_audit_agg_below_threshold(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 5, 0);

	for (int i = 0; i < 5; i++) {
		struct audit_event ev = bind_denied(1, 100 + i);

		audit_agg_add(g, &ev, 1000 + i);
	}
	assert_int_equal(f->sink.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(f->sink.out[i].count, 0);
		assert_int_equal(f->sink.out[i].first_us, 0);
	}
	assert_int_equal(audit_agg_tick(g, 1000 + 11 * SEC), UINT64_MAX);
	assert_int_equal(f->sink.n, 5);
	assert_int_equal(audit_agg_keys(g), 0);
}

/* A flood: threshold events pass, the rest come out as one event with the exact count. */
static void test_audit_agg_flood_exact(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 20, 0);
	struct audit_agg_stats st;
	const struct audit_event *agg;

	for (uint64_t i = 0; i < 100000; i++) {
		struct audit_event ev = bind_denied(42, 5000 + i);

		audit_agg_add(g, &ev, i * 50); /* 100,000 in 5 s: one window */
	}
	assert_int_equal(f->sink.n, 20);
	assert_true(audit_agg_tick(g, 6 * SEC) <= 4 * SEC);
	assert_int_equal(f->sink.n, 20);
	assert_int_equal(audit_agg_tick(g, 10 * SEC), UINT64_MAX);
	assert_int_equal(f->sink.n, 21);
	agg = &f->sink.out[20];
	assert_int_equal(agg->count, 100000 - 20);
	assert_int_equal(agg->first_us, 5000 + 20);
	assert_int_equal(agg->time_us, 5000 + 99999);
	assert_int_equal(agg->action, AUDIT_BIND);
	assert_int_equal(agg->cgroup_id, 42);
	assert_int_equal(f->sink.total, 100000);
	audit_agg_stats(g, &st);
	assert_int_equal(st.aggregated, 1);
}

/* Events that already stand for several count as such; a window per key, across windows. */
static void test_audit_agg_windows_and_counts(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 3, 0);
	uint64_t in = 0;

	for (uint64_t w = 0; w < 5; w++) {
		for (uint64_t i = 0; i < 50; i++) {
			struct audit_event ev = packet("192.0.2.1", 80, w * 100 + i);

			ev.count = i % 3; /* 0 reads as 1 */
			in += i % 3 ? i % 3 : 1;
			/* the window closes lazily at the next event after it ended */
			audit_agg_add(g, &ev, w * 10 * SEC + i * 1000);
		}
	}
	audit_agg_flush(g);
	assert_int_equal(f->sink.total, in);
	/* 3 passed + 1 aggregated per window. */
	assert_int_equal(f->sink.n, 5 * 4);
}

/* Keys are (source, action, result): different ones do not share a budget. */
static void test_audit_agg_keys(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 2, 0);
	const char *srcs[] = { "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2" };

	for (int i = 0; i < 10; i++) {
		for (int s = 0; s < 4; s++) {
			struct audit_event ev = packet(srcs[s], 22, 1);

			audit_agg_add(g, &ev, 1);
			ev.result = AUDIT_BLOCKED;
			ev.scan = AUDIT_SCAN_NO;
			audit_agg_add(g, &ev, 1);
		}
		struct audit_event b = bind_denied(1, 1), b2 = bind_denied(2, 1);

		audit_agg_add(g, &b, 1);
		audit_agg_add(g, &b2, 1);
	}
	/* 10 keys x 2 passed through */
	assert_int_equal(f->sink.n, 20);
	audit_agg_flush(g);
	assert_int_equal(f->sink.n, 30);
	assert_int_equal(f->sink.total, 100);
	for (size_t i = 20; i < 30; i++)
		assert_int_equal(f->sink.out[i].count, 8);
}

/* Control, repair, loss and scan events are never held back. */
static void test_audit_agg_never_held(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 1, 0);
	const uint8_t actions[] = { AUDIT_CONTROL, AUDIT_REPAIR, AUDIT_LOSS, AUDIT_SCAN };

	for (size_t a = 0; a < sizeof(actions); a++) {
		for (int i = 0; i < 30; i++) {
			struct audit_event ev = bind_denied(1, 1);

			ev.action = actions[a];
			audit_agg_add(g, &ev, 1);
		}
	}
	assert_int_equal(f->sink.n, 120);
	assert_int_equal(audit_agg_keys(g), 0);
}

/* A full table flushes its least recently used key: nothing is lost, memory stays fixed. */
static void test_audit_agg_eviction(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 1, 8);
	struct audit_agg_stats st;
	uint64_t in = 0;

	for (int round = 0; round < 3; round++) {
		for (uint64_t c = 0; c < 100; c++) {
			struct audit_event ev = bind_denied(c, 1);

			audit_agg_add(g, &ev, 1);
			audit_agg_add(g, &ev, 2);
			in += 2;
			assert_true(audit_agg_keys(g) <= 8);
		}
	}
	audit_agg_flush(g);
	assert_int_equal(f->sink.total, in);
	audit_agg_stats(g, &st);
	assert_true(st.evictions >= 290);
}

/* A scan: more than scan_ports distinct ports from one source; one scan event per window. */
static void test_audit_agg_scan(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 20, 0);
	size_t scans = 0;
	struct audit_event *scan = NULL;
	char ip[64];

	for (uint16_t p = 1; p <= 200; p++) {
		struct audit_event ev = packet("198.51.100.9", p, 1000 + p);

		audit_agg_add(g, &ev, p);
		if (p == 20)
			assert_int_equal(f->sink.nscan_calls, 0);
		if (p == 21) {
			assert_int_equal(f->sink.nscan_calls, 1);
			assert_int_equal(f->sink.scan_call.ports, 21);
		}
	}
	/* The same ports again: still one scan, same distinct count. */
	for (uint16_t p = 1; p <= 200; p++) {
		struct audit_event ev = packet("198.51.100.9", p, 2000);

		audit_agg_add(g, &ev, 300);
	}
	assert_int_equal(f->sink.nscan_calls, 1);
	audit_agg_tick(g, 10 * SEC + 1);
	for (size_t i = 0; i < f->sink.n; i++) {
		if (f->sink.out[i].action == AUDIT_SCAN) {
			scans++;
			scan = &f->sink.out[i];
		}
	}
	assert_int_equal(scans, 1);
	assert_int_equal(scan->ports, 200);
	assert_int_equal(scan->count, 400);
	assert_int_equal(scan->first_us, 1001);
	assert_int_equal(scan->result, AUDIT_DENIED);
	assert_true(scan->has_src);
	inet_ntop(AF_INET, scan->src, ip, sizeof(ip));
	assert_string_equal(ip, "198.51.100.9");
	/* Aggregation of the packets themselves still counts every one. */
	assert_int_equal(f->sink.total, 400);
	audit_agg_flush(g);
	assert_int_equal(f->sink.nscan_calls, 1);
}

/* Few ports, allowed packets, or sources that are not candidates: no scan. */
static void test_audit_agg_no_scan(void **state)
{
	struct fixture *f = *state;
	struct audit_agg *g = agg_make(f, 20, 0);

	for (int i = 0; i < 1000; i++) {
		struct audit_event ev = packet("203.0.113.5", (uint16_t)(i % 20), 1);
		struct audit_event ok = packet("203.0.113.6", (uint16_t)i, 1);
		struct audit_event no = packet("203.0.113.7", (uint16_t)i, 1);

		ok.result = AUDIT_ALLOWED;
		no.scan = AUDIT_SCAN_NO;
		audit_agg_add(g, &ev, 1);
		audit_agg_add(g, &ok, 1);
		audit_agg_add(g, &no, 1);
	}
	audit_agg_flush(g);
	assert_int_equal(f->sink.nscan_calls, 0);
	for (size_t i = 0; i < f->sink.n; i++)
		assert_int_not_equal(f->sink.out[i].action, AUDIT_SCAN);
	assert_int_equal(f->sink.total, 3000);
}

/* Marked candidates (a refused connect) count; a new window reports again; blocked result. */
static void test_audit_agg_scan_marked_and_blocked(void **state)
{
	struct fixture *f = *state;
	struct audit_agg_cfg cfg = {
		.window_us = SEC, .threshold = 5, .scan_ports = 3, .scan_block = true
	};
	struct audit_agg_ops ops = { .emit = sink_emit, .arg = &f->sink };
	size_t scans = 0;

	assert_int_equal(audit_agg_new(&cfg, &ops, &f->g), 0);
	for (int w = 0; w < 2; w++) {
		for (uint16_t p = 0; p < 4; p++) {
			struct audit_event ev = packet("2001:db8::99", p, 1);

			ev.action = AUDIT_CONNECT;
			ev.scan = AUDIT_SCAN_YES;
			audit_agg_add(f->g, &ev, (uint64_t)w * 2 * SEC + p);
		}
	}
	audit_agg_flush(f->g);
	for (size_t i = 0; i < f->sink.n; i++) {
		if (f->sink.out[i].action != AUDIT_SCAN)
			continue;
		scans++;
		assert_int_equal(f->sink.out[i].result, AUDIT_BLOCKED);
		assert_int_equal(f->sink.out[i].family, AF_INET6);
		assert_int_equal(f->sink.out[i].ports, 4);
	}
	assert_int_equal(scans, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_agg_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_below_threshold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_flood_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_windows_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_never_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_no_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_agg_scan_marked_and_blocked, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
