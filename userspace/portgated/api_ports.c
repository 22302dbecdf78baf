// SPDX-License-Identifier: MIT
/* api_ports: validation of a port request and the port-check / ports-global answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "registry_json.h"
#include "token.h"

#define API_MAX_SOURCES 64

struct api_port_req {
	json_int_t port, container_port, allowed_for, backend_port;
	const char *purpose, *bind, *source_token, *port_name, *protocol, *description;
	json_t *allowed;
	int require_token, allow_restricted;
};

/* True when `addr` (binary, family af) is configured on one of the host's interfaces. */
static bool api_local_address(int af, const void *addr)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != af)
			continue;
		if (af == AF_INET)
			found = !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, 4);
		else
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr, 16);
	}
	freeifaddrs(ifa);
	return found;
}

/* Normalizes a bind address into out; 0, or -EINVAL (not an address) / -EADDRNOTAVAIL. */
static int api_bind_address(const char *in, char *out, size_t outlen)
{
	unsigned char bin[16];
	int af = strchr(in, ':') ? AF_INET6 : AF_INET;
	static const unsigned char any6[16], lo6[16] = { [15] = 1 };

	if (inet_pton(af, in, bin) != 1)
		return -EINVAL;
	inet_ntop(af, bin, out, (socklen_t)outlen);
	if (af == AF_INET && (bin[0] == 127 || !memcmp(bin, any6, 4)))
		return 0;
	if (af == AF_INET6 && (!memcmp(bin, any6, 16) || !memcmp(bin, lo6, 16)))
		return 0;
	return api_local_address(af, bin) ? 0 : -EADDRNOTAVAIL;
}

/* "10.1.2.3/8" -> "10.0.0.0/8" (host bits cleared); 0 or -EINVAL. */
static int api_cidr(const char *in, char *out, size_t outlen)
{
	char addr[64];
	unsigned char bin[16];
	const char *slash = strchr(in, '/');
	int af = strchr(in, ':') ? AF_INET6 : AF_INET, max = af == AF_INET ? 32 : 128;
	long prefix = max;
	char *end;

	if ((slash ? (size_t)(slash - in) : strlen(in)) >= sizeof(addr))
		return -EINVAL;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash ? slash - in : (long)strlen(in)), in);
	if (inet_pton(af, addr, bin) != 1)
		return -EINVAL;
	if (slash) {
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		prefix = strtol(slash + 1, &end, 10);
		if (*end || prefix < 0 || prefix > max)
			return -EINVAL;
	}
	for (int bit = (int)prefix; bit < max; bit++)
		bin[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	inet_ntop(af, bin, addr, sizeof(addr));
	snprintf(out, outlen, "%s/%ld", addr, prefix);
	return 0;
}

/* allowed_sources -> "a/n,b/m"; 0, or answers 400 and returns -1. */
static int api_sources(struct api_op *op, json_t *list, char *out, size_t outlen)
{
	size_t i, used = 0;
	json_t *v;

	out[0] = '\0';
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > API_MAX_SOURCES) {
		api_op_refuse(op, 400, "allowed_sources", "expected a list of at most %d CIDRs",
			      API_MAX_SOURCES);
		return -1;
	}
	json_array_foreach(list, i, v)
	{
		char cidr[80];

		if (!json_is_string(v) || api_cidr(json_string_value(v), cidr, sizeof(cidr)) < 0) {
			api_op_refuse(op, 400, "allowed_sources", "%s is not an address or CIDR",
				      json_is_string(v) ? json_string_value(v) : "entry");
			return -1;
		}
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", cidr);
		if (used >= outlen) {
			api_op_refuse(op, 400, "allowed_sources", "too long");
			return -1;
		}
	}
	return 0;
}

static bool api_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A port with a source token is served by portgate-proxy, which forwards HTTP to the backend
 * port; names ending in API_BACKEND_SUFFIX are kept for those backends. */
static int api_port_backend_fields(struct api_port_req *p, struct api_op *op)
{
	size_t n = p->port_name ? strlen(p->port_name) : 0;
	bool token = (p->source_token && *p->source_token) || p->require_token;

	if (n >= strlen(API_BACKEND_SUFFIX) &&
	    strcmp(p->port_name + n - strlen(API_BACKEND_SUFFIX), API_BACKEND_SUFFIX) == 0)
		return api_op_refuse(op, 400, "port_name",
				     "names ending in %s are kept for backends",
				     API_BACKEND_SUFFIX),
		       -1;
	if (p->backend_port != -1 && !token)
		return api_op_refuse(op, 400, "backend_port",
				     "only a token-protected port has a backend"),
		       -1;
	if (p->backend_port != -1 && (p->backend_port < 1 || p->backend_port > 65535))
		return api_op_refuse(op, 400, "backend_port", "out of range 1-65535"), -1;
	if (p->backend_port != -1 && p->backend_port == p->port)
		return api_op_refuse(op, 400, "backend_port",
				     "the backend port must differ from the port"),
		       -1;
	if (token && strcmp(p->protocol, "tcp") != 0)
		return api_op_refuse(op, 400, "protocol",
				     "a token-protected port is HTTP over tcp"),
		       -1;
	return 0;
}

