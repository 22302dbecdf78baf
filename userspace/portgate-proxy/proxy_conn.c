// SPDX-License-Identifier: MIT
/* proxy_conn: one connection's life: head, verdict, backend connect, tunnel, error answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "proxy.h"
#include "proxy_congestion.h"
#include "proxy_head.h"
#include "proxy_reuse.h"

/* Bytes of unread input thrown away after an error answer before giving up on a clean close. */
#define PROXY_LINGER_MAX (1024 * 1024)
/* First size of a connection's head buffer; it doubles up to head_max as bytes come. */
#define PROXY_HEAD_BUF_MIN 512

static void proxy_conn_client_cb(struct evloop *loop, int fd, unsigned mask, void *data);
static void proxy_conn_backend_cb(struct evloop *loop, int fd, unsigned mask, void *data);

void proxy_conn_close(struct proxy_conn *c)
{
	struct proxy_worker *w = c->w;

	proxy_worker_list_del(w, c);
	proxy_bypass_close(c);
	proxy_exchange_free(c);
	if (c->bfd >= 0) {
		evloop_forget(w->loop, c->bfd);
		close(c->bfd);
	}
	evloop_forget(w->loop, c->cfd);
	close(c->cfd);
	proxy_dir_release(&w->pool, &c->up);
	proxy_dir_release(&w->pool, &c->down);
	if (c->up.bytes || c->down.bytes)
		proxy_stats_bytes(c->port, c->up.bytes, c->down.bytes);
	proxy_stats_active(c->port, -1);
	proxy_route_put(c->route);
	if (c->buf)
		explicit_bzero(c->buf, c->len);
	free(c->buf);
	free(c);
}

/* Watches fd for mask; an fd with nothing to wait for leaves epoll (else its HUP would spin). */
static int proxy_conn_watch(struct proxy_conn *c, int fd, unsigned mask, evloop_fd_cb cb)
{
	if (!mask) {
		evloop_unwatch(c->w->loop, fd);
		return 0;
	}
	return evloop_watch(c->w->loop, fd, mask, cb, c);
}

/* The route to judge by: the newest for the port, or the one from accept if it has gone. */
static void proxy_conn_refresh_route(struct proxy_conn *c)
{
	unsigned gen = proxy_routes_generation();
	struct proxy_route *r;

	if (gen == c->route_gen)
		return;
	c->route_gen = gen;
	r = proxy_routes_lookup(c->port);
	if (!r)
		return; /* closed since: connections already accepted carry on */
	proxy_route_put(c->route);
	c->route = r;
}

