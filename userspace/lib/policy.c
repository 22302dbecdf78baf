// SPDX-License-Identifier: MIT
/* policy: purpose port ranges and restricted ports, parsed from text and looked up by port. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static const struct pg_range policy_default_ranges[] = {
	{ "internal_http", 9000, 9999 }, { "internal_https", 10000, 10999 },
	{ "proxy_http", 12000, 12999 },	 { "proxy_https", 13000, 13999 },
	{ "exposed", 14000, 65535 },
};

static const uint16_t policy_default_restricted[] = {
	22, 25, 53, 80, 443, 3306, 5432, 6379, 27017
};

/* Formats a one-line reason; bytes of user text that are not printable become '?'. */
static void __attribute__((format(printf, 3, 4)))
policy_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *s = err; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static bool policy_is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Strict decimal port from s[0..n). */
static int policy_parse_port_n(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (!s || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	if (s[0] == '0')
		return n == 1 ? -ERANGE : -EINVAL; /* "0" is a number, "080" a spelling we refuse */
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > 65535)
			return -ERANGE; /* stop before the value can wrap */
	}
	*out = (uint16_t)v;
	return 0;
}

int policy_parse_port(const char *s, uint16_t *out)
{
	if (!s)
		return -EINVAL;
	return policy_parse_port_n(s, strlen(s), out);
}

int policy_check_purpose(const char *purpose, char *err, size_t errlen)
{
	size_t len;

	if (!purpose || !*purpose) {
		policy_err(err, errlen, "empty purpose name");
		return -EINVAL;
	}
	len = strlen(purpose);
	if (len >= PG_PURPOSE_MAX) {
		policy_err(err, errlen, "purpose name longer than %d characters",
			   PG_PURPOSE_MAX - 1);
		return -EINVAL;
	}
	if (purpose[0] < 'a' || purpose[0] > 'z') {
		policy_err(err, errlen, "purpose name \"%s\" must start with a letter a-z",
			   purpose);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char ch = purpose[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
			policy_err(err, errlen, "purpose name \"%s\": only a-z, 0-9 and _ allowed",
				   purpose);
			return -EINVAL;
		}
	}
	if (strcmp(purpose, PG_PURPOSE_CUSTOM) == 0) {
		policy_err(err, errlen,
			   "purpose name \"custom\" is reserved for ports outside every range");
		return -EINVAL;
	}
	return 0;
}

/* Parses one port of a range spec into *out, naming it (what: "first port", "port") on error. */
static int policy_parse_bound(const char *s, size_t n, const char *what, const char *spec,
			      uint16_t *out, char *err, size_t errlen)
{
	int ret = policy_parse_port_n(s, n, out);

	if (ret == -ERANGE)
		policy_err(err, errlen, "%s %.*s out of 1-65535", what, (int)(n > 20 ? 20 : n), s);
	else if (ret < 0)
		policy_err(err, errlen, "expected FIRST-LAST, got \"%.40s\"", spec);
	return ret < 0 ? -EINVAL : 0;
}

/* Parses "FIRST-LAST" or "PORT", with optional blanks around each port. */
static int policy_parse_range(const char *spec, uint16_t *first, uint16_t *last, char *err,
			      size_t errlen)
{
	const char *b = spec, *e = spec + strlen(spec), *dash;
	uint16_t lo, hi;

	while (b < e && policy_is_blank(*b))
		b++;
	while (e > b && policy_is_blank(e[-1]))
		e--;
	if (b == e) {
		policy_err(err, errlen, "empty range, expected FIRST-LAST");
		return -EINVAL;
	}
	dash = memchr(b, '-', (size_t)(e - b));
	if (!dash) {
		if (policy_parse_bound(b, (size_t)(e - b), "port", spec, &lo, err, errlen))
			return -EINVAL;
		*first = *last = lo;
		return 0;
	}
	const char *le = dash, *hb = dash + 1;

	while (le > b && policy_is_blank(le[-1]))
		le--;
	while (hb < e && policy_is_blank(*hb))
		hb++;
	if (le == b || hb == e || memchr(hb, '-', (size_t)(e - hb))) {
		policy_err(err, errlen, "expected FIRST-LAST, got \"%.40s\"", spec);
		return -EINVAL;
	}
	if (policy_parse_bound(b, (size_t)(le - b), "first port", spec, &lo, err, errlen) ||
	    policy_parse_bound(hb, (size_t)(e - hb), "last port", spec, &hi, err, errlen))
		return -EINVAL;
	if (lo > hi) {
		policy_err(err, errlen, "inverted range %u-%u (first > last)", lo, hi);
		return -EINVAL;
	}
	*first = lo;
	*last = hi;
	return 0;
}

static bool policy_range_before(const struct pg_range *a, const struct pg_range *b)
{
	if (a->first != b->first)
		return a->first < b->first;
	if (a->last != b->last)
		return a->last < b->last;
	return strcmp(a->purpose, b->purpose) < 0;
}

static void policy_remove_at(struct pg_policy *p, size_t i)
{
	memmove(&p->ranges[i], &p->ranges[i + 1], (p->n_ranges - i - 1) * sizeof(p->ranges[0]));
	p->n_ranges--;
}

static void policy_insert_sorted(struct pg_policy *p, const struct pg_range *r)
{
	size_t i = p->n_ranges;

	while (i > 0 && policy_range_before(r, &p->ranges[i - 1])) {
		p->ranges[i] = p->ranges[i - 1];
		i--;
	}
	p->ranges[i] = *r;
	p->n_ranges++;
}

