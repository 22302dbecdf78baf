/* SPDX-License-Identifier: MIT */
/* proxy_int: what proxy_supervisor.c (the process) and proxy_listeners.c (its traffic) share. */
#ifndef PORTGATED_PROXY_INT_H
#define PORTGATED_PROXY_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "proxy_link.h"
#include "proxy_listeners.h"
#include "proxy_supervisor.h"

/* A token-protected port whose listening socket the running proxy holds. */
struct proxy_listener {
	uint16_t port;
	bool seen; /* found by the full sync in progress */
};

struct proxy_supervisor {
	struct daemon *d;
	char binary[PATH_MAX];
	char user[64];
	uid_t uid;
	gid_t gid;
	bool drop;	    /* change to uid/gid in the child (portgated is root) */
	char cgroup[4096];  /* the proxy's cgroup; "" when not enforcing */
	uint64_t cgroup_id; /* its id, in the kernel's settings */
	pid_t pid;	    /* 0 while not running */
	struct proxy_link *link;
	unsigned long instance; /* bumped at every start: replies for an older one are dropped */
	uint64_t started_ms, backoff_ms;
	long restart_timer;
	bool stopping, ready;
	bool sync_running, sync_again; /* a full read in flight; another one wanted after it */
	unsigned long sync_instance;   /* the instance that read is for */
	unsigned long restarts, blocks, n_events;
	struct proxy_listener *listeners;
	size_t n_listeners, cap_listeners;
	struct proxy_decision *decisions;
	size_t n_decisions, cap_decisions;
	char last_error[256];
};

/* proxy_supervisor.c */
void proxy_supervisor_schedule(struct proxy_supervisor *s);
void proxy_supervisor_kill(struct proxy_supervisor *s, const char *why);

/* proxy_listeners.c: a fresh proxy (settings, then a full sync), a dead one (its routes are gone),
 * and the events it sends (proxy_link_cb). */
void proxy_listeners_start(struct proxy_supervisor *s);
void proxy_listeners_lost(struct proxy_supervisor *s);
void proxy_listeners_event(json_t *ev, void *arg);

#endif
