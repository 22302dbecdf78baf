// SPDX-License-Identifier: MIT
/*
 * proxy_exchange: one request and its response over a backend connection that outlives the
 * client. A client that asks for one exchange (Connection: close) gets a backend connection
 * from the worker's idle pool, or a new one, without the Connection line; the response is
 * delimited on its way down (Content-Length, chunked, or none), and once it is complete the
 * backend connection goes back to the pool and the client gets its FIN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "proxy.h"
#include "proxy_framing.h"
#include "proxy_head.h"

/* A response head larger than this is refused (502): backends send a few hundred bytes. */
#define PROXY_EX_HEAD_MAX (64 * 1024)

enum { EX_HEAD, EX_BODY, EX_DONE };

/* What the down side asks for next. */
enum {
	EX_READ = 1, /* more from the backend */
	EX_WRITE,    /* room in the client's socket */
	EX_FINISHED, /* the response is out: hand over */
	EX_RETRY,    /* a reused connection died before answering: once more on a new one */
	EX_502,	     /* no usable response, nothing sent to the client yet */
};

struct proxy_exchange {
	char *head; /* the response head so far (it is parsed whole before it is sent) */
	uint32_t head_len, head_cap;
	uint8_t phase;
	enum proxy_body body;
	uint64_t left; /* PROXY_BODY_LENGTH: body bytes still to come */
	struct proxy_chunked ch;
	bool keep;	   /* the backend may take another request after this response */
	bool head_request; /* the request was HEAD: no response body */
	bool answered;	   /* a response byte has come */
	bool reused;	   /* the backend connection came from the pool */
	bool stray;	   /* bytes beyond the response, or a broken body: never reuse */
	char *req;	   /* reused connections: the request as forwarded, for one retry */
	uint32_t req_len;
};

int proxy_exchange_start(struct proxy_conn *c, const struct proxy_reuse_info *ri, const char *data,
			 size_t n, bool reused)
{
	struct proxy_exchange *ex = calloc(1, sizeof(*ex));
	uint64_t have = n - ri->head_len;

	if (!ex)
		return -ENOMEM;
	ex->head_request = ri->head_request;
	ex->reused = reused;
	/* A retry resends the request, so it must be whole here (no body still to come). */
	if (reused && have == ri->body) {
		ex->req = malloc(n);
		if (ex->req) {
			memcpy(ex->req, data, n);
			ex->req_len = (uint32_t)n;
		}
	}
	c->ex = ex;
	c->up.flags |= PROXY_DIR_LIMIT;
	c->up.limit = ri->body - have;
	return 0;
}

void proxy_exchange_free(struct proxy_conn *c)
{
	struct proxy_exchange *ex = c->ex;

	if (!ex)
		return;
	if (ex->req)
		explicit_bzero(ex->req, ex->req_len);
	free(ex->req);
	free(ex->head);
	free(ex);
	c->ex = NULL;
}

