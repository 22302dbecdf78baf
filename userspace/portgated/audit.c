// SPDX-License-Identifier: MIT
/* audit: portgated's audit trail: names events after their ports, aggregates floods, detects
 * scans (and blocks them when configured), and writes every event to the file and the stream. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "audit.h"
#include "audit_agg.h"
#include "audit_file.h"
#include "audit_stream.h"
#include "bpf_enforce.h"
#include "daemon.h"
#include "log.h"
#include "portgate/port_policy.h"
#include "reconciler.h"

#define AUDIT_FILE_FLUSH_MS 50 /* a line reaches the file within this (and at exit, SIGHUP) */
#define AUDIT_JSON_MAX	    8192

struct audit_name {
	char service[64];
	char port_name[64];
};

struct audit {
	struct daemon *d;
	struct audit_agg *agg;
	struct audit_file *file;     /* NULL: audit_file off */
	struct audit_stream *stream; /* NULL: audit_stream_maxlen 0 */
	long agg_timer, file_timer;
	unsigned depth; /* > 0 inside the aggregator: events then go straight to the sinks */
	uint64_t events[AUDIT_NACTIONS][AUDIT_NRESULTS]; /* events represented (sum of count) */
	uint64_t scans, blocks, block_errors, json_errors;
	struct audit_name *names[2][65536]; /* [udp?][port]; NULL: not managed */
};

static void audit_file_timer(struct evloop *loop, void *arg)
{
	struct audit *a = arg;
	int rc;

	a->file_timer = 0;
	rc = audit_file_flush(a->file);
	if (rc < 0)
		log_debug("audit file %s: %s", audit_file_path(a->file), strerror(-rc));
}

/* One event out: metrics, the file, the stream. */
static void audit_sink(struct audit *a, const struct audit_event *ev)
{
	char json[AUDIT_JSON_MAX];
	int n;

	if (ev->action < AUDIT_NACTIONS && ev->result < AUDIT_NRESULTS)
		a->events[ev->action][ev->result] += ev->count ? ev->count : 1;
	if (!a->file && !a->stream)
		return; /* counted; nobody writes it */
	n = audit_event_json(ev, a->d->cfg.host, json, sizeof(json));
	if (n < 0) {
		a->json_errors++;
		return;
	}
	if (a->file) {
		audit_file_append(a->file, json, (size_t)n);
		if (!a->file_timer) {
			long id =
			    evloop_timer_add(a->d->loop, AUDIT_FILE_FLUSH_MS, audit_file_timer, a);

			a->file_timer = id > 0 ? id : 0;
			if (id <= 0)
				audit_file_flush(a->file);
		}
	}
	if (a->stream)
		audit_stream_push(a->stream, json, (size_t)n);
}

static void audit_agg_emit(const struct audit_event *ev, void *arg)
{
	struct audit *a = arg;

	if (ev->action == AUDIT_SCAN)
		a->scans++;
	audit_sink(a, ev);
}

/* A source just passed the scan threshold: block it now (the event follows at window end). */
static void audit_agg_scan(const struct audit_event *ev, void *arg)
{
	struct audit *a = arg;
	unsigned secs = (unsigned)a->d->cfg.scan_block_seconds;
	char ip[INET6_ADDRSTRLEN] = "?";
	int rc;

	inet_ntop(ev->family, ev->src, ip, sizeof(ip));
	log_warn("audit: port scan from %s (%u ports in %llu s)%s", ip, ev->ports,
		 (unsigned long long)a->d->cfg.audit_window,
		 secs && a->d->rec ? ", blocking it" : "");
	if (!secs || !a->d->rec)
		return;
	rc = reconciler_block(a->d->rec, ip, secs);
	if (rc < 0) {
		a->block_errors++;
		log_warn("audit: cannot block %s: %s", ip, strerror(-rc));
	} else {
		a->blocks++;
	}
}

static void audit_tick(struct evloop *loop, void *arg);

/* Keeps one timer for the earliest window end while the aggregator holds keys. */
static void audit_arm(struct audit *a, uint64_t in_us)
{
	long id;

	if (a->agg_timer || in_us == UINT64_MAX)
		return;
	id = evloop_timer_add(a->d->loop, in_us / 1000 + 1, audit_tick, a);
	a->agg_timer = id > 0 ? id : 0;
}

static void audit_tick(struct evloop *loop, void *arg)
{
	struct audit *a = arg;
	uint64_t next;

	a->agg_timer = 0;
	a->depth++;
	next = audit_agg_tick(a->agg, evloop_now_ms() * 1000);
	a->depth--;
	audit_arm(a, next);
}

static struct audit_name *audit_name_of(struct audit *a, uint8_t protocol, uint16_t port)
{
	if (protocol == IPPROTO_TCP)
		return a->names[0][port];
	if (protocol == IPPROTO_UDP)
		return a->names[1][port];
	return NULL;
}

