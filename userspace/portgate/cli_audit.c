// SPDX-License-Identifier: MIT
/* cli_audit: portgate audit: filters checked here, pages of GET /v1/audit read and printed
 * as a table or JSON lines, and --follow on the daemon's long poll. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_event.h"
#include "audit_query.h"
#include "cli_audit.h"
#include "cli_client.h"
#include "cli_output.h"
#include "cli_request.h"
#include "cli_table.h"

#define CLI_AUDIT_ACTIONS "bind, connect, packet, token, control, repair, scan, loss"
#define CLI_AUDIT_RESULTS "allowed, denied, rewritten, blocked, repaired, lost"

int cli_audit_check_option(const char *opt, const char *v, char *why, size_t n)
{
	char id[AUDIT_QUERY_ID_LEN];
	unsigned long limit;

	if (!strcmp(opt, "action") && audit_action_parse(v) < 0)
		snprintf(why, n, "'%.20s' is not one of %s", v, CLI_AUDIT_ACTIONS);
	else if (!strcmp(opt, "result") && audit_result_parse(v) < 0)
		snprintf(why, n, "'%.20s' is not one of %s", v, CLI_AUDIT_RESULTS);
	else if (!strcmp(opt, "since") && audit_query_since(v, 0, id, sizeof(id)) < 0)
		snprintf(why, n, "'%.40s': %s", v, AUDIT_QUERY_SINCE_HELP);
	else if (!strcmp(opt, "limit") && audit_query_uint(v, 1, AUDIT_QUERY_LIMIT_MAX, &limit) < 0)
		snprintf(why, n, "'%.20s' is not a number of events 1-%d", v,
			 AUDIT_QUERY_LIMIT_MAX);
	else
		return 0;
	return -EINVAL;
}

/* Appends "key=value" (value percent-encoded) at *o, after a '&' unless it is the first
 * parameter; -ENAMETOOLONG when it does not fit. */
static int cli_audit_param(char **o, char *end, const char *key, const char *value)
{
	int k = snprintf(*o, (size_t)(end - *o), "%s%s=", (*o)[-1] == '?' ? "" : "&", key);
	ssize_t v;

	if (k < 0 || k >= end - *o)
		return -ENAMETOOLONG;
	v = cli_request_encode(value, *o + k, (size_t)(end - *o - k));
	if (v < 0)
		return -ENAMETOOLONG;
	*o += k + v;
	return 0;
}