/* Checks every field on its own; 0, or answers 400/403 and returns -1. */
static int api_port_fields(struct api_op *op, struct api_port_req *p)
{
	struct httpd_req *req = op->req;
	bool root = req->peer_known && req->uid == 0;

	if (p->port == -1 && !p->purpose)
		return api_op_refuse(op, 400, "port", "give a port or a purpose"), -1;
	if (p->port != -1 && p->purpose)
		return api_op_refuse(op, 400, "port", "give a port or a purpose, not both"), -1;
	if (p->port != -1 && (p->port < 1 || p->port > 65535))
		return api_op_refuse(op, 400, "port", "%lld is out of range 1-65535",
				     (long long)p->port),
		       -1;
	if (p->purpose && !policy_find_purpose(&op->d->cfg.policy, p->purpose))
		return api_op_refuse(op, 400, "purpose", "unknown purpose %s", p->purpose), -1;
	if (p->container_port != -1 && (p->container_port < 1 || p->container_port > 65535))
		return api_op_refuse(op, 400, "container_port", "out of range 1-65535"), -1;
	if (strcmp(p->protocol, "tcp") && strcmp(p->protocol, "udp"))
		return api_op_refuse(op, 400, "protocol", "expected tcp or udp"), -1;
	if (p->port_name && !api_valid_name(p->port_name))
		return api_op_refuse(
			   op, 400, "port_name",
			   "expected 1-64 of [A-Za-z0-9._-], starting with a letter or digit"),
		       -1;
	if (strlen(p->description) > 256 || !api_printable(p->description))
		return api_op_refuse(op, 400, "description",
				     "at most 256 bytes, no control characters"),
		       -1;
	if (p->source_token && token_validate(p->source_token, strlen(p->source_token)) < 0)
		return api_op_refuse(op, 400, "source_token",
				     "expected 1-256 visible ASCII characters"),
		       -1;
	if (p->allowed_for < 0 || p->allowed_for > 30 * 86400)
		return api_op_refuse(op, 400, "allowed_for", "expected 1 s to 30 days"), -1;
	if (p->allowed_for && json_array_size(p->allowed) == 0)
		return api_op_refuse(op, 400, "allowed_for", "needs allowed_sources"), -1;
	if (p->allow_restricted && !root)
		return api_op_refuse(op, 403, "allow_restricted", "root only"), -1;
	return api_port_backend_fields(p, op);
}

/* The host's listeners for one protocol, taken at most once per event-loop wake-up: every
 * request that arrived in the same batch is checked against the same fresh dump, so a storm
 * of allocations costs one sock_diag walk per batch instead of one per request. */
struct api_listeners {
	unsigned long iteration;
	bool valid;
	uint8_t busy[8192]; /* bit (port - 1) */
};

static const uint8_t *api_listeners(struct daemon *d, int proto)
{
	static struct api_listeners snap[2];
	struct api_listeners *s = &snap[proto == IPPROTO_UDP];
	unsigned long it = evloop_iteration(d->loop);

	if (s->valid && s->iteration == it)
		return s->busy;
	memset(s->busy, 0, sizeof(s->busy));
	s->valid = d->sd && sockdiag_busy_in_range(d->sd, proto, 1, 65535, s->busy) >= 0;
	s->iteration = it;
	return s->valid ? s->busy : NULL;
}

static bool api_listening(const uint8_t *busy, unsigned port)
{
	return busy && port >= 1 && (busy[(port - 1) / 8] & (1u << ((port - 1) % 8)));
}

