/* SPDX-License-Identifier: MIT */
/* proxy_link: portgated's end of the control channel to portgate-proxy (docs/proxy-protocol.md). */
#ifndef PORTGATED_PROXY_LINK_H
#define PORTGATED_PROXY_LINK_H

#include <jansson.h>
#include "evloop.h"

/* Newline-delimited JSON objects both ways, at most PROXY_LINK_MAX_LINE bytes each. */
#define PROXY_LINK_MAX_LINE 65536

struct proxy_link;

/*
 * Called for each object the proxy sends (a borrowed reference), or once with NULL when the
 * channel is down (end of file, an error, a line too long or not a JSON object); the link is
 * then inert until freed. The callback must not free the link.
 */
typedef void (*proxy_link_cb)(json_t *event, void *arg);

/* Takes fd (a connected stream socket, made non-blocking here) and watches it on loop.
 * Returns 0 with *out set, or -errno (fd is closed then). */
int proxy_link_new(struct evloop *loop, int fd, proxy_link_cb cb, void *arg,
		   struct proxy_link **out);

/* Unwatches and closes the socket and every fd still queued; accepts NULL. */
void proxy_link_free(struct proxy_link *l);

/*
 * Queues msg as one line and sends what the socket takes now; the rest goes out as it drains.
 * fd >= 0 is attached (SCM_RIGHTS) to the line's first byte and owned by the link from here on:
 * closed once sent, or on failure. 0, or -errno (-EPIPE once the channel is down, -EMSGSIZE).
 */
int proxy_link_send(struct proxy_link *l, json_t *msg, int fd);

#endif
