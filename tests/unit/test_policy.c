// SPDX-License-Identifier: MIT
/* test_policy: purpose ranges, restricted ports and strict port parsing, mostly bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

static void assert_range(const struct pg_range *r, const char *purpose, unsigned first,
			 unsigned last)
{
	assert_non_null(r);
	assert_string_equal(r->purpose, purpose);
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
}

static void assert_sorted(const struct pg_policy *p)
{
	for (size_t i = 1; i < p->n_ranges; i++)
		assert_true(p->ranges[i - 1].first <= p->ranges[i].first);
	for (size_t i = 1; i < p->n_restricted; i++)
		assert_true(p->restricted[i - 1] < p->restricted[i]);
}

static void test_policy_defaults(void **state)
{
	static const uint16_t want[] = { 22, 25, 53, 80, 443, 3306, 5432, 6379, 27017 };
	struct pg_policy p;
	char err[128] = "";

	(void)state;
	policy_init_defaults(&p);
	assert_int_equal(p.n_ranges, 5);
	assert_range(&p.ranges[0], "internal_http", 9000, 9999);
	assert_range(&p.ranges[1], "internal_https", 10000, 10999);
	assert_range(&p.ranges[2], "proxy_http", 12000, 12999);
	assert_range(&p.ranges[3], "proxy_https", 13000, 13999);
	assert_range(&p.ranges[4], "exposed", 14000, 65535);
	assert_int_equal(p.n_restricted, 9);
	assert_memory_equal(p.restricted, want, sizeof(want));
	assert_int_equal(policy_check(&p, err, sizeof(err)), 0);
	assert_sorted(&p);
}

static void test_policy_lookup(void **state)
{
	struct pg_policy p;

	(void)state;
	policy_init_defaults(&p);
	assert_null(policy_range_of(&p, 0));
	assert_null(policy_range_of(&p, 8999));
	assert_range(policy_range_of(&p, 9000), "internal_http", 9000, 9999);
	assert_range(policy_range_of(&p, 9999), "internal_http", 9000, 9999);
	assert_range(policy_range_of(&p, 10000), "internal_https", 10000, 10999);
	assert_null(policy_range_of(&p, 11000));
	assert_null(policy_range_of(&p, 11999));
	assert_range(policy_range_of(&p, 65535), "exposed", 14000, 65535);
	assert_null(policy_range_of(&p, 65536));
	assert_null(policy_range_of(&p, 4000000000u));

	assert_range(policy_find_purpose(&p, "proxy_http"), "proxy_http", 12000, 12999);
	assert_null(policy_find_purpose(&p, "PROXY_HTTP"));
	assert_null(policy_find_purpose(&p, "proxy_htt"));
	assert_null(policy_find_purpose(&p, ""));
	assert_null(policy_find_purpose(&p, NULL));

	assert_true(policy_is_restricted(&p, 22));
	assert_true(policy_is_restricted(&p, 27017));
	assert_false(policy_is_restricted(&p, 23));
	assert_false(policy_is_restricted(&p, 0));
	assert_false(policy_is_restricted(&p, 65536 + 22));
}

static void test_policy_parse_port_good(void **state)
{
	uint16_t v = 0;

	(void)state;
	assert_int_equal(policy_parse_port("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(policy_parse_port("9464", &v), 0);
	assert_int_equal(v, 9464);
	assert_int_equal(policy_parse_port("65535", &v), 0);
	assert_int_equal(v, 65535);
}

static void test_policy_parse_port_bad(void **state)
{
	static const char *const syntax[] = {
		"",    "-1",  "+1",  " 1", "1 ",      "1a",  "0x10",  "080",	"00",
		"1.0", "1e3", "\t1", "١",  "65535\n", "9 9", "1,000", "４４３", "port",
	};
	static const char *const range[] = { "0", "65536", "70000", "99999999999999999999999" };
	uint16_t v = 4242;

	(void)state;
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		if (policy_parse_port(syntax[i], &v) != -EINVAL)
			fail_msg("\"%s\" accepted or wrong error", syntax[i]);
	}
	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		if (policy_parse_port(range[i], &v) != -ERANGE)
			fail_msg("\"%s\" not -ERANGE", range[i]);
	}
	assert_int_equal(policy_parse_port(NULL, &v), -EINVAL);
	assert_int_equal(v, 4242); /* untouched on error */
}

