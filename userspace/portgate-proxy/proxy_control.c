// SPDX-License-Identifier: MIT
/* proxy_control: the control channel: JSON ops in, listening fds by SCM_RIGHTS, replies out. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "proxy.h"
#include "proxy_congestion.h"

#define PROXY_CONTROL_LINE_MAX (64 * 1024)
#define PROXY_CONTROL_FDS_MAX  16 /* fds accepted per recvmsg */
#define PROXY_CONTROL_PENDING  64 /* fds received whose line is not complete yet */

/*
 * An fd and where it arrived in the byte stream: the offset of the last byte of the recvmsg
 * that carried it. The kernel never merges a message carrying fds with later bytes, so that
 * byte belongs to the line sent with the fd (one line per sendmsg, as portgated does).
 */
struct proxy_control_fd {
	uint64_t at;
	int fd;
};

static struct {
	struct evloop *loop;
	int fd;
	struct proxy_worker *workers;
	int n_workers;
	char *in;
	size_t len;
	uint64_t consumed; /* stream offset of in[0] */
	struct proxy_control_fd pending[PROXY_CONTROL_PENDING];
	int n_pending;
	uint8_t open[65536 / 8]; /* ports with a listener */
} proxy_ctl = { .fd = -1 };

static bool proxy_control_is_open(uint16_t port)
{
	return proxy_ctl.open[port / 8] & (1u << (port % 8));
}

static void proxy_control_set_open(uint16_t port, bool open)
{
	if (open)
		proxy_ctl.open[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		proxy_ctl.open[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

static void proxy_control_error(int port, const char *error)
{
	char esc[512];

	if (proxy_json_escape(error, esc, sizeof(esc)))
		strcpy(esc, "error");
	if (port > 0)
		proxy_events_printf("{\"event\":\"error\",\"port\":%d,\"error\":\"%s\"}", port,
				    esc);
	else
		proxy_events_printf("{\"event\":\"error\",\"error\":\"%s\"}", esc);
	proxy_events_flush();
}

/* A listening TCP socket, made ready for the loops: non-blocking, Nagle off (inherited),
 * accept deferred until data. */
static int proxy_control_check_listener(int fd)
{
	int v = 0, one = 1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return -ENOTSOCK;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || (v != AF_INET && v != AF_INET6))
		return -EAFNOSUPPORT;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* --congestion: checked at start, so a refusal here is news worth refusing the port for
	 * (serving it with another algorithm than asked would go unnoticed). */
	v = proxy_congestion_apply(fd);
	if (v < 0)
		return v;
	/* HTTP clients speak first: the kernel holds a connection until its head starts to
	 * arrive, which saves an empty read, an epoll registration and a wakeup per connection
	 * (docs/proxy-protocol.md, "Deferred accept"). */
	v = (int)PROXY_SETTING(defer_accept_s);
	if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)) < 0)
		log_warn("TCP_DEFER_ACCEPT refused (%s): this listener accepts at once",
			 strerror(errno)); /* an optimisation: serve anyway */
	return 0;
}

int proxy_control_listen(struct proxy_route *r, int fd)
{
	int rc = proxy_control_check_listener(fd);

	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* The route first: a connection accepted a moment later must find it. */
	proxy_routes_set(r);
	for (int i = 0; i < proxy_ctl.n_workers; i++) {
		int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

		if (dup < 0 ||
		    proxy_worker_post(&proxy_ctl.workers[i], PROXY_MSG_LISTEN, r->port, dup) < 0) {
			rc = dup < 0 ? -errno : -ENOMEM;
			if (dup >= 0)
				close(dup);
			break;
		}
	}
	close(fd);
	if (rc == 0)
		proxy_control_set_open(r->port, true);
	return rc;
}

static void proxy_control_unlisten(uint16_t port)
{
	for (int i = 0; i < proxy_ctl.n_workers; i++)
		proxy_worker_post(&proxy_ctl.workers[i], PROXY_MSG_UNLISTEN, port, -1);
	proxy_control_set_open(port, false);
}

static int proxy_control_port(json_t *o, const char *key, bool required, uint16_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return required ? -EINVAL : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return -EINVAL;
	*out = (uint16_t)json_integer_value(v);
	return 0;
}

