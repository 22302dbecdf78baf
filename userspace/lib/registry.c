// SPDX-License-Identifier: MIT
/* registry: portgate's store of record in Redis; every mutation is one Lua script (EVALSHA). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/async.h>
#include <openssl/sha.h>
#include "log.h"
#include "redis_evloop.h"
#include "registry.h"

#define REGISTRY_BACKOFF_MIN_MS 50
#define REGISTRY_BACKOFF_MAX_MS 2000
#define PG_MAX_RESTRICTED_ARGS	128

extern const char pg_lua_common[], pg_lua_init[], pg_lua_service_create[], pg_lua_service_delete[],
    pg_lua_port_add[], pg_lua_port_remove[], pg_lua_cleanup[], pg_lua_read_services[],
    pg_lua_read_service[], pg_lua_read_port[], pg_lua_read_global[], pg_lua_read_owner[],
    pg_lua_audit_append[], pg_lua_read_audit[];

static const char *const registry_bodies[REG_NSCRIPTS] = {
	[REG_INIT] = pg_lua_init,
	[REG_SERVICE_CREATE] = pg_lua_service_create,
	[REG_SERVICE_DELETE] = pg_lua_service_delete,
	[REG_PORT_ADD] = pg_lua_port_add,
	[REG_PORT_REMOVE] = pg_lua_port_remove,
	[REG_CLEANUP] = pg_lua_cleanup,
	[REG_READ_SERVICES] = pg_lua_read_services,
	[REG_READ_SERVICE] = pg_lua_read_service,
	[REG_READ_PORT] = pg_lua_read_port,
	[REG_READ_GLOBAL] = pg_lua_read_global,
	[REG_READ_OWNER] = pg_lua_read_owner,
	[REG_AUDIT_APPEND] = pg_lua_audit_append,
	[REG_READ_AUDIT] = pg_lua_read_audit,
};

struct registry {
	struct evloop *loop;
	struct registry_target target;
	redisAsyncContext *ac;
	char prefix[300];
	char rev_key[304];
	char *scripts[REG_NSCRIPTS]; /* prelude + body, what Redis runs */
	char shas[REG_NSCRIPTS][41]; /* SHA1 of each, for EVALSHA */
	uint16_t *restricted;
	size_t n_restricted;
	bool ready;
	bool closing;
	long reconnect_timer;
	uint64_t backoff_ms;
	unsigned long reconnects;
	unsigned long connections;
	registry_state_cb on_state;
	void *state_arg;
};

/* One script call in flight: owns copies of its arguments so it can be re-sent as EVAL
 * when Redis has lost its script cache (NOSCRIPT after a restart). */
struct registry_call {
	struct registry *reg;
	enum registry_script script;
	int argc;
	char **argv;
	size_t *lens;
	registry_cb cb;
	void *arg;
	bool retried;
};

static void registry_connect(struct registry *reg);

static void registry_sha1(const char *text, char out[41])
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)text, strlen(text), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void registry_call_free(struct registry_call *call)
{
	if (!call)
		return;
	for (int i = 0; i < call->argc; i++)
		free(call->argv[i]);
	free(call->argv);
	free(call->lens);
	free(call);
}

static void registry_set_ready(struct registry *reg, bool ready)
{
	if (reg->ready == ready)
		return;
	reg->ready = ready;
	if (reg->on_state)
		reg->on_state(ready, reg->state_arg);
}

static int registry_send(struct registry_call *call);

static void registry_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct registry_call *call = privdata;
	redisReply *reply = r;

	if (!reply) {
		call->cb(NULL, -ENOTCONN, call->arg);
	} else if (reply->type == REDIS_REPLY_ERROR && !call->retried &&
		   strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		/* Redis restarted without its script cache: send the body once. */
		call->retried = true;
		if (registry_send(call) == 0)
			return;
		call->cb(NULL, -ENOTCONN, call->arg);
	} else if (reply->type == REDIS_REPLY_ERROR) {
		log_error("registry: script %d failed: %s", call->script, reply->str);
		call->cb(NULL, -EPROTO, call->arg);
	} else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
		log_error("registry: script %d gave an unexpected reply", call->script);
		call->cb(NULL, -EPROTO, call->arg);
	} else {
		call->cb(reply, 0, call->arg);
	}
	registry_call_free(call);
}