/* Keeps p[0..n) in down.buf, after what already waits there. 0 or -ENOMEM. */
static int proxy_exchange_keep(struct proxy_dir *d, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (!d->buf || d->len + n > d->cap) {
		size_t keep = d->len - d->off, cap = keep + n;
		char *b = malloc(cap);

		if (!b)
			return -ENOMEM;
		if (keep)
			memcpy(b, d->buf + d->off, keep);
		free(d->buf);
		d->buf = b;
		d->off = 0;
		d->len = (uint32_t)keep;
		d->cap = (uint32_t)cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += (uint32_t)n;
	return 0;
}

/*
 * Queues a[0..an) then b[0..bn) for the client: sent now in one sendmsg as far as it goes
 * (one segment for a head and its small body), the rest kept in down.buf. 0, EX_WRITE (some
 * is kept), or -errno.
 */
static int proxy_exchange_send2(struct proxy_conn *c, const char *a, size_t an, const char *b,
				size_t bn)
{
	struct proxy_dir *d = &c->down;
	struct iovec iov[2] = { { (void *)a, an }, { (void *)b, bn } };
	ssize_t w = 0;
	size_t wa, wb;

	if (!an && !bn)
		return 0;
	if (!d->buf) {
		w = proxy_sendv(c->cfd, iov, 2);
		if (w < 0)
			return (int)w;
		d->bytes += (uint64_t)w;
		if ((size_t)w == an + bn)
			return 0;
	}
	wa = (size_t)w < an ? (size_t)w : an;
	wb = (size_t)w - wa;
	if (proxy_exchange_keep(d, a + wa, an - wa) < 0 ||
	    proxy_exchange_keep(d, b + wb, bn - wb) < 0)
		return -ENOMEM;
	return EX_WRITE;
}

static int proxy_exchange_send(struct proxy_conn *c, const char *p, size_t n)
{
	return proxy_exchange_send2(c, p, n, NULL, 0);
}

/* How many of p[0..n) belong to the response body; the phase becomes EX_DONE at its end.
 * -EBADMSG when a chunked body is broken. */
static ssize_t proxy_exchange_body(struct proxy_exchange *ex, const char *p, size_t n)
{
	bool done = false;
	ssize_t r;

	switch (ex->body) {
	case PROXY_BODY_NONE:
		ex->phase = EX_DONE;
		return 0;
	case PROXY_BODY_LENGTH:
		r = (ssize_t)(n < ex->left ? n : ex->left);
		ex->left -= (uint64_t)r;
		if (!ex->left)
			ex->phase = EX_DONE;
		return r;
	case PROXY_BODY_CHUNKED:
		r = proxy_chunked_feed(&ex->ch, p, n, &done);
		if (done)
			ex->phase = EX_DONE;
		return r;
	default:
		return (ssize_t)n; /* until the backend closes */
	}
}

/*
 * A complete head of hl bytes at buf[0..len) (parsed as r): frame it, then send it with the
 * body bytes that came with it. *used: the bytes of buf this response took. An interim (1xx)
 * response leaves the phase at EX_HEAD for the next one. 0, EX_WRITE, EX_502 or -errno.
 */
static int proxy_exchange_headed(struct proxy_conn *c, const struct http_response *r,
				 const char *buf, size_t hl, size_t len, size_t *used)
{
	struct proxy_exchange *ex = c->ex;
	ssize_t b;
	char *h;
	int rc;

	if (r->status == 101 ||
	    proxy_framing_response(r, ex->head_request, &ex->body, &ex->left, &ex->keep) < 0)
		return c->down.bytes ? -EBADMSG : EX_502;
	ex->phase = EX_BODY;
	memset(&ex->ch, 0, sizeof(ex->ch));
	b = proxy_exchange_body(ex, buf + hl, len - hl);
	if (b < 0)
		return -EBADMSG;
	*used = hl + (size_t)b;
	if (r->status < 200) {
		/* 100 Continue, 103 Early Hints: passed on as they are; the final one follows,
		 * its deadline counted afresh (proxy_exchange_arm), after the body a 100 asks
		 * for. */
		ex->phase = EX_HEAD;
		proxy_worker_list_add(c->w, c, PROXY_LIST_TUNNEL);
		return proxy_exchange_send(c, buf, *used);
	}
	/* The client's connection ends with this response: the head says so. */
	h = malloc(hl + sizeof(PROXY_CLOSE_LINE));
	if (!h)
		return -ENOMEM;
	rc = proxy_exchange_send2(c, h, proxy_framing_close_head(r, buf, hl, h), buf + hl,
				  (size_t)b);
	free(h);
	/* The answer has come: from here the body takes as long as it takes (a download). */
	proxy_worker_list_add(c->w, c, PROXY_LIST_TUNNEL);
	return rc;
}

/* Keeps p[0..n) as the start of a head still incomplete. 0 or -ENOMEM. */
static int proxy_exchange_save(struct proxy_exchange *ex, const char *p, size_t n)
{
	if (n > ex->head_cap) {
		char *h = malloc(n);

		if (!h)
			return -ENOMEM;
		free(ex->head);
		ex->head = h;
		ex->head_cap = (uint32_t)n;
	}
	memmove(ex->head, p, n);
	ex->head_len = (uint32_t)n;
	return 0;
}

/*
 * Response heads: p[0..n) after what an incomplete head already holds. Usually the head is
 * whole in one read and is parsed where it lies; only an incomplete one is copied aside.
 */
static int proxy_exchange_head(struct proxy_conn *c, const char *p, size_t n)
{
	struct proxy_exchange *ex = c->ex;
	struct http_response r;
	const char *buf = p;
	size_t len = n;
	int rc = 0;

	if (ex->head_len) {
		size_t have = ex->head_len;

		if (have + n > ex->head_cap) {
			char *h = realloc(ex->head, have + n);

			if (!h)
				return -ENOMEM;
			ex->head = h;
			ex->head_cap = (uint32_t)(have + n);
		}
		memcpy(ex->head + have, p, n);
		buf = ex->head;
		len = have + n;
		ex->head_len = 0;
	}
	while (ex->phase == EX_HEAD && len) {
		int hl = http_parse_response(buf, len, PROXY_EX_HEAD_MAX, &r);
		size_t used = 0;

		if (hl == 0)
			return proxy_exchange_save(ex, buf, len) < 0 ? -ENOMEM : rc;
		if (hl < 0)
			return c->down.bytes ? -EBADMSG : EX_502;
		rc = proxy_exchange_headed(c, &r, buf, (size_t)hl, len, &used);
		if (rc < 0 || rc == EX_502)
			return rc;
		buf += used;
		len -= used;
	}
	if (len)
		ex->stray = true; /* bytes after the whole response */
	return rc;
}

/* Bytes read from the backend: to the client as far as they belong to the response. */
static int proxy_exchange_input(struct proxy_conn *c, const char *p, size_t n)
{
	struct proxy_exchange *ex = c->ex;
	ssize_t b;
	int rc;

	if (ex->phase == EX_HEAD)
		return proxy_exchange_head(c, p, n);
	b = proxy_exchange_body(ex, p, n);
	if (b < 0)
		return (int)b;
	if ((size_t)b < n)
		ex->stray = true;
	rc = proxy_exchange_send(c, p, (size_t)b);
	return rc;
}

/* Moves the response down until it needs an event, ends, or fails. */
static int proxy_exchange_down(struct proxy_conn *c)
{
	struct proxy_exchange *ex = c->ex;
	struct proxy_pool *pool = &c->w->pool;

	if (!pool->copy_buf) {
		pool->copy_buf = malloc(PROXY_COPY_BUF);
		if (!pool->copy_buf)
			return -ENOMEM;
	}
	for (;;) {
		size_t want = PROXY_COPY_BUF;
		ssize_t n;
		int rc;

		if (c->down.buf) {
			rc = proxy_dir_flush(&c->down, c->cfd);
			if (rc)
				return rc == PROXY_PUMP_WRITE ? EX_WRITE : rc;
		}
		if (ex->phase == EX_DONE)
			return EX_FINISHED;
		/* Never read past a known end: the next bytes would be the backend's own fault,
		 * but they must not reach this client. */
		if (ex->phase == EX_BODY && ex->body == PROXY_BODY_LENGTH && ex->left < want)
			want = (size_t)ex->left;
		do
			n = read(c->bfd, pool->copy_buf, want);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return EX_READ;
		if (n <= 0) {
			if (n == 0 && ex->phase == EX_BODY && ex->body == PROXY_BODY_CLOSE) {
				ex->phase = EX_DONE;
				continue;
			}
			if (!ex->answered)
				return ex->reused && ex->req ? EX_RETRY : EX_502;
			return n < 0 ? -errno
				     : -EPIPE; /* cut short: the client sees it end early */
		}
		ex->answered = true;
		rc = proxy_exchange_input(c, pool->copy_buf, (size_t)n);
		if (rc < 0 || rc == EX_502)
			return rc;
	}
}

/* Nothing waits in fd's receive queue (its FIN may: that is no byte). */
static bool proxy_exchange_nothing_unread(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == EAGAIN);
}

