// SPDX-License-Identifier: MIT
/* metrics: /health and Prometheus /metrics on the metrics address (127.0.0.1:9464). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "daemon.h"
#include "metrics.h"
#include "proxy_supervisor.h"
#include "registry_json.h"

struct metrics_buf {
	char *text;
	size_t len, cap;
};

static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->text)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		size_t cap = (b->cap + (size_t)n) * 2;
		char *p = realloc(b->text, cap);

		if (!p) {
			free(b->text);
			b->text = NULL;
			return;
		}
		b->text = p;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void metrics_counters(struct daemon *d, struct metrics_buf *b)
{
	const struct httpd_stats *api = httpd_stats(d->api);

	metrics_printf(b, "# HELP portgate_up portgated is running.\n# TYPE portgate_up gauge\n"
			  "portgate_up 1\n");
	metrics_printf(b,
		       "# HELP portgate_uptime_seconds Seconds since portgated started.\n"
		       "# TYPE portgate_uptime_seconds gauge\nportgate_uptime_seconds %.3f\n",
		       (double)(evloop_now_ms() - d->started_ms) / 1000.0);
	metrics_printf(b,
		       "# HELP portgate_registry_up The registry (Redis) answers.\n"
		       "# TYPE portgate_registry_up gauge\nportgate_registry_up %d\n",
		       registry_ready(d->reg));
	metrics_printf(b,
		       "# HELP portgate_redis_reconnects_total Reconnections to Redis.\n"
		       "# TYPE portgate_redis_reconnects_total counter\n"
		       "portgate_redis_reconnects_total %lu\n",
		       registry_reconnects(d->reg));
	metrics_printf(b,
		       "# HELP portgate_api_requests_total Control API requests answered.\n"
		       "# TYPE portgate_api_requests_total counter\n"
		       "portgate_api_requests_total %lu\n",
		       api ? api->requests : 0);
	metrics_printf(b,
		       "# HELP portgate_api_errors_total Control API answers >= 400.\n"
		       "# TYPE portgate_api_errors_total counter\n"
		       "portgate_api_errors_total %lu\n",
		       api ? api->errors : 0);
}

/* portgate-proxy: up, restarts, listeners, sources blocked, decisions per port and result. */
static void metrics_proxy(struct daemon *d, struct metrics_buf *b)
{
	const struct proxy_decision *dec;
	struct proxy_stats st;
	size_t n;

	proxy_supervisor_stats(d->proxy, &st);
	metrics_printf(b,
		       "# HELP portgate_proxy_up portgate-proxy is running.\n"
		       "# TYPE portgate_proxy_up gauge\nportgate_proxy_up %d\n"
		       "# HELP portgate_proxy_restarts_total Restarts of portgate-proxy.\n"
		       "# TYPE portgate_proxy_restarts_total counter\n"
		       "portgate_proxy_restarts_total %lu\n"
		       "# HELP portgate_proxy_listeners Token-protected ports being served.\n"
		       "# TYPE portgate_proxy_listeners gauge\nportgate_proxy_listeners %u\n"
		       "# HELP portgate_proxy_blocks_total Sources put in the blocked set.\n"
		       "# TYPE portgate_proxy_blocks_total counter\n"
		       "portgate_proxy_blocks_total %lu\n",
		       st.running, st.restarts, st.listeners, st.blocks);
	dec = proxy_supervisor_decisions(d->proxy, &n);
	metrics_printf(b, "# HELP portgate_proxy_decisions_total Requests the proxy decided on, "
			  "by port and result.\n# TYPE portgate_proxy_decisions_total counter\n");
	for (size_t i = 0; i < n; i++)
		metrics_printf(b,
			       "portgate_proxy_decisions_total{port=\"%u\",result=\"%s\"} %llu\n",
			       dec[i].port, dec[i].result, dec[i].count);
}

/* The audit trail's counters (audit.c writes them). */
static void metrics_audit(struct daemon *d, struct metrics_buf *b)
{
	char *text = audit_metrics(d->audit);

	if (text)
		metrics_printf(b, "%s", text);
	free(text);
}

