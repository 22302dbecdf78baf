/* SPDX-License-Identifier: MIT */
/* api_audit: GET /v1/audit, the audit trail read back from the stream pg:{HOST}:audit. */
#ifndef PORTGATED_API_AUDIT_H
#define PORTGATED_API_AUDIT_H

#include "daemon.h"
#include "httpd.h"

/* Stream entries read per registry round trip, and at most per request (the answer then says
 * "more": true and the caller goes on after last_id). */
#define API_AUDIT_PAGE	   1000
#define API_AUDIT_SCAN_MAX 100000
/* How often a long poll (wait=SECONDS) looks at the stream again. */
#define API_AUDIT_POLL_MS 200

/*
 * GET /v1/audit?service=&port=&action=&result=&since=|after=&limit=&wait= (docs/api.md):
 * checks every parameter (400 naming it), then answers {"events": [...], "last_id": ID,
 * "more": BOOL} after one or more registry round trips, or after up to `wait` seconds when
 * nothing matched yet (long poll). Reading is open to whoever may use the socket.
 */
void api_audit_get(struct daemon *d, struct httpd_req *req);

#endif