static void test_policy_set_range_add_replace(void **state)
{
	struct pg_policy p;
	char err[128] = "";

	(void)state;
	policy_init_defaults(&p);
	/* a single port, and blanks around the ports */
	assert_int_equal(policy_set_range(&p, "metrics", "9464", err, sizeof(err)), 0);
	assert_range(policy_find_purpose(&p, "metrics"), "metrics", 9464, 9464);
	assert_int_equal(policy_set_range(&p, "metrics", " 11000 - 11999 ", err, sizeof(err)), 0);
	assert_range(policy_find_purpose(&p, "metrics"), "metrics", 11000, 11999);
	assert_int_equal(p.n_ranges, 6);
	assert_range(&p.ranges[2], "metrics", 11000, 11999); /* sorted in place */
	/* replacing moves it in the order */
	assert_int_equal(policy_set_range(&p, "metrics", "1-1024", err, sizeof(err)), 0);
	assert_range(&p.ranges[0], "metrics", 1, 1024);
	assert_int_equal(p.n_ranges, 6);
	assert_sorted(&p);
	assert_int_equal(policy_check(&p, err, sizeof(err)), 0);
	/* the whole space is a valid range */
	assert_int_equal(policy_set_range(&p, "exposed", "1-65535", err, sizeof(err)), 0);
	assert_range(policy_find_purpose(&p, "exposed"), "exposed", 1, 65535);
	/* name limits: 31 characters, digits and _ after the first letter */
	assert_int_equal(
	    policy_set_range(&p, "a234567890123456789012345678901", "2", err, sizeof(err)), 0);
	assert_int_equal(policy_set_range(&p, "z_9", "3", err, sizeof(err)), 0);
	assert_sorted(&p);
}

static void test_policy_set_range_bad_spec(void **state)
{
	static const struct {
		const char *spec, *reason;
	} cases[] = {
		{ "", "empty range, expected FIRST-LAST" },
		{ "   ", "empty range, expected FIRST-LAST" },
		{ "9000-", "expected FIRST-LAST, got \"9000-\"" },
		{ "-9000", "expected FIRST-LAST, got \"-9000\"" },
		{ "-", "expected FIRST-LAST, got \"-\"" },
		{ "abc", "expected FIRST-LAST, got \"abc\"" },
		{ "9000-8000", "inverted range 9000-8000 (first > last)" },
		{ "0-10", "first port 0 out of 1-65535" },
		{ "10-0", "last port 0 out of 1-65535" },
		{ "70000", "port 70000 out of 1-65535" },
		{ "1-65536", "last port 65536 out of 1-65535" },
		{ "9000--9999", "expected FIRST-LAST, got \"9000--9999\"" },
		{ "9000-9999-", "expected FIRST-LAST, got \"9000-9999-\"" },
		{ "9000 9999", "expected FIRST-LAST, got \"9000 9999\"" },
		{ "9000-9999x", "expected FIRST-LAST, got \"9000-9999x\"" },
		{ "9000..9999", "expected FIRST-LAST, got \"9000..9999\"" },
		{ "9000-9999,10000", "expected FIRST-LAST, got \"9000-9999,10000\"" },
		{ "+9000-9999", "expected FIRST-LAST, got \"+9000-9999\"" },
		{ "09000-9999", "expected FIRST-LAST, got \"09000-9999\"" },
		{ "9000-\n9999",
		  "expected FIRST-LAST, got \"9000-?9999\"" }, /* no newline echoed */
		{ "99999999999999999999-1", "first port 99999999999999999999 out of 1-65535" },
	};
	struct pg_policy p, before;

	(void)state;
	policy_init_defaults(&p);
	before = p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[128] = "";

		if (policy_set_range(&p, "monitoring", cases[i].spec, err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" accepted", cases[i].spec);
		assert_string_equal(err, cases[i].reason);
	}
	assert_int_equal(policy_set_range(&p, "monitoring", NULL, NULL, 0), -EINVAL);
	/* an error on an existing purpose leaves it as it was */
	assert_int_equal(policy_set_range(&p, "exposed", "0-1", NULL, 0), -EINVAL);
	assert_memory_equal(&p, &before, sizeof(p));
}

