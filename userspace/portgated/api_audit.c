// SPDX-License-Identifier: MIT
/* api_audit: GET /v1/audit, paging through the stream pg:{HOST}:audit with filters and an
 * optional long poll (portgate audit --follow). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "api_audit.h"
#include "audit_event.h"
#include "audit_query.h"
#include "http_head.h"

/* What the caller asked for, checked. */
struct api_audit_query {
	char service[65];     /* "" any */
	unsigned long port;   /* destination port, 0 any */
	const char *action;   /* NULL any; a name of audit_event.c */
	const char *result;   /* NULL any */
	unsigned long limit;  /* matching events answered at most */
	uint64_t deadline_ms; /* long poll until then (evloop_now_ms), 0 none */
};

/* One GET /v1/audit in flight across registry round trips and poll timers. */
struct api_audit_read {
	struct daemon *d;
	struct httpd_req *req;
	struct api_audit_query q;
	char start[AUDIT_QUERY_ID_LEN + 1]; /* next XRANGE start: "-", "MS-SEQ" or "(MS-SEQ" */
	char last_id[AUDIT_QUERY_ID_LEN];   /* last entry read, matching or not; "" none yet */
	json_t *events;
	unsigned long scanned;	     /* entries read by this request */
	bool more;		     /* stopped before the end of the stream */
	struct api_audit_read *next; /* in api_audit_waiting while waiting for the poll timer */
};

/*
 * Long polls between two looks at the stream. Only their timer knows them otherwise, and a
 * daemon that stops drops its timers: listed here they stay reachable (no false leak report
 * at exit) and can be found.
 */
static struct api_audit_read *api_audit_waiting;
static long api_audit_timer; /* api_audit_tick(), while reads wait */

static void api_audit_page(struct api_audit_read *r);

static void api_audit_free(struct api_audit_read *r)
{
	json_decref(r->events);
	free(r);
}

/* Query parameter `name` into out; 1 when given, 0 when absent, or answers 400 and gives -1. */
static int api_audit_param(struct httpd_req *req, const char *name, char *out, size_t len)
{
	int n = http_query_param(req->query, strlen(req->query), name, out, len);

	if (n == -ENOENT)
		return 0;
	if (n < 0) {
		httpd_reply_error(req, 400, name, n == -ENOSPC ? "too long" : "bad %%-escape");
		return -1;
	}
	return 1;
}

/* A number parameter lo..hi, `def` when absent; 0, or answers 400 and returns -1. */
static int api_audit_number(struct httpd_req *req, const char *name, unsigned long lo,
			    unsigned long hi, unsigned long def, unsigned long *v)
{
	char text[24];
	int given = api_audit_param(req, name, text, sizeof(text));

	if (given < 0)
		return -1;
	*v = def;
	if (given && audit_query_uint(text, lo, hi, v) < 0) {
		httpd_reply_error(req, 400, name, "expected a whole number %lu-%lu", lo, hi);
		return -1;
	}
	return 0;
}

/* action= and result=: one of the names in docs/audit.md; *name NULL when absent. */
static int api_audit_name(struct httpd_req *req, const char *key, int (*parse)(const char *),
			  const char *(*name_of)(unsigned), const char *known, const char **name)
{
	char text[24];
	int given = api_audit_param(req, key, text, sizeof(text)), v;

	*name = NULL;
	if (given <= 0)
		return given;
	v = parse(text);
	if (v < 0) {
		httpd_reply_error(req, 400, key, "expected one of %s", known);
		return -1;
	}
	*name = name_of((unsigned)v);
	return 0;
}