/* The whole request (head and Content-Length body) is in the backend's socket. */
static bool proxy_exchange_request_sent(const struct proxy_conn *c)
{
	return (c->up.flags & (PROXY_DIR_DONE | PROXY_DIR_LIMIT)) ==
		   (PROXY_DIR_DONE | PROXY_DIR_LIMIT) &&
	       !c->up.limit;
}

/* The response is out: the backend connection to the pool (or closed), the client to its FIN. */
static void proxy_exchange_finish(struct proxy_conn *c)
{
	struct proxy_exchange *ex = c->ex;
	bool reuse = ex->keep && !ex->stray && proxy_exchange_request_sent(c);

	if (reuse) {
		proxy_reuse_give(c->w, c->route->backend_port, c->bfd);
	} else {
		evloop_forget(c->w->loop, c->bfd);
		close(c->bfd);
	}
	c->bfd = -1;
	proxy_exchange_free(c);
	/* The client asked for one exchange: with nothing unread, close() sends the FIN after the
	 * response at once; unread bytes would turn it into a RST, so those are drained first. */
	if (!c->down.buf && proxy_exchange_nothing_unread(c->cfd)) {
		proxy_conn_close(c);
		return;
	}
	proxy_conn_linger(c);
}

/* Once more on a new backend connection, with the copy of the request. */
static int proxy_exchange_retry(struct proxy_conn *c)
{
	struct proxy_exchange *ex = c->ex;
	int fd = proxy_conn_dial(c->route->backend_port);

	if (fd < 0)
		return fd;
	evloop_forget(c->w->loop, c->bfd);
	close(c->bfd);
	c->bfd = fd;
	proxy_dir_release(&c->w->pool, &c->up);
	c->up.buf = ex->req;
	c->up.off = 0;
	c->up.len = c->up.cap = ex->req_len;
	c->up.flags = PROXY_DIR_LIMIT | PROXY_DIR_COPY;
	c->up.limit = 0;
	c->up_wait = PROXY_PUMP_WRITE;
	ex->req = NULL;
	ex->reused = false;
	ex->phase = EX_HEAD;
	ex->head_len = 0;
	proxy_stats_backend(false);
	return 0;
}