/* The JSON error answer, with Connection: close. Returns its length in out. */
static size_t proxy_conn_answer(int status, const char *error, char *out, size_t size)
{
	const char *reason = http_status_reason(status);
	char body[96];
	int blen, n;

	if (status == 408)
		reason = "Request Timeout"; /* absent from the shared table */
	blen = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", error);
	n = snprintf(out, size,
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
		     "Connection: close\r\nCache-Control: no-store\r\n\r\n%s",
		     status, reason, blen, body);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/*
 * Answers status and closes gently: the answer, a FIN, then unread input is drained for a
 * while, because closing with unread bytes sends a RST that can destroy the answer before
 * the client reads it.
 */
static void proxy_conn_refuse(struct proxy_conn *c, int status, const char *error)
{
	struct proxy_worker *w = c->w;
	char out[512];
	size_t n = proxy_conn_answer(status, error, out, sizeof(out));

	/* A fresh socket's send buffer always takes these few hundred bytes. */
	if (n && send(c->cfd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
		proxy_conn_close(c);
		return;
	}
	if (c->bfd >= 0) {
		evloop_forget(w->loop, c->bfd);
		close(c->bfd);
		c->bfd = -1;
	}
	proxy_conn_linger(c);
}

void proxy_conn_linger(struct proxy_conn *c)
{
	struct proxy_worker *w = c->w;

	shutdown(c->cfd, SHUT_WR);
	proxy_exchange_free(c);
	if (c->buf)
		explicit_bzero(c->buf, c->len);
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
	proxy_dir_release(&w->pool, &c->up);
	proxy_dir_release(&w->pool, &c->down);
	proxy_worker_list_add(w, c, PROXY_LIST_LINGER);
	if (evloop_watch(w->loop, c->cfd, EVLOOP_READ, proxy_conn_client_cb, c) < 0)
		proxy_conn_close(c);
}

/* A client's failure: event, counters, failure window (maybe a block), then the answer. */
static void proxy_conn_fail(struct proxy_conn *c, int status, const char *reason, bool counts)
{
	struct proxy_limits_cfg cfg;
	unsigned failures = 0;

	proxy_stats_count(c->port, proxy_stats_result(status));
	proxy_event_decision(&c->peer, c->port, c->route, status, reason);
	if (counts) {
		proxy_settings_limits(&cfg);
		if (proxy_limits_fail(proxy_limits, &c->peer, evloop_now_ms(), &cfg, &failures) ==
		    1) {
			char src[PROXY_ADDR_STRLEN];

			proxy_addr_format(&c->peer, src);
			proxy_stats_block(c->port);
			proxy_events_printf("{\"event\":\"block\",\"source\":\"%s\",\"port\":%u,"
					    "\"failures\":%u,\"block_s\":%u}",
					    src, (unsigned)c->port, failures, cfg.block_s);
		}
	}
	proxy_conn_refuse(c, status, reason);
}

void proxy_conn_fail_backend(struct proxy_conn *c, int status, const char *reason)
{
	proxy_conn_fail(c, status, reason, false);
}

void proxy_conn_update(struct proxy_conn *c)
{
	unsigned cmask, bmask;
	/* A redirected direction is watched through the worker's sm_epfd, for its FIN only. */
	bool up_read = c->up_wait == PROXY_PUMP_READ && !(c->up.flags & PROXY_DIR_SOCKMAP);
	bool down_read = c->down_wait == PROXY_PUMP_READ && !(c->down.flags & PROXY_DIR_SOCKMAP);

	if (c->up_wait == PROXY_PUMP_DONE && c->down_wait == PROXY_PUMP_DONE) {
		proxy_conn_close(c);
		return;
	}
	cmask = (up_read ? EVLOOP_READ : 0) | (c->down_wait == PROXY_PUMP_WRITE ? EVLOOP_WRITE : 0);
	bmask = (down_read ? EVLOOP_READ : 0) | (c->up_wait == PROXY_PUMP_WRITE ? EVLOOP_WRITE : 0);
	if (proxy_conn_watch(c, c->cfd, cmask, proxy_conn_client_cb) < 0 ||
	    proxy_conn_watch(c, c->bfd, bmask, proxy_conn_backend_cb) < 0)
		proxy_conn_close(c);
}

/*
 * Whether the tunnel should move to the sockmap: it has carried sockmap_after bytes and, unless
 * that is 0, it is bulk (a direction has left the small-read copy mode). A keep-alive
 * connection also crosses any byte count in time, but its request/response turns would pay the
 * redirect's per-message latency.
 */
static bool proxy_conn_wants_sockmap(const struct proxy_conn *c)
{
	uint32_t after = PROXY_SETTING(sockmap_after);

	if (c->bp || c->ex || c->w->sm_epfd < 0 || c->up.bytes + c->down.bytes < after)
		return false;
	return after == 0 || !(c->up.flags & c->down.flags & PROXY_DIR_AUTO);
}

/* After pumping: moves the tunnel to the sockmap once it wants to, then watches. */
static void proxy_conn_pumped(struct proxy_conn *c)
{
	if (proxy_conn_wants_sockmap(c) && proxy_bypass_try(c) < 0) {
		proxy_conn_close(c);
		return;
	}
	proxy_conn_update(c);
}

/* The backend is connected and has (or will have) the head: bytes flow both ways now. */
static void proxy_conn_tunnel(struct proxy_conn *c)
{
	struct proxy_worker *w = c->w;
	int rc;

	proxy_worker_list_add(w, c, PROXY_LIST_TUNNEL);
	proxy_stats_count(c->port, PROXY_R_ALLOWED);
	proxy_event_decision(&c->peer, c->port, c->route, 200, "valid token");
	c->down_wait = PROXY_PUMP_READ;
	c->up_wait = PROXY_PUMP_READ;
	switch (PROXY_SETTING(forward_copy)) {
	case PROXY_FORWARD_COPY:
		c->up.flags |= PROXY_DIR_COPY;
		c->down.flags |= PROXY_DIR_COPY;
		break;
	case PROXY_FORWARD_AUTO:
		/* A small message costs two syscalls either way, but recv/send skip the pipe's
		 * page juggling; bulk is cheaper through the pipe (and then the sockmap). */
		c->up.flags |= PROXY_DIR_COPY | PROXY_DIR_AUTO;
		c->down.flags |= PROXY_DIR_COPY | PROXY_DIR_AUTO;
		break;
	default:
		break;
	}
	/* One exchange: the pump also learns at once that a request without body is all sent. */
	if (c->up.len > c->up.off || c->ex) {
		rc = proxy_pump(&w->pool, &c->up, c->cfd, c->bfd, PROXY_PUMP_CAP);
		if (rc < 0) {
			proxy_conn_close(c);
			return;
		}
		c->up_wait = (uint8_t)rc;
	}
	if (c->ex)
		proxy_exchange_arm(c);
	proxy_conn_pumped(c);
}

static void proxy_conn_backend_down(struct proxy_conn *c)
{
	proxy_conn_fail(c, 502, "backend down", false);
}

int proxy_conn_dial(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Small writes go out at once: the client's own segmentation is what it gets. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Before connect(), so the connection starts with it. Checked at start: a refusal now
	 * leaves the host's algorithm, which still works. */
	proxy_congestion_apply(fd);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno != EINPROGRESS) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/*
 * A backend connection with data[0..n) sent (as far as it went): an idle one from the pool when
 * the request is one exchange (one that the backend has closed meanwhile fails the send, and a
 * new one is dialled), else a new one. On loopback the handshake has usually completed by the
 * time connect() returns EINPROGRESS, so the bytes go at once; 0 sent means it is really in
 * progress. Returns the bytes sent or -errno; *reused says where the connection came from.
 */
static ssize_t proxy_conn_open(struct proxy_conn *c, const char *data, size_t n, bool pooled,
			       bool *reused)
{
	uint16_t port = c->route->backend_port;
	ssize_t sent;

	*reused = false;
	if (pooled) {
		c->bfd = proxy_reuse_take(c->w, port);
		if (c->bfd >= 0) {
			sent = proxy_send(c->bfd, data, n);
			if (sent > 0) {
				*reused = true;
				return sent;
			}
			evloop_forget(c->w->loop, c->bfd);
			close(c->bfd);
		}
	}
	c->bfd = proxy_conn_dial(port);
	if (c->bfd < 0)
		return c->bfd;
	return proxy_send(c->bfd, data, n);
}

/*
 * Valid head: hand the backend data[0..n) (the head without the token, and the body so far).
 * ri (or NULL) says whether it is one exchange over a reusable connection. data is the
 * worker's scratch or c->buf (owned by the connection from here).
 */
static void proxy_conn_connect(struct proxy_conn *c, char *data, size_t n,
			       const struct proxy_reuse_info *ri)
{
	bool pooled = ri && ri->ok, reused;
	ssize_t sent = proxy_conn_open(c, data, n, pooled, &reused);

	if (sent < 0) {
		proxy_conn_backend_down(c); /* ECONNREFUSED, EPIPE...: nobody listens */
		return;
	}
	proxy_stats_backend(reused);
	if (pooled && proxy_exchange_start(c, ri, data, n, reused) < 0) {
		proxy_conn_backend_down(c);
		return;
	}

	/* What is left goes in up.buf; the scratch is the worker's, so it is copied. */
	if ((size_t)sent < n) {
		if (data == c->buf) {
			c->up.buf = c->buf;
			c->up.cap = c->cap;
			c->buf = NULL;
			c->len = c->cap = 0;
		} else {
			c->up.buf = malloc(n);
			if (!c->up.buf) {
				proxy_conn_backend_down(c);
				return;
			}
			memcpy(c->up.buf, data, n);
			c->up.cap = (uint32_t)n;
		}
		c->up.off = (uint32_t)sent;
		c->up.len = (uint32_t)n;
	}
	c->up.bytes = (uint64_t)sent;
	if (c->buf) {
		explicit_bzero(c->buf, c->len);
		free(c->buf);
		c->buf = NULL;
		c->len = c->cap = 0;
	}
	if (sent > 0) {
		proxy_conn_tunnel(c);
		return;
	}
	/* In progress: wait for the backend alone (the client's bytes can wait in its socket). */
	proxy_worker_list_add(c->w, c, PROXY_LIST_CONNECT);
	evloop_unwatch(c->w->loop, c->cfd);
	if (evloop_watch(c->w->loop, c->bfd, EVLOOP_WRITE, proxy_conn_backend_cb, c) < 0)
		proxy_conn_backend_down(c);
}

static void proxy_conn_connected(struct proxy_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		proxy_conn_backend_down(c);
		return;
	}
	proxy_conn_tunnel(c);
}

/* The verdict on a complete (or impossible) head in data[0..len). */
static void proxy_conn_judge(struct proxy_conn *c, char *data, size_t len, int status,
			     size_t fwd_len, const char *reason, const struct proxy_reuse_info *ri)
{
	if (status == 200) {
		proxy_conn_connect(c, data, fwd_len, ri);
		return;
	}
	proxy_conn_fail(c, status, reason, true);
}

/* Makes room in c->buf for more head bytes; false when out of memory. */
static bool proxy_conn_grow(struct proxy_conn *c, size_t head_max)
{
	size_t cap = c->cap ? (size_t)c->cap * 2 : PROXY_HEAD_BUF_MIN;
	char *b;

	if (cap > head_max)
		cap = head_max;
	if (cap <= c->cap)
		return true;
	b = realloc(c->buf, cap);
	if (!b)
		return false;
	c->buf = b;
	c->cap = (uint32_t)cap;
	return true;
}

/*
 * Reads the head. The first read goes into the worker's scratch buffer, so the usual head
 * (complete in one read) costs no allocation; only an incomplete one is copied into a buffer
 * of its own, which grows with what comes. The parser rescans from the start each time, so it
 * runs only when a line may have ended (a new '\n') or the size limit is reached.
 */
static void proxy_conn_read_head(struct proxy_conn *c)
{
	struct proxy_worker *w = c->w;
	size_t head_max = PROXY_SETTING(head_max), fwd_len = 0;
	bool reuse = PROXY_SETTING(backend_reuse);
	struct proxy_reuse_info ri = { 0 };
	const char *reason = NULL;
	int status;

	for (;;) {
		char *p;
		size_t room;
		ssize_t n;

		if (!c->buf) {
			if (w->scratch_cap < head_max) {
				char *s = realloc(w->scratch, head_max);

				if (!s) {
					proxy_conn_close(c);
					return;
				}
				w->scratch = s;
				w->scratch_cap = head_max;
			}
			p = w->scratch;
			room = head_max;
		} else {
			if (c->len >= c->cap && !proxy_conn_grow(c, head_max)) {
				proxy_conn_close(c);
				return;
			}
			p = c->buf + c->len;
			room = c->cap - c->len;
		}
		if (room == 0) {
			/* head_max was lowered below what this head already has. */
			proxy_conn_fail(c, 431, "head too large", true);
			return;
		}
		n = recv(c->cfd, p, room, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			n = 0; /* reset: as good as gone */
		}
		if (n == 0) {
			/* Gone before its head was complete: nothing to answer. */
			proxy_stats_count(c->port, PROXY_R_ABORTED);
			proxy_conn_close(c);
			return;
		}
		c->sent_any = true;
		proxy_conn_refresh_route(c);
		if (!c->buf) {
			status = proxy_head_judge_reuse(
			    p, (size_t)n, head_max, c->route->token_header, c->route->token_hash,
			    &fwd_len, &reason, reuse ? &ri : NULL);
			if (status) {
				proxy_conn_judge(c, p, (size_t)n, status, fwd_len, reason,
						 reuse ? &ri : NULL);
				return;
			}
			c->cap = (uint32_t)((size_t)n > PROXY_HEAD_BUF_MIN ? (size_t)n
									   : PROXY_HEAD_BUF_MIN);
			if (c->cap > head_max)
				c->cap = (uint32_t)head_max;
			c->buf = malloc(c->cap);
			if (!c->buf) {
				proxy_conn_close(c);
				return;
			}
			memcpy(c->buf, p, (size_t)n);
			c->len = (uint32_t)n;
			continue;
		}
		c->len += (uint32_t)n;
		if (!memchr(p, '\n', (size_t)n) && c->len < head_max)
			continue;
		status = proxy_head_judge_reuse(c->buf, c->len, head_max, c->route->token_header,
						c->route->token_hash, &fwd_len, &reason,
						reuse ? &ri : NULL);
		if (status) {
			proxy_conn_judge(c, c->buf, c->len, status, fwd_len, reason,
					 reuse ? &ri : NULL);
			return;
		}
	}
	if (evloop_watch(w->loop, c->cfd, EVLOOP_READ, proxy_conn_client_cb, c) < 0)
		proxy_conn_close(c);
}

/* After an error answer: read and drop until EOF, the byte cap or the linger deadline. */
static void proxy_conn_drain(struct proxy_conn *c)
{
	for (;;) {
		ssize_t n = recv(c->cfd, c->w->scratch, c->w->scratch_cap, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || (c->drained += (uint32_t)n) > PROXY_LINGER_MAX) {
			proxy_conn_close(c);
			return;
		}
	}
}

/* A tunnel carried bytes (or a FIN): its idle deadline starts again (the list is ordered by
 * that time, so this moves it to the end: a few pointers, no system call). */
static void proxy_conn_touch(struct proxy_conn *c)
{
	if (c->list == PROXY_LIST_TUNNEL)
		proxy_worker_list_add(c->w, c, PROXY_LIST_TUNNEL);
}

static void proxy_conn_tunnel_event(struct proxy_conn *c, bool client, unsigned mask)
{
	struct proxy_pool *pool = &c->w->pool;
	bool up_in = client ? (mask & EVLOOP_READ) : (mask & EVLOOP_WRITE);
	bool down_in = client ? (mask & EVLOOP_WRITE) : (mask & EVLOOP_READ);
	int rc;

	proxy_conn_touch(c);
	if (c->ex) {
		proxy_exchange_event(c, client, mask);
		return;
	}
	if (mask & EVLOOP_RDHUP)
		(client ? &c->up : &c->down)->flags |= PROXY_DIR_HUP;
	if (c->down_wait == PROXY_PUMP_DONE)
		c->up.flags |= PROXY_DIR_LAST;
	if (c->up_wait == PROXY_PUMP_DONE)
		c->down.flags |= PROXY_DIR_LAST;

	if (up_in && c->up_wait != PROXY_PUMP_DONE && !(c->up.flags & PROXY_DIR_SOCKMAP)) {
		rc = proxy_pump(pool, &c->up, c->cfd, c->bfd, PROXY_PUMP_CAP);
		if (rc < 0)
			goto fail;
		c->up_wait = (uint8_t)rc;
	}
	if (down_in && c->down_wait != PROXY_PUMP_DONE && !(c->down.flags & PROXY_DIR_SOCKMAP)) {
		rc = proxy_pump(pool, &c->down, c->bfd, c->cfd, PROXY_PUMP_CAP);
		if (rc < 0)
			goto fail;
		c->down_wait = (uint8_t)rc;
	}
	proxy_conn_pumped(c);
	return;
fail:
	/* A reset or a write to a closed side: nothing more can be delivered either way. */
	proxy_conn_close(c);
}

static void proxy_conn_client_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct proxy_conn *c = data;

	switch (c->list) {
	case PROXY_LIST_HEAD:
		proxy_conn_read_head(c);
		break;
	case PROXY_LIST_ANSWER:
	case PROXY_LIST_TUNNEL:
		proxy_conn_tunnel_event(c, true, mask);
		break;
	case PROXY_LIST_LINGER:
		proxy_conn_drain(c);
		break;
	default:
		break;
	}
}

