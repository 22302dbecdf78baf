// SPDX-License-Identifier: MIT
/* proxy_reuse: a worker's idle backend connections, kept for the next one-exchange client. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "proxy.h"

struct proxy_idle {
	int fd;
	uint16_t port;
	uint64_t since; /* ms: when it became idle */
	struct proxy_idle *newer, *older;
	struct proxy_worker *w;
};

static void proxy_reuse_unlink(struct proxy_reuse *r, struct proxy_idle *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		r->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	r->n--;
}

/* Ends an idle connection: out of the list and out of epoll (close() does that). */
static void proxy_reuse_drop(struct proxy_worker *w, struct proxy_idle *e)
{
	proxy_reuse_unlink(&w->reuse, e);
	evloop_forget(w->loop, e->fd);
	close(e->fd);
	free(e);
}

/* An idle connection spoke: the backend closed it (or broke the protocol). Either way it is
 * done. */
static void proxy_reuse_idle_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct proxy_idle *e = data;

	(void)loop;
	(void)fd;
	(void)mask;
	proxy_reuse_drop(e->w, e);
}

/* A taken connection between its take and its taker's watch: nothing to do yet. */
static void proxy_reuse_taken_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	(void)loop;
	(void)fd;
	(void)mask;
	(void)data;
}

/* Closes the connections that have been idle too long, oldest first. */
static void proxy_reuse_expire(struct proxy_worker *w, uint64_t now)
{
	while (w->reuse.oldest && now - w->reuse.oldest->since >= PROXY_REUSE_IDLE_MS)
		proxy_reuse_drop(w, w->reuse.oldest);
}

/* An idle connection younger than this is taken without a peek: the idle watch would have
 * seen it close, but for the last loop iteration; a request lost in that window is retried. */
#define PROXY_REUSE_FRESH_MS 1000

/* True while fd has said nothing: no bytes, no FIN, no error. */
static int proxy_reuse_quiet(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && errno == EAGAIN;
}

int proxy_reuse_take(struct proxy_worker *w, uint16_t port)
{
	struct proxy_idle *e, *next;
	uint64_t now = evloop_now_ms();

	proxy_reuse_expire(w, now);
	for (e = w->reuse.newest; e; e = next) {
		int fd = e->fd;

		next = e->older;
		if (e->port != port)
			continue;
		if (now - e->since >= PROXY_REUSE_FRESH_MS && !proxy_reuse_quiet(fd)) {
			proxy_reuse_drop(w, e);
			continue;
		}
		proxy_reuse_unlink(&w->reuse, e);
		/* It stays in epoll for reading, silent until the taker's watch (the same mask,
		 * so no system call) gives it a new handler. */
		evloop_watch(w->loop, fd, EVLOOP_READ, proxy_reuse_taken_cb, NULL);
		free(e);
		return fd;
	}
	return -1;
}

void proxy_reuse_give(struct proxy_worker *w, uint16_t port, int fd)
{
	struct proxy_idle *e = malloc(sizeof(*e));
	uint64_t now = evloop_now_ms();

	if (!e) {
		close(fd);
		return;
	}
	proxy_reuse_expire(w, now);
	if (w->reuse.n >= PROXY_REUSE_MAX)
		proxy_reuse_drop(w, w->reuse.oldest);
	*e = (struct proxy_idle){ .fd = fd, .port = port, .since = now, .w = w };
	if (evloop_watch(w->loop, fd, EVLOOP_READ, proxy_reuse_idle_cb, e) < 0) {
		close(fd);
		free(e);
		return;
	}
	e->older = w->reuse.newest;
	if (w->reuse.newest)
		w->reuse.newest->newer = e;
	else
		w->reuse.oldest = e;
	w->reuse.newest = e;
	w->reuse.n++;
}

void proxy_reuse_flush(struct proxy_worker *w)
{
	while (w->reuse.oldest)
		proxy_reuse_drop(w, w->reuse.oldest);
}
