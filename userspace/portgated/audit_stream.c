// SPDX-License-Identifier: MIT
/* audit_stream: a ring of queued JSON events; the oldest batches are in flight (up to
 * AUDIT_STREAM_INFLIGHT, pipelined on the one connection), and each leaves the ring only when
 * Redis has appended it, so a lost connection sends them again. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit_stream.h"

#define AUDIT_STREAM_SOON_MS  5	  /* a short wait lets a burst go in one batch */
#define AUDIT_STREAM_RETRY_MS 250 /* Redis away: look again */

struct audit_stream_item {
	char *json;
	size_t len;
};

struct audit_stream;

/* One REG_AUDIT_APPEND call: freed only by its own reply (a stale one too, see gen). */
struct audit_stream_call {
	struct audit_stream *s;
	unsigned gen; /* s->gen when sent; another: the connection was lost since */
	size_t n;     /* events in the batch */
	bool used;
};

struct audit_stream {
	struct evloop *loop;
	struct registry *const *reg;
	char maxlen[24];
	audit_stream_loss_cb on_loss;
	void *arg;
	struct audit_stream_item q[AUDIT_STREAM_QUEUE];
	size_t head, n;	  /* ring: oldest at head */
	size_t in_flight; /* the first in_flight items are being appended */
	unsigned gen;	  /* bumped when a lost connection sends the in-flight items again */
	unsigned calls;	  /* calls whose reply is awaited (stale ones included) */
	struct audit_stream_call call[AUDIT_STREAM_INFLIGHT];
	long timer;
	uint64_t unreported; /* dropped since the last loss report */
	struct audit_stream_stats st;
};

static void audit_stream_flush(struct evloop *loop, void *arg);

int audit_stream_new(struct evloop *loop, struct registry *const *reg, uint64_t maxlen,
		     audit_stream_loss_cb on_loss, void *arg, struct audit_stream **out)
{
	struct audit_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->reg = reg;
	snprintf(s->maxlen, sizeof(s->maxlen), "%llu", (unsigned long long)maxlen);
	s->on_loss = on_loss;
	s->arg = arg;
	*out = s;
	return 0;
}

static void audit_stream_arm(struct audit_stream *s, uint64_t ms)
{
	long id;

	if (s->timer || s->in_flight == s->n || s->calls == AUDIT_STREAM_INFLIGHT)
		return;
	id = evloop_timer_add(s->loop, ms, audit_stream_flush, s);
	s->timer = id > 0 ? id : 0;
}

/* Takes the first n items off the ring. */
static void audit_stream_pop(struct audit_stream *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s->q[s->head].json);
		s->q[s->head].json = NULL;
		s->head = (s->head + 1) % AUDIT_STREAM_QUEUE;
	}
	s->n -= n;
}

static void audit_stream_done(const redisReply *reply, int err, void *arg)
{
	struct audit_stream_call *c = arg;
	struct audit_stream *s = c->s;
	size_t n = c->n;
	uint64_t lost;

	c->used = false;
	s->calls--;
	if (c->gen != s->gen) {
		audit_stream_arm(s, 0); /* its events are being sent again */
		return;
	}
	if (!err && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 200) {
		/* Replies come in order: this batch is the oldest in the ring. */
		audit_stream_pop(s, n);
		s->in_flight -= n;
		s->st.sent += n;
		s->st.batches++;
		if (s->unreported && s->on_loss) {
			lost = s->unreported;
			s->unreported = 0;
			s->on_loss(lost, s->arg);
		}
		audit_stream_arm(s, 0);
	} else if (err == -ENOTCONN) {
		/* Redis went away with batches in flight: they stay first in the ring and go again
		 * (an event may reach the stream twice, never zero times); the replies of the later
		 * ones are stale. */
		s->gen++;
		s->in_flight = 0;
		audit_stream_arm(s, AUDIT_STREAM_RETRY_MS);
	} else {
		/* Redis refused it (an error reply): retrying would refuse again. */
		audit_stream_pop(s, n);
		s->in_flight -= n;
		s->st.dropped += n;
		s->unreported += n;
		audit_stream_arm(s, AUDIT_STREAM_RETRY_MS);
	}
}

/* A free call slot; there is one while s->calls < AUDIT_STREAM_INFLIGHT. */
static struct audit_stream_call *audit_stream_slot(struct audit_stream *s)
{
	for (size_t i = 0; i < AUDIT_STREAM_INFLIGHT; i++)
		if (!s->call[i].used)
			return &s->call[i];
	return NULL;
}

/* Sends the next batch of events not yet in flight, then arms itself for the one after. */
static void audit_stream_flush(struct evloop *loop, void *arg)
{
	struct audit_stream *s = arg;
	const char *argv[1 + AUDIT_STREAM_BATCH];
	size_t lens[1 + AUDIT_STREAM_BATCH];
	struct registry *reg = *s->reg;
	size_t n = s->n - s->in_flight;
	struct audit_stream_call *c = audit_stream_slot(s);
	int err;

	_Static_assert(1 + AUDIT_STREAM_BATCH <= REGISTRY_MAX_ARGS, "a batch must fit one call");
	(void)loop;
	s->timer = 0;
	if (!n || !c)
		return;
	if (n > AUDIT_STREAM_BATCH)
		n = AUDIT_STREAM_BATCH;
	if (!reg || !registry_ready(reg)) {
		audit_stream_arm(s, AUDIT_STREAM_RETRY_MS);
		return;
	}
	argv[0] = s->maxlen;
	lens[0] = strlen(s->maxlen);
	for (size_t i = 0; i < n; i++) {
		const struct audit_stream_item *it =
		    &s->q[(s->head + s->in_flight + i) % AUDIT_STREAM_QUEUE];

		argv[1 + i] = it->json;
		lens[1 + i] = it->len;
	}
	*c = (struct audit_stream_call){ .s = s, .gen = s->gen, .n = n, .used = true };
	s->calls++;
	s->in_flight += n;
	err = registry_run(reg, REG_AUDIT_APPEND, (int)(1 + n), argv, lens, audit_stream_done, c);
	if (err < 0) {
		/* Not sent (Redis away, out of memory; -E2BIG cannot happen, see above): the
		 * batch stays queued for later. */
		c->used = false;
		s->calls--;
		s->in_flight -= n;
		audit_stream_arm(s, AUDIT_STREAM_RETRY_MS);
	} else {
		audit_stream_arm(s, 0); /* the next batch, pipelined */
	}
}

void audit_stream_push(struct audit_stream *s, const char *json, size_t len)
{
	struct audit_stream_item *it;
	char *copy;

	if (s->n == AUDIT_STREAM_QUEUE || !(copy = malloc(len + 1))) {
		s->st.dropped++;
		s->unreported++;
		return;
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	it = &s->q[(s->head + s->n) % AUDIT_STREAM_QUEUE];
	it->json = copy;
	it->len = len;
	s->n++;
	audit_stream_arm(s, AUDIT_STREAM_SOON_MS);
}

void audit_stream_free(struct audit_stream *s)
{
	if (!s)
		return;
	if (s->timer)
		evloop_timer_cancel(s->loop, s->timer);
	audit_stream_pop(s, s->n);
	free(s);
}

void audit_stream_stats(const struct audit_stream *s, struct audit_stream_stats *out)
{
	*out = s->st;
	out->queued = s->n;
}
