// SPDX-License-Identifier: MIT
/* proxy_bypass: moving a tunnel from the splice pump to the sockmap redirect, and its ends. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "proxy.h"
#include "proxy_poll.h"
#include "proxy_sockmap.h"

/* Pump events in which a tunnel may still move over (each costs two peeks when it fails). */
#define PROXY_BYPASS_TRIES 64
/* How often a direction that reached EOF checks whether its peer has sent everything. */
#define PROXY_BYPASS_POLL_MIN_MS 1
#define PROXY_BYPASS_POLL_MAX_MS 64
/* A FIN waits for the redirected bytes before it as long as its peer keeps taking them (a
 * slow client may need minutes), but at most this long without progress: bytes the verdict
 * counted but the kernel never sent (a backlog error) would otherwise hold the tunnel open
 * forever. */
#define PROXY_BYPASS_DRAIN_STALL_MS 10000

/* The per-connection state of a redirected tunnel, allocated when it moves over. */
struct proxy_bypass {
	uint64_t ck[2];	  /* socket cookies: [0] client, [1] backend */
	uint64_t base[2]; /* proxy_sockmap_written() of each socket when bytes began to be
			   * redirected INTO it */
	struct proxy_conn *c;
	struct proxy_poll poll; /* the drain check, on the worker's bp_polls while it waits */
	uint32_t delay_ms;
	uint64_t drain_since_ms; /* since when a FIN's wait has seen no progress (0: none) */
	uint64_t drain_written;	 /* the peer's proxy_sockmap_written() at that time */
};

static void proxy_bypass_poll_cb(struct proxy_poll *p);

/* True when src has nothing queued: the redirect will then start on a whole skb. */
static bool proxy_bypass_empty(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && errno == EAGAIN;
}

/* Watches fd for its FIN (EPOLLRDHUP only: the redirect's data wake-ups never reach us). */
static int proxy_bypass_watch(struct proxy_conn *c, int side)
{
	struct epoll_event ev = { .events = EPOLLRDHUP,
				  .data.u64 = (uint64_t)(uintptr_t)c | (uint64_t)side };

	return epoll_ctl(c->w->sm_epfd, EPOLL_CTL_ADD, side ? c->bfd : c->cfd, &ev) < 0 ? -errno
											: 0;
}

/* Moves the direction src -> dst over (d is its pump state). 0 or -errno (it keeps pumping). */
static int proxy_bypass_dir(struct proxy_conn *c, struct proxy_dir *d, int side)
{
	struct proxy_bypass *bp = c->bp;
	int src = side ? c->bfd : c->cfd, dst = side ? c->cfd : c->bfd;
	int rc;

	rc = proxy_sockmap_written(dst, &bp->base[!side]);
	if (rc < 0)
		return rc;
	rc = proxy_sockmap_redirect(bp->ck[side], src);
	if (rc < 0)
		return rc;
	d->flags |= PROXY_DIR_SOCKMAP;
	if (proxy_bypass_watch(c, side) < 0)
		return -EIO; /* redirected but deaf to its FIN: the caller closes */
	return 0;
}

int proxy_bypass_try(struct proxy_conn *c)
{
	struct proxy_bypass *bp;
	int rc;

	if (c->bp_tries >= PROXY_BYPASS_TRIES)
		return 0;
	/* Both directions idle (nothing in a pipe or buffer) and open. */
	if (c->up_wait != PROXY_PUMP_READ || c->down_wait != PROXY_PUMP_READ ||
	    (c->up.flags | c->down.flags) & (PROXY_DIR_EOF | PROXY_DIR_DONE) || c->up.buf ||
	    c->down.buf || c->up.in_pipe || c->down.in_pipe)
		return 0;
	c->bp_tries++;
	if (!proxy_bypass_empty(c->cfd) || !proxy_bypass_empty(c->bfd))
		return 0;
	bp = calloc(1, sizeof(*bp));
	if (!bp)
		return 0;
	bp->c = c;
	if (proxy_sockmap_cookie(c->cfd, &bp->ck[0]) < 0 ||
	    proxy_sockmap_cookie(c->bfd, &bp->ck[1]) < 0)
		goto give_up;
	if (proxy_sockmap_peer(bp->ck[0], c->bfd) < 0)
		goto give_up;
	if (proxy_sockmap_peer(bp->ck[1], c->cfd) < 0) {
		proxy_sockmap_forget(bp->ck[0], true);
		goto give_up;
	}
	c->bp = bp;
	c->bp_tries = PROXY_BYPASS_TRIES;
	/* Each direction on its own: if the second cannot follow, it keeps pumping. */
	rc = proxy_bypass_dir(c, &c->up, 0);
	if (rc == 0)
		rc = proxy_bypass_dir(c, &c->down, 1);
	if (rc == -EIO)
		return rc;
	if (c->up.flags & PROXY_DIR_SOCKMAP)
		proxy_stats_sockmap(c->port, 1);
	log_debug("tunnel %d/%d: sockmap (up %s, down %s) after %llu+%llu bytes", c->cfd, c->bfd,
		  c->up.flags & PROXY_DIR_SOCKMAP ? "yes" : "no",
		  c->down.flags & PROXY_DIR_SOCKMAP ? "yes" : "no", (unsigned long long)c->up.bytes,
		  (unsigned long long)c->down.bytes);
	return 0;
give_up:
	free(bp);
	c->bp_tries = PROXY_BYPASS_TRIES;
	return 0;
}

/*
 * A redirected direction reached EOF: its FIN goes on to dst only once everything the verdict
 * queued has entered dst's send queue (the psock backlog sends asynchronously; a shutdown
 * before it has finished would cut the stream short). Polls with a growing delay until then.
 * Returns -errno when the tunnel cannot finish (the caller closes it).
 */
