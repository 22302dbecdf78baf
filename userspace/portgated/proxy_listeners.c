// SPDX-License-Identifier: MIT
/* proxy_listeners: the token-protected ports portgate-proxy serves, and what it reports back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "audit.h"
#include "log.h"
#include "proxy_int.h"
#include "reconciler.h"

#define PROXY_LISTEN_BACKLOG 1024
#define PROXY_MAX_DECISIONS  4096 /* (port, result) pairs counted; more are not */

/* What a `listen` line says about one token-protected port, from its registry record. */
struct proxy_front {
	uint16_t port, backend;
	const char *bind, *hash, *service, *name;
};

/* A field of a raw record ({field, value, ...}, hashes included), or NULL. */
static const char *proxy_listeners_field(const redisReply *rec, const char *name)
{
	if (!rec || rec->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < rec->elements; i += 2) {
		const redisReply *k = rec->element[i], *v = rec->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    strcmp(k->str, name) == 0)
			return v->str;
	}
	return NULL;
}

static uint16_t proxy_listeners_port(const char *s)
{
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 && v <= 65535 ? (uint16_t)v : 0;
}

/* True when rec is a port the proxy serves: tcp, a token hash and a backend. */
static bool proxy_listeners_front(const redisReply *rec, struct proxy_front *f)
{
	const char *proto = proxy_listeners_field(rec, "protocol");

	f->port = proxy_listeners_port(proxy_listeners_field(rec, "host_port"));
	f->backend = proxy_listeners_port(proxy_listeners_field(rec, "backend_port"));
	f->bind = proxy_listeners_field(rec, "bind_address");
	f->hash = proxy_listeners_field(rec, "source_token_hash");
	f->service = proxy_listeners_field(rec, "service_name");
	f->name = proxy_listeners_field(rec, "port_name");
	return proto && strcmp(proto, "tcp") == 0 && f->port && f->backend && f->bind && f->hash &&
	       *f->hash && f->service && f->name;
}

/* Text from the proxy, made safe for one log line. */
static const char *proxy_listeners_clean(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; s && *s && i + 1 < n; s++)
		out[i++] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s;
	out[i] = '\0';
	return out;
}

/* A listening socket on bind:port, as the proxy gets it: non-blocking, SO_REUSEADDR. An fd, or
 * -errno. */
static int proxy_listeners_socket(const char *bind_addr, uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int family = strchr(bind_addr, ':') ? AF_INET6 : AF_INET, one = 1, fd, err;
	bool ok = family == AF_INET6 ? inet_pton(AF_INET6, bind_addr, &a6.sin6_addr) == 1
				     : inet_pton(AF_INET, bind_addr, &a4.sin_addr) == 1;

	if (!ok)
		return -EINVAL;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6))
				: bind(fd, (struct sockaddr *)&a4, sizeof(a4))) < 0 ||
	    listen(fd, PROXY_LISTEN_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static struct proxy_listener *proxy_listeners_find(struct proxy_supervisor *s, uint16_t port)
{
	for (size_t i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].port == port)
			return &s->listeners[i];
	return NULL;
}