/* Ports a host process listens on in the range, as "9001,9007" (empty when none). */
static int api_busy_list(struct api_op *op, int proto, const struct pg_range *r, char **out)
{
	const uint8_t *busy = api_listeners(op->d, proto);
	size_t cap = 64, len = 0;
	char *list = malloc(cap);

	if (!list)
		return -ENOMEM;
	list[0] = '\0';
	for (unsigned p = r->first; busy && p <= r->last; p++) {
		if (!busy[(p - 1) / 8]) {
			p = ((p - 1) | 7) + 1; /* no listener in this byte: on to the next */
			continue;
		}
		if (!api_listening(busy, p))
			continue;
		if (len + 8 > cap) {
			char *grown = realloc(list, cap *= 2);

			if (!grown) {
				free(list);
				return -ENOMEM;
			}
			list = grown;
		}
		len += (size_t)sprintf(list + len, "%s%u", len ? "," : "", p);
	}
	*out = list;
	return 0;
}

/* An explicit port must not be held by a process on the host: the answer names it. */
static int api_port_free_on_host(struct api_op *op, int proto, unsigned port, const char *pname)
{
	struct sockdiag_holder h;
	const uint8_t *busy = api_listeners(op->d, proto);

	/* No snapshot (no sock_diag): the registry alone guards the port. */
	if (!api_listening(busy, port))
		return 0;
	if (sockdiag_port_in_use(op->d->sd, proto, (uint16_t)port, &h) <= 0)
		return 0; /* gone since the snapshot */
	if (h.pid)
		api_op_refuse(op, 409, "port", "port %u/%s is in use by %s (pid %d) on %s", port,
			      pname, h.comm, (int)h.pid, h.address);
	else
		api_op_refuse(op, 409, "port", "port %u/%s is in use on %s (uid %u)", port, pname,
			      h.address, (unsigned)h.uid);
	return -1;
}

/* The backend arguments of port_add.lua: port ("auto", a number, "" for none) and range. */
struct api_backend {
	char port[8];
	unsigned first, last;
	const char *purpose;
};

/* "a,b" + "," + "c" into *list (reallocated); 0 or -ENOMEM. */
static int api_busy_join(char **list, const char *more)
{
	size_t a = *list ? strlen(*list) : 0, b = strlen(more);
	char *joined;

	if (!b)
		return 0;
	joined = realloc(*list, a + b + 2);
	if (!joined)
		return -ENOMEM;
	if (a)
		joined[a++] = ',';
	memcpy(joined + a, more, b + 1);
	*list = joined;
	return 0;
}

/* The backend of a token-protected port: the one asked for, which no host process may hold,
 * or the lowest free port of API_BACKEND_PURPOSE, skipping listeners (added to *busy, which
 * the script reads for both ranges). 0, or answers 409 and returns -1. */
static int api_backend(struct api_op *op, const struct api_port_req *p, struct api_backend *b,
		       char **busy)
{
	const struct pg_policy *pol = &op->d->cfg.policy;
	const struct pg_range *r;
	char *more = NULL;

	if (p->backend_port != -1) {
		if (api_port_free_on_host(op, IPPROTO_TCP, (unsigned)p->backend_port, "tcp") < 0)
			return -1;
		r = policy_range_of(pol, (unsigned)p->backend_port);
		snprintf(b->port, sizeof(b->port), "%lld", (long long)p->backend_port);
		b->purpose = r ? r->purpose : "custom";
		return 0;
	}
	r = policy_find_purpose(pol, API_BACKEND_PURPOSE);
	if (!r) {
		api_op_refuse(op, 409, "backend_port",
			      "no %s range for the backend: give backend_port",
			      API_BACKEND_PURPOSE);
		return -1;
	}
	snprintf(b->port, sizeof(b->port), "auto");
	b->first = r->first;
	b->last = r->last;
	b->purpose = r->purpose;
	if (api_busy_list(op, IPPROTO_TCP, r, &more) == 0 && api_busy_join(busy, more) < 0) {
		free(more);
		api_op_refuse(op, 500, NULL, "out of memory");
		return -1;
	}
	free(more);
	return 0;
}

/* What was asked, for the audit trail of a refusal: "port-add my-app api 8081/tcp 0.0.0.0"
 * (a purpose instead of a port when none was given). Never the token itself. */
static void api_port_what(struct api_op *op, const struct api_port_req *p)
{
	char port[80];
	int n;

	if (p->port != -1)
		snprintf(port, sizeof(port), "%lld", (long long)p->port);
	else
		snprintf(port, sizeof(port), "purpose:%.64s", p->purpose ? p->purpose : "?");
	n = snprintf(op->what, sizeof(op->what), "port-add %.64s %.64s%s%s/%.3s %.40s%s%s",
		     op->service, p->port_name ? p->port_name : "", p->port_name ? " " : "", port,
		     p->protocol, p->bind,
		     (p->source_token || p->require_token) ? " token-protected" : "",
		     p->allow_restricted ? " allow-restricted" : "");
	if (n >= (int)sizeof(op->what)) /* cut: the event is still worth having */
		op->what[sizeof(op->what) - 2] = '~';
}