static int proxy_bypass_drain(struct proxy_conn *c, struct proxy_dir *d, int side)
{
	struct proxy_bypass *bp = c->bp;
	int dst = side ? c->cfd : c->bfd;
	uint64_t moved, drops, written;

	if (d->flags & PROXY_DIR_DONE)
		return 0;
	if (proxy_sockmap_moved(bp->ck[side], &moved, &drops) < 0 || drops ||
	    proxy_sockmap_written(dst, &written) < 0)
		return -EIO;
	log_debug("tunnel %d/%d %s: EOF; %llu moved, %llu written, %llu drops", c->cfd, c->bfd,
		  side ? "down" : "up", (unsigned long long)moved,
		  (unsigned long long)(written - bp->base[!side]), (unsigned long long)drops);
	if (written - bp->base[!side] < moved) {
		if (!proxy_sockmap_alive(dst))
			return -EPIPE;
		if (!bp->drain_since_ms || written != bp->drain_written) {
			bp->drain_since_ms = evloop_now_ms();
			bp->drain_written = written;
		} else if (evloop_now_ms() - bp->drain_since_ms > PROXY_BYPASS_DRAIN_STALL_MS) {
			return -ETIMEDOUT;
		}
		if (!bp->poll.queued) {
			bp->delay_ms = bp->delay_ms ? bp->delay_ms * 2 : PROXY_BYPASS_POLL_MIN_MS;
			if (bp->delay_ms > PROXY_BYPASS_POLL_MAX_MS)
				bp->delay_ms = PROXY_BYPASS_POLL_MAX_MS;
			return proxy_poll_in(c->w->loop, &c->w->bp_polls, &bp->poll, bp->delay_ms,
					     proxy_bypass_poll_cb);
		}
		return 0;
	}
	d->bytes += moved;
	shutdown(dst, SHUT_WR);
	d->flags |= PROXY_DIR_DONE;
	bp->drain_since_ms = 0; /* the other direction's FIN starts its own wait */
	bp->delay_ms = 0;
	if (side)
		c->down_wait = PROXY_PUMP_DONE;
	else
		c->up_wait = PROXY_PUMP_DONE;
	return 0;
}

/* Checks both directions; closes the connection when both are done or one cannot finish. */
static void proxy_bypass_step(struct proxy_conn *c)
{
	for (int side = 0; side < 2; side++) {
		struct proxy_dir *d = side ? &c->down : &c->up;

		if ((d->flags & (PROXY_DIR_SOCKMAP | PROXY_DIR_EOF)) ==
			(PROXY_DIR_SOCKMAP | PROXY_DIR_EOF) &&
		    proxy_bypass_drain(c, d, side) < 0) {
			proxy_conn_close(c);
			return;
		}
	}
	proxy_conn_update(c);
}

static void proxy_bypass_poll_cb(struct proxy_poll *p)
{
	struct proxy_bypass *bp =
	    (struct proxy_bypass *)((char *)p - offsetof(struct proxy_bypass, poll));

	proxy_bypass_step(bp->c);
}

/* One FIN (or error) on a redirected socket. */
static void proxy_bypass_event(struct proxy_conn *c, int side)
{
	struct proxy_dir *d = side ? &c->down : &c->up;
	int fd = side ? c->bfd : c->cfd;
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return; /* bytes the verdict has not taken yet: the FIN comes after them */
	if (n < 0) {
		log_debug("tunnel %d/%d: %s: %s", c->cfd, c->bfd, side ? "backend" : "client",
			  strerror(errno));
		proxy_conn_close(c); /* reset: nothing more can be delivered either way */
		return;
	}
	epoll_ctl(c->w->sm_epfd, EPOLL_CTL_DEL, fd, NULL);
	d->flags |= PROXY_DIR_EOF;
	proxy_bypass_step(c);
}

void proxy_bypass_worker_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	/* One event per call: handling one may close a connection that a second one names. */
	for (int i = 0; i < 64; i++) {
		struct epoll_event ev;
		int n = epoll_wait(fd, &ev, 1, 0);

		if (n <= 0)
			return;
		proxy_bypass_event((struct proxy_conn *)(uintptr_t)(ev.data.u64 & ~1ull),
				   (int)(ev.data.u64 & 1));
	}
}

void proxy_bypass_close(struct proxy_conn *c)
{
	struct proxy_bypass *bp = c->bp;

	if (!bp)
		return;
	proxy_poll_cancel(&c->w->bp_polls, &bp->poll);
	/* A direction that ended otherwise than by a drained FIN (reset, error, exit): its
	 * redirected bytes still count. */
	for (int side = 0; side < 2; side++) {
		struct proxy_dir *d = side ? &c->down : &c->up;
		uint64_t moved, drops;

		if ((d->flags & (PROXY_DIR_SOCKMAP | PROXY_DIR_DONE)) == PROXY_DIR_SOCKMAP &&
		    proxy_sockmap_moved(bp->ck[side], &moved, &drops) == 0)
			d->bytes += moved;
	}
	/* The sockets leave both sockhashes when they are closed; the counters do not. */
	if (c->up.flags & PROXY_DIR_SOCKMAP)
		epoll_ctl(c->w->sm_epfd, EPOLL_CTL_DEL, c->cfd, NULL);
	if (c->down.flags & PROXY_DIR_SOCKMAP)
		epoll_ctl(c->w->sm_epfd, EPOLL_CTL_DEL, c->bfd, NULL);
	proxy_sockmap_forget(bp->ck[0], false);
	proxy_sockmap_forget(bp->ck[1], false);
	free(bp);
	c->bp = NULL;
}