/* since= or after= into r->start; 0, or answers 400 and returns -1. */
static int api_audit_start(struct httpd_req *req, struct api_audit_read *r)
{
	char since[64], after[64], id[AUDIT_QUERY_ID_LEN];
	int has_since = api_audit_param(req, "since", since, sizeof(since));
	int has_after = has_since < 0 ? -1 : api_audit_param(req, "after", after, sizeof(after));

	if (has_since < 0 || has_after < 0)
		return -1;
	if (has_since && has_after) {
		httpd_reply_error(req, 400, "after", "give since or after, not both");
		return -1;
	}
	snprintf(r->start, sizeof(r->start), "-");
	if (has_since &&
	    audit_query_since(since, (uint64_t)time(NULL) * 1000, id, sizeof(id)) < 0) {
		httpd_reply_error(req, 400, "since", "%s", AUDIT_QUERY_SINCE_HELP);
		return -1;
	}
	if (has_after && audit_query_stream_id(after, id, sizeof(id)) < 0) {
		httpd_reply_error(req, 400, "after", "expected a stream id (MS-SEQ, as last_id)");
		return -1;
	}
	if (has_since)
		snprintf(r->start, sizeof(r->start), "%s", id);
	if (has_after) {
		/* Exclusive: a follower resumes after the last entry it was given. */
		snprintf(r->start, sizeof(r->start), "(%s", id);
		snprintf(r->last_id, sizeof(r->last_id), "%s", id);
	}
	return 0;
}

/* Every parameter, checked on its own; 0, or answers 400 and returns -1. */
static int api_audit_parse(struct httpd_req *req, struct api_audit_read *r)
{
	static const char actions[] = "bind, connect, packet, token, control, repair, scan, loss";
	static const char results[] = "allowed, denied, rewritten, blocked, repaired, lost";
	struct api_audit_query *q = &r->q;
	unsigned long wait;
	int given;

	given = api_audit_param(req, "service", q->service, sizeof(q->service));
	if (given < 0)
		return -1;
	if (given && !api_valid_name(q->service)) {
		httpd_reply_error(
		    req, 400, "service",
		    "expected 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
		return -1;
	}
	if (api_audit_number(req, "port", 1, 65535, 0, &q->port) < 0 ||
	    api_audit_name(req, "action", audit_action_parse, audit_action_name, actions,
			   &q->action) < 0 ||
	    api_audit_name(req, "result", audit_result_parse, audit_result_name, results,
			   &q->result) < 0 ||
	    api_audit_number(req, "limit", 1, AUDIT_QUERY_LIMIT_MAX, AUDIT_QUERY_LIMIT_DEFAULT,
			     &q->limit) < 0 ||
	    api_audit_number(req, "wait", 0, AUDIT_QUERY_WAIT_MAX, 0, &wait) < 0 ||
	    api_audit_start(req, r) < 0)
		return -1;
	q->deadline_ms = wait ? evloop_now_ms() + wait * 1000 : 0;
	return 0;
}

static bool api_audit_str_is(const json_t *ev, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(ev, key));

	return !want || (v && strcmp(v, want) == 0);
}

static bool api_audit_match(const struct api_audit_query *q, const json_t *ev)
{
	const json_t *port = json_object_get(ev, "dst_port");

	return json_is_object(ev) && api_audit_str_is(ev, "action", q->action) &&
	       api_audit_str_is(ev, "result", q->result) &&
	       api_audit_str_is(ev, "service", q->service[0] ? q->service : NULL) &&
	       (!q->port ||
		(json_is_integer(port) && json_integer_value(port) == (json_int_t)q->port));
}

static void api_audit_answer(struct api_audit_read *r)
{
	json_t *doc =
	    json_pack("{s:O,s:s,s:b}", "events", r->events, "last_id", r->last_id, "more", r->more);

	httpd_reply_json(r->req, 200, doc);
	api_audit_free(r);
}

static void api_audit_fail(struct api_audit_read *r, int err)
{
	httpd_reply_error(r->req, err == -ENOTCONN ? 503 : 500, NULL,
			  err == -ENOTCONN ? "registry unavailable, retry later"
					   : "registry error");
	api_audit_free(r);
}

/*
 * The caller's process is gone (SO_PEERCRED's pid). Why ask: httpd does not tell a handler
 * that its peer hung up, and a follower that was killed should not hold its long poll (and
 * its place in the list) to the end.
 */
static bool api_audit_peer_gone(const struct httpd_req *req)
{
	return req->peer_known && req->pid > 0 && kill(req->pid, 0) < 0 && errno == ESRCH;
}

/* One poll timer for every waiting read (timers are few; followers may be many): each takes
 * its next look at the stream. */
static void api_audit_tick(struct evloop *loop, void *data)
{
	struct api_audit_read *list = api_audit_waiting, *r;

	(void)loop;
	(void)data;
	api_audit_timer = 0;
	api_audit_waiting = NULL; /* reads that wait again form the next list */
	while ((r = list)) {
		list = r->next;
		r->next = NULL;
		if (api_audit_peer_gone(r->req))
			api_audit_answer(r);
		else
			api_audit_page(r);
	}
}