/* Sends EVALSHA (or EVAL when retrying) for `call`; the reply comes to registry_reply. */
static int registry_send(struct registry_call *call)
{
	struct registry *reg = call->reg;
	const char *argv[REGISTRY_MAX_ARGS + 4];
	size_t lens[REGISTRY_MAX_ARGS + 4];
	int n = 0;

	if (!reg->ac)
		return -ENOTCONN;
	argv[n] = call->retried ? "EVAL" : "EVALSHA";
	lens[n] = strlen(argv[n]);
	n++;
	argv[n] = call->retried ? reg->scripts[call->script] : reg->shas[call->script];
	lens[n] = strlen(argv[n]);
	n++;
	argv[n] = "1";
	lens[n++] = 1;
	argv[n] = reg->rev_key;
	lens[n] = strlen(reg->rev_key);
	n++;
	for (int i = 0; i < call->argc; i++, n++) {
		argv[n] = call->argv[i];
		lens[n] = call->lens[i];
	}
	if (redisAsyncCommandArgv(reg->ac, registry_reply, call, n, argv, lens) != REDIS_OK)
		return -ENOTCONN;
	return 0;
}

static struct registry_call *registry_call_new(struct registry *reg, enum registry_script script,
					       int argc, const char *const *argv,
					       const size_t *lens)
{
	struct registry_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->reg = reg;
	call->script = script;
	call->argv = calloc((size_t)argc + 1, sizeof(char *));
	call->lens = calloc((size_t)argc + 1, sizeof(size_t));
	if (!call->argv || !call->lens)
		goto fail;
	for (int i = 0; i < argc; i++) {
		size_t len = lens ? lens[i] : strlen(argv[i]);

		call->argv[i] = malloc(len + 1);
		if (!call->argv[i])
			goto fail;
		call->argc = i + 1;
		memcpy(call->argv[i], argv[i], len);
		call->argv[i][len] = '\0';
		call->lens[i] = len;
	}
	return call;
fail:
	registry_call_free(call);
	return NULL;
}

static int registry_run_any(struct registry *reg, enum registry_script script, int argc,
			    const char *const *argv, const size_t *lens, registry_cb cb, void *arg)
{
	struct registry_call *call;
	int err;

	if (argc > REGISTRY_MAX_ARGS)
		return -E2BIG;
	if (!reg->ac)
		return -ENOTCONN;
	call = registry_call_new(reg, script, argc, argv, lens);
	if (!call)
		return -ENOMEM;
	call->cb = cb;
	call->arg = arg;
	err = registry_send(call);
	if (err < 0)
		registry_call_free(call);
	return err;
}

int registry_run(struct registry *reg, enum registry_script script, int argc,
		 const char *const *argv, const size_t *lens, registry_cb cb, void *arg)
{
	if (!reg->ready)
		return -ENOTCONN;
	return registry_run_any(reg, script, argc, argv, lens, cb, arg);
}

static void registry_schedule(struct registry *reg);

static void registry_reconnect_timer(struct evloop *loop, void *arg)
{
	struct registry *reg = arg;

	reg->reconnect_timer = 0;
	registry_connect(reg);
}

static void registry_schedule(struct registry *reg)
{
	if (reg->closing || reg->reconnect_timer > 0)
		return;
	reg->reconnect_timer =
	    evloop_timer_add(reg->loop, reg->backoff_ms, registry_reconnect_timer, reg);
	reg->backoff_ms *= 2;
	if (reg->backoff_ms > REGISTRY_BACKOFF_MAX_MS)
		reg->backoff_ms = REGISTRY_BACKOFF_MAX_MS;
}

static void registry_init_done(const redisReply *reply, int err, void *arg)
{
	struct registry *reg = arg;

	if (err < 0) {
		/* Not usable: drop the connection, the disconnect path retries. */
		if (reg->ac)
			redisAsyncDisconnect(reg->ac);
		return;
	}
	reg->backoff_ms = REGISTRY_BACKOFF_MIN_MS;
	if (reg->connections++ > 0)
		reg->reconnects++;
	log_info("registry: ready (%s, rev %s)", reg->prefix,
		 reply->elements > 2 && reply->element[2]->str ? reply->element[2]->str : "0");
	registry_set_ready(reg, true);
}

static void registry_select_done(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply *reply = r;

	if (reply && reply->type == REDIS_REPLY_ERROR)
		log_error("registry: SELECT failed: %s", reply->str);
}

