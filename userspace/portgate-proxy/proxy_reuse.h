/* SPDX-License-Identifier: MIT */
/* proxy_reuse: a worker's idle backend connections, kept for the next one-exchange client. */
#ifndef PORTGATE_PROXY_REUSE_H
#define PORTGATE_PROXY_REUSE_H

#include <stdint.h>

struct proxy_worker;
struct proxy_idle;

/* Idle connections a worker keeps (all backends together); the oldest goes first. */
#define PROXY_REUSE_MAX 256
/* An idle connection older than this is closed rather than reused: backends drop idle
 * connections after their own keep-alive timeout (nginx 75 s, Apache 5 s), and a request sent
 * on one they are closing is lost. */
#define PROXY_REUSE_IDLE_MS 4000

/* The worker's idle list (in struct proxy_worker). */
struct proxy_reuse {
	struct proxy_idle *newest, *oldest;
	unsigned n;
};

/*
 * A live idle connection to 127.0.0.1:port, or -1. A candidate idle for a while is checked
 * with a peek: one that has said anything (a FIN, an error, stray bytes) is closed and skipped.
 * The fd is still known to the loop: watch it, or evloop_forget() it before closing it.
 */
int proxy_reuse_take(struct proxy_worker *w, uint16_t port);
/* Keeps fd (a backend connection between two exchanges) for reuse; closes it when the
 * worker cannot watch it. */
void proxy_reuse_give(struct proxy_worker *w, uint16_t port, int fd);
/* Closes every idle connection (worker exit). */
void proxy_reuse_flush(struct proxy_worker *w);

#endif
