// SPDX-License-Identifier: MIT
/* proxy_splice: a per-thread pool of pipes and the pump moving one direction in the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "proxy_splice.h"

#define PROXY_SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

void proxy_pool_init(struct proxy_pool *pool, unsigned max_free, int pipe_size)
{
	*pool = (struct proxy_pool){ .max_free = max_free, .pipe_size = pipe_size };
}

struct proxy_pipe *proxy_pool_get(struct proxy_pool *pool)
{
	struct proxy_pipe *p = pool->free;
	int fds[2], size;

	if (p) {
		pool->free = p->next;
		pool->n_free--;
		pool->n_used++;
		return p;
	}
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		int err = errno;

		free(p);
		pool->n_failed++;
		errno = err;
		return NULL;
	}
	/* A bigger pipe means fewer splices per megabyte; refused (a user's pipe quota is
	 * spent, or pipe-max-size is lower) is harmless: the default size works. */
	if (pool->pipe_size > 0)
		fcntl(fds[1], F_SETPIPE_SZ, pool->pipe_size);
	size = fcntl(fds[1], F_GETPIPE_SZ);
	*p = (struct proxy_pipe){ .rfd = fds[0], .wfd = fds[1], .size = size > 0 ? size : 65536 };
	pool->n_created++;
	pool->n_used++;
	return p;
}

static void proxy_pipe_close(struct proxy_pipe *p)
{
	close(p->rfd);
	close(p->wfd);
	free(p);
}

void proxy_pool_put(struct proxy_pool *pool, struct proxy_pipe *p, int empty)
{
	if (!p)
		return;
	pool->n_used--;
	/* A pipe with bytes left in it would hand them to the next connection: never reused. */
	if (!empty || pool->n_free >= pool->max_free) {
		proxy_pipe_close(p);
		return;
	}
	p->next = pool->free;
	pool->free = p;
	pool->n_free++;
}

void proxy_pool_destroy(struct proxy_pool *pool)
{
	struct proxy_pipe *p, *next;

	for (p = pool->free; p; p = next) {
		next = p->next;
		proxy_pipe_close(p);
	}
	pool->free = NULL;
	pool->n_free = 0;
	free(pool->copy_buf);
	pool->copy_buf = NULL;
}

void proxy_dir_release(struct proxy_pool *pool, struct proxy_dir *d)
{
	if (d->pipe)
		proxy_pool_put(pool, d->pipe, d->in_pipe == 0);
	d->pipe = NULL;
	d->in_pipe = 0;
	free(d->buf);
	d->buf = NULL;
	d->off = d->len = d->cap = 0;
}

/* Writes buf[off..len) to dst. 0 when all is written, PROXY_PUMP_WRITE, or -errno. */
ssize_t proxy_sendv(int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t w;

	do
		w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN ? 0 : -errno;
	return w;
}

ssize_t proxy_send(int fd, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };

	return proxy_sendv(fd, &iov, 1);
}

int proxy_dir_flush(struct proxy_dir *d, int dst)
{
	while (d->off < d->len) {
		ssize_t n = proxy_send(dst, d->buf + d->off, d->len - d->off);

		if (n <= 0)
			return n ? (int)n : PROXY_PUMP_WRITE;
		d->off += (uint32_t)n;
		d->bytes += (uint64_t)n;
	}
	/* Empty: give the memory back, so an idle connection holds no buffer. */
	free(d->buf);
	d->buf = NULL;
	d->off = d->len = d->cap = 0;
	return 0;
}

/* Empties the pipe into dst. 0 when empty (the pipe went back), PROXY_PUMP_WRITE, or -errno. */
static int proxy_pump_pipe(struct proxy_pool *pool, struct proxy_dir *d, int dst)
{
	while (d->in_pipe) {
		ssize_t n = splice(d->pipe->rfd, NULL, dst, NULL, d->in_pipe, PROXY_SPLICE_FLAGS);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: dst's send buffer is full; the bytes wait in the pipe. */
			return errno == EAGAIN ? PROXY_PUMP_WRITE : -errno;
		}
		if (n == 0)
			return -EIO; /* a non-empty pipe that yields nothing: never seen, never loop
				      */
		d->in_pipe -= (uint32_t)n;
		d->bytes += (uint64_t)n;
	}
	if (d->pipe) {
		proxy_pool_put(pool, d->pipe, 1);
		d->pipe = NULL;
	}
	return 0;
}

/*
 * Copy path: reads up to want bytes from src into the pool's buffer and writes them to dst;
 * what dst does not take goes to d->buf. >0 read, 0 EOF, or -errno.
 */
static ssize_t proxy_pump_copy(struct proxy_pool *pool, struct proxy_dir *d, int src, int dst,
			       size_t want)
{
	ssize_t n, w;

	if (!pool->copy_buf) {
		pool->copy_buf = malloc(PROXY_COPY_BUF);
		if (!pool->copy_buf)
			return -ENOMEM;
	}
	if (want > PROXY_COPY_BUF)
		want = PROXY_COPY_BUF;
	/* read(), not recv(): the fallback must work for whatever splice refused. */
	do
		n = read(src, pool->copy_buf, want);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	w = proxy_send(dst, pool->copy_buf, (size_t)n);
	if (w < 0)
		return w;
	d->bytes += (uint64_t)w;
	if (w < n) {
		d->buf = malloc((size_t)(n - w));
		if (!d->buf)
			return -ENOMEM;
		memcpy(d->buf, pool->copy_buf + w, (size_t)(n - w));
		d->off = 0;
		d->len = d->cap = (uint32_t)(n - w);
	}
	return n;
}

