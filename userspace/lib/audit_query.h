/* SPDX-License-Identifier: MIT */
/* audit_query: the parameters of an audit read (GET /v1/audit, portgate audit), checked the same
 * way by the CLI and the daemon. */
#ifndef PORTGATE_AUDIT_QUERY_H
#define PORTGATE_AUDIT_QUERY_H

#include <stddef.h>
#include <stdint.h>

/* A Redis stream id "MS-SEQ" as text, with its NUL (20 + 1 + 20 digits). */
#define AUDIT_QUERY_ID_LEN	  48
#define AUDIT_QUERY_LIMIT_DEFAULT 1000
#define AUDIT_QUERY_LIMIT_MAX	  10000
#define AUDIT_QUERY_WAIT_MAX	  30
/* The longest duration `since` takes: a year. */
#define AUDIT_QUERY_SINCE_MAX_S (366ull * 86400)

/*
 * A stream id: "MS-SEQ" (both decimal, as Redis prints them), normalized into out (leading
 * zeros dropped). Returns 0, or -EINVAL.
 */
int audit_query_stream_id(const char *s, char *out, size_t outlen);

/* "90s", "10m", "2h", "7d" into milliseconds (1 s to AUDIT_QUERY_SINCE_MAX_S). 0 or -EINVAL. */
int audit_query_duration(const char *s, uint64_t *ms);

/* RFC 3339 "2025-11-23T13:27:00Z", "...T13:27:00.123456+01:00" into Unix ms. 0 or -EINVAL. */
int audit_query_rfc3339(const char *s, uint64_t *ms);

/*
 * `since` (a duration back from now_ms, an RFC 3339 time or a stream id) as the inclusive
 * XRANGE start id in out ("MS-0", or the id itself). Returns 0, or -EINVAL.
 */
int audit_query_since(const char *s, uint64_t now_ms, char *out, size_t outlen);

/* Decimal lo..hi into *v; -EINVAL when not all digits or out of range. */
int audit_query_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *v);

/* The sentence that says what `since` takes, for error messages. */
#define AUDIT_QUERY_SINCE_HELP                                                                     \
	"expected a duration (90s, 10m, 2h, 7d), an RFC 3339 time (2025-11-23T13:27:00Z) or a "    \
	"stream id (MS-SEQ)"

#endif