bool audit_port_named(struct audit *a, uint8_t protocol, uint16_t port)
{
	return a && audit_name_of(a, protocol, port);
}

void audit_emit(struct audit *a, const struct audit_event *in)
{
	struct audit_event ev;
	const struct audit_name *nm;

	if (!a)
		return;
	ev = *in;
	if (!ev.time_us)
		ev.time_us = audit_now_us();
	/* The port's owner, when the source did not know it (the kernel knows only numbers). */
	if (!ev.service[0] && ev.dst_port) {
		nm = audit_name_of(a, ev.protocol ? ev.protocol : IPPROTO_TCP, ev.dst_port);
		if (nm) {
			snprintf(ev.service, sizeof(ev.service), "%s", nm->service);
			if (!ev.port_name[0])
				snprintf(ev.port_name, sizeof(ev.port_name), "%s", nm->port_name);
		}
	}
	if (a->depth) {
		/* From inside an aggregator callback (reconciler_block auditing itself): the
		 * aggregator is not re-entrant, and such events are never aggregated anyway. */
		audit_sink(a, &ev);
		return;
	}
	a->depth++;
	audit_agg_add(a->agg, &ev, evloop_now_ms() * 1000);
	a->depth--;
	if (audit_agg_keys(a->agg))
		audit_arm(a, a->d->cfg.audit_window * 1000000);
}

/* A control event from portgated itself (start, stop, sink trouble). */
static void audit_self(struct audit *a, uint8_t action, uint8_t result, const char *reason,
		       const char *what, uint64_t count)
{
	struct audit_event ev = {
		.action = action, .result = result, .pid = -1, .uid = -1, .count = count
	};

	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	snprintf(ev.who, sizeof(ev.who), "portgated");
	snprintf(ev.what, sizeof(ev.what), "%s", what);
	audit_emit(a, &ev);
}

/* The stream dropped events while Redis was away or refused: said once it is back. */
static void audit_stream_lost(uint64_t dropped, void *arg)
{
	struct audit *a = arg;
	char what[160];

	snprintf(what, sizeof(what), "%llu events not appended to the Redis stream",
		 (unsigned long long)dropped);
	log_warn("audit: %s", what);
	audit_self(a, AUDIT_LOSS, AUDIT_LOST, "audit stream queue full or refused", what, dropped);
}

static int audit_open_file(struct audit *a, char *err, size_t errlen)
{
	const struct pg_config *c = &a->d->cfg;
	char path[sizeof(c->audit_file) + 16];
	int rc;

	if (strcmp(c->audit_file, "off") == 0)
		return 0;
	if (c->audit_file[0])
		snprintf(path, sizeof(path), "%s", c->audit_file);
	else
		snprintf(path, sizeof(path), "%s/audit.jsonl", c->state_dir);
	rc = audit_file_open(path, c->audit_max_bytes, &a->file);
	if (rc < 0)
		snprintf(err, errlen, "audit_file %s: %s", path, strerror(-rc));
	return rc;
}

int audit_open(struct daemon *d, struct audit **out, char *err, size_t errlen)
{
	const struct pg_config *c = &d->cfg;
	struct audit_agg_cfg acfg = { .window_us = c->audit_window * 1000000,
				      .threshold = c->audit_threshold,
				      .scan_ports = c->scan_ports,
				      .scan_block = c->scan_block_seconds > 0 };
	struct audit_agg_ops ops = { .emit = audit_agg_emit, .scan = audit_agg_scan };
	struct audit *a = calloc(1, sizeof(*a));
	char what[160];
	int rc;

	if (!a)
		return -ENOMEM;
	a->d = d;
	ops.arg = a;
	rc = audit_agg_new(&acfg, &ops, &a->agg);
	if (rc < 0) {
		snprintf(err, errlen, "audit_window/audit_threshold: %s", strerror(-rc));
		goto fail;
	}
	rc = audit_open_file(a, err, errlen);
	if (rc < 0)
		goto fail;
	if (c->audit_stream_maxlen &&
	    (rc = audit_stream_new(d->loop, &d->reg, c->audit_stream_maxlen, audit_stream_lost, a,
				   &a->stream)) < 0) {
		snprintf(err, errlen, "audit stream: %s", strerror(-rc));
		goto fail;
	}
	*out = a;
	snprintf(what, sizeof(what), "portgated %s started, mode %s, enforcement %s",
		 PORTGATE_VERSION, bpf_enforce_mode_name(c->mode), c->enforce ? "on" : "off");
	audit_self(a, AUDIT_CONTROL, AUDIT_ALLOWED, "portgated started", what, 0);
	return 0;
fail:
	audit_file_close(a->file);
	audit_agg_free(a->agg);
	free(a);
	return rc;
}