static const char *proxy_control_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void proxy_control_op_listen(json_t *o, int fd)
{
	struct proxy_route_spec spec = { 0 };
	struct proxy_route *r;
	int rc;

	if (proxy_control_port(o, "port", true, &spec.port) ||
	    proxy_control_port(o, "backend_port", true, &spec.backend_port)) {
		proxy_control_error(spec.port, "listen: port and backend_port must be 1..65535");
		goto out;
	}
	spec.token_hash = proxy_control_str(o, "token_hash");
	spec.token_header = proxy_control_str(o, "token_header");
	spec.bind_address = proxy_control_str(o, "bind_address");
	spec.service = proxy_control_str(o, "service");
	spec.port_name = proxy_control_str(o, "port_name");
	if (spec.token_header && !*spec.token_header)
		spec.token_header = NULL;
	rc = proxy_route_new(&spec, &r);
	if (rc < 0) {
		proxy_control_error(spec.port, rc == -ENOMEM ? "out of memory"
							     : "listen: invalid token_hash, "
							       "token_header or name");
		goto out;
	}
	if (fd < 0) {
		if (!proxy_control_is_open(spec.port)) {
			proxy_route_put(r);
			proxy_control_error(spec.port, "listen: no listening socket attached");
			return;
		}
		proxy_routes_set(r); /* a new token or backend for an open port */
	} else {
		rc = proxy_control_listen(r, fd);
		fd = -1;
		if (rc < 0) {
			proxy_route_put(r);
			proxy_control_error(spec.port, "listen: the attached fd is not a listening "
						       "TCP socket");
			return;
		}
	}
	proxy_route_put(r);
	proxy_events_printf("{\"event\":\"listening\",\"port\":%u}", (unsigned)spec.port);
	proxy_events_flush();
out:
	if (fd >= 0)
		close(fd);
}

static void proxy_control_op_close(json_t *o)
{
	uint16_t port = 0;

	if (proxy_control_port(o, "port", true, &port)) {
		proxy_control_error(0, "close: port must be 1..65535");
		return;
	}
	proxy_routes_remove(port);
	proxy_control_unlisten(port);
}

/* One numeric setting: absent is fine, else it must lie in [lo, hi]. */
static int proxy_control_setting(json_t *o, const char *key, uint32_t lo, uint32_t hi,
				 uint32_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -EINVAL;
	*out = (uint32_t)json_integer_value(v);
	return 1;
}

static void proxy_control_op_settings(json_t *o)
{
	struct proxy_settings s;

	memcpy(&s, &proxy_settings, sizeof(s));
	if (proxy_control_setting(o, "head_timeout_ms", 100, 600000, &s.head_timeout_ms) < 0 ||
	    proxy_control_setting(o, "head_max", 1024, PROXY_HEAD_MAX_LIMIT, &s.head_max) < 0 ||
	    proxy_control_setting(o, "fail_limit", 1, PROXY_FAIL_LIMIT_MAX, &s.fail_limit) < 0 ||
	    proxy_control_setting(o, "fail_window_s", 1, 86400, &s.fail_window_s) < 0 ||
	    proxy_control_setting(o, "block_s", 0, 31 * 86400, &s.block_s) < 0 ||
	    proxy_control_setting(o, "backend_reuse", 0, 1, &s.backend_reuse) < 0 ||
	    proxy_control_setting(o, "defer_accept_s", 0, PROXY_DEFER_ACCEPT_MAX,
				  &s.defer_accept_s) < 0 ||
	    proxy_control_setting(o, "answer_timeout_ms", PROXY_ANSWER_TIMEOUT_MIN,
				  PROXY_ANSWER_TIMEOUT_MAX, &s.answer_timeout_ms) < 0 ||
	    proxy_control_setting(o, "tunnel_idle_s", 0, PROXY_TUNNEL_IDLE_MAX, &s.tunnel_idle_s) <
		0) {
		proxy_control_error(0, "settings: a value is out of range; nothing changed");
		return;
	}
	__atomic_store_n(&proxy_settings.head_timeout_ms, s.head_timeout_ms, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.head_max, s.head_max, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.fail_limit, s.fail_limit, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.fail_window_s, s.fail_window_s, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.block_s, s.block_s, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.backend_reuse, s.backend_reuse, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.defer_accept_s, s.defer_accept_s, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.answer_timeout_ms, s.answer_timeout_ms, __ATOMIC_RELAXED);
	__atomic_store_n(&proxy_settings.tunnel_idle_s, s.tunnel_idle_s, __ATOMIC_RELAXED);
}

void proxy_control_line(const char *line, size_t len, int fd)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *op = o ? proxy_control_str(o, "op") : NULL;

	if (!op) {
		proxy_control_error(0, o ? "no op" : "not a JSON object");
	} else if (strcmp(op, "listen") == 0) {
		proxy_control_op_listen(o, fd);
		fd = -1;
	} else if (strcmp(op, "close") == 0) {
		proxy_control_op_close(o);
	} else if (strcmp(op, "settings") == 0) {
		proxy_control_op_settings(o);
	} else if (strcmp(op, "stats") == 0) {
		char *s = proxy_stats_json();

		if (s)
			proxy_events_emit(s, strlen(s));
		proxy_events_flush();
		free(s);
	} else {
		proxy_control_error(0, "unknown op");
	}
	if (fd >= 0)
		close(fd); /* an fd on a line that takes none */
	json_decref(o);
}

