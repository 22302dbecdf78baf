/* SPDX-License-Identifier: MIT */
/* proxy_poll: many per-connection polls on one timer of the worker's loop (the loop has only a
 * few timer slots, and thousands of tunnels may wait at once). */
#ifndef PORTGATE_PROXY_POLL_H
#define PORTGATE_PROXY_POLL_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct proxy_poll;
typedef void (*proxy_poll_cb)(struct proxy_poll *p);

/* Embedded in what polls; zeroed means not queued. */
struct proxy_poll {
	struct proxy_poll *prev, *next;
	uint64_t due; /* ms (evloop_now_ms) */
	bool queued;
	proxy_poll_cb cb;
};

/* A worker's queue of polls and the one timer that runs them. */
struct proxy_polls {
	struct proxy_poll *first;
	long timer_id; /* 0 when none */
	uint64_t timer_due;
};

/* Runs p->cb once `ms` from now (an earlier due time already set wins). 0 or -errno. */
int proxy_poll_in(struct evloop *loop, struct proxy_polls *q, struct proxy_poll *p, uint64_t ms,
		  proxy_poll_cb cb);
/* Takes p off the queue (nothing if it is not on it). The timer needs no stopping: the loop
 * frees it, after the worker has closed every connection. */
void proxy_poll_cancel(struct proxy_polls *q, struct proxy_poll *p);

#endif
