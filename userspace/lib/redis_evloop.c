// SPDX-License-Identifier: MIT
/* redis_evloop: attaches a hiredis async context to an evloop through hiredis's adapter hooks. */
#include <errno.h>
#include <stdlib.h>
#include "redis_evloop.h"

struct redis_evloop {
	redisAsyncContext *ac;
	struct evloop *loop;
	int fd;
	unsigned mask;
};

static void redis_evloop_ready(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct redis_evloop *g = data;
	redisAsyncContext *ac = g->ac;

	/* A read may free the context (disconnect), so write only if no read happened. */
	if (mask & EVLOOP_READ)
		redisAsyncHandleRead(ac);
	else if (mask & EVLOOP_WRITE)
		redisAsyncHandleWrite(ac);
}

static void redis_evloop_set(struct redis_evloop *g, unsigned mask)
{
	g->mask = mask;
	if (mask)
		evloop_watch(g->loop, g->fd, mask, redis_evloop_ready, g);
	else
		evloop_unwatch(g->loop, g->fd);
}

static void redis_evloop_add_read(void *p)
{
	struct redis_evloop *g = p;

	redis_evloop_set(g, g->mask | EVLOOP_READ);
}

static void redis_evloop_del_read(void *p)
{
	struct redis_evloop *g = p;

	redis_evloop_set(g, g->mask & ~EVLOOP_READ);
}

static void redis_evloop_add_write(void *p)
{
	struct redis_evloop *g = p;

	redis_evloop_set(g, g->mask | EVLOOP_WRITE);
}

static void redis_evloop_del_write(void *p)
{
	struct redis_evloop *g = p;

	redis_evloop_set(g, g->mask & ~EVLOOP_WRITE);
}

static void redis_evloop_cleanup(void *p)
{
	struct redis_evloop *g = p;

	evloop_unwatch(g->loop, g->fd);
	free(g);
}

int redis_evloop_attach(redisAsyncContext *ac, struct evloop *loop)
{
	struct redis_evloop *g;

	if (ac->ev.data)
		return -EEXIST;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->ac = ac;
	g->loop = loop;
	g->fd = ac->c.fd;
	ac->ev.addRead = redis_evloop_add_read;
	ac->ev.delRead = redis_evloop_del_read;
	ac->ev.addWrite = redis_evloop_add_write;
	ac->ev.delWrite = redis_evloop_del_write;
	ac->ev.cleanup = redis_evloop_cleanup;
	ac->ev.data = g;
	return 0;
}