int api_port_add_prepare(struct api_op *op, json_t *body)
{
	struct api_port_req p = { .port = -1,
				  .container_port = -1,
				  .backend_port = -1,
				  .bind = "127.0.0.1",
				  .protocol = "tcp",
				  .description = "" };
	struct httpd_req *req = op->req;
	char bind[64], sources[API_MAX_SOURCES * 52], hash[TOKEN_HASH_TEXT_LEN + 1] = "";
	const struct pg_range *r = NULL;
	struct api_backend b = { .purpose = "" };
	int proto, err;
	char *busy = NULL;
	json_error_t jerr;

	if (json_unpack_ex(
		body, &jerr, JSON_STRICT, "{s?I,s?s,s?s,s?s,s?b,s?s,s?s,s?I,s?o,s?I,s?s,s?b,s?I}",
		"port", &p.port, "purpose", &p.purpose, "bind_address", &p.bind, "source_token",
		&p.source_token, "require_token", &p.require_token, "port_name", &p.port_name,
		"protocol", &p.protocol, "container_port", &p.container_port, "allowed_sources",
		&p.allowed, "allowed_for", &p.allowed_for, "description", &p.description,
		"allow_restricted", &p.allow_restricted, "backend_port", &p.backend_port) < 0) {
		api_op_refuse(op, 400, NULL, "%s", jerr.text);
		return -1;
	}
	api_port_what(op, &p);
	if (api_port_fields(op, &p) < 0 || api_sources(op, p.allowed, sources, sizeof(sources)) < 0)
		return -1;
	err = api_bind_address(p.bind, bind, sizeof(bind));
	if (err < 0) {
		api_op_refuse(op, 400, "bind_address",
			      err == -EINVAL ? "%s is not an IPv4 or IPv6 address"
					     : "%s is not an address of this host",
			      p.bind);
		return -1;
	}
	if (p.source_token && *p.source_token)
		token_hash(p.source_token, strlen(p.source_token), hash);
	else if (p.require_token && token_generate(op->generated_token) == 0)
		token_hash(op->generated_token, strlen(op->generated_token), hash);
	proto = strcmp(p.protocol, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	if (p.purpose) {
		r = policy_find_purpose(&op->d->cfg.policy, p.purpose);
		if (api_busy_list(op, proto, r, &busy) < 0)
			busy = NULL; /* no listener view: allocate from the registry alone */
	} else {
		if (api_port_free_on_host(op, proto, (unsigned)p.port, p.protocol) < 0)
			return -1;
		r = policy_range_of(&op->d->cfg.policy, (unsigned)p.port);
	}
	if (hash[0] && api_backend(op, &p, &b, &busy) < 0) {
		free(busy);
		return -1;
	}
	err =
	    (p.port == -1 ? api_op_arg(op, "") : api_op_argf(op, "%lld", (long long)p.port)) ||
	    api_op_arg(op, r ? r->purpose : "custom") || api_op_argf(op, "%u", r ? r->first : 0) ||
	    api_op_argf(op, "%u", r ? r->last : 0) || api_op_arg(op, p.protocol) ||
	    api_op_arg(op, bind) || api_op_arg(op, p.port_name ? p.port_name : "") ||
	    (p.container_port == -1 ? api_op_arg(op, "")
				    : api_op_argf(op, "%lld", (long long)p.container_port)) ||
	    api_op_arg(op, hash) || api_op_arg(op, hash[0] ? "1" : "0") ||
	    api_op_arg(op, sources) || api_op_arg(op, p.description) ||
	    api_op_arg(op, p.allow_restricted ? "1" : "0") ||
	    api_op_argf(op, "uid %u", (unsigned)req->uid) || api_op_arg(op, busy ? busy : "") ||
	    api_op_argf(op, "%lld", p.allowed_for ? (long long)time(NULL) + p.allowed_for : 0LL) ||
	    api_op_arg(op, b.port) || api_op_argf(op, "%u", b.first) ||
	    api_op_argf(op, "%u", b.last) || api_op_arg(op, b.purpose);
	free(busy);
	if (err) {
		api_op_refuse(op, 500, NULL, "out of memory");
		return -1;
	}
	return 0;
}

json_t *api_check_json(struct daemon *d, const redisReply *reply, unsigned port, const char *proto)
{
	const struct pg_range *r = policy_range_of(&d->cfg.policy, port);
	bool restricted = reply->elements > 2 && reply->element[2]->integer == 1;
	json_t *alloc = reply->elements > 3 ? registry_json_record(reply->element[3]) : NULL;
	json_t *listener = json_null();
	struct sockdiag_holder h;
	char reason[256] = "free";
	bool free_port = true;

	if (alloc && json_object_size(alloc)) {
		snprintf(reason, sizeof(reason), "allocated to %s/%s (%s)",
			 json_string_value(json_object_get(alloc, "service_name")),
			 json_string_value(json_object_get(alloc, "port_name")),
			 json_string_value(json_object_get(alloc, "bind_address")));
		free_port = false;
	} else {
		json_decref(alloc);
		alloc = json_null();
		if (restricted) {
			snprintf(reason, sizeof(reason), "restricted (system reserved)");
			free_port = false;
		}
	}
	if (sockdiag_port_in_use(d->sd, strcmp(proto, "udp") ? IPPROTO_TCP : IPPROTO_UDP,
				 (uint16_t)port, &h) == 1) {
		listener = json_pack("{s:i,s:s,s:s,s:i}", "pid", (int)h.pid, "comm", h.comm,
				     "address", h.address, "uid", (int)h.uid);
		if (free_port)
			snprintf(reason, sizeof(reason), "in use by %s (pid %d) on %s",
				 h.pid ? h.comm : "an unknown process", (int)h.pid, h.address);
		free_port = false;
	}
	return json_pack("{s:i,s:s,s:b,s:s,s:s,s:b,s:o,s:o}", "host_port", (int)port, "protocol",
			 proto, "free", free_port, "reason", reason, "purpose",
			 r ? r->purpose : "custom", "restricted", restricted, "allocation", alloc,
			 "listener", listener);
}

/* Usage of one range in one protocol's bitmap; free runs listed when `available`. */
static json_t *api_range_json(const struct pg_range *r, const char *proto, const redisReply *bits,
			      bool available)
{
	unsigned used = 0, total = (unsigned)(r->last - r->first) + 1;
	json_t *runs = json_array(), *doc;
	long run_start = -1;

	for (unsigned p = r->first; p <= r->last; p++) {
		bool set = registry_bit(bits->str, bits->len, p);

		used += set;
		if (!set && run_start < 0)
			run_start = p;
		if ((set || p == r->last) && run_start >= 0) {
			json_array_append_new(runs, json_pack("[I,I]", (json_int_t)run_start,
							      (json_int_t)(set ? p - 1 : p)));
			run_start = -1;
		}
		if (p == 65535)
			break;
	}
	doc = json_pack("{s:s,s:i,s:i,s:s,s:i,s:i,s:f}", "purpose", r->purpose, "first", r->first,
			"last", r->last, "protocol", proto, "used", used, "free", total - used,
			"percent", (double)((used * 1000 + total / 2) / total) / 10.0);
	if (available)
		json_object_set_new(doc, "free_ranges", runs);
	else
		json_decref(runs);
	return doc;
}

static int api_alloc_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "protocol")) ?: "",
		       json_string_value(json_object_get(y, "protocol")) ?: "");

	if (c)
		return c;
	return (int)(json_integer_value(json_object_get(x, "host_port")) -
		     json_integer_value(json_object_get(y, "host_port")));
}