void policy_init_defaults(struct pg_policy *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(policy_default_ranges) / sizeof(policy_default_ranges[0]);
	     i++)
		policy_insert_sorted(p, &policy_default_ranges[i]);
	memcpy(p->restricted, policy_default_restricted, sizeof(policy_default_restricted));
	p->n_restricted = sizeof(policy_default_restricted) / sizeof(policy_default_restricted[0]);
}

int policy_set_range(struct pg_policy *p, const char *purpose, const char *spec, char *err,
		     size_t errlen)
{
	struct pg_range r = { 0 };
	const struct pg_range *old;
	int ret;

	ret = policy_check_purpose(purpose, err, errlen);
	if (ret)
		return ret;
	if (!spec) {
		policy_err(err, errlen, "empty range, expected FIRST-LAST");
		return -EINVAL;
	}
	ret = policy_parse_range(spec, &r.first, &r.last, err, errlen);
	if (ret)
		return ret;
	old = policy_find_purpose(p, purpose);
	if (!old && p->n_ranges >= PG_MAX_PURPOSES) {
		policy_err(err, errlen, "too many purposes (at most %d)", PG_MAX_PURPOSES);
		return -ENOSPC;
	}
	memcpy(r.purpose, purpose, strlen(purpose) + 1);
	if (old)
		policy_remove_at(p, (size_t)(old - p->ranges));
	policy_insert_sorted(p, &r);
	return 0;
}

int policy_remove_range(struct pg_policy *p, const char *purpose)
{
	const struct pg_range *r = policy_find_purpose(p, purpose);

	if (!r)
		return -ENOENT;
	policy_remove_at(p, (size_t)(r - p->ranges));
	return 0;
}

static bool policy_ranges_overlap(const struct pg_range *a, const struct pg_range *b)
{
	return a->first <= b->last && b->first <= a->last;
}

const struct pg_range *policy_find_overlap(const struct pg_policy *p, const struct pg_range *r)
{
	for (size_t i = 0; i < p->n_ranges; i++)
		if (strcmp(p->ranges[i].purpose, r->purpose) != 0 &&
		    policy_ranges_overlap(&p->ranges[i], r))
			return &p->ranges[i];
	return NULL;
}

int policy_check(const struct pg_policy *p, char *err, size_t errlen)
{
	/* Sorted by first: the later of an overlapping pair starts inside the earlier one. */
	for (size_t j = 1; j < p->n_ranges; j++) {
		const struct pg_range *b = &p->ranges[j];

		for (size_t i = 0; i < j; i++) {
			const struct pg_range *a = &p->ranges[i];

			if (!policy_ranges_overlap(a, b))
				continue;
			policy_err(err, errlen, "%s: %u-%u overlaps %s (%u-%u)", b->purpose,
				   b->first, b->last, a->purpose, a->first, a->last);
			return -EINVAL;
		}
	}
	return 0;
}

static int policy_cmp_port(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int policy_set_restricted(struct pg_policy *p, const char *list, char *err, size_t errlen)
{
	uint16_t ports[PG_MAX_RESTRICTED];
	size_t n = 0;
	const char *s = list ? list : "";
	bool need_entry = false; /* just after a comma */

	for (;;) {
		const char *b;
		uint16_t port;
		int ret;

		while (policy_is_blank(*s))
			s++;
		if (!*s)
			break;
		if (*s == ',') {
			policy_err(err, errlen, "empty entry in port list \"%.40s\"", list);
			return -EINVAL;
		}
		b = s;
		while (*s && *s != ',' && !policy_is_blank(*s))
			s++;
		ret = policy_parse_port_n(b, (size_t)(s - b), &port);
		if (ret == -ERANGE) {
			policy_err(err, errlen, "port %.*s out of 1-65535",
				   (int)(s - b > 20 ? 20 : s - b), b);
			return -EINVAL;
		} else if (ret < 0) {
			policy_err(err, errlen, "expected a port 1-65535, got \"%.*s\"",
				   (int)(s - b > 40 ? 40 : s - b), b);
			return -EINVAL;
		}
		need_entry = false;
		if (!bsearch(&port, ports, n, sizeof(ports[0]), policy_cmp_port)) {
			if (n >= PG_MAX_RESTRICTED) {
				policy_err(err, errlen, "too many restricted ports (at most %d)",
					   PG_MAX_RESTRICTED);
				return -ENOSPC;
			}
			ports[n++] = port;
			qsort(ports, n, sizeof(ports[0]), policy_cmp_port);
		}
		while (policy_is_blank(*s))
			s++;
		if (*s == ',') {
			s++;
			need_entry = true;
		}
	}
	if (need_entry) {
		policy_err(err, errlen, "empty entry in port list \"%.40s\"", list);
		return -EINVAL;
	}
	memcpy(p->restricted, ports, n * sizeof(ports[0]));
	p->n_restricted = n;
	return 0;
}

const struct pg_range *policy_find_purpose(const struct pg_policy *p, const char *purpose)
{
	if (!purpose)
		return NULL;
	for (size_t i = 0; i < p->n_ranges; i++)
		if (strcmp(p->ranges[i].purpose, purpose) == 0)
			return &p->ranges[i];
	return NULL;
}

const struct pg_range *policy_range_of(const struct pg_policy *p, unsigned port)
{
	for (size_t i = 0; i < p->n_ranges; i++)
		if (port >= p->ranges[i].first && port <= p->ranges[i].last)
			return &p->ranges[i];
	return NULL;
}

bool policy_is_restricted(const struct pg_policy *p, unsigned port)
{
	uint16_t key;

	if (port == 0 || port > 65535)
		return false;
	key = (uint16_t)port;
	return bsearch(&key, p->restricted, p->n_restricted, sizeof(key), policy_cmp_port) != NULL;
}
