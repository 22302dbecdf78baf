// SPDX-License-Identifier: MIT
/* test_cli_audit: portgate audit's flags, its request targets, and its tables and lines;
 * audit_query's since/after parsing, shared with portgated. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../userspace/lib/audit_query.h"
#include "../../userspace/portgate/cli_args.h"
#include "../../userspace/portgate/cli_audit.h"
#include "../../userspace/portgate/cli_request.h"

static int parse_argv(struct cli_cmd *cmd, struct cli_args_error *err, const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return cli_args_parse(argc, (char *const *)argv, cmd, err);
}

#define ARGV(...) ((const char *[]){ "portgate", __VA_ARGS__, NULL })

static void expect_fail(const char *want, const char **argv)
{
	struct cli_args_error err;
	struct cli_cmd cmd;

	assert_int_equal(parse_argv(&cmd, &err, argv), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

#define FAIL(want, ...) expect_fail(want, ARGV(__VA_ARGS__))

static void test_cli_audit_parse(void **state)
{
	struct cli_args_error err;
	struct cli_cmd c;

	assert_int_equal(parse_argv(&c, &err, ARGV("audit")), 0);
	assert_int_equal(c.command, CLI_CMD_AUDIT);
	assert_null(c.audit.service);
	assert_null(c.audit.port);
	assert_null(c.audit.action);
	assert_null(c.audit.result);
	assert_null(c.audit.since);
	assert_null(c.audit.limit);
	assert_false(c.audit.follow);
	assert_false(c.json);

	assert_int_equal(parse_argv(&c, &err,
				    ARGV("audit", "--service", "my-app", "--port=8080", "--action",
					 "bind", "--result", "denied", "--since", "10m", "--limit",
					 "50", "--follow", "--json")),
			 0);
	assert_string_equal(c.audit.service, "my-app");
	assert_string_equal(c.audit.port, "8080");
	assert_string_equal(c.audit.action, "bind");
	assert_string_equal(c.audit.result, "denied");
	assert_string_equal(c.audit.since, "10m");
	assert_string_equal(c.audit.limit, "50");
	assert_true(c.audit.follow);
	assert_true(c.json);

	/* Every form of --since the daemon takes. */
	assert_int_equal(parse_argv(&c, &err, ARGV("audit", "--since", "2025-11-23T13:27:00Z")), 0);
	assert_int_equal(parse_argv(&c, &err, ARGV("audit", "--since", "1763904000000-3")), 0);
	assert_int_equal(
	    parse_argv(&c, &err, ARGV("audit", "--action", "loss", "--result", "lost")), 0);
}

static void test_cli_audit_bad_flags(void **state)
{
	FAIL("--port: '0' is not a port number", "audit", "--port", "0");
	FAIL("--port: '65536' is not a port number", "audit", "--port", "65536");
	FAIL("--port: 'http' is not a port number", "audit", "--port", "http");
	FAIL("--action: 'binds' is not one of bind, connect", "audit", "--action", "binds");
	FAIL("--result: 'ok' is not one of allowed, denied", "audit", "--result", "ok");
	FAIL("--since: 'yesterday': expected a duration", "audit", "--since", "yesterday");
	FAIL("--since: '10'", "audit", "--since", "10");
	FAIL("--since: '0m'", "audit", "--since", "0m");
	FAIL("--since: '400d'", "audit", "--since", "400d");
	FAIL("--limit: '0' is not a number of events 1-10000", "audit", "--limit", "0");
	FAIL("--limit: '10001'", "audit", "--limit", "10001");
	FAIL("--limit: '-5'", "audit", "--limit=-5");
	FAIL("--service: 'a/b' must be", "audit", "--service", "a/b");
	FAIL("--follow: takes no value", "audit", "--follow=yes");
	FAIL("--since: missing value", "audit", "--since");
	FAIL("audit: takes no arguments", "audit", "bind");
	FAIL("--name: not an option of 'audit'", "audit", "--name", "x");
	/* The audit filters belong to audit alone. */
	FAIL("--since: not an option of 'service list'", "service", "list", "--since", "10m");
	FAIL("--follow: not an option of 'status'", "status", "--follow");
}