static int proxy_listeners_add(struct proxy_supervisor *s, uint16_t port)
{
	if (s->n_listeners == s->cap_listeners) {
		size_t cap = s->cap_listeners ? s->cap_listeners * 2 : 16;
		struct proxy_listener *r = realloc(s->listeners, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->listeners = r;
		s->cap_listeners = cap;
	}
	s->listeners[s->n_listeners++] = (struct proxy_listener){ .port = port, .seen = true };
	return 0;
}

/* Binds the front port and hands it to the proxy with its route. 0 or -errno (logged). */
static int proxy_listeners_listen(struct proxy_supervisor *s, const struct proxy_front *f)
{
	json_t *msg;
	int fd, err;

	fd = proxy_listeners_socket(f->bind, f->port);
	if (fd < 0) {
		snprintf(s->last_error, sizeof(s->last_error), "cannot listen on %s:%u: %s",
			 f->bind, f->port, strerror(-fd));
		log_error("proxy: cannot listen on %s:%u for %s/%s: %s", f->bind, f->port,
			  f->service, f->name, strerror(-fd));
		return fd;
	}
	/* The token hash goes only to the proxy, on this channel; never to a log line. */
	msg = json_pack("{s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:s}", "op", "listen", "port", f->port,
			"bind_address", f->bind, "backend_port", f->backend, "token_hash", f->hash,
			"token_header", PROXY_TOKEN_HEADER, "service", f->service, "port_name",
			f->name);
	err = msg ? proxy_link_send(s->link, msg, fd) : -ENOMEM;
	if (!msg)
		close(fd);
	json_decref(msg);
	if (err == 0)
		err = proxy_listeners_add(s, f->port);
	if (err < 0) {
		log_error("proxy: port %u: %s", f->port, strerror(-err));
		return err;
	}
	log_info("proxy: serving %s:%u for %s/%s (backend 127.0.0.1:%u)", f->bind, f->port,
		 f->service, f->name, f->backend);
	return 0;
}

/* Tells the proxy to stop accepting on route i (its connections carry on) and forgets it. */
static void proxy_listeners_close(struct proxy_supervisor *s, size_t i)
{
	uint16_t port = s->listeners[i].port;
	json_t *msg = json_pack("{s:s,s:i}", "op", "close", "port", port);

	if (msg)
		proxy_link_send(s->link, msg, -1);
	json_decref(msg);
	s->listeners[i] = s->listeners[--s->n_listeners];
	log_info("proxy: port %u closed", port);
}

void proxy_listeners_port_added(struct proxy_supervisor *s, const redisReply *rec)
{
	struct proxy_front f;

	if (!s || !s->link || !proxy_listeners_front(rec, &f))
		return;
	if (!proxy_listeners_find(s, f.port))
		proxy_listeners_listen(s, &f);
}

void proxy_listeners_port_removed(struct proxy_supervisor *s, const redisReply *rec)
{
	const char *proto = proxy_listeners_field(rec, "protocol");
	uint16_t port = proxy_listeners_port(proxy_listeners_field(rec, "host_port"));

	if (!s || !s->link || !proto || strcmp(proto, "tcp") != 0)
		return;
	for (size_t i = 0; i < s->n_listeners; i++) {
		if (s->listeners[i].port == port) {
			proxy_listeners_close(s, i);
			return;
		}
	}
}

/* The full read: open what the registry protects and the proxy lacks, close the rest. Replies
 * come in the order the scripts ran, so incremental changes before and after fit with it. */
static void proxy_listeners_synced(const redisReply *reply, int err, void *arg)
{
	struct proxy_supervisor *s = arg;
	bool again = s->sync_again;
	struct proxy_front f;
	struct proxy_listener *r;

	s->sync_running = false;
	s->sync_again = false;
	if (err < 0)
		return; /* the registry is away: its return brings a sync */
	if (!s->link || s->sync_instance != s->instance) {
		proxy_listeners_sync(s); /* read for a proxy that has died since */
		return;
	}
	for (size_t i = 0; i < s->n_listeners; i++)
		s->listeners[i].seen = false;
	for (size_t i = REGISTRY_GLOBAL_RECORDS; i < reply->elements; i++) {
		if (!proxy_listeners_front(reply->element[i], &f))
			continue;
		r = proxy_listeners_find(s, f.port);
		if (r)
			r->seen = true;
		else
			proxy_listeners_listen(s, &f);
	}
	for (size_t i = s->n_listeners; i-- > 0;)
		if (!s->listeners[i].seen)
			proxy_listeners_close(s, i);
	log_debug("proxy: in sync with the registry (%zu listeners)", s->n_listeners);
	if (again)
		proxy_listeners_sync(s);
}

void proxy_listeners_sync(struct proxy_supervisor *s)
{
	if (!s || !s->link)
		return;
	if (s->sync_running) {
		s->sync_again = true;
		return;
	}
	if (!registry_ready(s->d->reg))
		return; /* on_registry_state calls again once it is */
	if (registry_run(s->d->reg, REG_READ_GLOBAL, 0, NULL, NULL, proxy_listeners_synced, s) < 0)
		return;
	s->sync_running = true;
	s->sync_instance = s->instance;
}

void proxy_listeners_start(struct proxy_supervisor *s)
{
	const struct pg_config *c = &s->d->cfg;
	json_t *msg = json_pack(
	    "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "op", "settings", "head_timeout_ms",
	    (json_int_t)c->proxy_head_timeout_ms, "head_max", (json_int_t)c->proxy_head_max,
	    "fail_limit", (json_int_t)c->proxy_fail_limit, "fail_window_s",
	    (json_int_t)c->proxy_fail_window, "block_s", (json_int_t)c->proxy_block_seconds,
	    "backend_reuse", (json_int_t)c->proxy_backend_reuse, "defer_accept_s",
	    (json_int_t)c->proxy_defer_accept, "answer_timeout_ms",
	    (json_int_t)c->proxy_answer_timeout_ms, "tunnel_idle_s",
	    (json_int_t)c->proxy_tunnel_idle);

	s->n_listeners = 0;
	if (msg)
		proxy_link_send(s->link, msg, -1);
	json_decref(msg);
	proxy_listeners_sync(s);
}

void proxy_listeners_lost(struct proxy_supervisor *s)
{
	s->n_listeners = 0;
	s->ready = false;
}

/* The metric's result label: "allowed", or why not, from the status (never free text). */
static const char *proxy_listeners_result(json_t *ev)
{
	const char *result = json_string_value(json_object_get(ev, "result"));

	if (result && strcmp(result, "allowed") == 0)
		return "allowed";
	switch (json_integer_value(json_object_get(ev, "status"))) {
	case 400:
		return "malformed";
	case 401:
		return "missing_token";
	case 403:
		return "wrong_token";
	case 408:
		return "slow_head";
	case 431:
		return "head_too_large";
	case 502:
		return "backend_down";
	case 504:
		return "backend_timeout";
	default:
		return "denied";
	}
}

static void proxy_listeners_count(struct proxy_supervisor *s, uint16_t port, const char *result)
{
	struct proxy_decision *d;

	for (size_t i = 0; i < s->n_decisions; i++) {
		d = &s->decisions[i];
		if (d->port == port && strcmp(d->result, result) == 0) {
			d->count++;
			return;
		}
	}
	if (s->n_decisions == PROXY_MAX_DECISIONS)
		return;
	if (s->n_decisions == s->cap_decisions) {
		size_t cap = s->cap_decisions ? s->cap_decisions * 2 : 16;

		d = realloc(s->decisions, cap * sizeof(*d));
		if (!d)
			return;
		s->decisions = d;
		s->cap_decisions = cap;
	}
	d = &s->decisions[s->n_decisions++];
	memset(d, 0, sizeof(*d));
	d->port = port;
	snprintf(d->result, sizeof(d->result), "%s", result);
	d->count = 1;
}

/* A proxy event's source, port, service and port name into an audit event (action token). */
static void proxy_listeners_audit_base(json_t *ev, struct audit_event *ae)
{
	const char *src = json_string_value(json_object_get(ev, "source"));
	json_int_t sport = json_integer_value(json_object_get(ev, "source_port"));
	json_int_t port = json_integer_value(json_object_get(ev, "port"));

	memset(ae, 0, sizeof(*ae));
	ae->action = AUDIT_TOKEN;
	ae->protocol = IPPROTO_TCP;
	ae->pid = -1;
	ae->uid = -1;
	ae->family = src && strchr(src, ':') ? AF_INET6 : AF_INET;
	ae->has_src = src && inet_pton(ae->family, src, ae->src) == 1;
	if (!ae->has_src)
		ae->family = 0;
	ae->src_port = sport > 0 && sport <= 65535 ? (uint16_t)sport : 0;
	ae->dst_port = port > 0 && port <= 65535 ? (uint16_t)port : 0;
	proxy_listeners_clean(json_string_value(json_object_get(ev, "service")), ae->service,
			      sizeof(ae->service));
	proxy_listeners_clean(json_string_value(json_object_get(ev, "port_name")), ae->port_name,
			      sizeof(ae->port_name));
}

/* The proxy's decision on one connection, into the audit trail. */
static void proxy_listeners_audit_token(struct proxy_supervisor *s, json_t *ev, const char *result)
{
	struct audit_event ae;
	char why[48];

	proxy_listeners_audit_base(ev, &ae);
	ae.result = strcmp(result, "allowed") == 0 ? AUDIT_ALLOWED : AUDIT_DENIED;
	proxy_listeners_clean(json_string_value(json_object_get(ev, "reason")), why, sizeof(why));
	snprintf(ae.reason, sizeof(ae.reason), "%lld %s",
		 (long long)json_integer_value(json_object_get(ev, "status")), why);
	audit_emit(s->d->audit, &ae);
}

/* A decision: counted per port and result, logged at debug level and audited. Events carry no
 * token; a reason from the proxy is still cleaned before it is logged. */
static void proxy_listeners_token(struct proxy_supervisor *s, json_t *ev)
{
	const char *result = proxy_listeners_result(ev);
	uint16_t port = (uint16_t)json_integer_value(json_object_get(ev, "port"));
	char src[64], svc[80], name[80], reason[64];

	s->n_events++;
	proxy_listeners_count(s, port, result);
	proxy_listeners_audit_token(s, ev, result);
	log_debug("proxy: %s:%lld -> port %u (%s/%s): %lld %s (%s)",
		  proxy_listeners_clean(json_string_value(json_object_get(ev, "source")), src,
					sizeof(src)),
		  (long long)json_integer_value(json_object_get(ev, "source_port")), port,
		  proxy_listeners_clean(json_string_value(json_object_get(ev, "service")), svc,
					sizeof(svc)),
		  proxy_listeners_clean(json_string_value(json_object_get(ev, "port_name")), name,
					sizeof(name)),
		  (long long)json_integer_value(json_object_get(ev, "status")), result,
		  proxy_listeners_clean(json_string_value(json_object_get(ev, "reason")), reason,
					sizeof(reason)));
}

/* Too many failures from one source: into the nftables blocked set, for block_s seconds. */
static void proxy_listeners_block(struct proxy_supervisor *s, json_t *ev)
{
	const char *source = json_string_value(json_object_get(ev, "source"));
	json_int_t secs = json_integer_value(json_object_get(ev, "block_s"));
	json_int_t failures = json_integer_value(json_object_get(ev, "failures"));
	struct audit_event ae;
	char src[64];
	int err = -ENOTCONN;

	proxy_listeners_clean(source, src, sizeof(src));
	if (secs <= 0 || secs > 30 * 86400)
		secs = (json_int_t)s->d->cfg.proxy_block_seconds;
	if (!s->d->rec)
		log_warn("proxy: %s failed too often on port %lld; not blocked (enforcement off)",
			 src, (long long)json_integer_value(json_object_get(ev, "port")));
	else
		err = reconciler_block(s->d->rec, source, (unsigned)secs);
	if (s->d->rec && err < 0)
		log_error("proxy: cannot block %s: %s", src, strerror(-err));
	/* In the trail either way: blocked, or denied with why it could not be blocked. */
	proxy_listeners_audit_base(ev, &ae);
	ae.result = err == 0 ? AUDIT_BLOCKED : AUDIT_DENIED;
	snprintf(ae.reason, sizeof(ae.reason), "%lld failures: %s %lld s", (long long)failures,
		 err == 0 ? "blocked for" : "not blocked, asked for", (long long)secs);
	audit_emit(s->d->audit, &ae);
	if (err < 0)
		return;
	s->blocks++;
	log_warn("proxy: blocked %s for %lld s after %lld failures on port %lld", src,
		 (long long)secs, (long long)failures,
		 (long long)json_integer_value(json_object_get(ev, "port")));
}

void proxy_listeners_event(json_t *ev, void *arg)
{
	struct proxy_supervisor *s = arg;
	const char *name;
	char text[200];

	if (!ev) {
		proxy_supervisor_kill(s, "control channel closed");
		return;
	}
	name = json_string_value(json_object_get(ev, "event"));
	if (!name) {
		log_debug("proxy: a line without an event");
	} else if (strcmp(name, "token") == 0) {
		proxy_listeners_token(s, ev);
	} else if (strcmp(name, "block") == 0) {
		proxy_listeners_block(s, ev);
	} else if (strcmp(name, "ready") == 0) {
		s->ready = true;
		log_info("portgate-proxy ready (pid %d)", (int)s->pid);
	} else if (strcmp(name, "listening") == 0) {
		log_debug("proxy: listening on port %lld",
			  (long long)json_integer_value(json_object_get(ev, "port")));
	} else if (strcmp(name, "error") == 0) {
		proxy_listeners_clean(json_string_value(json_object_get(ev, "error")), text,
				      sizeof(text));
		snprintf(s->last_error, sizeof(s->last_error), "port %lld: %s",
			 (long long)json_integer_value(json_object_get(ev, "port")), text);
		log_warn("portgate-proxy: %s", s->last_error);
	} else {
		log_debug("proxy: unknown event %s",
			  proxy_listeners_clean(name, text, sizeof(text)));
	}
}
