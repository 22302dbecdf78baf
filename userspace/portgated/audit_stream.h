/* SPDX-License-Identifier: MIT */
/* audit_stream: audit events to the Redis stream pg:{HOST}:audit, in batches, through a
 * bounded queue that rides out Redis being away. */
#ifndef PORTGATED_AUDIT_STREAM_H
#define PORTGATED_AUDIT_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "evloop.h"
#include "registry.h"

#define AUDIT_STREAM_QUEUE    65536 /* events held while Redis is away or behind (~20 MB at most) */
#define AUDIT_STREAM_INFLIGHT 8	    /* batches sent before the first is answered */
#define AUDIT_STREAM_BATCH    128 /* events per REG_AUDIT_APPEND (plus maxlen: REGISTRY_MAX_ARGS) */

struct audit_stream_stats {
	uint64_t sent;	  /* events appended to the stream */
	uint64_t dropped; /* events never appended (queue full, Redis refused a batch) */
	uint64_t batches; /* REG_AUDIT_APPEND calls answered 200 */
	size_t queued;	  /* waiting now */
};

/* Told, once a batch went through again, how many events were dropped since the last report:
 * the caller records that as a loss event (which comes back here, to the stream). */
typedef void (*audit_stream_loss_cb)(uint64_t dropped, void *arg);

struct audit_stream;

/* reg points at where the registry will be (it may be NULL or not ready yet: events wait).
 * maxlen: MAXLEN ~ of the stream. 0 or -ENOMEM. */
int audit_stream_new(struct evloop *loop, struct registry *const *reg, uint64_t maxlen,
		     audit_stream_loss_cb on_loss, void *arg, struct audit_stream **out);
/* Frees what is still queued (the caller logs audit_stream_stats().queued first). The registry
 * must have answered any batch in flight (registry_close() does). NULL is fine. */
void audit_stream_free(struct audit_stream *s);

/* Queues a copy of one event's JSON; sent within a few ms when Redis is there. Never blocks. */
void audit_stream_push(struct audit_stream *s, const char *json, size_t len);
void audit_stream_stats(const struct audit_stream *s, struct audit_stream_stats *out);

#endif