static void proxy_conn_backend_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct proxy_conn *c = data;

	if (c->list == PROXY_LIST_CONNECT)
		proxy_conn_connected(c);
	else if (c->list == PROXY_LIST_TUNNEL || c->list == PROXY_LIST_ANSWER)
		proxy_conn_tunnel_event(c, false, mask);
}

void proxy_conn_accepted(struct proxy_worker *w, int fd, uint16_t port,
			 const struct proxy_addr *peer)
{
	struct proxy_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->cfd = fd;
	c->bfd = -1;
	c->port = port;
	c->peer = *peer;
	c->route_gen = proxy_routes_generation();
	c->route = proxy_routes_lookup(port);
	proxy_stats_active(port, 1);
	if (!c->route) {
		/* Closed between accept and here: as if it had not been accepted. */
		proxy_worker_list_add(w, c, PROXY_LIST_LINGER);
		proxy_conn_close(c);
		return;
	}
	if (proxy_limits_blocked(proxy_limits, peer, evloop_now_ms())) {
		proxy_stats_count(port, PROXY_R_BLOCKED);
		proxy_event_decision(peer, port, c->route, 403, "blocked source");
		proxy_worker_list_add(w, c, PROXY_LIST_HEAD);
		proxy_conn_refuse(c, 403, "blocked");
		return;
	}
	proxy_worker_list_add(w, c, PROXY_LIST_HEAD);
	/* Clients usually send at once: try before asking epoll. */
	proxy_conn_read_head(c);
}

