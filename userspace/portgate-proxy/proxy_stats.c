// SPDX-License-Identifier: MIT
/* proxy_stats: counters per port and result (lock-free), as JSON or Prometheus text. */
#include <stdlib.h>
#include <string.h>
#include "proxy.h"

struct proxy_port_stats {
	uint64_t results[PROXY_R_MAX];
	uint64_t bytes_up, bytes_down; /* client -> backend, backend -> client */
	uint64_t blocks;	       /* block events */
	uint64_t sockmap;	       /* tunnels moved to the sockmap redirect */
	int64_t active;		       /* connections open now */
};

static const struct {
	const char *name;
	int status;
} proxy_results[PROXY_R_MAX] = {
	[PROXY_R_ALLOWED] = { "allowed", 200 },
	[PROXY_R_400] = { "malformed", 400 },
	[PROXY_R_401] = { "missing", 401 },
	[PROXY_R_403] = { "wrong", 403 },
	[PROXY_R_408] = { "slow", 408 },
	[PROXY_R_431] = { "too_large", 431 },
	[PROXY_R_502] = { "backend_down", 502 },
	[PROXY_R_BLOCKED] = { "blocked", 403 },
	[PROXY_R_504] = { "backend_timeout", 504 },
	[PROXY_R_ABORTED] = { "aborted", 0 },
};

/* Backend connections opened [0] and taken from the idle pool [1] (proxy_reuse.c). */
static uint64_t proxy_stats_backends[2];

void proxy_stats_backend(bool reused)
{
	__atomic_add_fetch(&proxy_stats_backends[reused], 1, __ATOMIC_RELAXED);
}

/* Tunnels closed because they carried no byte for tunnel_idle_s (proxy_conn.c). */
static uint64_t proxy_stats_idle_closed;

void proxy_stats_idle(void)
{
	__atomic_add_fetch(&proxy_stats_idle_closed, 1, __ATOMIC_RELAXED);
}

/* Created on a port's first event and kept (a few hundred bytes per port ever used). */
static struct proxy_port_stats *proxy_stats_ports[65536];

static struct proxy_port_stats *proxy_stats_port(uint16_t port)
{
	struct proxy_port_stats *s = __atomic_load_n(&proxy_stats_ports[port], __ATOMIC_ACQUIRE);
	struct proxy_port_stats *expected = NULL;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!__atomic_compare_exchange_n(&proxy_stats_ports[port], &expected, s, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(s); /* another thread was first */
		return expected;
	}
	return s;
}

enum proxy_result proxy_stats_result(int status)
{
	switch (status) {
	case 200:
		return PROXY_R_ALLOWED;
	case 400:
		return PROXY_R_400;
	case 401:
		return PROXY_R_401;
	case 403:
		return PROXY_R_403;
	case 408:
		return PROXY_R_408;
	case 431:
		return PROXY_R_431;
	case 502:
		return PROXY_R_502;
	case 504:
		return PROXY_R_504;
	default:
		return PROXY_R_ABORTED;
	}
}

void proxy_stats_count(uint16_t port, enum proxy_result r)
{
	struct proxy_port_stats *s = proxy_stats_port(port);

	if (s)
		__atomic_add_fetch(&s->results[r], 1, __ATOMIC_RELAXED);
}

void proxy_stats_bytes(uint16_t port, uint64_t up, uint64_t down)
{
	struct proxy_port_stats *s = proxy_stats_port(port);

	if (!s)
		return;
	__atomic_add_fetch(&s->bytes_up, up, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->bytes_down, down, __ATOMIC_RELAXED);
}

void proxy_stats_active(uint16_t port, int delta)
{
	struct proxy_port_stats *s = proxy_stats_port(port);

	if (s)
		__atomic_add_fetch(&s->active, delta, __ATOMIC_RELAXED);
}

void proxy_stats_block(uint16_t port)
{
	struct proxy_port_stats *s = proxy_stats_port(port);

	if (s)
		__atomic_add_fetch(&s->blocks, 1, __ATOMIC_RELAXED);
}

