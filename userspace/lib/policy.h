/* SPDX-License-Identifier: MIT */
/* policy: purpose port ranges and restricted ports, parsed from text and looked up by port. */
#ifndef PORTGATE_POLICY_H
#define PORTGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_MAX_PURPOSES	  32
#define PG_PURPOSE_MAX	  32 /* incl. NUL; names: [a-z0-9_], 1-31 chars, start with a letter */
#define PG_MAX_RESTRICTED 128
/* Ports outside every range are reported with this purpose, so no range may take the name. */
#define PG_PURPOSE_CUSTOM "custom"

struct pg_range {
	char purpose[PG_PURPOSE_MAX];
	uint16_t first, last; /* inclusive, first <= last */
};

struct pg_policy {
	struct pg_range ranges[PG_MAX_PURPOSES];
	size_t n_ranges; /* sorted by first (then last) */
	uint16_t restricted[PG_MAX_RESTRICTED];
	size_t n_restricted; /* sorted, unique */
};

/* Fills p with the built-in policy: internal_http 9000-9999, internal_https 10000-10999,
 * proxy_http 12000-12999, proxy_https 13000-13999, exposed 14000-65535; restricted 22 25 53
 * 80 443 3306 5432 6379 27017. */
void policy_init_defaults(struct pg_policy *p);

/* Sets (adds or replaces) the range of purpose from spec, "FIRST-LAST" ("9000-9999") or a
 * single port ("9464"); blanks around the ports are allowed. Checks only the name and the
 * syntax, NOT overlap with other purposes: a purpose set may be moved out of the way
 * afterwards, so run policy_check() once every range is set. Returns 0; -EINVAL with a
 * reason in err ("first port 0 out of 1-65535", "expected FIRST-LAST, got \"abc\"",
 * "inverted range 9000-8000", a bad name); -ENOSPC if PG_MAX_PURPOSES are already set.
 * p is unchanged on error. err may be NULL. */
int policy_set_range(struct pg_policy *p, const char *purpose, const char *spec, char *err,
		     size_t errlen);

/* Removes the range of purpose. 0, or -ENOENT if it has none. */
int policy_remove_range(struct pg_policy *p, const char *purpose);

/* Checks the final set of ranges: 0, or -EINVAL with the first overlap in err, e.g.
 * "monitoring: 15000-15999 overlaps exposed (14000-65535)" (the later-starting range is
 * named first). */
int policy_check(const struct pg_policy *p, char *err, size_t errlen);

/* The first range of p other than r (compared by purpose name) that shares a port with r,
 * or NULL. r need not be in p. */
const struct pg_range *policy_find_overlap(const struct pg_policy *p, const struct pg_range *r);

/* Replaces the restricted list from text, ports separated by commas and/or blanks
 * ("22, 25 53"); empty or blank text means none. Duplicates are merged. 0; -EINVAL with a
 * reason in err on a bad port or an empty entry (",22", "22,,25", "22,"); -ENOSPC over
 * PG_MAX_RESTRICTED distinct ports. p is unchanged on error. err may be NULL. */
int policy_set_restricted(struct pg_policy *p, const char *list, char *err, size_t errlen);

/* The range of purpose, or NULL. */
const struct pg_range *policy_find_purpose(const struct pg_policy *p, const char *purpose);

/* The range holding port, or NULL if none does (ports outside 1-65535 are in none). */
const struct pg_range *policy_range_of(const struct pg_policy *p, unsigned port);

bool policy_is_restricted(const struct pg_policy *p, unsigned port);

/* Parses a decimal port strictly: digits only, no sign, blanks, leading zero or trailing
 * junk. 0 and *out set; -EINVAL if s is not a number; -ERANGE if it is one outside 1-65535. */
int policy_parse_port(const char *s, uint16_t *out);

/* Checks a purpose name: 1-31 of [a-z0-9_], starting with a letter, not "custom".
 * 0, or -EINVAL with the reason in err. */
int policy_check_purpose(const char *purpose, char *err, size_t errlen);

#endif
