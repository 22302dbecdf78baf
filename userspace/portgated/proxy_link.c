// SPDX-License-Identifier: MIT
/* proxy_link: portgated's end of the control channel to portgate-proxy (docs/proxy-protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "proxy_link.h"

/* One line waiting to go out, with the fd attached to its first byte (-1: none). */
struct proxy_link_msg {
	struct proxy_link_msg *next;
	char *data;
	size_t len, off;
	int fd;
};

struct proxy_link {
	struct evloop *loop;
	int fd;
	bool down;
	proxy_link_cb cb;
	void *arg;
	struct proxy_link_msg *head, *tail;
	char in[PROXY_LINK_MAX_LINE + 1];
	size_t in_len;
};

static void proxy_link_msg_free(struct proxy_link_msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->data);
	free(m);
}

/* Stops all traffic and tells the owner, once. */
static void proxy_link_down(struct proxy_link *l, const char *why)
{
	if (l->down)
		return;
	l->down = true;
	evloop_unwatch(l->loop, l->fd);
	log_debug("proxy link: down (%s)", why);
	l->cb(NULL, l->arg);
}

/* Sends the head message's next bytes: its fd rides on the first one. */
static ssize_t proxy_link_write(struct proxy_link *l, struct proxy_link_msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = m->data + m->off, .iov_len = m->len - m->off };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (m->fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
	}
	do
		n = sendmsg(l->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0 && m->fd >= 0) {
		/* The proxy holds the socket now; ours is a copy. */
		close(m->fd);
		m->fd = -1;
	}
	return n;
}

/* Writes queued lines until the socket is full; 0 or -errno (the link is then down). */
static void proxy_link_io(struct evloop *loop, int fd, unsigned mask, void *arg);

static int proxy_link_flush(struct proxy_link *l)
{
	unsigned want;

	while (l->head) {
		struct proxy_link_msg *m = l->head;
		ssize_t n = proxy_link_write(l, m);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			int err = -errno;

			proxy_link_down(l, strerror(-err));
			return err;
		}
		m->off += (size_t)n;
		if (m->off < m->len)
			continue;
		l->head = m->next;
		if (!l->head)
			l->tail = NULL;
		proxy_link_msg_free(m);
	}
	want = EVLOOP_READ | (l->head ? EVLOOP_WRITE : 0u);
	if (!l->down && evloop_mask(l->loop, l->fd) != want)
		evloop_watch(l->loop, l->fd, want, proxy_link_io, l);
	return 0;
}

/* Each complete line of l->in is one event; a partial one stays for the next read. */
static void proxy_link_lines(struct proxy_link *l)
{
	size_t start = 0;
	char *nl;

	while (!l->down && (nl = memchr(l->in + start, '\n', l->in_len - start))) {
		size_t len = (size_t)(nl - (l->in + start));
		json_error_t jerr;
		json_t *ev =
		    len ? json_loadb(l->in + start, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;

		start += len + 1;
		if (!len)
			continue;
		if (!json_is_object(ev)) {
			json_decref(ev);
			proxy_link_down(l, "a line that is not a JSON object");
			return;
		}
		l->cb(ev, l->arg);
		json_decref(ev);
	}
	memmove(l->in, l->in + start, l->in_len - start);
	l->in_len -= start;
}

static void proxy_link_io(struct evloop *loop, int fd, unsigned mask, void *arg)
{
	struct proxy_link *l = arg;
	ssize_t n;

	if ((mask & EVLOOP_WRITE) && proxy_link_flush(l) < 0)
		return;
	if (!(mask & EVLOOP_READ) || l->down)
		return;
	for (;;) {
		if (l->in_len == PROXY_LINK_MAX_LINE) {
			proxy_link_down(l, "a line longer than 64 KiB");
			return;
		}
		n = read(l->fd, l->in + l->in_len, PROXY_LINK_MAX_LINE - l->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			proxy_link_down(l, n == 0 ? "end of file" : strerror(errno));
			return;
		}
		l->in_len += (size_t)n;
		proxy_link_lines(l);
		if (l->down)
			return;
	}
}

int proxy_link_new(struct evloop *loop, int fd, proxy_link_cb cb, void *arg,
		   struct proxy_link **out)
{
	struct proxy_link *l = calloc(1, sizeof(*l));
	int flags = fcntl(fd, F_GETFL), err;

	if (!l || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = l ? -errno : -ENOMEM;
		free(l);
		close(fd);
		return err;
	}
	l->loop = loop;
	l->fd = fd;
	l->cb = cb;
	l->arg = arg;
	err = evloop_watch(loop, fd, EVLOOP_READ, proxy_link_io, l);
	if (err < 0) {
		free(l);
		close(fd);
		return err;
	}
	*out = l;
	return 0;
}

void proxy_link_free(struct proxy_link *l)
{
	if (!l)
		return;
	if (!l->down)
		evloop_unwatch(l->loop, l->fd);
	close(l->fd);
	while (l->head) {
		struct proxy_link_msg *m = l->head;

		l->head = m->next;
		proxy_link_msg_free(m);
	}
	free(l);
}

int proxy_link_send(struct proxy_link *l, json_t *msg, int fd)
{
	struct proxy_link_msg *m;
	char *text;
	size_t len;

	if (l->down) {
		if (fd >= 0)
			close(fd);
		return -EPIPE;
	}
	text = json_dumps(msg, JSON_COMPACT);
	len = text ? strlen(text) : 0;
	m = text && len < PROXY_LINK_MAX_LINE ? calloc(1, sizeof(*m)) : NULL;
	if (!m) {
		int err = !text ? -ENOMEM : (len >= PROXY_LINK_MAX_LINE ? -EMSGSIZE : -ENOMEM);

		free(text);
		if (fd >= 0)
			close(fd);
		return err;
	}
	/* json_dumps leaves room for nothing: the newline needs one more byte. */
	m->data = realloc(text, len + 2);
	if (!m->data) {
		free(text);
		free(m);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	m->data[len] = '\n';
	m->data[len + 1] = '\0';
	m->len = len + 1;
	m->fd = fd;
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	return proxy_link_flush(l);
}
