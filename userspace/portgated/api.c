// SPDX-License-Identifier: MIT
/* api: the control API's routes (docs/api.md), answered through the registry. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include "api.h"
#include "audit.h"
#include "http_head.h"
#include "log.h"
#include "registry_json.h"
#include "token.h"

#define API_MAX_SEGMENTS 6

struct api_route {
	const char *method;
	char seg[API_MAX_SEGMENTS][128]; /* decoded path segments */
	int n;
};

bool api_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

struct api_op *api_op_new(struct daemon *d, struct httpd_req *req, enum registry_script script)
{
	struct api_op *op = calloc(1, sizeof(*op));

	if (!op) {
		httpd_reply_error(req, 500, NULL, "out of memory");
		return NULL;
	}
	op->d = d;
	op->req = req;
	op->script = script;
	return op;
}

void api_op_free(struct api_op *op)
{
	if (!op)
		return;
	for (int i = 0; i < op->argc; i++)
		free(op->argv[i]);
	free(op);
}

int api_op_arg(struct api_op *op, const char *s)
{
	if (op->argc == (int)(sizeof(op->argv) / sizeof(op->argv[0])))
		return -E2BIG;
	op->argv[op->argc] = strdup(s);
	if (!op->argv[op->argc])
		return -ENOMEM;
	op->argc++;
	return 0;
}

int api_op_argf(struct api_op *op, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return api_op_arg(op, buf);
}