/* Looks at the stream again in API_AUDIT_POLL_MS; false when no timer could be set. */
static bool api_audit_wait(struct api_audit_read *r)
{
	if (!api_audit_timer) {
		long id = evloop_timer_add(r->d->loop, API_AUDIT_POLL_MS, api_audit_tick, NULL);

		if (id <= 0)
			return false;
		api_audit_timer = id;
	}
	r->next = api_audit_waiting;
	api_audit_waiting = r;
	return true;
}

/*
 * Takes the entries of one page ({200, "audit", id, json, ...}): appends the matching ones
 * until the limit; returns the entries read (an entry past the limit is not read, so that
 * the caller's next read after last_id starts with it).
 */
static size_t api_audit_take(struct api_audit_read *r, const redisReply *reply)
{
	size_t n = 0;

	for (size_t i = 2; i + 1 < reply->elements; i += 2) {
		const redisReply *id = reply->element[i], *text = reply->element[i + 1];
		json_t *ev;

		if (json_array_size(r->events) >= r->q.limit) {
			r->more = true;
			break;
		}
		n++;
		if (id->type != REDIS_REPLY_STRING || text->type != REDIS_REPLY_STRING)
			continue;
		snprintf(r->last_id, sizeof(r->last_id), "%s", id->str);
		/* An entry that is not an event (written by hand?) is passed over, not fatal. */
		ev = json_loadb(text->str, text->len, JSON_REJECT_DUPLICATES, NULL);
		if (ev && api_audit_match(&r->q, ev))
			json_array_append(r->events, ev);
		json_decref(ev);
	}
	return n;
}

/* How many entries to ask for: with no filter just what the limit still allows. */
static unsigned long api_audit_count(const struct api_audit_read *r)
{
	unsigned long left = r->q.limit - json_array_size(r->events);
	bool filtered = r->q.service[0] || r->q.port || r->q.action || r->q.result;

	return filtered || left > API_AUDIT_PAGE ? API_AUDIT_PAGE : left;
}

static void api_audit_page_done(const redisReply *reply, int err, void *arg)
{
	struct api_audit_read *r = arg;
	unsigned long asked = api_audit_count(r);
	size_t n;

	if (err < 0) {
		api_audit_fail(r, err);
		return;
	}
	if (reply->element[0]->integer != 200) {
		httpd_reply_error(r->req, 500, NULL, "registry error reading the audit stream");
		api_audit_free(r);
		return;
	}
	n = api_audit_take(r, reply);
	r->scanned += n;
	if (r->last_id[0])
		snprintf(r->start, sizeof(r->start), "(%s", r->last_id);
	if (r->more || json_array_size(r->events) >= r->q.limit) {
		r->more = r->more || n == asked;
	} else if (n == asked && r->scanned < API_AUDIT_SCAN_MAX) {
		api_audit_page(r); /* a full page: the stream goes on */
		return;
	} else if (n == asked) {
		r->more = true; /* enough work for one request; the caller goes on after last_id */
	} else if (json_array_size(r->events) == 0 && r->q.deadline_ms > evloop_now_ms()) {
		/* The end of the stream and nothing yet: look again shortly (long poll). */
		if (api_audit_wait(r))
			return;
	}
	api_audit_answer(r);
}

static void api_audit_page(struct api_audit_read *r)
{
	char count[24];
	const char *argv[3] = { r->start, "+", count };
	int err;

	snprintf(count, sizeof(count), "%lu", api_audit_count(r));
	err = registry_run(r->d->reg, REG_READ_AUDIT, 3, argv, NULL, api_audit_page_done, r);
	if (err < 0)
		api_audit_fail(r, err);
}

void api_audit_get(struct daemon *d, struct httpd_req *req)
{
	struct api_audit_read *r = calloc(1, sizeof(*r));

	if (!r || !(r->events = json_array())) {
		free(r);
		httpd_reply_error(req, 500, NULL, "out of memory");
		return;
	}
	r->d = d;
	r->req = req;
	if (api_audit_parse(req, r) < 0) {
		api_audit_free(r);
		return;
	}
	api_audit_page(r);
}
