// SPDX-License-Identifier: MIT
/* httpd: HTTP/1.1 server connections on the evloop, for the control API and the metrics port. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "http_head.h"
#include "httpd.h"
#include "log.h"

#define HTTPD_IN_SIZE (HTTPD_MAX_HEAD + HTTPD_MAX_BODY)
#define HTTPD_IDLE_MS 60000

struct httpd {
	struct evloop *loop;
	int fd;
	httpd_handler handler;
	void *arg;
	struct httpd_stats stats;
};

struct httpd_conn {
	struct httpd *h;
	int fd;
	char *in;
	size_t in_len;
	size_t req_len; /* bytes of `in` the current request occupies */
	char *out;
	size_t out_len, out_off, out_cap;
	bool pending;	  /* handler has the request, reply not yet given */
	bool close_after; /* Connection: close, HTTP/1.0 or an error */
	bool peer_eof;	  /* the peer shut its write side: answer what it sent, then close */
	bool in_dispatch; /* inside httpd_process: replies are only queued */
	struct httpd_req req;
};

static void httpd_conn_free(struct httpd_conn *c)
{
	evloop_unwatch(c->h->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void httpd_conn_io(struct evloop *loop, int fd, unsigned mask, void *data);

static void httpd_conn_want(struct httpd_conn *c, unsigned mask)
{
	if (evloop_watch(c->h->loop, c->fd, mask, httpd_conn_io, c) < 0)
		c->close_after = true;
}

static int httpd_out_reserve(struct httpd_conn *c, size_t more)
{
	size_t need = c->out_len + more;
	char *p;

	if (need <= c->out_cap)
		return 0;
	p = realloc(c->out, need + 1024);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = need + 1024;
	return 0;
}

/* Writes what we can; returns -1 when the connection was freed. */
static int httpd_flush(struct httpd_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			httpd_conn_want(c, EVLOOP_WRITE);
			return 0;
		}
		if (n <= 0) {
			httpd_conn_free(c);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->close_after) {
		httpd_conn_free(c);
		return -1;
	}
	return 0;
}

static void httpd_process(struct httpd_conn *c);

void httpd_reply(struct httpd_req *req, int status, const char *type, const char *body, size_t len)
{
	struct httpd_conn *c = req->conn;
	char head[256];
	int n;

	c->h->stats.requests++;
	if (status >= 400)
		c->h->stats.errors++;
	c->pending = false;
	if (status >= 400 && status != 404 && status != 409 && status != 401 && status != 403)
		c->close_after = c->close_after || status == 400 || status >= 413;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
		     http_status_reason(status), type, len,
		     c->close_after ? "Connection: close\r\n" : "");
	if (httpd_out_reserve(c, (size_t)n + len) < 0) {
		httpd_conn_free(c);
		return;
	}
	memcpy(c->out + c->out_len, head, (size_t)n);
	memcpy(c->out + c->out_len + n, body, len);
	c->out_len += (size_t)n + len;
	/* Drop the answered request; keep what the client pipelined after it. */
	memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
	c->in_len -= c->req_len;
	c->req_len = 0;
	/* A synchronous answer is sent by httpd_process once the handler returns. */
	if (!c->in_dispatch)
		httpd_process(c);
}