static const char *api_str(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

/*
 * A control event: who asked (owner: a non-root caller that proved the owner token of `owner`;
 * else the peer's uid), what, and the result the HTTP status says, with msg as the reason of a
 * refusal. Filled before the answer goes out: answering may reuse req for the next request.
 */
static void api_control_event(struct audit_event *ev, const struct httpd_req *req,
			      const char *owner, const char *service, const char *what, int status,
			      const char *msg)
{
	memset(ev, 0, sizeof(*ev));
	ev->action = AUDIT_CONTROL;
	ev->result = status < 400 ? AUDIT_ALLOWED : AUDIT_DENIED;
	ev->pid = req->peer_known ? (int32_t)req->pid : -1;
	ev->uid = req->peer_known ? (int64_t)req->uid : -1;
	if (owner && *owner)
		snprintf(ev->who, sizeof(ev->who), "owner:%.64s", owner);
	else if (req->peer_known)
		snprintf(ev->who, sizeof(ev->who), "uid:%u", (unsigned)req->uid);
	else
		snprintf(ev->who, sizeof(ev->who), "unknown");
	snprintf(ev->service, sizeof(ev->service), "%s", service ? service : "");
	snprintf(ev->what, sizeof(ev->what), "%s", what);
	if (status >= 400)
		snprintf(ev->reason, sizeof(ev->reason), "%d %.58s", status % 1000, msg);
	else if (msg)
		snprintf(ev->reason, sizeof(ev->reason), "%s", msg);
}

/* The owner a non-root caller proved, or NULL (root, or not proven). */
static const char *api_op_owner(const struct api_op *op)
{
	return op->owner_hash[0] ? op->service : NULL;
}

static void api_vrefuse(struct daemon *d, struct httpd_req *req, const char *owner,
			const char *service, const char *what, int status, const char *field,
			const char *fmt, va_list ap)
{
	struct audit_event ev;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (what && *what)
		api_control_event(&ev, req, owner, service, what, status, msg);
	httpd_reply_error(req, status, field, "%s", msg);
	if (what && *what)
		audit_emit(d->audit, &ev);
}

void api_op_refuse(struct api_op *op, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_vrefuse(op->d, op->req, api_op_owner(op), op->service, op->what, status, field, fmt,
		    ap);
	va_end(ap);
}

void api_refuse(struct daemon *d, struct httpd_req *req, const char *what, int status,
		const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_vrefuse(d, req, NULL, NULL, what, status, field, fmt, ap);
	va_end(ap);
}

void api_mutation_allowed(struct daemon *d, const struct httpd_req *req, const char *what)
{
	struct audit_event ev;

	api_control_event(&ev, req, NULL, NULL, what, 200, NULL);
	audit_emit(d->audit, &ev);
}

/* A successful mutation's event: what it did, told from the reply (a port's record: port,
 * protocol, port name, and a restricted port granted says so). Never a token. */
static void api_op_success_event(struct api_op *op, const redisReply *reply, int status,
				 struct audit_event *ev)
{
	bool port_op = op->script == REG_PORT_ADD || op->script == REG_PORT_REMOVE;
	json_t *rec =
	    port_op && reply->elements > 2 ? registry_json_record(reply->element[2]) : NULL;
	const char *proto = json_string_value(json_object_get(rec, "protocol")) ?: "tcp";
	const char *name = json_string_value(json_object_get(rec, "port_name")) ?: "";
	json_int_t port = json_integer_value(json_object_get(rec, "host_port"));
	bool grant = json_is_true(json_object_get(rec, "restricted_grant"));
	char what[160];

	if (op->script == REG_PORT_ADD)
		snprintf(what, sizeof(what), "port-add %.64s %.64s %lld/%s %.40s%s%s", op->service,
			 name, (long long)port, proto,
			 json_string_value(json_object_get(rec, "bind_address")) ?: "",
			 json_is_true(json_object_get(rec, "require_token")) ? " token-protected"
									     : "",
			 grant ? " restricted-granted" : "");
	else if (op->script == REG_PORT_REMOVE)
		snprintf(what, sizeof(what), "port-remove %.64s %.64s %lld/%s", op->service, name,
			 (long long)port, proto);
	else if (op->script == REG_SERVICE_DELETE)
		snprintf(what, sizeof(what), "%.100s (%zu ports released)", op->what,
			 reply->elements > 3 ? reply->elements - 3 : 0);
	else if (op->script == REG_CLEANUP)
		snprintf(what, sizeof(what), "cleanup (%zu released)",
			 reply->elements > 2 ? reply->elements - 2 : 0);
	else
		snprintf(what, sizeof(what), "%s", op->what);
	api_control_event(ev, op->req, api_op_owner(op), op->service, what, status,
			  grant ? "restricted port granted (--allow-restricted)" : NULL);
	if (rec) {
		ev->protocol = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		ev->dst_port = (uint16_t)port;
		snprintf(ev->port_name, sizeof(ev->port_name), "%s", name);
	}
	json_decref(rec);
}

/* {status, "error", field, message} -> the JSON error answer. */
static void api_reply_script_error(struct api_op *op, int status, const redisReply *reply)
{
	const char *field = reply->elements > 2 ? api_str(reply->element[2]) : "";

	api_op_refuse(op, status, *field ? field : NULL, "%s",
		      reply->elements > 3 ? api_str(reply->element[3]) : "registry error");
}

static json_t *api_service_json(const redisReply *reply)
{
	json_t *svc = registry_json_record(reply->element[2]);

	json_object_set_new(svc, "ports", registry_json_records(reply, 3));
	return svc;
}

/* Turns a script's {status, kind, ...} reply into the answer docs/api.md promises. */
static json_t *api_reply_json(struct api_op *op, const redisReply *reply, const char *kind)
{
	json_t *doc;

	if (strcmp(kind, "service") == 0 && op->script == REG_SERVICE_CREATE) {
		doc = registry_json_record(reply->element[2]);
		json_object_set_new(doc, "owner_token", json_string(op->generated_token));
		return doc;
	}
	if (strcmp(kind, "service") == 0)
		return api_service_json(reply);
	if (strcmp(kind, "port") == 0) {
		doc = registry_json_record(reply->element[2]);
		if (op->generated_token[0])
			json_object_set_new(doc, "source_token", json_string(op->generated_token));
		return doc;
	}
	if (strcmp(kind, "services") == 0)
		return json_pack("{s:o}", "services", registry_json_records(reply, 2));
	if (strcmp(kind, "released") == 0)
		return json_pack("{s:s,s:o}", "service_name", op->service, "released",
				 registry_json_records(reply, 3));
	if (strcmp(kind, "cleanup") == 0)
		return json_pack("{s:o,s:i}", "released", registry_json_records(reply, 2), "count",
				 (json_int_t)(reply->elements - 2));
	return NULL;
}

static void api_op_done(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;
	struct httpd_req *req = op->req;
	struct audit_event ev;
	const char *kind;
	int status;

	if (err == -ENOTCONN) {
		api_op_refuse(op, 503, NULL, "registry unavailable, retry later");
	} else if (err < 0) {
		api_op_refuse(op, 500, NULL, "registry error");
	} else {
		status = (int)reply->element[0]->integer;
		kind = api_str(reply->element[1]);
		if (strcmp(kind, "error") == 0) {
			api_reply_script_error(op, status, reply);
		} else {
			api_kernel_apply(op->d, op->script, reply);
			if (op->what[0])
				api_op_success_event(op, reply, status, &ev);
			httpd_reply_json(req, status, api_reply_json(op, reply, kind));
			/* In the trail once answered: the answer is never held up by it. */
			if (op->what[0])
				audit_emit(op->d->audit, &ev);
		}
	}
	api_op_free(op);
}

void api_op_run(struct api_op *op)
{
	int err = registry_run(op->d->reg, op->script, op->argc, (const char *const *)op->argv,
			       NULL, api_op_done, op);

	if (err < 0) {
		api_op_refuse(op, err == -ENOTCONN ? 503 : 500, NULL, "%s",
			      err == -ENOTCONN ? "registry unavailable, retry later"
					       : "registry error");
		api_op_free(op);
	}
}

/* Second step of the owner check: compare in constant time, then run the mutation with
 * the proven hash, which the script checks again atomically (owner_ok in common.lua). */
static void api_owner_checked(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;
	const char *hash = reply && reply->elements > 2 ? api_str(reply->element[2]) : "";
	const char *tok = op->req->owner_token;

	if (err < 0) {
		api_op_done(NULL, err, op);
		return;
	}
	if (!*hash) {
		api_op_refuse(op, 404, "service_name", "no service %s", op->service);
		api_op_free(op);
		return;
	}
	if (!token_matches(tok, strlen(tok), hash)) {
		api_op_refuse(op, 403, "owner_token", "owner token does not match service %s",
			      op->service);
		api_op_free(op);
		return;
	}
	snprintf(op->owner_hash, sizeof(op->owner_hash), "%s", hash);
	free(op->argv[2]);
	op->argv[2] = strdup(hash);
	if (!op->argv[2]) {
		api_op_refuse(op, 500, NULL, "out of memory");
		api_op_free(op);
		return;
	}
	api_op_run(op);
}

/* Mutation scripts take ARGV[3] = owner hash ('' = root); argv[2] is its slot. */
void api_op_run_as_owner(struct api_op *op)
{
	const char *name = op->service;
	int err;

	if (op->req->peer_known && op->req->uid == 0) {
		api_op_run(op);
		return;
	}
	if (!op->req->owner_token[0]) {
		api_op_refuse(op, 401, "owner_token",
			      "owner token of service %s needed (X-Owner-Token)", name);
		api_op_free(op);
		return;
	}
	err = registry_run(op->d->reg, REG_READ_OWNER, 1, &name, NULL, api_owner_checked, op);
	if (err < 0)
		api_op_done(NULL, err, op);
}

/* A service's cgroup: root only (it decides who may bind the service's ports), an existing
 * cgroup v2 directory. Answers 400/403 and returns -1 when not. */
static int api_check_cgroup(struct daemon *d, struct httpd_req *req, const char *what,
			    const char *path)
{
	struct statfs fs;
	struct stat st;

	if (!(req->peer_known && req->uid == 0)) {
		api_refuse(d, req, what, 403, "cgroup", "root only");
		return -1;
	}
	if (path[0] != '/' || strlen(path) >= 4096 || strstr(path, "/../") || stat(path, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || statfs(path, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		api_refuse(d, req, what, 400, "cgroup", "%s is not a cgroup v2 directory", path);
		return -1;
	}
	return 0;
}

static void api_service_create(struct daemon *d, struct httpd_req *req, json_t *body)
{
	const char *name = NULL, *desc = "", *cgroup = "";
	char hash[TOKEN_HASH_TEXT_LEN + 1], what[160] = "service-create";
	json_error_t jerr;
	struct api_op *op;

	if (json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s,s?s,s?s}", "service_name", &name,
			   "description", &desc, "cgroup", &cgroup) < 0) {
		api_refuse(d, req, what, 400, "service_name", "%s", jerr.text);
		return;
	}
	if (!api_valid_name(name)) {
		api_refuse(d, req, what, 400, "service_name",
			   "expected 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
		return;
	}
	snprintf(what, sizeof(what), "service-create %s%s%.80s", name, *cgroup ? " cgroup " : "",
		 cgroup);
	if (strlen(desc) > 256) {
		api_refuse(d, req, what, 400, "description", "longer than 256 bytes");
		return;
	}
	if (*cgroup && api_check_cgroup(d, req, what, cgroup) < 0)
		return;
	op = api_op_new(d, req, REG_SERVICE_CREATE);
	if (!op)
		return;
	snprintf(op->what, sizeof(op->what), "%s", what);
	snprintf(op->service, sizeof(op->service), "%s", name);
	if (token_generate(op->generated_token) < 0) {
		api_op_refuse(op, 500, NULL, "no randomness for the owner token");
		api_op_free(op);
		return;
	}
	token_hash(op->generated_token, strlen(op->generated_token), hash);
	if (api_op_argf(op, "%ld", (long)time(NULL)) < 0 || api_op_arg(op, name) < 0 ||
	    api_op_arg(op, desc) < 0 || api_op_arg(op, hash) < 0 || api_op_arg(op, cgroup) < 0) {
		api_op_refuse(op, 500, NULL, "out of memory");
		api_op_free(op);
		return;
	}
	api_op_run(op);
}

/* Mutations on one service: delete it, add or remove a port. */
static void api_service_change(struct daemon *d, struct httpd_req *req, enum registry_script s,
			       const char *name, const char *port_name, json_t *body)
{
	struct api_op *op = api_op_new(d, req, s);

	if (!op)
		return;
	snprintf(op->service, sizeof(op->service), "%s", name);
	snprintf(op->what, sizeof(op->what), "%s %s%s%.64s",
		 s == REG_PORT_ADD	? "port-add"
		 : s == REG_PORT_REMOVE ? "port-remove"
					: "service-delete",
		 name, port_name ? " " : "", port_name ? port_name : "");
	if (api_op_argf(op, "%ld", (long)time(NULL)) < 0 || api_op_arg(op, name) < 0 ||
	    api_op_arg(op, "") < 0 || (port_name && api_op_arg(op, port_name) < 0)) {
		api_op_refuse(op, 500, NULL, "out of memory");
		api_op_free(op);
		return;
	}
	if (s == REG_PORT_ADD && api_port_add_prepare(op, body) < 0) {
		api_op_free(op);
		return;
	}
	api_op_run_as_owner(op);
}

static void api_read(struct daemon *d, struct httpd_req *req, enum registry_script s,
		     const char *arg)
{
	struct api_op *op = api_op_new(d, req, s);

	if (!op)
		return;
	if (s == REG_CLEANUP)
		snprintf(op->what, sizeof(op->what), "cleanup");
	if (arg && api_op_arg(op, arg) < 0) {
		httpd_reply_error(req, 500, NULL, "out of memory");
		api_op_free(op);
		return;
	}
	api_op_run(op);
}

/* GET /v1/services/{name}/ports answers {service_name, ports}: a reshaped read. */
static void api_ports_of_done(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;

	if (err == 0 && reply->element[0]->integer == 200) {
		httpd_reply_json(op->req, 200,
				 json_pack("{s:s,s:o}", "service_name", op->service, "ports",
					   registry_json_records(reply, 3)));
		api_op_free(op);
		return;
	}
	api_op_done(reply, err, op);
}

static void api_check_done(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;

	if (err == 0) {
		httpd_reply_json(
		    op->req, 200,
		    api_check_json(op->d, reply, (unsigned)atoi(op->argv[1]), op->argv[0]));
		api_op_free(op);
		return;
	}
	api_op_done(reply, err, op);
}

static void api_global_done(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;

	if (err == 0) {
		httpd_reply_json(op->req, 200,
				 api_global_json(op->d, reply, op->service[0] == '1'));
		api_op_free(op);
		return;
	}
	api_op_done(reply, err, op);
}

static void api_run_with(struct api_op *op, registry_cb cb)
{
	int err = registry_run(op->d->reg, op->script, op->argc, (const char *const *)op->argv,
			       NULL, cb, op);

	if (err < 0)
		api_op_done(NULL, err, op);
}

static void api_port_check(struct daemon *d, struct httpd_req *req, const char *port_text)
{
	char proto[8] = "tcp";
	uint16_t port;
	struct api_op *op;
	int n;

	if (policy_parse_port(port_text, &port) < 0) {
		httpd_reply_error(req, 400, "port", "%s is not a port (1-65535)", port_text);
		return;
	}
	n = http_query_param(req->query, strlen(req->query), "protocol", proto, sizeof(proto));
	if ((n < 0 && n != -ENOENT) || (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
		httpd_reply_error(req, 400, "protocol", "expected tcp or udp");
		return;
	}
	op = api_op_new(d, req, REG_READ_PORT);
	if (!op)
		return;
	if (api_op_arg(op, proto) < 0 || api_op_argf(op, "%u", port) < 0) {
		httpd_reply_error(req, 500, NULL, "out of memory");
		api_op_free(op);
		return;
	}
	api_run_with(op, api_check_done);
}

static void api_ports_global(struct daemon *d, struct httpd_req *req)
{
	struct api_op *op = api_op_new(d, req, REG_READ_GLOBAL);
	char v[8] = "";

	if (!op)
		return;
	http_query_param(req->query, strlen(req->query), "available", v, sizeof(v));
	op->service[0] = (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) ? '1' : '0';
	api_run_with(op, api_global_done);
}

static void api_health(struct daemon *d, struct httpd_req *req)
{
	double up = (double)(evloop_now_ms() - d->started_ms) / 1000.0;

	httpd_reply_json(req, 200,
			 json_pack("{s:s,s:s,s:s,s:f,s:b}", "status", "ok", "service", "portgated",
				   "version", PORTGATE_VERSION, "uptime_seconds", up, "registry",
				   registry_ready(d->reg)));
}

/* Splits "/v1/a/b" into decoded segments; false on bad escapes or too many. */
static bool api_split(const char *path, struct api_route *r)
{
	const char *p = path;

	r->n = 0;
	if (*p != '/')
		return false;
	while (*p == '/' && p[1]) {
		const char *s = p + 1, *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (r->n == API_MAX_SEGMENTS || len == 0 ||
		    http_pct_decode(s, len, r->seg[r->n], sizeof(r->seg[0])) < 0 ||
		    strlen(r->seg[r->n]) != strnlen(r->seg[r->n], sizeof(r->seg[0])))
			return false;
		r->n++;
		p = s + len;
	}
	return *p == '\0';
}

static bool api_is(const struct api_route *r, const char *method, int n, const char *a,
		   const char *b)
{
	return strcmp(r->method, method) == 0 && r->n == n && (!a || strcmp(r->seg[1], a) == 0) &&
	       (!b || (n > 3 && strcmp(r->seg[3], b) == 0));
}

static void api_route_services(struct daemon *d, struct httpd_req *req, struct api_route *r,
			       json_t *body)
{
	const char *name = r->seg[2];

	if (r->n > 2 && !api_valid_name(name)) {
		/* A mutation refused this early is in the trail too (a read is not). */
		api_refuse(d, req, strcmp(r->method, "GET") ? "service change" : NULL, 400,
			   "service_name", "not a valid service name");
	} else if (api_is(r, "POST", 2, "services", NULL)) {
		api_service_create(d, req, body);
	} else if (api_is(r, "GET", 2, "services", NULL)) {
		api_read(d, req, REG_READ_SERVICES, NULL);
	} else if (api_is(r, "GET", 3, "services", NULL)) {
		api_read(d, req, REG_READ_SERVICE, name);
	} else if (api_is(r, "DELETE", 3, "services", NULL)) {
		api_service_change(d, req, REG_SERVICE_DELETE, name, NULL, NULL);
	} else if (api_is(r, "POST", 4, "services", "ports")) {
		api_service_change(d, req, REG_PORT_ADD, name, NULL, body);
	} else if (api_is(r, "GET", 4, "services", "ports")) {
		struct api_op *op = api_op_new(d, req, REG_READ_SERVICE);

		if (!op)
			return;
		snprintf(op->service, sizeof(op->service), "%s", name);
		if (api_op_arg(op, name) < 0) {
			api_op_done(NULL, -ENOMEM, op);
			return;
		}
		api_run_with(op, api_ports_of_done);
	} else if (api_is(r, "DELETE", 5, "services", "ports")) {
		api_service_change(d, req, REG_PORT_REMOVE, name, r->seg[4], NULL);
	} else {
		httpd_reply_error(req, 404, NULL, "no route %s %s", req->method, req->path);
	}
}

static json_t *api_body(struct httpd_req *req, bool *bad)
{
	json_error_t jerr;
	json_t *body;

	*bad = false;
	if (req->body_len == 0)
		return json_object();
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!body || !json_is_object(body)) {
		httpd_reply_error(req, 400, NULL, "body is not a JSON object: %s",
				  body ? "wrong type" : jerr.text);
		json_decref(body);
		*bad = true;
		return NULL;
	}
	return body;
}

void api_handle(struct httpd_req *req, void *arg)
{
	struct daemon *d = arg;
	struct api_route r = { .method = req->method };
	json_t *body;
	bool bad;

	if (!api_split(req->path, &r) || r.n < 2 || strcmp(r.seg[0], "v1") != 0) {
		if (strcmp(req->path, "/health") == 0)
			api_health(d, req);
		else
			httpd_reply_error(req, 404, NULL, "no route %s %s", req->method, req->path);
		return;
	}
	body = api_body(req, &bad);
	if (bad)
		return;
	if (api_is(&r, "GET", 2, "health", NULL))
		api_health(d, req);
	else if (strcmp(r.seg[1], "services") == 0)
		api_route_services(d, req, &r, body);
	else if (api_is(&r, "GET", 2, "ports", NULL))
		api_ports_global(d, req);
	else if (api_is(&r, "GET", 3, "ports", NULL))
		api_port_check(d, req, r.seg[2]);
	else if (api_is(&r, "GET", 2, "status", NULL))
		api_kernel_status(d, req);
	else if (api_is(&r, "GET", 2, "audit", NULL))
		api_audit_get(d, req);
	else if (api_is(&r, "POST", 2, "uninstall", NULL))
		api_kernel_uninstall(d, req);
	else if (api_is(&r, "POST", 2, "cleanup", NULL) && !(req->peer_known && req->uid == 0))
		api_refuse(d, req, "cleanup", 403, NULL, "cleanup is root only");
	else if (api_is(&r, "POST", 2, "cleanup", NULL))
		api_read(d, req, REG_CLEANUP, "0");
	else
		httpd_reply_error(req, 404, NULL, "no route %s %s", req->method, req->path);
	json_decref(body);
}
