// SPDX-License-Identifier: MIT
/* proxy_poll: many per-connection polls on one timer of the worker's loop. */
#include <errno.h>
#include <stddef.h>
#include "evloop.h"
#include "proxy_poll.h"

void proxy_poll_cancel(struct proxy_polls *q, struct proxy_poll *p)
{
	if (!p->queued)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		q->first = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	p->queued = false;
}

static void proxy_polls_fire(struct evloop *loop, void *data);

/* Arms the queue's timer for `due` unless it already fires by then. 0 or -errno. */
static int proxy_polls_arm(struct evloop *loop, struct proxy_polls *q, uint64_t due)
{
	uint64_t now = evloop_now_ms();

	if (q->timer_id && q->timer_due <= due)
		return 0;
	if (q->timer_id)
		evloop_timer_cancel(loop, q->timer_id);
	q->timer_id = evloop_timer_add(loop, due > now ? due - now : 0, proxy_polls_fire, q);
	if (q->timer_id < 0) {
		q->timer_id = 0;
		return -ENOMEM;
	}
	q->timer_due = due;
	return 0;
}

int proxy_poll_in(struct evloop *loop, struct proxy_polls *q, struct proxy_poll *p, uint64_t ms,
		  proxy_poll_cb cb)
{
	uint64_t due = evloop_now_ms() + ms;

	if (p->queued && p->due <= due)
		return 0;
	proxy_poll_cancel(q, p);
	p->due = due;
	p->cb = cb;
	p->next = q->first;
	if (q->first)
		q->first->prev = p;
	q->first = p;
	p->queued = true;
	return proxy_polls_arm(loop, q, due);
}

static void proxy_polls_fire(struct evloop *loop, void *data)
{
	struct proxy_polls *q = data;
	struct proxy_poll *due = NULL, *p, *next;
	uint64_t now = evloop_now_ms(), later = UINT64_MAX;

	q->timer_id = 0;
	/* The due ones leave the queue first: a callback may free its poll or queue it again. */
	for (p = q->first; p; p = next) {
		next = p->next;
		if (p->due > now) {
			later = p->due < later ? p->due : later;
			continue;
		}
		proxy_poll_cancel(q, p);
		p->next = due;
		due = p;
	}
	if (later != UINT64_MAX)
		proxy_polls_arm(loop, q, later); /* failing, the next proxy_poll_in() arms it */
	for (p = due; p; p = next) {
		next = p->next;
		p->next = NULL;
		p->cb(p);
	}
}