void audit_close(struct audit *a)
{
	struct audit_stream_stats ss;

	if (!a)
		return;
	audit_self(a, AUDIT_CONTROL, AUDIT_ALLOWED, "portgated stopped", "portgated stopped", 0);
	if (a->agg_timer)
		evloop_timer_cancel(a->d->loop, a->agg_timer);
	if (a->file_timer)
		evloop_timer_cancel(a->d->loop, a->file_timer);
	a->depth++; /* the last aggregated events go straight out */
	audit_agg_free(a->agg);
	audit_file_close(a->file);
	if (a->stream) {
		audit_stream_stats(a->stream, &ss);
		if (ss.queued)
			log_info("audit: %zu events not appended to the Redis stream at exit (they "
				 "are in the file)",
				 ss.queued);
		audit_stream_free(a->stream);
	}
	audit_unname_all(a);
	free(a);
}

void audit_reopen(struct audit *a)
{
	int rc;

	if (!a || !a->file)
		return;
	rc = audit_file_reopen(a->file);
	if (rc < 0)
		log_warn("audit: cannot reopen %s: %s (still writing to the old file)",
			 audit_file_path(a->file), strerror(-rc));
	else
		log_info("audit: reopened %s", audit_file_path(a->file));
}

void audit_name_port(struct audit *a, uint8_t protocol, uint16_t port, const char *service,
		     const char *port_name)
{
	struct audit_name **slot;

	if (!a || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return;
	slot = &a->names[protocol == IPPROTO_UDP][port];
	if (!*slot && !(*slot = malloc(sizeof(**slot))))
		return;
	snprintf((*slot)->service, sizeof((*slot)->service), "%s", service ? service : "");
	snprintf((*slot)->port_name, sizeof((*slot)->port_name), "%s", port_name ? port_name : "");
}

void audit_unname_port(struct audit *a, uint8_t protocol, uint16_t port)
{
	struct audit_name **slot;

	if (!a || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return;
	slot = &a->names[protocol == IPPROTO_UDP][port];
	free(*slot);
	*slot = NULL;
}

void audit_unname_all(struct audit *a)
{
	if (!a)
		return;
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 65536; i++) {
			free(a->names[p][i]);
			a->names[p][i] = NULL;
		}
	}
}

char *audit_metrics(struct audit *a)
{
	struct audit_stream_stats ss = { 0 };
	struct audit_file_stats fs = { 0 };
	struct audit_agg_stats as;
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (!a || !(m = open_memstream(&text, &len)))
		return NULL;
	audit_agg_stats(a->agg, &as);
	if (a->file)
		audit_file_stats(a->file, &fs);
	if (a->stream)
		audit_stream_stats(a->stream, &ss);
	fprintf(m, "# HELP portgate_audit_events_total Audit events, by action and result (an "
		   "aggregated event counts for all it stands for).\n"
		   "# TYPE portgate_audit_events_total counter\n");
	for (unsigned i = 0; i < AUDIT_NACTIONS; i++)
		for (unsigned r = 0; r < AUDIT_NRESULTS; r++)
			if (a->events[i][r])
				fprintf(m,
					"portgate_audit_events_total{action=\"%s\",result=\"%s\"} "
					"%llu\n",
					audit_action_name(i), audit_result_name(r),
					(unsigned long long)a->events[i][r]);
	fprintf(m,
		"# HELP portgate_audit_aggregated_total Aggregated audit events written (floods).\n"
		"# TYPE portgate_audit_aggregated_total counter\nportgate_audit_aggregated_total "
		"%llu\n"
		"# HELP portgate_audit_scans_total Port scans reported.\n"
		"# TYPE portgate_audit_scans_total counter\nportgate_audit_scans_total %llu\n"
		"# HELP portgate_audit_scan_blocks_total Scanning sources put in the blocked set.\n"
		"# TYPE portgate_audit_scan_blocks_total counter\n"
		"portgate_audit_scan_blocks_total %llu\n"
		"# HELP portgate_audit_lost_total Audit events a sink could not take.\n"
		"# TYPE portgate_audit_lost_total counter\n"
		"portgate_audit_lost_total{sink=\"file\"} %llu\n"
		"portgate_audit_lost_total{sink=\"stream\"} %llu\n"
		"# HELP portgate_audit_stream_queued Audit events waiting for Redis.\n"
		"# TYPE portgate_audit_stream_queued gauge\nportgate_audit_stream_queued %zu\n",
		(unsigned long long)as.aggregated, (unsigned long long)a->scans,
		(unsigned long long)a->blocks, (unsigned long long)(fs.lost + a->json_errors),
		(unsigned long long)ss.dropped, ss.queued);
	if (fclose(m) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