/* On every new connection: select the database, load the scripts, run init. */
static void registry_on_connect(const redisAsyncContext *cac, int status)
{
	struct registry *reg = cac->data;
	const char *argv[1 + PG_MAX_RESTRICTED_ARGS];
	char ports[PG_MAX_RESTRICTED_ARGS][8];
	int n = 0;

	if (status != REDIS_OK) {
		log_debug("registry: connect failed: %s", cac->errstr);
		reg->ac = NULL; /* hiredis frees it */
		registry_schedule(reg);
		return;
	}
	if (reg->target.db)
		redisAsyncCommand(reg->ac, registry_select_done, NULL, "SELECT %d", reg->target.db);
	for (int i = 0; i < REG_NSCRIPTS; i++)
		redisAsyncCommand(reg->ac, NULL, NULL, "SCRIPT LOAD %s", reg->scripts[i]);
	argv[n++] = REGISTRY_SCHEMA;
	for (size_t i = 0; i < reg->n_restricted && n < 1 + PG_MAX_RESTRICTED_ARGS; i++) {
		snprintf(ports[n - 1], sizeof(ports[0]), "%u", reg->restricted[i]);
		argv[n] = ports[n - 1];
		n++;
	}
	if (registry_run_any(reg, REG_INIT, n, argv, NULL, registry_init_done, reg) < 0)
		redisAsyncDisconnect(reg->ac);
}

static void registry_on_disconnect(const redisAsyncContext *cac, int status)
{
	struct registry *reg = cac->data;

	reg->ac = NULL;
	if (reg->closing)
		return;
	if (reg->ready)
		log_warn("registry: lost Redis connection; answering 503 until it is back");
	registry_set_ready(reg, false);
	registry_schedule(reg);
}

static void registry_connect(struct registry *reg)
{
	redisAsyncContext *ac;

	if (reg->target.is_unix)
		ac = redisAsyncConnectUnix(reg->target.path);
	else
		ac = redisAsyncConnect(reg->target.host, reg->target.port);
	if (!ac || ac->err) {
		log_debug("registry: connect: %s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		registry_schedule(reg);
		return;
	}
	ac->data = reg;
	if (redis_evloop_attach(ac, reg->loop) < 0) {
		redisAsyncFree(ac);
		registry_schedule(reg);
		return;
	}
	reg->ac = ac;
	redisAsyncSetConnectCallback(ac, registry_on_connect);
	redisAsyncSetDisconnectCallback(ac, registry_on_disconnect);
}

static int registry_build_scripts(struct registry *reg)
{
	size_t pre = strlen(pg_lua_common);

	for (int i = 0; i < REG_NSCRIPTS; i++) {
		size_t len = strlen(registry_bodies[i]);

		reg->scripts[i] = malloc(pre + len + 1);
		if (!reg->scripts[i])
			return -ENOMEM;
		memcpy(reg->scripts[i], pg_lua_common, pre);
		memcpy(reg->scripts[i] + pre, registry_bodies[i], len + 1);
		registry_sha1(reg->scripts[i], reg->shas[i]);
	}
	return 0;
}

int registry_open(struct evloop *loop, const struct registry_target *target, const char *host,
		  const uint16_t *restricted, size_t n_restricted, registry_state_cb on_state,
		  void *state_arg, struct registry **out)
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return -ENOMEM;
	reg->loop = loop;
	reg->target = *target;
	reg->on_state = on_state;
	reg->state_arg = state_arg;
	reg->backoff_ms = REGISTRY_BACKOFF_MIN_MS;
	snprintf(reg->prefix, sizeof(reg->prefix), "pg:{%s}:", host);
	snprintf(reg->rev_key, sizeof(reg->rev_key), "%srev", reg->prefix);
	reg->restricted = calloc(n_restricted + 1, sizeof(uint16_t));
	if (!reg->restricted || registry_build_scripts(reg) < 0) {
		registry_close(reg);
		return -ENOMEM;
	}
	memcpy(reg->restricted, restricted, n_restricted * sizeof(uint16_t));
	reg->n_restricted = n_restricted;
	registry_connect(reg);
	*out = reg;
	return 0;
}

void registry_close(struct registry *reg)
{
	if (!reg)
		return;
	reg->closing = true;
	evloop_timer_cancel(reg->loop, reg->reconnect_timer);
	if (reg->ac)
		redisAsyncFree(reg->ac); /* pending callbacks get NULL replies */
	for (int i = 0; i < REG_NSCRIPTS; i++)
		free(reg->scripts[i]);
	free(reg->restricted);
	free(reg);
}

bool registry_ready(const struct registry *reg)
{
	return reg->ready;
}

unsigned long registry_reconnects(const struct registry *reg)
{
	return reg->reconnects;
}

const char *registry_prefix(const struct registry *reg)
{
	return reg->prefix;
}