int cli_audit_target(const struct cli_audit_args *a, const char *from_key, const char *from,
		     unsigned long limit, unsigned wait, char *out, size_t n)
{
	const struct {
		const char *key, *value;
	} params[] = {
		{ "service", a->service }, { "port", a->port }, { "action", a->action },
		{ "result", a->result },   { from_key, from },
	};
	char *o = out, *end = out + n, num[24];
	int len = snprintf(out, n, "/v1/audit?");

	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	o += len;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (params[i].key && params[i].value &&
		    cli_audit_param(&o, end, params[i].key, params[i].value) < 0)
			return -ENAMETOOLONG;
	snprintf(num, sizeof(num), "%lu", limit);
	if (cli_audit_param(&o, end, "limit", num) < 0)
		return -ENAMETOOLONG;
	snprintf(num, sizeof(num), "%u", wait);
	if (wait && cli_audit_param(&o, end, "wait", num) < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* The cells of one event, as text in its own buffers. */
struct cli_audit_row {
	char time[32], src[80], dst[96], service[140], what[400], count[24], pid[48];
	const char *action, *result;
};

/* "2025-11-23T13:27:00.123456Z" -> "2025-11-23 13:27:00.123" (UTC, as stored). */
static void cli_audit_time(const char *t, char *buf, size_t n)
{
	if (t && strlen(t) >= 23 && t[10] == 'T' && t[19] == '.')
		snprintf(buf, n, "%.10s %.12s", t, t + 11);
	else
		snprintf(buf, n, "%s", t ? t : "-");
}

/* ip:port, [ip6]:port, ip, :port or "" from the event's `ip` and `port` fields. */
static void cli_audit_endpoint(const json_t *ev, const char *ip_key, const char *port_key,
			       char *buf, size_t n)
{
	const char *ip = cli_output_str(ev, ip_key);
	bool v6 = ip && strchr(ip, ':');
	json_int_t port;

	/* Port 0: not one port (a scan, a block): the address alone. */
	if (!cli_output_int(ev, port_key, &port) || port == 0)
		snprintf(buf, n, "%s", ip ? ip : "");
	else
		snprintf(buf, n, "%s%s%s:%" JSON_INTEGER_FORMAT, v6 ? "[" : "", ip ? ip : "",
			 v6 ? "]" : "", port);
}

/* What happened, in words: what (control, repair), reason, and for a scan its port count. */
static void cli_audit_what(const json_t *ev, char *buf, size_t n)
{
	const char *what = cli_output_str(ev, "what"), *reason = cli_output_str(ev, "reason");
	json_int_t ports;
	size_t o = 0;

	buf[0] = '\0';
	if (what)
		o += (size_t)snprintf(buf, n, "%s", what);
	if (reason && o < n)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "; " : "", reason);
	if (cli_output_int(ev, "ports", &ports) && o < n)
		snprintf(buf + o, n - o, "%s%" JSON_INTEGER_FORMAT " ports", o ? "; " : "", ports);
}

/* Fills row from ev; -EBADMSG when ev is not an object. */
static int cli_audit_row(const json_t *ev, struct cli_audit_row *row)
{
	const char *service = cli_output_str(ev, "service"),
		   *name = cli_output_str(ev, "port_name");
	const char *proto = cli_output_str(ev, "protocol"), *comm = cli_output_str(ev, "comm");
	const char *who = cli_output_str(ev, "who");
	json_int_t count = 1, pid = -1;
	size_t len;

	if (!json_is_object(ev))
		return -EBADMSG;
	cli_audit_time(cli_output_str(ev, "time"), row->time, sizeof(row->time));
	row->action = cli_output_str(ev, "action");
	row->result = cli_output_str(ev, "result");
	cli_audit_endpoint(ev, "src_ip", "src_port", row->src, sizeof(row->src));
	/* A control event comes from a caller, not an address: "uid:1000", "owner:my-app". */
	if (!row->src[0] && who)
		snprintf(row->src, sizeof(row->src), "%s", who);
	cli_audit_endpoint(ev, "dst_ip", "dst_port", row->dst, sizeof(row->dst));
	len = strlen(row->dst);
	if (len && proto)
		snprintf(row->dst + len, sizeof(row->dst) - len, "/%s", proto);
	snprintf(row->service, sizeof(row->service), "%s%s%s", service ? service : "",
		 service && name ? "/" : "", service && name ? name : "");
	cli_audit_what(ev, row->what, sizeof(row->what));
	cli_output_int(ev, "count", &count);
	row->count[0] = '\0';
	if (count > 1)
		snprintf(row->count, sizeof(row->count), "%" JSON_INTEGER_FORMAT, count);
	cli_output_int(ev, "pid", &pid);
	if (pid >= 0)
		snprintf(row->pid, sizeof(row->pid), "%" JSON_INTEGER_FORMAT "%s%s", pid,
			 comm ? "/" : "", comm ? comm : "");
	else
		snprintf(row->pid, sizeof(row->pid), "%s", comm ? comm : "");
	return 0;
}

static const char *cli_audit_cell(const char *s)
{
	return s && *s ? s : NULL;
}

enum {
	COL_TIME,
	COL_ACTION,
	COL_RESULT,
	COL_SRC,
	COL_DST,
	COL_SERVICE,
	COL_WHAT,
	COL_COUNT,
	COL_PID,
	CLI_AUDIT_COLS
};

static const char *const cli_audit_head[CLI_AUDIT_COLS] = {
	"TIME (UTC)", "ACTION",	     "RESULT", "SOURCE",   "DESTINATION",
	"SERVICE",    "REASON/WHAT", "COUNT",  "PID/COMM",
};

static void cli_audit_cells(const struct cli_audit_row *row, const char **cells)
{
	cells[COL_TIME] = row->time;
	cells[COL_ACTION] = cli_audit_cell(row->action);
	cells[COL_RESULT] = cli_audit_cell(row->result);
	cells[COL_SRC] = cli_audit_cell(row->src);
	cells[COL_DST] = cli_audit_cell(row->dst);
	cells[COL_SERVICE] = cli_audit_cell(row->service);
	cells[COL_WHAT] = cli_audit_cell(row->what);
	cells[COL_COUNT] = cli_audit_cell(row->count);
	cells[COL_PID] = cli_audit_cell(row->pid);
}

int cli_audit_print_table(FILE *out, json_t *const *events, size_t n)
{
	const char *head[CLI_AUDIT_COLS];
	struct cli_audit_row *rows;
	struct cli_table t;
	bool has_count = false, has_pid = false;
	size_t ncols = 0;
	int ret = 0;

	if (n == 0) {
		fputs("No audit events.\n", out);
		return 0;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = cli_audit_row(events[i], &rows[i]);
		has_count = has_count || rows[i].count[0];
		has_pid = has_pid || rows[i].pid[0];
	}
	/* COUNT and PID/COMM only when some event has them: most reads have neither. */
	for (size_t c = 0; c < CLI_AUDIT_COLS; c++)
		if ((c != COL_COUNT || has_count) && (c != COL_PID || has_pid))
			head[ncols++] = cli_audit_head[c];
	cli_table_init(&t, head, ncols, has_count ? 1u << COL_COUNT : 0);
	for (size_t i = 0; i < n && ret == 0; i++) {
		const char *all[CLI_AUDIT_COLS], *cells[CLI_AUDIT_COLS];
		size_t k = 0;

		cli_audit_cells(&rows[i], all);
		for (size_t c = 0; c < CLI_AUDIT_COLS; c++)
			if ((c != COL_COUNT || has_count) && (c != COL_PID || has_pid))
				cells[k++] = all[c];
		cli_table_row(&t, cells);
	}
	if (ret == 0)
		ret = cli_table_print(out, &t);
	cli_table_free(&t);
	free(rows);
	return ret;
}

int cli_audit_print_line(FILE *out, const json_t *ev, bool head)
{
	/* Wide enough for most values; a longer one pushes the rest of its line along. */
	static const int width[CLI_AUDIT_COLS] = { 23, 7, 9, 21, 25, 16, 30, 5, 0 };
	const char *cells[CLI_AUDIT_COLS];
	struct cli_audit_row row;
	int ret;

	if (head) {
		memcpy(cells, cli_audit_head, sizeof(cells));
	} else {
		ret = cli_audit_row(ev, &row);
		if (ret < 0)
			return ret;
		cli_audit_cells(&row, cells);
	}
	for (size_t c = 0; c < CLI_AUDIT_COLS; c++) {
		char *clean = cli_table_clean(cells[c] ? cells[c] : "-", false);
		int pad;

		if (!clean)
			return -ENOMEM;
		pad = width[c] - (int)cli_table_width(clean);
		fprintf(out, "%s%s%*s", c ? "  " : "", clean,
			c + 1 < CLI_AUDIT_COLS && pad > 0 ? pad : 0, "");
		free(clean);
	}
	fputc('\n', out);
	return 0;
}

/* Where the next read starts: key "since" (nothing read yet), "after" (last_id), or NULL. */
struct cli_audit_pos {
	const char *key;
	char value[64];
};

/*
 * One read of GET /v1/audit from pos, moving pos past what it read. Returns 0 with *doc (the
 * answer, checked: events array, last_id string), 1 with *resp for an answer that is not
 * 2xx (the caller reports it), -EBADMSG for an answer that is not the API's, or -errno when
 * no answer came (cli_client_request).
 */
static int cli_audit_read(const struct cli_cmd *cmd, struct cli_audit_pos *pos, unsigned long limit,
			  unsigned wait, json_t **doc, struct cli_response *resp)
{
	struct cli_request req = { .method = "GET" };
	const char *last;
	int ret;

	ret = cli_audit_target(&cmd->audit, pos->key, pos->value, limit, wait, req.path,
			       sizeof(req.path));
	if (ret < 0)
		return ret;
	ret = cli_client_request(cmd->socket_path, &req, (int)(wait * 1000) + CLI_CLIENT_TIMEOUT_MS,
				 resp);
	if (ret < 0)
		return ret;
	if (resp->status < 200 || resp->status > 299)
		return 1;
	*doc = json_loadb(resp->body, resp->body_len, 0, NULL);
	cli_client_response_free(resp);
	last = json_string_value(json_object_get(*doc, "last_id"));
	if (!json_is_array(json_object_get(*doc, "events")) || !last ||
	    strlen(last) >= sizeof(pos->value)) {
		json_decref(*doc);
		return -EBADMSG;
	}
	if (*last) {
		pos->key = "after";
		snprintf(pos->value, sizeof(pos->value), "%s", last);
	}
	return 0;
}

/* The newest `cap` events of a read that may span many pages, oldest first. */
struct cli_audit_ring {
	json_t **ev;
	size_t cap, n, head;
	unsigned long total; /* events seen, kept or not */
};

static void cli_audit_ring_push(struct cli_audit_ring *r, json_t *ev)
{
	size_t slot = (r->head + r->n) % r->cap;

	if (r->n == r->cap) {
		json_decref(r->ev[r->head]);
		slot = r->head;
		r->head = (r->head + 1) % r->cap;
	} else {
		r->n++;
	}
	r->ev[slot] = json_incref(ev);
	r->total++;
}

/* In place, oldest first from index 0 (rotating the ring). */
static void cli_audit_reverse(json_t **v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		json_t *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* Oldest first: a full ring that wrapped is rotated left by head, in place (three reversals). */
static void cli_audit_ring_order(struct cli_audit_ring *r)
{
	cli_audit_reverse(r->ev, r->head);
	cli_audit_reverse(r->ev + r->head, r->n - r->head);
	cli_audit_reverse(r->ev, r->n);
	r->head = 0;
}

static void cli_audit_ring_free(struct cli_audit_ring *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->ev[(r->head + i) % r->cap]);
	free(r->ev);
}

/* Reads pages from pos until the daemon says there is no more, keeping the newest. */
static int cli_audit_history(const struct cli_cmd *cmd, struct cli_audit_pos *pos,
			     struct cli_audit_ring *ring, struct cli_response *resp)
{
	bool more = true;

	while (more) {
		json_t *doc, *ev;
		size_t i;
		/* Pages as large as the daemon gives: the ring keeps the newest anyway. */
		int ret = cli_audit_read(cmd, pos, AUDIT_QUERY_LIMIT_MAX, 0, &doc, resp);

		if (ret != 0)
			return ret;
		json_array_foreach(json_object_get(doc, "events"), i, ev)
		    cli_audit_ring_push(ring, ev);
		more = json_is_true(json_object_get(doc, "more"));
		json_decref(doc);
	}
	return 0;
}

static int cli_audit_print_json(FILE *out, const json_t *ev)
{
	if (json_dumpf(ev, out, JSON_COMPACT) < 0)
		return -ENOMEM;
	fputc('\n', out);
	return 0;
}

/* --follow and --json print one event at a time; a plain read prints one table. */
static int cli_audit_print(const struct cli_cmd *cmd, json_t *const *ev, size_t n)
{
	int ret = 0;

	if (!cmd->json && !cmd->audit.follow)
		return cli_audit_print_table(stdout, ev, n);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = cmd->json ? cli_audit_print_json(stdout, ev[i])
				: cli_audit_print_line(stdout, ev[i], false);
	return ret;
}

/* A daemon refusal or an unusable answer, said on stderr; the exit code. */
static int cli_audit_fail(int ret, struct cli_response *resp)
{
	int code;

	if (ret == 1) {
		cli_output_error(stderr, resp->status, resp->body, resp->body_len);
		code = cli_output_exit_code(resp->status);
		cli_client_response_free(resp);
		return code;
	}
	fprintf(stderr, "portgate: error: unexpected answer from portgated (%s)\n",
		ret == -EBADMSG ? "not the JSON the API describes" : strerror(-ret));
	return CLI_EXIT_INTERNAL;
}

/* The events since pos (all of them with no --since), the newest `limit` shown. */
static int cli_audit_once(const struct cli_cmd *cmd, struct cli_audit_pos *pos, unsigned long limit)
{
	struct cli_audit_ring ring = { .cap = limit, .ev = calloc(limit, sizeof(json_t *)) };
	struct cli_response resp = { 0 };
	int ret;

	if (!ring.ev)
		return cli_audit_fail(-ENOMEM, NULL);
	ret = cli_audit_history(cmd, pos, &ring, &resp);
	if (ret == 0) {
		cli_audit_ring_order(&ring);
		ret = cli_audit_print(cmd, ring.ev, ring.n);
		if (ret < 0)
			ret = cli_audit_fail(ret, NULL);
	} else if (ret > 0 || ret == -EBADMSG) {
		ret = cli_audit_fail(ret, &resp);
	}
	if (ret == 0 && ring.total > ring.n)
		fprintf(stderr,
			"portgate: note: the newest %zu of %lu matching events shown (--limit, "
			"--since for others)\n",
			ring.n, ring.total);
	cli_audit_ring_free(&ring);
	return ret;
}

static volatile sig_atomic_t cli_audit_stop, cli_audit_blocked;

/* SIGINT, SIGTERM: leave at once while waiting on the daemon (everything printed is
 * flushed), else after the batch being printed. */
static void cli_audit_on_signal(int sig)
{
	cli_audit_stop = 1;
	if (cli_audit_blocked)
		_exit(CLI_EXIT_OK);
}

static bool cli_audit_retryable(int ret, const struct cli_response *resp)
{
	if (ret == 1)
		return resp->status == 503;
	return ret == -ENOENT || ret == -ECONNREFUSED || ret == -ECONNRESET || ret == -ETIMEDOUT ||
	       ret == -ENOTSOCK;
}

static void cli_audit_pause(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	cli_audit_blocked = 1;
	if (!cli_audit_stop)
		nanosleep(&ts, NULL);
	cli_audit_blocked = 0;
}

/* --follow's state between long polls. */
struct cli_audit_follow {
	struct cli_audit_pos pos;
	unsigned long limit;
	unsigned backoff; /* ms of the next pause; 0 while portgated answers */
	bool answered;	  /* portgated answered once: from then on, its absence is waited out */
	int code;	  /* the exit code once the loop ends */
};

/* portgated away (restarting): one note, then quiet retries with a growing pause. */
static void cli_audit_wait_out(const struct cli_cmd *cmd, struct cli_audit_follow *f, int ret)
{
	if (!f->backoff)
		fprintf(stderr, "portgate: note: portgated at %s: %s; retrying\n", cmd->socket_path,
			ret == 1 ? "registry unavailable" : strerror(-ret));
	f->backoff = f->backoff ? f->backoff * 2 : CLI_AUDIT_BACKOFF_MIN_MS;
	if (f->backoff > CLI_AUDIT_BACKOFF_MAX_MS)
		f->backoff = CLI_AUDIT_BACKOFF_MAX_MS;
	cli_audit_pause(f->backoff);
}

/* One long poll of --follow; false when the loop ends (f->code says how). */
static bool cli_audit_follow_step(const struct cli_cmd *cmd, struct cli_audit_follow *f)
{
	struct cli_response resp = { 0 };
	json_t *doc, *ev;
	size_t i;
	int ret;

	cli_audit_blocked = 1;
	ret = cli_audit_stop
		  ? -EINTR
		  : cli_audit_read(cmd, &f->pos, f->limit, CLI_AUDIT_WAIT_S, &doc, &resp);
	cli_audit_blocked = 0;
	if (ret == -EINTR)
		return false;
	if (f->answered && cli_audit_retryable(ret, &resp)) {
		cli_client_response_free(&resp);
		cli_audit_wait_out(cmd, f, ret);
		return true;
	}
	if (ret != 0) {
		f->code = ret < 0 && ret != -EBADMSG ? ret : cli_audit_fail(ret, &resp);
		return false;
	}
	if (f->backoff)
		fputs("portgate: note: portgated is back; following\n", stderr);
	f->backoff = 0;
	f->answered = true;
	json_array_foreach(json_object_get(doc, "events"), i, ev) if (ret == 0) ret =
	    cli_audit_print(cmd, &ev, 1);
	json_decref(doc);
	fflush(stdout);
	if (ret < 0) {
		f->code = cli_audit_fail(ret, NULL);
		return false;
	}
	return true;
}

static int cli_audit_follow(const struct cli_cmd *cmd, struct cli_audit_follow *f)
{
	struct sigaction sa = { .sa_handler = cli_audit_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!cli_audit_stop && cli_audit_follow_step(cmd, f))
		;
	return f->code;
}

int cli_audit_run(const struct cli_cmd *cmd)
{
	struct cli_audit_follow f = { .limit = AUDIT_QUERY_LIMIT_DEFAULT };
	int ret = 0;

	if (cmd->audit.limit)
		audit_query_uint(cmd->audit.limit, 1, AUDIT_QUERY_LIMIT_MAX, &f.limit);
	if (cmd->audit.since) {
		f.pos.key = "since";
		snprintf(f.pos.value, sizeof(f.pos.value), "%s", cmd->audit.since);
	} else if (cmd->audit.follow) {
		/* Following from now: the stream's ids are milliseconds of the same clock. */
		f.pos.key = "since";
		snprintf(f.pos.value, sizeof(f.pos.value), "%" PRIu64 "-0", audit_now_us() / 1000);
	}
	if (cmd->audit.follow && !cmd->json)
		cli_audit_print_line(stdout, NULL, true);
	if (!cmd->audit.follow || cmd->audit.since) {
		ret = cli_audit_once(cmd, &f.pos, f.limit);
		f.answered = ret == 0;
	}
	if (ret == 0 && cmd->audit.follow) {
		fflush(stdout);
		ret = cli_audit_follow(cmd, &f);
	}
	if (fflush(stdout) != 0 && ret == 0) {
		fprintf(stderr, "portgate: error: writing output: %s\n", strerror(errno));
		ret = CLI_EXIT_INTERNAL;
	}
	return ret;
}