void proxy_stats_sockmap(uint16_t port, int n)
{
	struct proxy_port_stats *s = proxy_stats_port(port);

	if (s)
		__atomic_add_fetch(&s->sockmap, n, __ATOMIC_RELAXED);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

char *proxy_stats_json(void)
{
	size_t blocked = 0, sources = proxy_limits ? proxy_limits_count(proxy_limits, &blocked) : 0;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	bool first = true;

	if (!f)
		return NULL;
	fputs("{\"event\":\"stats\",\"ports\":[", f);
	for (size_t p = 0; p < 65536; p++) {
		struct proxy_port_stats *s =
		    __atomic_load_n(&proxy_stats_ports[p], __ATOMIC_ACQUIRE);
		struct proxy_route *r;

		if (!s)
			continue;
		r = proxy_routes_lookup((uint16_t)p);
		fprintf(f, "%s{\"port\":%zu,%s,\"results\":{", first ? "" : ",", p,
			r ? r->labels_json : "\"service\":\"\",\"port_name\":\"\"");
		proxy_route_put(r);
		for (int i = 0; i < PROXY_R_MAX; i++)
			fprintf(f, "%s\"%s\":%llu", i ? "," : "", proxy_results[i].name,
				(unsigned long long)LOAD(s->results[i]));
		fprintf(f,
			"},\"blocks\":%llu,\"active\":%lld,\"bytes_up\":%llu,\"bytes_down\":%llu,"
			"\"sockmap_tunnels\":%llu}",
			(unsigned long long)LOAD(s->blocks), (long long)LOAD(s->active),
			(unsigned long long)LOAD(s->bytes_up),
			(unsigned long long)LOAD(s->bytes_down),
			(unsigned long long)LOAD(s->sockmap));
		first = false;
	}
	fprintf(f,
		"],\"sources_tracked\":%zu,\"sources_blocked\":%zu,\"events_dropped\":%llu,"
		"\"backend_connections\":{\"new\":%llu,\"reused\":%llu},"
		"\"tunnels_closed\":{\"idle\":%llu}}",
		sources, blocked, (unsigned long long)proxy_events_dropped(),
		(unsigned long long)LOAD(proxy_stats_backends[0]),
		(unsigned long long)LOAD(proxy_stats_backends[1]),
		(unsigned long long)LOAD(proxy_stats_idle_closed));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A label value: backslash, quote and newline escaped (Prometheus text format). */
static void proxy_stats_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

void proxy_stats_prometheus(FILE *f)
{
	static const char *const help[] = {
		"# HELP portgate_proxy_requests_total Connections by the gate's decision.\n"
		"# TYPE portgate_proxy_requests_total counter\n",
		"# HELP portgate_proxy_bytes_total Bytes forwarded, by direction.\n"
		"# TYPE portgate_proxy_bytes_total counter\n",
		"# HELP portgate_proxy_blocks_total Sources blocked after repeated failures.\n"
		"# TYPE portgate_proxy_blocks_total counter\n",
		"# HELP portgate_proxy_connections Connections open now.\n"
		"# TYPE portgate_proxy_connections gauge\n",
		"# HELP portgate_proxy_sockmap_tunnels_total Tunnels moved to the sockmap "
		"redirect.\n"
		"# TYPE portgate_proxy_sockmap_tunnels_total counter\n",
	};

	for (int kind = 0; kind < 5; kind++) {
		fputs(help[kind], f);
		for (size_t p = 0; p < 65536; p++) {
			struct proxy_port_stats *s =
			    __atomic_load_n(&proxy_stats_ports[p], __ATOMIC_ACQUIRE);
			struct proxy_route *r;
			char labels[2 * 2 * PROXY_NAME_MAX + 64];
			FILE *lf;

			if (!s)
				continue;
			r = proxy_routes_lookup((uint16_t)p);
			lf = fmemopen(labels, sizeof(labels), "w");
			if (!lf) {
				proxy_route_put(r);
				continue;
			}
			fprintf(lf, "port=\"%zu\",service=\"", p);
			proxy_stats_label(lf, r ? r->service : "");
			fputs("\",port_name=\"", lf);
			proxy_stats_label(lf, r ? r->port_name : "");
			fputc('"', lf);
			fputc('\0', lf);
			fclose(lf);
			labels[sizeof(labels) - 1] = '\0';
			proxy_route_put(r);
			switch (kind) {
			case 0:
				for (int i = 0; i < PROXY_R_MAX; i++)
					fprintf(f,
						"portgate_proxy_requests_total{%s,result=\"%s\","
						"status=\"%d\"} %llu\n",
						labels, proxy_results[i].name,
						proxy_results[i].status,
						(unsigned long long)LOAD(s->results[i]));
				break;
			case 1:
				fprintf(f, "portgate_proxy_bytes_total{%s,direction=\"up\"} %llu\n",
					labels, (unsigned long long)LOAD(s->bytes_up));
				fprintf(f,
					"portgate_proxy_bytes_total{%s,direction=\"down\"} %llu\n",
					labels, (unsigned long long)LOAD(s->bytes_down));
				break;
			case 2:
				fprintf(f, "portgate_proxy_blocks_total{%s} %llu\n", labels,
					(unsigned long long)LOAD(s->blocks));
				break;
			case 3:
				fprintf(f, "portgate_proxy_connections{%s} %lld\n", labels,
					(long long)LOAD(s->active));
				break;
			default:
				fprintf(f, "portgate_proxy_sockmap_tunnels_total{%s} %llu\n",
					labels, (unsigned long long)LOAD(s->sockmap));
			}
		}
	}
	fputs("# HELP portgate_proxy_tunnels_closed_total Tunnels the proxy closed itself, by "
	      "reason (idle: no byte for tunnel_idle_s).\n"
	      "# TYPE portgate_proxy_tunnels_closed_total counter\n",
	      f);
	fprintf(f, "portgate_proxy_tunnels_closed_total{reason=\"idle\"} %llu\n",
		(unsigned long long)LOAD(proxy_stats_idle_closed));
	fprintf(f, "portgate_proxy_events_dropped_total %llu\n",
		(unsigned long long)proxy_events_dropped());
	fputs("# HELP portgate_proxy_backend_connections_total Backend connections used, new or "
	      "reused from the idle pool.\n"
	      "# TYPE portgate_proxy_backend_connections_total counter\n",
	      f);
	fprintf(f, "portgate_proxy_backend_connections_total{origin=\"new\"} %llu\n",
		(unsigned long long)LOAD(proxy_stats_backends[0]));
	fprintf(f, "portgate_proxy_backend_connections_total{origin=\"reused\"} %llu\n",
		(unsigned long long)LOAD(proxy_stats_backends[1]));
}

void proxy_stats_free(void)
{
	for (size_t p = 0; p < 65536; p++) {
		free(proxy_stats_ports[p]);
		proxy_stats_ports[p] = NULL;
	}
}
