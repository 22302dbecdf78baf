// SPDX-License-Identifier: MIT
/* test_audit_event: names, and the JSON line of an event (parsed back with jansson). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "audit_event.h"

/* 2026-11-23T14:05:01.123456Z */
#define T0 1795442701123456ull

static void base_event(struct audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_us = T0;
	ev->action = AUDIT_PACKET;
	ev->result = AUDIT_DENIED;
	ev->pid = -1;
	ev->uid = -1;
}

/* The event as JSON, parsed back; fails the test if it is not one valid object. */
static json_t *to_json(const struct audit_event *ev)
{
	char buf[8192];
	json_error_t jerr;
	json_t *j;
	int n = audit_event_json(ev, "host-1", buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_null(strchr(buf, '\n'));
	j = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("not JSON (%s): %s", jerr.text, buf);
	return j;
}

static const char *jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static void test_audit_event_names(void **state)
{
	(void)state;
	for (unsigned a = 0; a < AUDIT_NACTIONS; a++) {
		assert_string_not_equal(audit_action_name(a), "?");
		assert_int_equal(audit_action_parse(audit_action_name(a)), (int)a);
	}
	for (unsigned r = 0; r < AUDIT_NRESULTS; r++) {
		assert_string_not_equal(audit_result_name(r), "?");
		assert_int_equal(audit_result_parse(audit_result_name(r)), (int)r);
	}
	assert_string_equal(audit_action_name(AUDIT_NACTIONS), "?");
	assert_string_equal(audit_result_name(999), "?");
	assert_int_equal(audit_action_parse("Bind"), -EINVAL);
	assert_int_equal(audit_action_parse(""), -EINVAL);
	assert_int_equal(audit_action_parse(NULL), -EINVAL);
	assert_int_equal(audit_result_parse("nope"), -EINVAL);
	assert_string_equal(audit_action_name(AUDIT_SCAN), "scan");
	assert_string_equal(audit_result_name(AUDIT_REWRITTEN), "rewritten");
}

static void test_audit_event_now(void **state)
{
	uint64_t a = audit_now_us(), b = audit_now_us();

	(void)state;
	assert_true(a > 1700000000ull * 1000000u);
	assert_true(b >= a);
}

static void test_audit_event_minimal(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	j = to_json(&ev);
	assert_string_equal(jstr(j, "time"), "2026-11-23T14:05:01.123456Z");
	assert_string_equal(jstr(j, "host"), "host-1");
	assert_string_equal(jstr(j, "action"), "packet");
	assert_string_equal(jstr(j, "result"), "denied");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	/* Unknown fields are left out. */
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);
}

static void test_audit_event_ipv4(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	ev.family = AF_INET;
	ev.has_src = ev.has_dst = true;
	inet_pton(AF_INET, "192.0.2.7", ev.src);
	inet_pton(AF_INET, "10.0.0.1", ev.dst);
	ev.src_port = 40001;
	ev.dst_port = 8080;
	ev.protocol = IPPROTO_TCP;
	strcpy(ev.reason, "localhost only");
	strcpy(ev.service, "my-app");
	strcpy(ev.port_name, "http");
	j = to_json(&ev);
	assert_string_equal(jstr(j, "src_ip"), "192.0.2.7");
	assert_string_equal(jstr(j, "dst_ip"), "10.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(j, "src_port")), 40001);
	assert_int_equal(json_integer_value(json_object_get(j, "dst_port")), 8080);
	assert_string_equal(jstr(j, "protocol"), "tcp");
	assert_string_equal(jstr(j, "reason"), "localhost only");
	assert_string_equal(jstr(j, "service"), "my-app");
	assert_string_equal(jstr(j, "port_name"), "http");
	json_decref(j);
}

static void test_audit_event_ipv6(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	ev.family = AF_INET6;
	ev.has_src = true;
	inet_pton(AF_INET6, "2001:db8::7", ev.src);
	ev.src_port = 5;
	ev.dst_port = 53;
	ev.protocol = IPPROTO_UDP;
	j = to_json(&ev);
	assert_string_equal(jstr(j, "src_ip"), "2001:db8::7");
	assert_null(json_object_get(j, "dst_ip"));
	assert_int_equal(json_integer_value(json_object_get(j, "dst_port")), 53);
	assert_string_equal(jstr(j, "protocol"), "udp");
	json_decref(j);
}

/* A bind: the process fields, the port without an address. */
static void test_audit_event_bind_process(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	ev.action = AUDIT_BIND;
	ev.result = AUDIT_REWRITTEN;
	ev.dst_port = 9000;
	ev.pid = 4242;
	ev.uid = 0;
	ev.cgroup_id = 12345678901ull;
	strcpy(ev.comm, "python3");
	j = to_json(&ev);
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 4242);
	assert_int_equal(json_integer_value(json_object_get(j, "uid")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "cgroup")), 12345678901ll);
	assert_string_equal(jstr(j, "comm"), "python3");
	assert_int_equal(json_integer_value(json_object_get(j, "dst_port")), 9000);
	assert_null(json_object_get(j, "src_port"));
	assert_null(json_object_get(j, "protocol"));
	json_decref(j);
}