/* Allocations and free ports per purpose and protocol, from the global read. */
static void metrics_ranges(struct daemon *d, struct metrics_buf *b, const redisReply *reply)
{
	const struct pg_policy *pol = &d->cfg.policy;
	static const char *const protos[] = { "tcp", "udp" };

	metrics_printf(b, "# HELP portgate_allocations Ports allocated, by purpose.\n"
			  "# TYPE portgate_allocations gauge\n");
	for (int pi = 0; pi < 2; pi++) {
		size_t count[PG_MAX_PURPOSES + 1] = { 0 };

		for (size_t i = REGISTRY_GLOBAL_RECORDS; i < reply->elements; i++) {
			json_t *rec = registry_json_record(reply->element[i]);
			const char *proto = json_string_value(json_object_get(rec, "protocol"));
			const char *purpose = json_string_value(json_object_get(rec, "purpose"));
			size_t k = pol->n_ranges;

			for (size_t r = 0; purpose && r < pol->n_ranges; r++)
				if (strcmp(pol->ranges[r].purpose, purpose) == 0)
					k = r;
			if (proto && strcmp(proto, protos[pi]) == 0)
				count[k]++;
			json_decref(rec);
		}
		for (size_t r = 0; r < pol->n_ranges; r++)
			metrics_printf(b,
				       "portgate_allocations{purpose=\"%s\",protocol=\"%s\"} %zu\n",
				       pol->ranges[r].purpose, protos[pi], count[r]);
		metrics_printf(b, "portgate_allocations{purpose=\"custom\",protocol=\"%s\"} %zu\n",
			       protos[pi], count[pol->n_ranges]);
	}
	metrics_printf(b, "# HELP portgate_free_ports Ports free in each purpose range.\n"
			  "# TYPE portgate_free_ports gauge\n");
	for (int pi = 0; pi < 2; pi++) {
		const redisReply *bits = reply->element[2 + pi];

		for (size_t r = 0; r < pol->n_ranges; r++) {
			unsigned free_ports = 0;

			for (unsigned p = pol->ranges[r].first; p <= pol->ranges[r].last; p++) {
				free_ports += !registry_bit(bits->str, bits->len, p);
				if (p == 65535)
					break;
			}
			metrics_printf(b,
				       "portgate_free_ports{purpose=\"%s\",protocol=\"%s\"} %u\n",
				       pol->ranges[r].purpose, protos[pi], free_ports);
		}
	}
}

struct metrics_scrape {
	struct daemon *d;
	struct httpd_req *req;
};

static void metrics_send(struct daemon *d, struct httpd_req *req, const redisReply *reply)
{
	struct metrics_buf b = { .text = malloc(4096), .cap = 4096 };

	if (b.text)
		b.text[0] = '\0';
	metrics_counters(d, &b);
	metrics_proxy(d, &b);
	metrics_audit(d, &b);
	if (reply)
		metrics_ranges(d, &b, reply);
	if (!b.text) {
		httpd_reply_error(req, 500, NULL, "out of memory");
		return;
	}
	httpd_reply(req, 200, "text/plain; version=0.0.4", b.text, b.len);
	free(b.text);
}

static void metrics_scraped(const redisReply *reply, int err, void *arg)
{
	struct metrics_scrape *s = arg;

	metrics_send(s->d, s->req, err ? NULL : reply);
	free(s);
}

void metrics_handle(struct httpd_req *req, void *arg)
{
	struct daemon *d = arg;
	struct metrics_scrape *s;

	if (strcmp(req->method, "GET") != 0) {
		httpd_reply_error(req, 405, NULL, "only GET");
	} else if (strcmp(req->path, "/health") == 0) {
		httpd_reply_json(req, 200,
				 json_pack("{s:s,s:s,s:s,s:f}", "status", "ok", "service",
					   "portgated", "version", PORTGATE_VERSION,
					   "uptime_seconds",
					   (double)(evloop_now_ms() - d->started_ms) / 1000.0));
	} else if (strcmp(req->path, "/metrics") != 0) {
		httpd_reply_error(req, 404, NULL, "try /health or /metrics");
	} else if (!(s = calloc(1, sizeof(*s)))) {
		httpd_reply_error(req, 500, NULL, "out of memory");
	} else {
		s->d = d;
		s->req = req;
		if (registry_run(d->reg, REG_READ_GLOBAL, 0, NULL, NULL, metrics_scraped, s) < 0)
			metrics_scraped(NULL, -1, s);
	}
}