/* The allocations (records of the global read), sorted by protocol, then port. */
static json_t *api_global_sorted(const redisReply *reply)
{
	json_t *all = registry_json_records(reply, REGISTRY_GLOBAL_RECORDS), *sorted = json_array();
	size_t n = json_array_size(all);
	json_t **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = json_array_get(all, i);
	if (v)
		qsort(v, n, sizeof(*v), api_alloc_cmp);
	for (size_t i = 0; v && i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(all);
	return sorted;
}

json_t *api_global_json(struct daemon *d, const redisReply *reply, bool available)
{
	const struct pg_policy *pol = &d->cfg.policy;
	json_t *ranges = json_array(), *restricted = json_array();

	for (size_t i = 0; i < pol->n_ranges; i++) {
		json_array_append_new(
		    ranges, api_range_json(&pol->ranges[i], "tcp", reply->element[2], available));
		json_array_append_new(
		    ranges, api_range_json(&pol->ranges[i], "udp", reply->element[3], available));
	}
	for (size_t i = 0; i < pol->n_restricted; i++)
		json_array_append_new(restricted, json_integer(pol->restricted[i]));
	return json_pack("{s:o,s:o,s:o}", "allocations", api_global_sorted(reply), "ranges", ranges,
			 "restricted", restricted);
}