void httpd_reply_json(struct httpd_req *req, int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

	json_decref(doc);
	if (!text) {
		static const char oom[] = "{\"error\":\"out of memory\"}";

		httpd_reply(req, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	httpd_reply(req, status, "application/json", text, strlen(text));
	free(text);
}

void httpd_reply_error(struct httpd_req *req, int status, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	doc = json_pack("{s:s}", "error", msg);
	if (doc && field)
		json_object_set_new(doc, "field", json_string(field));
	httpd_reply_json(req, status, doc);
}

static void httpd_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Fills c->req from a parsed head; returns 0, or an HTTP status to answer with. */
static int httpd_fill_req(struct httpd_conn *c, const struct http_request *hr, uint64_t body_len)
{
	struct httpd_req *req = &c->req;
	const struct http_header *hdr;
	const char *query;
	size_t path_len, query_len;

	if (hr->method_len >= sizeof(req->method))
		return 501;
	httpd_copy(req->method, sizeof(req->method), hr->method, hr->method_len);
	http_target_split(hr->target, hr->target_len, &path_len, &query, &query_len);
	if (path_len >= sizeof(req->path) || query_len >= sizeof(req->query))
		return 414;
	httpd_copy(req->path, sizeof(req->path), hr->target, path_len);
	httpd_copy(req->query, sizeof(req->query), query ? query : "", query_len);
	hdr = http_find_header(hr->headers, hr->n_headers, "X-Owner-Token");
	req->owner_token[0] = '\0';
	if (hdr) {
		if (hdr->value_len >= sizeof(req->owner_token))
			return 400;
		httpd_copy(req->owner_token, sizeof(req->owner_token), hdr->value, hdr->value_len);
	}
	hdr = http_find_header(hr->headers, hr->n_headers, "Connection");
	c->close_after = c->close_after || hr->version_minor == 0 ||
			 (hdr && hdr->value_len == 5 && strncasecmp(hdr->value, "close", 5) == 0);
	req->body = c->in + hr->head_len;
	req->body_len = (size_t)body_len;
	return 0;
}

/* Answers a request that never reaches the handler. */
static void httpd_refuse(struct httpd_conn *c, int status, const char *msg)
{
	c->close_after = true;
	httpd_reply_error(&c->req, status, NULL, "%s", msg);
}

/* Parses one request from c->in and dispatches it; false when more bytes are needed. */
static bool httpd_dispatch_one(struct httpd_conn *c)
{
	struct http_request hr;
	uint64_t body_len = 0;
	int n, status;

	n = c->in_len ? http_parse_request(c->in, c->in_len, HTTPD_MAX_HEAD, &hr) : 0;
	if (n == 0)
		return false;
	c->req.conn = c;
	c->req_len = c->in_len;
	c->pending = true;
	if (n == -EMSGSIZE) {
		httpd_refuse(c, 431, "request head too large");
		return true;
	}
	if (n < 0 || http_content_length(hr.headers, hr.n_headers, &body_len) < 0) {
		httpd_refuse(c, 400, "malformed HTTP request");
		return true;
	}
	if (body_len > HTTPD_MAX_BODY) {
		httpd_refuse(c, 413, "request body too large");
		return true;
	}
	if (c->in_len < (size_t)n + body_len) {
		c->pending = false;
		return false;
	}
	c->req_len = (size_t)n + (size_t)body_len;
	status = httpd_fill_req(c, &hr, body_len);
	if (status)
		httpd_refuse(c, status, "request target or header too long");
	else
		c->h->handler(&c->req, c->h->arg);
	return true;
}

/* Serves every complete request buffered in c->in, one at a time; stops while a handler
 * waits for the registry (its reply calls back in here). May free c. */
static void httpd_process(struct httpd_conn *c)
{
	c->in_dispatch = true;
	while (!c->pending && httpd_dispatch_one(c))
		if (c->close_after)
			break;
	c->in_dispatch = false;
	if (c->peer_eof && !c->pending)
		c->close_after = true; /* all it sent is answered */
	if (c->out_len > 0 && httpd_flush(c) < 0)
		return;
	if (c->close_after && !c->pending && c->out_len == 0) {
		httpd_conn_free(c);
		return;
	}
	/* While a reply is pending, keep reading: bytes wait in c->in, and a peer that
	 * hangs up is noticed (the reply then only frees the connection). */
	if (!c->out_len)
		httpd_conn_want(c, c->in_len < HTTPD_IN_SIZE && !c->peer_eof ? EVLOOP_READ : 0);
}

/* Reads what the peer sent. A peer that shut its write side still gets the answers to
 * the requests it sent before (half-close); the connection closes after them. */
static void httpd_conn_read(struct httpd_conn *c)
{
	bool eof = false;

	while (c->in_len < HTTPD_IN_SIZE) {
		ssize_t n = recv(c->fd, c->in + c->in_len, HTTPD_IN_SIZE - c->in_len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			eof = true;
			break;
		}
		c->in_len += (size_t)n;
	}
	if (eof) {
		c->peer_eof = true;
		httpd_conn_want(c, 0);
	}
	if (c->pending) {
		if (c->in_len == HTTPD_IN_SIZE)
			httpd_conn_want(c, 0); /* full: wait for the reply */
		return;
	}
	httpd_process(c);
}

static void httpd_conn_io(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct httpd_conn *c = data;

	if (mask & EVLOOP_WRITE) {
		if (httpd_flush(c) == 0 && c->out_len == 0)
			httpd_process(c);
		return;
	}
	if (mask & EVLOOP_READ)
		httpd_conn_read(c);
}

static void httpd_peer(struct httpd_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	c->req.peer_known =
	    getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0;
	c->req.uid = c->req.peer_known ? cred.uid : (uid_t)-1;
	c->req.pid = c->req.peer_known ? cred.pid : 0;
}

static void httpd_accept(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct httpd *h = data;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct httpd_conn *c;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(HTTPD_IN_SIZE);
		if (!c || !c->in) {
			if (c)
				free(c);
			close(cfd);
			continue;
		}
		c->h = h;
		c->fd = cfd;
		httpd_peer(c);
		httpd_conn_want(c, EVLOOP_READ);
	}
}

int httpd_new(struct evloop *loop, int listen_fd, httpd_handler handler, void *arg,
	      struct httpd **out)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->fd = listen_fd;
	h->handler = handler;
	h->arg = arg;
	err = evloop_watch(loop, listen_fd, EVLOOP_READ, httpd_accept, h);
	if (err < 0) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	evloop_unwatch(h->loop, h->fd);
	close(h->fd);
	free(h);
}

const struct httpd_stats *httpd_stats(const struct httpd *h)
{
	return &h->stats;
}

int httpd_listen_unix(const char *path, mode_t mode, const char *group)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group *gr = group && *group ? getgrnam(group) : NULL;
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, mode) < 0 ||
	    (gr && chown(path, 0, gr->gr_gid) < 0) || listen(fd, 512) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int httpd_listen_tcp(const char *addr, unsigned port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v6 = inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1;
	int one = 1, fd, err;

	if (!v6 && inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
		 v6 ? sizeof(sin6) : sizeof(sin)) < 0 ||
	    listen(fd, 128) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