/* Hostile strings: quotes, backslashes, control bytes, newlines, invalid UTF-8, no NUL. */
static void test_audit_event_escaping(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	memcpy(ev.comm, "a\"b\\c\n\x01\x7f\xff\xc3\xa9zzzzz", 16); /* fills comm, no NUL */
	strcpy(ev.reason, "}\",\"action\":\"bind");
	strcpy(ev.what, "\xe2\x82\xac ok \xed\xa0\x80 \xc0\xaf \xf0\x9f\x98\x80");
	strcpy(ev.who, "\t\r\b\f");
	j = to_json(&ev);
	assert_string_equal(jstr(j, "comm"), "a\"b\\c\n\x01\x7f\xef\xbf\xbd\xc3\xa9zzzzz");
	assert_string_equal(jstr(j, "reason"), "}\",\"action\":\"bind");
	assert_string_equal(jstr(j, "action"), "packet");
	/* € and 😀 kept; a surrogate and an overlong form replaced byte by byte. */
	assert_string_equal(jstr(j, "what"), "\xe2\x82\xac ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
					     "\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x98\x80");
	assert_string_equal(jstr(j, "who"), "\t\r\b\f");
	json_decref(j);
}

static void test_audit_event_aggregated_scan(void **state)
{
	struct audit_event ev;
	json_t *j;

	(void)state;
	base_event(&ev);
	ev.action = AUDIT_SCAN;
	ev.result = AUDIT_BLOCKED;
	ev.count = 250;
	ev.ports = 200;
	ev.first_us = T0 - 9000000;
	j = to_json(&ev);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 250);
	assert_int_equal(json_integer_value(json_object_get(j, "ports")), 200);
	assert_string_equal(jstr(j, "first_time"), "2026-11-23T14:04:52.123456Z");
	json_decref(j);
}

static void test_audit_event_every_action(void **state)
{
	struct audit_event ev;

	(void)state;
	for (unsigned a = 0; a < AUDIT_NACTIONS; a++) {
		for (unsigned r = 0; r < AUDIT_NRESULTS; r++) {
			json_t *j;

			base_event(&ev);
			ev.action = (uint8_t)a;
			ev.result = (uint8_t)r;
			j = to_json(&ev);
			assert_string_equal(jstr(j, "action"), audit_action_name(a));
			assert_string_equal(jstr(j, "result"), audit_result_name(r));
			assert_int_equal(json_object_get(j, "ports") != NULL, a == AUDIT_SCAN);
			json_decref(j);
		}
	}
}

/* Every buffer size short of the full line is -ENOSPC with an empty string; never overrun. */
static void test_audit_event_nospace(void **state)
{
	struct audit_event ev;
	char full[8192], buf[8192];
	int n;

	(void)state;
	base_event(&ev);
	memset(ev.what, '"', sizeof(ev.what) - 1);
	memset(ev.comm, 0x01, sizeof(ev.comm));
	ev.family = AF_INET6;
	ev.has_src = ev.has_dst = true;
	n = audit_event_json(&ev, "h", full, sizeof(full));
	assert_true(n > 2 * 159);
	for (size_t len = 0; len <= (size_t)n; len++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(audit_event_json(&ev, "h", buf, len), -ENOSPC);
		if (len)
			assert_int_equal(buf[0], '\0');
		assert_int_equal(buf[len], 'X');
	}
	assert_int_equal(audit_event_json(&ev, "h", buf, (size_t)n + 1), n);
	assert_string_equal(buf, full);
}

static void test_audit_event_scan_candidate(void **state)
{
	struct audit_event ev;

	(void)state;
	base_event(&ev);
	assert_true(audit_event_scan_candidate(&ev));
	ev.result = AUDIT_BLOCKED;
	assert_true(audit_event_scan_candidate(&ev));
	ev.result = AUDIT_ALLOWED;
	assert_false(audit_event_scan_candidate(&ev));
	ev.action = AUDIT_CONNECT;
	ev.result = AUDIT_DENIED;
	assert_false(audit_event_scan_candidate(&ev));
	ev.scan = AUDIT_SCAN_YES;
	assert_true(audit_event_scan_candidate(&ev));
	ev.action = AUDIT_PACKET;
	ev.scan = AUDIT_SCAN_NO;
	assert_false(audit_event_scan_candidate(&ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_event_names),
		cmocka_unit_test(test_audit_event_now),
		cmocka_unit_test(test_audit_event_minimal),
		cmocka_unit_test(test_audit_event_ipv4),
		cmocka_unit_test(test_audit_event_ipv6),
		cmocka_unit_test(test_audit_event_bind_process),
		cmocka_unit_test(test_audit_event_escaping),
		cmocka_unit_test(test_audit_event_aggregated_scan),
		cmocka_unit_test(test_audit_event_every_action),
		cmocka_unit_test(test_audit_event_nospace),
		cmocka_unit_test(test_audit_event_scan_candidate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