static void test_policy_set_range_bad_name(void **state)
{
	static const char *const names[] = {
		"",	  "Monitoring",
		"1abc",	  "_x",
		"a-b",	  "a b",
		"a.b",	  "é",
		"custom", "a\n",
		"tab\t",  "mon!",
		"UPPER",  "a2345678901234567890123456789012",
	};
	struct pg_policy p, before;
	char err[128];

	(void)state;
	policy_init_defaults(&p);
	before = p;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		err[0] = '\0';
		if (policy_set_range(&p, names[i], "2000-2999", err, sizeof(err)) != -EINVAL)
			fail_msg("name \"%s\" accepted", names[i]);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(policy_set_range(&p, NULL, "2000-2999", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty purpose name");
	assert_int_equal(policy_set_range(&p, "custom", "2000", err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "purpose name \"custom\" is reserved for ports outside every range");
	assert_int_equal(policy_check_purpose("a2345678901234567890123456789012", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "purpose name longer than 31 characters");
	assert_memory_equal(&p, &before, sizeof(p));
}

static void test_policy_set_range_full(void **state)
{
	struct pg_policy p;
	char name[PG_PURPOSE_MAX], err[128] = "";

	(void)state;
	policy_init_defaults(&p);
	for (unsigned i = p.n_ranges; i < PG_MAX_PURPOSES; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		assert_int_equal(policy_set_range(&p, name, "100", err, sizeof(err)), 0);
	}
	assert_int_equal(p.n_ranges, PG_MAX_PURPOSES);
	assert_int_equal(policy_set_range(&p, "one_more", "200", err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many purposes (at most 32)");
	/* replacing an existing purpose still works when full */
	assert_int_equal(policy_set_range(&p, "p7", "300-310", err, sizeof(err)), 0);
	assert_int_equal(p.n_ranges, PG_MAX_PURPOSES);
	assert_int_equal(policy_remove_range(&p, "p7"), 0);
	assert_int_equal(policy_set_range(&p, "one_more", "200", err, sizeof(err)), 0);
	assert_sorted(&p);
}

static void test_policy_remove_range(void **state)
{
	struct pg_policy p;

	(void)state;
	policy_init_defaults(&p);
	assert_int_equal(policy_remove_range(&p, "proxy_http"), 0);
	assert_int_equal(p.n_ranges, 4);
	assert_null(policy_find_purpose(&p, "proxy_http"));
	assert_null(policy_range_of(&p, 12500));
	assert_range(&p.ranges[2], "proxy_https", 13000, 13999);
	assert_int_equal(policy_remove_range(&p, "proxy_http"), -ENOENT);
	assert_int_equal(policy_remove_range(&p, "nope"), -ENOENT);
	assert_int_equal(policy_remove_range(&p, ""), -ENOENT);
	assert_int_equal(policy_remove_range(&p, NULL), -ENOENT);
	assert_int_equal(p.n_ranges, 4);
}

/* Moving exposed out of the way and adding monitoring works in either order. */
static void test_policy_check_either_order(void **state)
{
	struct pg_policy a, b;
	char err[128] = "";

	(void)state;
	policy_init_defaults(&a);
	assert_int_equal(policy_set_range(&a, "exposed", "16000-65535", err, sizeof(err)), 0);
	assert_int_equal(policy_set_range(&a, "monitoring", "15000-15999", err, sizeof(err)), 0);
	assert_int_equal(policy_check(&a, err, sizeof(err)), 0);

	policy_init_defaults(&b);
	assert_int_equal(policy_set_range(&b, "monitoring", "15000-15999", err, sizeof(err)), 0);
	assert_int_equal(policy_check(&b, err, sizeof(err)), -EINVAL); /* not yet */
	assert_int_equal(policy_set_range(&b, "exposed", "16000-65535", err, sizeof(err)), 0);
	assert_int_equal(policy_check(&b, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_range(policy_range_of(&a, 15500), "monitoring", 15000, 15999);
}

static void test_policy_check_overlap(void **state)
{
	static const struct {
		const char *spec, *reason;
	} cases[] = {
		{ "15000-15999", "monitoring: 15000-15999 overlaps exposed (14000-65535)" },
		{ "9999", "monitoring: 9999-9999 overlaps internal_http (9000-9999)" },
		{ "8000-9000", "internal_http: 9000-9999 overlaps monitoring (8000-9000)" },
		{ "10999-12000", "monitoring: 10999-12000 overlaps internal_https (10000-10999)" },
		{ "1-65535", "internal_http: 9000-9999 overlaps monitoring (1-65535)" },
	};
	struct pg_policy p;
	struct pg_range probe = { "monitoring", 11000, 11999 };
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		policy_init_defaults(&p);
		assert_int_equal(policy_set_range(&p, "monitoring", cases[i].spec, NULL, 0), 0);
		err[0] = '\0';
		assert_int_equal(policy_check(&p, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].reason);
	}
	/* the gap 11000-11999 is free; a purpose never overlaps itself */
	policy_init_defaults(&p);
	assert_null(policy_find_overlap(&p, &probe));
	assert_int_equal(policy_set_range(&p, "monitoring", "11000-11999", NULL, 0), 0);
	assert_null(policy_find_overlap(&p, policy_find_purpose(&p, "monitoring")));
	probe.first = 10999;
	assert_range(policy_find_overlap(&p, &probe), "internal_https", 10000, 10999);
	/* same range under two names */
	assert_int_equal(policy_set_range(&p, "twin", "11000-11999", NULL, 0), 0);
	assert_int_equal(policy_check(&p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "twin: 11000-11999 overlaps monitoring (11000-11999)");
}

static void test_policy_set_restricted_good(void **state)
{
	static const uint16_t want[] = { 22, 25, 53 };
	struct pg_policy p;
	char err[128] = "";

	(void)state;
	policy_init_defaults(&p);
	assert_int_equal(policy_set_restricted(&p, "22, 25 53", err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, 3);
	assert_memory_equal(p.restricted, want, sizeof(want));
	assert_int_equal(policy_set_restricted(&p, "53,22 ,\t25 25 22", err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, 3);
	assert_memory_equal(p.restricted, want, sizeof(want));
	assert_true(policy_is_restricted(&p, 53));
	assert_false(policy_is_restricted(&p, 80));
	assert_int_equal(policy_set_restricted(&p, "65535 1", err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, 2);
	assert_int_equal(p.restricted[0], 1);
	assert_int_equal(p.restricted[1], 65535);
	assert_int_equal(policy_set_restricted(&p, "", err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, 0);
	assert_false(policy_is_restricted(&p, 22));
	assert_int_equal(policy_set_restricted(&p, " \t ", err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, 0);
}

static void test_policy_set_restricted_bad(void **state)
{
	static const struct {
		const char *list, *reason;
	} cases[] = {
		{ "22,,25", "empty entry in port list \"22,,25\"" },
		{ ",22", "empty entry in port list \",22\"" },
		{ "22,", "empty entry in port list \"22,\"" },
		{ "22, ", "empty entry in port list \"22, \"" },
		{ ",", "empty entry in port list \",\"" },
		{ "abc", "expected a port 1-65535, got \"abc\"" },
		{ "22 abc", "expected a port 1-65535, got \"abc\"" },
		{ "0", "port 0 out of 1-65535" },
		{ "22 65536", "port 65536 out of 1-65535" },
		{ "22;25", "expected a port 1-65535, got \"22;25\"" },
		{ "22-25", "expected a port 1-65535, got \"22-25\"" },
		{ "-1", "expected a port 1-65535, got \"-1\"" },
		{ "22\n25", "expected a port 1-65535, got \"22?25\"" },
	};
	struct pg_policy p, before;
	char err[128];

	(void)state;
	policy_init_defaults(&p);
	before = p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (policy_set_restricted(&p, cases[i].list, err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" accepted", cases[i].list);
		assert_string_equal(err, cases[i].reason);
	}
	assert_memory_equal(&p, &before, sizeof(p));
}

static void test_policy_set_restricted_full(void **state)
{
	char list[PG_MAX_RESTRICTED * 8 + 16] = "", err[128] = "";
	struct pg_policy p;
	size_t off = 0;

	(void)state;
	policy_init_defaults(&p);
	for (unsigned i = 1; i <= PG_MAX_RESTRICTED; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%u ", 1000 + i);
	assert_int_equal(policy_set_restricted(&p, list, err, sizeof(err)), 0);
	assert_int_equal(p.n_restricted, PG_MAX_RESTRICTED);
	/* a duplicate does not count */
	snprintf(list + off, sizeof(list) - off, "1001");
	assert_int_equal(policy_set_restricted(&p, list, err, sizeof(err)), 0);
	snprintf(list + off, sizeof(list) - off, "999");
	assert_int_equal(policy_set_restricted(&p, list, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "too many restricted ports (at most 128)");
	assert_int_equal(p.n_restricted, PG_MAX_RESTRICTED);
	assert_int_equal(p.restricted[0], 1001);
}

/* err may be NULL or tiny; messages are truncated, never overrun. */
static void test_policy_err_buffer(void **state)
{
	struct pg_policy p;
	char err[8];

	(void)state;
	policy_init_defaults(&p);
	assert_int_equal(policy_set_range(&p, "monitoring", "abc", NULL, 0), -EINVAL);
	assert_int_equal(policy_set_range(&p, "monitoring", "abc", err, 0), -EINVAL);
	assert_int_equal(policy_set_range(&p, "monitoring", "abc", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "expecte");
	assert_int_equal(policy_set_restricted(&p, "x", NULL, 0), -EINVAL);
	assert_int_equal(policy_set_range(&p, "monitoring", "15000-15999", NULL, 0), 0);
	assert_int_equal(policy_check(&p, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_policy_lookup),
		cmocka_unit_test(test_policy_parse_port_good),
		cmocka_unit_test(test_policy_parse_port_bad),
		cmocka_unit_test(test_policy_set_range_add_replace),
		cmocka_unit_test(test_policy_set_range_bad_spec),
		cmocka_unit_test(test_policy_set_range_bad_name),
		cmocka_unit_test(test_policy_set_range_full),
		cmocka_unit_test(test_policy_remove_range),
		cmocka_unit_test(test_policy_check_either_order),
		cmocka_unit_test(test_policy_check_overlap),
		cmocka_unit_test(test_policy_set_restricted_good),
		cmocka_unit_test(test_policy_set_restricted_bad),
		cmocka_unit_test(test_policy_set_restricted_full),
		cmocka_unit_test(test_policy_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
