// SPDX-License-Identifier: MIT
/* audit_query: `since`, `after`, `limit` and friends of an audit read, parsed without I/O. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit_query.h"

/* Up to `max` decimal digits at *p into *v (advancing *p); false when there are none. */
static bool audit_query_digits(const char **p, size_t max, uint64_t *v)
{
	size_t n = 0;

	*v = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		n++;
	}
	return n > 0;
}

int audit_query_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *v)
{
	const char *p = s;
	uint64_t n;

	if (!audit_query_digits(&p, 10, &n) || *p || n < lo || n > hi)
		return -EINVAL;
	*v = (unsigned long)n;
	return 0;
}

int audit_query_stream_id(const char *s, char *out, size_t outlen)
{
	const char *p = s;
	uint64_t ms, seq;

	/* 19 digits always fit in 64 bits; Redis ids do not need more. */
	if (!audit_query_digits(&p, 19, &ms) || *p++ != '-' || !audit_query_digits(&p, 19, &seq) ||
	    *p)
		return -EINVAL;
	if ((size_t)snprintf(out, outlen, "%" PRIu64 "-%" PRIu64, ms, seq) >= outlen)
		return -EINVAL;
	return 0;
}

int audit_query_duration(const char *s, uint64_t *ms)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	const char *p = s;
	uint64_t n;

	if (!audit_query_digits(&p, 9, &n) || !*p || p[1])
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].unit != *p)
			continue;
		if (n == 0 || n * units[i].secs > AUDIT_QUERY_SINCE_MAX_S)
			return -EINVAL;
		*ms = n * units[i].secs * 1000;
		return 0;
	}
	return -EINVAL;
}

/* Exactly `n` digits at *p (advancing it) into *v, within lo..hi. */
static bool audit_query_field(const char **p, size_t n, uint64_t lo, uint64_t hi, int *v)
{
	const char *start = *p;
	uint64_t x;

	if (!audit_query_digits(p, n, &x) || (size_t)(*p - start) != n || x < lo || x > hi)
		return false;
	*v = (int)x;
	return true;
}

static bool audit_query_sep(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "Z" or "+HH:MM" / "-HH:MM" into seconds east of UTC; false on anything else. */
static bool audit_query_offset(const char *p, long *east)
{
	int hh, mm;
	char sign = *p;

	if ((sign == 'Z' || sign == 'z') && !p[1]) {
		*east = 0;
		return true;
	}
	if (sign != '+' && sign != '-')
		return false;
	p++;
	if (!audit_query_field(&p, 2, 0, 23, &hh) || !audit_query_sep(&p, ':') ||
	    !audit_query_field(&p, 2, 0, 59, &mm) || *p)
		return false;
	*east = (sign == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	return true;
}

int audit_query_rfc3339(const char *s, uint64_t *ms)
{
	struct tm tm = { 0 };
	const char *p = s;
	uint64_t frac = 0, scale = 1000;
	long east;
	time_t t;

	if (!audit_query_field(&p, 4, 1970, 9999, &tm.tm_year) || !audit_query_sep(&p, '-') ||
	    !audit_query_field(&p, 2, 1, 12, &tm.tm_mon) || !audit_query_sep(&p, '-') ||
	    !audit_query_field(&p, 2, 1, 31, &tm.tm_mday) ||
	    !(audit_query_sep(&p, 'T') || audit_query_sep(&p, 't')) ||
	    !audit_query_field(&p, 2, 0, 23, &tm.tm_hour) || !audit_query_sep(&p, ':') ||
	    !audit_query_field(&p, 2, 0, 59, &tm.tm_min) || !audit_query_sep(&p, ':') ||
	    !audit_query_field(&p, 2, 0, 60, &tm.tm_sec))
		return -EINVAL;
	/* Fractions: milliseconds are kept, finer digits (up to ns) read and dropped. */
	if (audit_query_sep(&p, '.')) {
		const char *f = p;

		if (!audit_query_digits(&p, 9, &frac))
			return -EINVAL;
		for (size_t n = (size_t)(p - f); n < 9; n++)
			frac *= 10;
		frac /= 1000000;
	}
	if (!audit_query_offset(p, &east))
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	/* timegm normalizes Feb 31 into March: refuse dates that do not exist. */
	if (t == (time_t)-1 || tm.tm_mday != (int)strtol(s + 8, NULL, 10) || t - east < 0)
		return -EINVAL;
	*ms = (uint64_t)(t - east) * scale + frac;
	return 0;
}

int audit_query_since(const char *s, uint64_t now_ms, char *out, size_t outlen)
{
	uint64_t ms;

	if (audit_query_stream_id(s, out, outlen) == 0)
		return 0;
	if (audit_query_duration(s, &ms) == 0)
		ms = ms > now_ms ? 0 : now_ms - ms;
	else if (audit_query_rfc3339(s, &ms) < 0)
		return -EINVAL;
	if ((size_t)snprintf(out, outlen, "%" PRIu64 "-0", ms) >= outlen)
		return -EINVAL;
	return 0;
}
