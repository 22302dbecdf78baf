/* SPDX-License-Identifier: MIT */
/* proxy_supervisor: runs portgate-proxy and streams it the token-protected ports. */
#ifndef PORTGATED_PROXY_SUPERVISOR_H
#define PORTGATED_PROXY_SUPERVISOR_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "daemon.h"

struct proxy_supervisor;

/* The proxy's fixed settings, sent first on every (re)start (the defaults). */
#define PROXY_TOKEN_HEADER "X-Source-Token"

/*
 * Starts `portgate-proxy --control-fd 3` as d->cfg says (--proxy, --proxy-user): with enforcement
 * on, in the cgroup <attach cgroup>/portgate-proxy, whose id goes to the kernel as the only one
 * that may connect to backends. Restarted with backoff whenever it dies; each start is sent the
 * settings and a `listen` for every token-protected port in the registry (once it is ready).
 * Returns 0 with *out set; 0 with *out NULL when the proxy is off (--proxy off, or the default
 * binary is missing: said in the log); -errno with one line in err when the configured binary or
 * user does not exist or the first start fails.
 */
int proxy_supervisor_open(struct daemon *d, struct proxy_supervisor **out, char *err,
			  size_t errlen);
/* Stops the proxy (SIGTERM, then SIGKILL after 2 s) and frees s; accepts NULL. */
void proxy_supervisor_close(struct proxy_supervisor *s);

/* A child exited (SIGCHLD): true when it was the proxy (restarted after a backoff). */
bool proxy_supervisor_reap(struct proxy_supervisor *s, pid_t pid, int status);

/* `portgate status`: {"enabled", "pid", "running", "ready", "listeners", ...}. New reference. */
json_t *proxy_supervisor_status(const struct proxy_supervisor *s);

/* Decisions the proxy reported, per port and result ("allowed", "missing_token", ...). */
struct proxy_decision {
	uint16_t port;
	char result[24];
	unsigned long long count;
};
const struct proxy_decision *proxy_supervisor_decisions(const struct proxy_supervisor *s,
							size_t *n);

struct proxy_stats {
	bool running;
	unsigned listeners;
	unsigned long restarts, blocks;
};
void proxy_supervisor_stats(const struct proxy_supervisor *s, struct proxy_stats *st);

#endif
