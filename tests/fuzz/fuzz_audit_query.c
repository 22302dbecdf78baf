// SPDX-License-Identifier: MIT
/* fuzz_audit_query: the audit read's parameters (since, after, limit: straight from the API's
 * query string and the CLI's flags) on any bytes: no crash, and what is accepted is sane. */
// fuzz-sources: userspace/lib/audit_query.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit_query.h"
#include "fuzz_check.h"

/* A stream id as the parser promises it: digits, one '-', digits. */
static void check_id(const char *id)
{
	size_t dash = strspn(id, "0123456789");

	check(dash > 0 && id[dash] == '-');
	check(id[dash + 1] && strspn(id + dash + 1, "0123456789") == strlen(id + dash + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), id[AUDIT_QUERY_ID_LEN], again[AUDIT_QUERY_ID_LEN];
	unsigned long v;
	uint64_t ms;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* a query value is a C string once decoded */
	if (audit_query_stream_id(s, id, sizeof(id)) == 0) {
		check_id(id);
		check(audit_query_stream_id(id, again, sizeof(again)) == 0 && !strcmp(id, again));
	}
	if (audit_query_duration(s, &ms) == 0)
		check(ms >= 1000 && ms <= AUDIT_QUERY_SINCE_MAX_S * 1000);
	audit_query_rfc3339(s, &ms);
	if (audit_query_since(s, 1795000000000ull, id, sizeof(id)) == 0)
		check_id(id);
	if (audit_query_uint(s, 1, AUDIT_QUERY_LIMIT_MAX, &v) == 0)
		check(v >= 1 && v <= AUDIT_QUERY_LIMIT_MAX);
	audit_query_stream_id(s, id, 3); /* too small an output: refused, never overrun */
	free(s);
	return 0;
}