/* Splices up to want bytes from src into a pipe. >0 moved, 0 EOF, or -errno. */
static ssize_t proxy_pump_splice_in(struct proxy_pool *pool, struct proxy_dir *d, int src,
				    size_t want)
{
	ssize_t n;

	if (!d->pipe) {
		d->pipe = proxy_pool_get(pool);
		if (!d->pipe)
			return -errno;
	}
	if (want > d->pipe->size)
		want = d->pipe->size;
	do
		n = splice(src, NULL, d->pipe->wfd, NULL, want, PROXY_SPLICE_FLAGS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	d->in_pipe = (uint32_t)n;
	return n;
}

int proxy_pump(struct proxy_pool *pool, struct proxy_dir *d, int src, int dst, size_t cap)
{
	size_t got = 0;
	bool drained = false, copied = false;
	int rc;

	for (;;) {
		/* What is already on our side goes first, in order: buffer, then pipe. */
		if (d->off < d->len || d->buf) {
			rc = proxy_dir_flush(d, dst);
			if (rc)
				return rc;
		}
		rc = proxy_pump_pipe(pool, d, dst);
		if (rc)
			return rc;

		if (d->flags & PROXY_DIR_EOF) {
			if (!(d->flags & PROXY_DIR_DONE)) {
				/* Half-close: the peer learns that this side has ended. ENOTCONN
				 * (the peer already went away) changes nothing for us. */
				if (!(d->flags & PROXY_DIR_LAST))
					shutdown(dst, SHUT_WR);
				d->flags |= PROXY_DIR_DONE;
			}
			return PROXY_PUMP_DONE;
		}
		/* A limited direction (one request's body) ends with its last byte, and never
		 * reads past it. */
		if (d->flags & PROXY_DIR_LIMIT) {
			if (!d->limit) {
				d->flags |= PROXY_DIR_EOF | PROXY_DIR_LAST;
				continue;
			}
			if (cap - got > d->limit)
				cap = got + (size_t)d->limit;
		}
		/* A short read said the socket is drained: level-triggered epoll tells us when
		 * more comes, which saves the read that would only return EAGAIN. After the
		 * peer's FIN nothing more comes at all, so a short read() is the last one; not a
		 * short splice, which also stops when the pipe runs out of slots. */
		if (drained && copied && (d->flags & PROXY_DIR_HUP)) {
			d->flags |= PROXY_DIR_EOF;
			continue;
		}
		if (got >= cap || drained)
			return PROXY_PUMP_READ;

		if (d->flags & PROXY_DIR_COPY) {
			ssize_t n = proxy_pump_copy(pool, d, src, dst, cap - got);

			if (n == -EAGAIN)
				return PROXY_PUMP_READ;
			if (n < 0)
				return (int)n;
			if (n == 0)
				d->flags |= PROXY_DIR_EOF;
			if (d->flags & PROXY_DIR_LIMIT)
				d->limit -= (uint64_t)n;
			if (d->len > d->off)
				return PROXY_PUMP_WRITE; /* dst took part only: it is full */
			got += (size_t)n;
			drained = n > 0 && (size_t)n < PROXY_COPY_BUF && got < cap;
			copied = true;
			if ((d->flags & PROXY_DIR_AUTO) && n >= PROXY_COPY_BULK)
				d->flags &= (uint8_t) ~(PROXY_DIR_COPY | PROXY_DIR_AUTO);
			continue;
		}

		ssize_t n = proxy_pump_splice_in(pool, d, src, cap - got);

		if (n < 0) {
			switch (n) {
			case -EAGAIN:
				/* The pipe is empty here, so EAGAIN means src has nothing more. */
				proxy_pool_put(pool, d->pipe, 1);
				d->pipe = NULL;
				return PROXY_PUMP_READ;
			case -EINVAL:
			case -ENOSYS:
			case -EOPNOTSUPP:
			case -EMFILE:
			case -ENFILE:
			case -ENOMEM:
				/* splice cannot take these fds (EINVAL), or no pipe could be made:
				 * copy through user space from now on. */
				if (d->pipe)
					proxy_pool_put(pool, d->pipe, 1);
				d->pipe = NULL;
				d->flags |= PROXY_DIR_COPY; /* for good: never AUTO */
				continue;
			default:
				return (int)n;
			}
		}
		if (n == 0)
			d->flags |= PROXY_DIR_EOF;
		if (d->flags & PROXY_DIR_LIMIT)
			d->limit -= (uint64_t)n;
		got += (size_t)n;
		drained = n > 0 && d->pipe && (size_t)n < d->pipe->size && got < cap;
		copied = false;
	}
}
