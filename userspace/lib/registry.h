/* SPDX-License-Identifier: MIT */
/* registry: portgate's store of record in Redis; every mutation is one Lua script (EVALSHA). */
#ifndef PORTGATE_REGISTRY_H
#define PORTGATE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "evloop.h"

#define REGISTRY_SCHEMA "1"
/* The most ARGV one registry_run() takes (more: -E2BIG). */
#define REGISTRY_MAX_ARGS 160
/* REG_READ_GLOBAL answers {200, "global", used:tcp, used:udp, rev, record...}. */
#define REGISTRY_GLOBAL_REV	4
#define REGISTRY_GLOBAL_RECORDS 5

enum registry_script {
	REG_INIT,
	REG_SERVICE_CREATE,
	REG_SERVICE_DELETE,
	REG_PORT_ADD,
	REG_PORT_REMOVE,
	REG_CLEANUP,
	REG_READ_SERVICES,
	REG_READ_SERVICE,
	REG_READ_PORT,
	REG_READ_GLOBAL,
	REG_READ_OWNER,
	REG_AUDIT_APPEND, /* ARGV: maxlen, json... -> {200, "audit", n, last_id} */
	REG_READ_AUDIT,	  /* ARGV: start, end, count -> {200, "audit", id, json, id, json...} */
	REG_NSCRIPTS,
};

struct registry_target {
	bool is_unix;
	char host[256];
	uint16_t port;
	char path[4096];
	int db;
};

/* Called once per registry_run(): `reply` is the script's array reply
 * ({status, kind, ...}; see userspace/lib/lua/common.lua) with err 0, or NULL with
 * err -ENOTCONN (Redis unavailable: answer 503) or -EPROTO (Redis answered an error). */
typedef void (*registry_cb)(const redisReply *reply, int err, void *arg);
/* Told when the registry becomes usable (true) or is lost (false). */
typedef void (*registry_state_cb)(bool ready, void *arg);

struct registry;

/* Connects (asynchronously) to `target` for host `host` and keeps reconnecting with
 * backoff; on each connection it loads the scripts and runs REG_INIT with `restricted`.
 * Returns 0 or -errno; the registry is not ready until the state callback says so. */
int registry_open(struct evloop *loop, const struct registry_target *target, const char *host,
		  const uint16_t *restricted, size_t n_restricted, registry_state_cb on_state,
		  void *state_arg, struct registry **out);
void registry_close(struct registry *reg);
bool registry_ready(const struct registry *reg);
unsigned long registry_reconnects(const struct registry *reg);
const char *registry_prefix(const struct registry *reg);

/* Runs `script` with ARGV argv[0..argc) (binary safe with lens; lens NULL = strlen).
 * Returns 0 (cb will be called exactly once) or -ENOTCONN / -ENOMEM (cb not called). */
int registry_run(struct registry *reg, enum registry_script script, int argc,
		 const char *const *argv, const size_t *lens, registry_cb cb, void *arg);

/* Bit `port` of a Redis bitmap (most significant bit first, as SETBIT/GETBIT). */
static inline bool registry_bit(const char *bits, size_t len, unsigned port)
{
	return port / 8 < len && (bits[port / 8] & (0x80 >> (port % 8)));
}

#endif