/* Takes the fd that belongs to the line ending at stream offset end (inclusive), if any. */
static int proxy_control_take_fd(uint64_t start, uint64_t end)
{
	int fd = -1;

	while (proxy_ctl.n_pending && proxy_ctl.pending[0].at <= end) {
		struct proxy_control_fd p = proxy_ctl.pending[0];

		memmove(proxy_ctl.pending, proxy_ctl.pending + 1,
			(size_t)--proxy_ctl.n_pending * sizeof(proxy_ctl.pending[0]));
		if (p.at < start || fd >= 0) {
			close(p.fd); /* more than one fd for a line: only the first counts */
			continue;
		}
		fd = p.fd;
	}
	return fd;
}

static void proxy_control_lines(void)
{
	size_t start = 0;

	for (;;) {
		char *nl = memchr(proxy_ctl.in + start, '\n', proxy_ctl.len - start);
		size_t end;

		if (!nl)
			break;
		end = (size_t)(nl - proxy_ctl.in);
		int fd =
		    proxy_control_take_fd(proxy_ctl.consumed + start, proxy_ctl.consumed + end);

		if (end > start)
			proxy_control_line(proxy_ctl.in + start, end - start, fd);
		else if (fd >= 0)
			close(fd);
		start = end + 1;
	}
	memmove(proxy_ctl.in, proxy_ctl.in + start, proxy_ctl.len - start);
	proxy_ctl.len -= start;
	proxy_ctl.consumed += start;
	if (proxy_ctl.len >= PROXY_CONTROL_LINE_MAX) {
		/* No newline within the limit: drop it all and say so. */
		proxy_control_error(0, "control line longer than 64 KiB");
		proxy_ctl.consumed += proxy_ctl.len;
		proxy_ctl.len = 0;
		while (proxy_ctl.n_pending)
			close(proxy_ctl.pending[--proxy_ctl.n_pending].fd);
	}
}

static void proxy_control_read_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	union {
		char buf[CMSG_SPACE(PROXY_CONTROL_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cm;

	if (mask & EVLOOP_WRITE) {
		if (!proxy_events_drain())
			evloop_watch(loop, fd, EVLOOP_READ, proxy_control_read_cb, NULL);
	}
	if (!(mask & EVLOOP_READ))
		return;
	for (;;) {
		struct iovec iov = { proxy_ctl.in + proxy_ctl.len,
				     PROXY_CONTROL_LINE_MAX - proxy_ctl.len };
		struct msghdr msg = { .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			log_info("control channel closed (%s): stopping",
				 n < 0 ? strerror(errno) : "EOF");
			evloop_unwatch(loop, fd);
			evloop_stop(loop);
			return;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			int nfd;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < nfd; i++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (proxy_ctl.n_pending == PROXY_CONTROL_PENDING) {
					close(rfd);
					continue;
				}
				proxy_ctl.pending[proxy_ctl.n_pending++] =
				    (struct proxy_control_fd){ .at = proxy_ctl.consumed +
								     proxy_ctl.len + (size_t)n - 1,
							       .fd = rfd };
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			proxy_control_error(0, "too many fds in one message; extra ones closed");
		proxy_ctl.len += (size_t)n;
		proxy_control_lines();
	}
}

/* The events sink had to keep a backlog: watch the control socket for room too. */
static void proxy_control_wake_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	uint64_t v;
	int sink = proxy_events_sink_fd();

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (sink < 0 || !proxy_events_drain())
		return;
	if (sink == proxy_ctl.fd)
		evloop_watch(loop, sink, EVLOOP_READ | EVLOOP_WRITE, proxy_control_read_cb, NULL);
}

int proxy_control_start(struct evloop *loop, int fd, struct proxy_worker *workers, int n)
{
	int rc;

	proxy_ctl.loop = loop;
	proxy_ctl.workers = workers;
	proxy_ctl.n_workers = n;
	rc = evloop_watch(loop, proxy_events_wake_fd(), EVLOOP_READ, proxy_control_wake_cb, NULL);
	if (rc < 0 || fd < 0)
		return rc;
	proxy_ctl.in = malloc(PROXY_CONTROL_LINE_MAX);
	if (!proxy_ctl.in)
		return -ENOMEM;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	proxy_ctl.fd = fd;
	return evloop_watch(loop, fd, EVLOOP_READ, proxy_control_read_cb, NULL);
}

void proxy_control_stop(void)
{
	while (proxy_ctl.n_pending)
		close(proxy_ctl.pending[--proxy_ctl.n_pending].fd);
	free(proxy_ctl.in);
	proxy_ctl.in = NULL;
}