void proxy_exchange_arm(struct proxy_conn *c)
{
	/* The clock runs from the last request byte handed over (a slow upload is the client's
	 * pace, not the backend's silence) to the final response head. */
	if (c->ex->phase == EX_HEAD && c->list != PROXY_LIST_ANSWER &&
	    proxy_exchange_request_sent(c))
		proxy_worker_list_add(c->w, c, PROXY_LIST_ANSWER);
}

void proxy_exchange_expired(struct proxy_conn *c)
{
	/* The backend took the request and said nothing in time: 504 while the client has had
	 * nothing yet (after an interim response it can only be cut short). The backend
	 * connection is closed, never pooled: its answer may still come. */
	if (!c->down.bytes && !c->down.buf)
		proxy_conn_fail_backend(c, 504, "backend timeout");
	else
		proxy_conn_close(c);
}

/* Watches what each side waits for (the tunnel's rule: up reads the client and writes the
 * backend, down the other way). */
static void proxy_exchange_watch(struct proxy_conn *c, int down)
{
	proxy_exchange_arm(c);
	c->down_wait = down == EX_WRITE ? PROXY_PUMP_WRITE : PROXY_PUMP_READ;
	proxy_conn_update(c);
}

void proxy_exchange_event(struct proxy_conn *c, bool client, unsigned mask)
{
	bool up_in = client ? (mask & EVLOOP_READ) : (mask & EVLOOP_WRITE);
	bool down_in = client ? (mask & EVLOOP_WRITE) : (mask & EVLOOP_READ);
	int rc, down;

	if (up_in && c->up_wait != PROXY_PUMP_DONE) {
		rc = proxy_pump(&c->w->pool, &c->up, c->cfd, c->bfd, PROXY_PUMP_CAP);
		if (rc < 0 && !client && !c->ex->answered) {
			if (c->ex->reused && c->ex->req)
				goto retry; /* the reused connection refused the request */
			proxy_conn_fail_backend(c, 502, "backend down");
			return;
		}
		if (rc < 0) {
			proxy_conn_close(c);
			return;
		}
		c->up_wait = (uint8_t)rc;
	}
	if (!down_in) {
		proxy_exchange_watch(c, c->down_wait == PROXY_PUMP_WRITE ? EX_WRITE : EX_READ);
		return;
	}
	down = proxy_exchange_down(c);
	switch (down) {
	case EX_READ:
	case EX_WRITE:
		proxy_exchange_watch(c, down);
		return;
	case EX_FINISHED:
		proxy_exchange_finish(c);
		return;
	case EX_RETRY:
		goto retry;
	case EX_502:
		proxy_conn_fail_backend(c, 502, "bad backend response");
		return;
	default:
		proxy_conn_close(c); /* cut short after part of the response: nothing to mend */
		return;
	}
retry:
	if (proxy_exchange_retry(c) < 0) {
		proxy_conn_fail_backend(c, 502, "backend down");
		return;
	}
	proxy_exchange_watch(c, EX_READ);
}
