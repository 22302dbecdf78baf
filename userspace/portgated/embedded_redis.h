/* SPDX-License-Identifier: MIT */
/* embedded_redis: portgated's private redis-server child (Unix socket, TCP off, AOF on). */
#ifndef PORTGATED_EMBEDDED_REDIS_H
#define PORTGATED_EMBEDDED_REDIS_H

#include <sys/types.h>
#include "evloop.h"

struct embedded_redis;

/* Starts `binary` with its data, socket and log under state_dir/redis/, after stopping a
 * copy a previous portgated left behind. Returns 0 or -errno. */
int embedded_redis_start(struct evloop *loop, const char *state_dir, const char *binary,
			 const char *appendfsync, struct embedded_redis **out);
const char *embedded_redis_socket(const struct embedded_redis *er);
pid_t embedded_redis_pid(const struct embedded_redis *er);
/* Tells it that `pid` exited (from SIGCHLD): restarts the child after a backoff if it was ours. */
void embedded_redis_reap(struct embedded_redis *er, pid_t pid, int status);
/* SIGTERM (Redis flushes its AOF), wait up to 5 s, then SIGKILL; frees er (NULL is fine). */
void embedded_redis_stop(struct embedded_redis *er);

#endif