static void test_cli_audit_query_since(void **state)
{
	char id[AUDIT_QUERY_ID_LEN];
	uint64_t ms;

	assert_int_equal(audit_query_since("10m", 1000000, id, sizeof(id)), 0);
	assert_string_equal(id, "400000-0");
	assert_int_equal(audit_query_since("2h", 1000, id, sizeof(id)), 0);
	assert_string_equal(id, "0-0"); /* before the epoch: from the start */
	assert_int_equal(audit_query_since("007-01", 0, id, sizeof(id)), 0);
	assert_string_equal(id, "7-1");
	assert_int_equal(audit_query_since("1970-01-01T00:00:01.5Z", 0, id, sizeof(id)), 0);
	assert_string_equal(id, "1500-0");

	assert_int_equal(audit_query_rfc3339("2025-11-23T13:27:00Z", &ms), 0);
	assert_int_equal(ms, 1763904420000ull);
	assert_int_equal(audit_query_rfc3339("2025-11-23T14:27:00.123456789+01:00", &ms), 0);
	assert_int_equal(ms, 1763904420123ull);
	assert_int_equal(audit_query_rfc3339("2025-11-23t08:57:00-04:30", &ms), 0);
	assert_int_equal(ms, 1763904420000ull);
	assert_int_equal(audit_query_rfc3339("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(audit_query_rfc3339("2025-02-29T00:00:00Z", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-11-23T13:27:00", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-11-23 13:27:00Z", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-13-01T00:00:00Z", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-11-23T24:00:00Z", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-11-23T13:27:00.Z", &ms), -EINVAL);
	assert_int_equal(audit_query_rfc3339("2025-11-23T13:27:00Zjunk", &ms), -EINVAL);

	assert_int_equal(audit_query_stream_id("1-2", id, sizeof(id)), 0);
	assert_int_equal(audit_query_stream_id("1", id, sizeof(id)), -EINVAL);
	assert_int_equal(audit_query_stream_id("1-", id, sizeof(id)), -EINVAL);
	assert_int_equal(audit_query_stream_id("-1", id, sizeof(id)), -EINVAL);
	assert_int_equal(audit_query_stream_id("1-2-3", id, sizeof(id)), -EINVAL);
	assert_int_equal(audit_query_stream_id("12345678901234567890-0", id, sizeof(id)), -EINVAL);
	assert_int_equal(audit_query_duration("90s", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(audit_query_duration("7d", &ms), 0);
	assert_int_equal(ms, 7ull * 86400 * 1000);
	assert_int_equal(audit_query_duration("1w", &ms), -EINVAL);
	assert_int_equal(audit_query_duration("m", &ms), -EINVAL);
}

static void test_cli_audit_target(void **state)
{
	struct cli_audit_args a = { 0 };
	char t[CLI_REQUEST_PATH_MAX];

	assert_int_equal(cli_audit_target(&a, NULL, NULL, 1000, 0, t, sizeof(t)), 0);
	assert_string_equal(t, "/v1/audit?limit=1000");
	a = (struct cli_audit_args){
		.service = "my-app", .port = "8080", .action = "bind", .result = "denied"
	};
	assert_int_equal(
	    cli_audit_target(&a, "since", "2025-11-23T13:27:00+01:00", 5, 25, t, sizeof(t)), 0);
	assert_string_equal(t, "/v1/audit?service=my-app&port=8080&action=bind&result=denied"
			       "&since=2025-11-23T13%3A27%3A00%2B01%3A00&limit=5&wait=25");
	a = (struct cli_audit_args){ 0 };
	assert_int_equal(cli_audit_target(&a, "after", "1763904000000-7", 1, 0, t, sizeof(t)), 0);
	assert_string_equal(t, "/v1/audit?after=1763904000000-7&limit=1");
	assert_int_equal(cli_audit_target(&a, "after", "1-0", 1, 0, t, 20), -ENAMETOOLONG);
}

/* Prints events (JSON text each) as a table; returns the text, to free. */
static char *table_of(const char **texts, size_t n, int *ret)
{
	json_t *ev[8];
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		ev[i] = json_loads(texts[i], 0, NULL);
		assert_non_null(ev[i]);
	}
	*ret = cli_audit_print_table(f, ev, n);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		json_decref(ev[i]);
	return out;
}

#define EV_BIND                                                                                    \
	"{\"time\":\"2025-11-23T13:27:00.123456Z\",\"host\":\"h\",\"action\":\"bind\","            \
	"\"result\":\"denied\",\"reason\":\"not the owner\",\"dst_ip\":\"0.0.0.0\","               \
	"\"dst_port\":8080,\"protocol\":\"tcp\",\"service\":\"my-app\",\"port_name\":\"web\","     \
	"\"pid\":1234,\"uid\":1000,\"cgroup\":77,\"comm\":\"nc\",\"count\":1}"
#define EV_CONTROL                                                                                 \
	"{\"time\":\"2025-11-23T13:27:01.000000Z\",\"action\":\"control\",\"result\":\"allowed\"," \
	"\"service\":\"my-app\",\"who\":\"uid:0\",\"what\":\"service create my-app\",\"count\":1}"
#define EV_SCAN                                                                                    \
	"{\"time\":\"2025-11-23T13:27:02.000000Z\",\"action\":\"scan\",\"result\":\"blocked\","    \
	"\"reason\":\"port scan\",\"src_ip\":\"fd00::2\",\"src_port\":40000,"                      \
	"\"dst_ip\":\"fd00::1\",\"protocol\":\"tcp\",\"count\":200,"                               \
	"\"first_time\":\"2025-11-23T13:26:55.000000Z\",\"ports\":200}"

static void test_cli_audit_table(void **state)
{
	const char *evs[] = { EV_BIND, EV_CONTROL, EV_SCAN };
	int ret;
	char *t = table_of(evs, 3, &ret);

	assert_int_equal(ret, 0);
	assert_non_null(strstr(t, "| TIME (UTC)              | ACTION  | RESULT  | SOURCE          "
				  "| DESTINATION      | SERVICE    | REASON/WHAT           "
				  "| COUNT | PID/COMM |\n"));
	assert_non_null(strstr(t, "| 2025-11-23 13:27:00.123 | bind    | denied  | -               "
				  "| 0.0.0.0:8080/tcp | my-app/web | not the owner         "
				  "|     - | 1234/nc  |\n"));
	/* A control event's source is its caller; its words are what was done. */
	assert_non_null(strstr(t, "| control | allowed | uid:0           | -                "
				  "| my-app     | service create my-app |"));
	/* IPv6 in brackets; a scan says how many ports and how many events it stands for. */
	assert_non_null(strstr(t, "| [fd00::2]:40000 | fd00::1/tcp      | -          "
				  "| port scan; 200 ports  |   200 | -        |"));
	free(t);
}

static void test_cli_audit_table_columns(void **state)
{
	const char *plain[] = { EV_CONTROL };
	const char *hostile[] = { "{\"time\":\"x\",\"action\":\"token\",\"result\":\"denied\","
				  "\"reason\":\"a|b\\u001b[31m\",\"count\":1}" };
	const char *not_object[] = { "[1]" };
	int ret;
	char *t;

	/* Neither COUNT nor PID/COMM when no event has them. */
	t = table_of(plain, 1, &ret);
	assert_int_equal(ret, 0);
	assert_null(strstr(t, "COUNT"));
	assert_null(strstr(t, "PID/COMM"));
	assert_non_null(strstr(t, "| REASON/WHAT           |\n"));
	free(t);
	/* Daemon text never reaches the terminal as escapes or breaks a column. */
	t = table_of(hostile, 1, &ret);
	assert_int_equal(ret, 0);
	assert_null(strchr(t, '\x1b'));
	assert_non_null(strstr(t, "| a\\|b?[31m   |"));
	assert_non_null(strstr(t, "| x          |"));
	free(t);
	t = table_of(NULL, 0, &ret);
	assert_int_equal(ret, 0);
	assert_string_equal(t, "No audit events.\n");
	free(t);
	t = table_of(not_object, 1, &ret);
	assert_int_equal(ret, -EBADMSG);
	free(t);
}

static void test_cli_audit_line(void **state)
{
	json_t *ev = json_loads(EV_BIND, 0, NULL);
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(cli_audit_print_line(f, NULL, true), 0);
	assert_int_equal(cli_audit_print_line(f, ev, false), 0);
	fclose(f);
	assert_string_equal(out,
			    "TIME (UTC)               ACTION   RESULT     SOURCE                 "
			    "DESTINATION                SERVICE           REASON/WHAT          "
			    "           COUNT  PID/COMM\n"
			    "2025-11-23 13:27:00.123  bind     denied     -                      "
			    "0.0.0.0:8080/tcp           my-app/web        not the owner        "
			    "           -      1234/nc\n");
	free(out);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_audit_parse),
		cmocka_unit_test(test_cli_audit_bad_flags),
		cmocka_unit_test(test_cli_audit_query_since),
		cmocka_unit_test(test_cli_audit_target),
		cmocka_unit_test(test_cli_audit_table),
		cmocka_unit_test(test_cli_audit_table_columns),
		cmocka_unit_test(test_cli_audit_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