uint64_t proxy_conn_duration(enum proxy_list l)
{
	switch (l) {
	case PROXY_LIST_HEAD:
		return PROXY_SETTING(head_timeout_ms);
	case PROXY_LIST_CONNECT:
		return PROXY_SETTING(connect_timeout_ms);
	case PROXY_LIST_LINGER:
		return PROXY_SETTING(linger_ms);
	case PROXY_LIST_ANSWER:
		return PROXY_SETTING(answer_timeout_ms);
	case PROXY_LIST_TUNNEL:
		return (uint64_t)PROXY_SETTING(tunnel_idle_s) * 1000;
	default:
		return 0;
	}
}

uint64_t proxy_conn_expire(struct proxy_worker *w, enum proxy_list l, uint64_t now)
{
	uint64_t d = proxy_conn_duration(l);
	struct proxy_conn *c;

	if (l == PROXY_LIST_TUNNEL && !d)
		return 0; /* idle tunnels are never closed */
	/* Each list is in arrival order and its duration is the same for all: oldest first. */
	while ((c = w->lists[l].first) && now - c->since >= d) {
		switch (l) {
		case PROXY_LIST_HEAD:
			/* A connection that never sent a byte (a browser's preconnect) is not a
			 * failure of its source; a head that stalls is. */
			proxy_conn_fail(c, 408, "slow head", c->sent_any);
			break;
		case PROXY_LIST_CONNECT:
			proxy_conn_backend_down(c);
			break;
		case PROXY_LIST_ANSWER:
			proxy_exchange_expired(c);
			break;
		case PROXY_LIST_TUNNEL:
			/* The redirect (--sockmap) moves bytes without us: we cannot tell idle
			 * from busy there, so its tunnels are not closed for idleness. */
			if (c->bp) {
				proxy_worker_list_add(w, c, PROXY_LIST_TUNNEL);
				break;
			}
			log_debug("tunnel %d/%d: idle for %llu s, closed", c->cfd, c->bfd,
				  (unsigned long long)(d / 1000));
			proxy_stats_idle();
			proxy_conn_close(c);
			break;
		default:
			proxy_conn_close(c);
		}
	}
	return c ? c->since + d : 0;
}

void proxy_conn_close_all(struct proxy_worker *w)
{
	for (int l = 0; l < PROXY_LIST_MAX; l++)
		while (w->lists[l].first)
			proxy_conn_close(w->lists[l].first);
}
