// SPDX-License-Identifier: MIT
/* pg_echo: an HTTP/1.1 test backend: echoes each request, or answers N bytes, or a WebSocket. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "evloop.h"
#include "http_head.h"

/*
 * Per request, by target (keep-alive and pipelining as HTTP/1.1 says):
 *   /bytes/N   N deterministic bytes (pg_echo --gen N prints the same bytes)
 *   /bytes-close/N   the same with Connection: close, then the connection is closed (a
 *              backend ending a tunnel: its FIN comes right behind the bytes)
 *   /sha256    the SHA-256 (hex) of the request body
 *   Upgrade: websocket   101, then every byte received is echoed back raw
 *   /conns     how many connections this backend has accepted (text)
 *   /chunked/N N bytes (as /bytes/N) in chunks of 1000, an extension, then a trailer
 *   /status/204, /status/304   no body (304 with a Content-Length of 7)
 *   /hints     103 Early Hints, then 200 "ok"
 *   /garbage   a response that is not HTTP, then close
 *   /bye       200 "bye" (no Connection: close), then the connection is closed
 *   /silent    no answer at all (the connection stays open)
 *   /silent-after-100   100 Continue, then no answer
 *   HEAD       any target: the head of a 5-byte answer, no body
 *   otherwise  the request itself, head and body, as the response body
 * --bytes N answers every (non-upgrade) request with N bytes, for benchmarks.
 */

#define ECHO_HEAD_MAX	 (1024 * 1024)
#define ECHO_OUT_HIGH	 (4 * 1024 * 1024) /* stop reading while this much waits to be sent */
#define ECHO_READ	 (64 * 1024)
#define ECHO_PATTERN_LEN 65536

enum echo_mode { ECHO_ECHO, ECHO_BYTES, ECHO_SHA };
enum echo_state { ST_HEAD, ST_BODY, ST_WS };

struct echo_conn {
	int fd;
	enum echo_state st;
	enum echo_mode mode;
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outoff, outlen, outcap;
	uint64_t body_left, gen_left, gen_pos;
	EVP_MD_CTX *sha;
	bool close_after, rd_eof, paused;
};

static struct evloop *echo_loop;
static long long echo_fixed_bytes = -1;
static unsigned char echo_pattern[ECHO_PATTERN_LEN];

static unsigned long long echo_accepted;

static void echo_pattern_init(void)
{
	/* Period 65536, every byte value, not a plain ramp (so a shift shows in a checksum). */
	for (uint32_t i = 0; i < ECHO_PATTERN_LEN; i++)
		echo_pattern[i] = (unsigned char)((i * 151u + (i >> 8) * 7u + 13u) & 0xff);
}

static void echo_free(struct echo_conn *c)
{
	evloop_unwatch(echo_loop, c->fd);
	close(c->fd);
	if (c->sha)
		EVP_MD_CTX_free(c->sha);
	free(c->in);
	free(c->out);
	free(c);
}

static int echo_queue(struct echo_conn *c, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *b;

		while (cap < c->outlen + n)
			cap *= 2;
		b = realloc(c->out, cap);
		if (!b)
			return -ENOMEM;
		c->out = b;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	return 0;
}

static int echo_queuef(struct echo_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int echo_queuef(struct echo_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	return echo_queue(c, buf, (size_t)n);
}

static void echo_ws_accept(const struct http_header *key, char out[64])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[EVP_MAX_MD_SIZE];
	char buf[256];
	unsigned mdlen = 0;
	size_t n;

	out[0] = '\0';
	if (!key || key->value_len > 128)
		return;
	memcpy(buf, key->value, key->value_len);
	memcpy(buf + key->value_len, guid, sizeof(guid) - 1);
	n = key->value_len + sizeof(guid) - 1;
	if (EVP_Digest(buf, n, md, &mdlen, EVP_sha1(), NULL) != 1)
		return;
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

static bool echo_header_has(const struct http_request *req, const char *name, const char *token)
{
	const struct http_header *h = http_find_header(req->headers, req->n_headers, name);
	size_t tl = strlen(token);

	if (!h)
		return false;
	for (size_t i = 0; i + tl <= h->value_len; i++)
		if (strncasecmp(h->value + i, token, tl) == 0)
			return true;
	return false;
}

static void echo_sha_done(struct echo_conn *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 2];

	EVP_DigestFinal_ex(c->sha, md, &mdlen);
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[2 * mdlen] = '\n';
	echo_queuef(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %u\r\n\r\n",
		    2 * mdlen + 1);
	echo_queue(c, hex, 2 * mdlen + 1);
}

static bool echo_is(const char *t, size_t tl, const char *path)
{
	return tl == strlen(path) && memcmp(t, path, tl) == 0;
}

/* The scripted answers (see the top); true when req was one. false in *keep: close after. */
static bool echo_scripted(struct echo_conn *c, const struct http_request *req, bool *keep)
{
	const char *t = req->target, *ka = c->close_after ? "Connection: close\r\n" : "";
	size_t tl = req->target_len;

	*keep = true;
	if (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0) {
		echo_queuef(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n%s\r\n", ka);
	} else if (echo_is(t, tl, "/conns")) {
		char n[32];
		int len = snprintf(n, sizeof(n), "%llu\n", echo_accepted);

		echo_queuef(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s", len, ka, n);
	} else if (tl > 9 && memcmp(t, "/chunked/", 9) == 0) {
		unsigned long long n = strtoull(t + 9, NULL, 10), at = 0;

		echo_queuef(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n%s\r\n", ka);
		while (at < n) {
			size_t k = n - at < 1000 ? (size_t)(n - at) : 1000;
			size_t off = (size_t)(at % ECHO_PATTERN_LEN), k1 = k;

			echo_queuef(c, at ? "%zx\r\n" : "%zx;first=yes\r\n", k);
			if (off + k1 > ECHO_PATTERN_LEN)
				k1 = ECHO_PATTERN_LEN -
				     off; /* the pattern wraps inside this chunk */
			echo_queue(c, echo_pattern + off, k1);
			echo_queue(c, echo_pattern, k - k1);
			echo_queue(c, "\r\n", 2);
			at += k;
		}
		echo_queuef(c, "0\r\nX-Trailer: done\r\n\r\n");
	} else if (echo_is(t, tl, "/status/204")) {
		echo_queuef(c, "HTTP/1.1 204 No Content\r\n%s\r\n", ka);
	} else if (echo_is(t, tl, "/status/304")) {
		echo_queuef(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n%s\r\n", ka);
	} else if (echo_is(t, tl, "/hints")) {
		echo_queuef(c,
			    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
			    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n%s\r\nok",
			    ka);
	} else if (echo_is(t, tl, "/garbage")) {
		echo_queuef(c, "HTTP/1.1 2x0 Oops\r\n\r\nnot http");
		*keep = false;
	} else if (echo_is(t, tl, "/silent")) {
		/* nothing: a backend that took the request and hangs */
	} else if (echo_is(t, tl, "/silent-after-100")) {
		echo_queuef(c, "HTTP/1.1 100 Continue\r\n\r\n");
	} else if (echo_is(t, tl, "/bye")) {
		echo_queuef(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye");
		*keep = false;
	} else {
		return false;
	}
	return true;
}

/* One complete request head at in[0..r): queue the answer's start. false: close after. */
static bool echo_request(struct echo_conn *c, const struct http_request *req, size_t r)
{
	uint64_t clen = 0;
	const char *t = req->target;
	size_t tl = req->target_len;

	if (http_content_length(req->headers, req->n_headers, &clen) < 0 ||
	    http_find_header(req->headers, req->n_headers, "transfer-encoding")) {
		echo_queuef(c, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
			       "Connection: close\r\n\r\n");
		return false;
	}
	c->close_after =
	    echo_header_has(req, "connection", "close") ||
	    (req->version_minor == 0 && !echo_header_has(req, "connection", "keep-alive"));
	if (echo_header_has(req, "upgrade", "websocket")) {
		char acc[64];

		echo_ws_accept(http_find_header(req->headers, req->n_headers, "sec-websocket-key"),
			       acc);
		echo_queuef(c,
			    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			    "Connection: Upgrade\r\n%s%s%s\r\n",
			    acc[0] ? "Sec-WebSocket-Accept: " : "", acc, acc[0] ? "\r\n" : "");
		c->st = ST_WS;
		return true;
	}
	if (echo_header_has(req, "expect", "100-continue") && clen)
		echo_queuef(c, "HTTP/1.1 100 Continue\r\n\r\n");
	c->body_left = clen;
	c->st = clen ? ST_BODY : ST_HEAD;
	if (echo_fixed_bytes < 0) {
		bool keep;

		if (echo_scripted(c, req, &keep)) {
			c->mode = ECHO_BYTES; /* a body, if any, is read and dropped */
			return keep;
		}
	}
	bool closing = tl > 13 && memcmp(t, "/bytes-close/", 13) == 0;

	c->close_after |= closing;
	if (echo_fixed_bytes >= 0 || closing || (tl > 7 && memcmp(t, "/bytes/", 7) == 0)) {
		unsigned long long n = echo_fixed_bytes >= 0
					   ? (unsigned long long)echo_fixed_bytes
					   : strtoull(t + (closing ? 13 : 7), NULL, 10);

		c->mode = ECHO_BYTES;
		echo_queuef(c,
			    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			    "Content-Length: %llu\r\n%s\r\n",
			    n, c->close_after ? "Connection: close\r\n" : "");
		c->gen_left = n;
		c->gen_pos = 0;
	} else if (tl >= 7 && memcmp(t, "/sha256", 7) == 0) {
		c->mode = ECHO_SHA;
		if (!c->sha)
			c->sha = EVP_MD_CTX_new();
		EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
		if (!clen)
			echo_sha_done(c);
	} else {
		c->mode = ECHO_ECHO;
		echo_queuef(c,
			    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			    "Content-Length: %llu\r\n%s\r\n",
			    (unsigned long long)(r + clen),
			    c->close_after ? "Connection: close\r\n" : "");
		echo_queue(c, c->in, r);
	}
	return true;
}

static void echo_consume(struct echo_conn *c, size_t n)
{
	if (!n)
		return;
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

/* Turns the input into answers, in order. false: the connection is to be closed now. */
static bool echo_process(struct echo_conn *c)
{
	struct http_request req;

	for (;;) {
		if (c->st == ST_WS) {
			if (c->inlen && echo_queue(c, c->in, c->inlen) < 0)
				return false;
			c->inlen = 0;
			return true;
		}
		if (c->st == ST_BODY) {
			size_t k = c->inlen < c->body_left ? c->inlen : (size_t)c->body_left;

			if (c->mode == ECHO_ECHO && echo_queue(c, c->in, k) < 0)
				return false;
			if (c->mode == ECHO_SHA)
				EVP_DigestUpdate(c->sha, c->in, k);
			echo_consume(c, k);
			c->body_left -= k;
			if (c->body_left)
				return true;
			if (c->mode == ECHO_SHA)
				echo_sha_done(c);
			c->st = ST_HEAD;
			continue;
		}
		/* ST_HEAD: one answer at a time; the next head waits for this one's bytes. */
		if (c->close_after || c->gen_left || c->outlen - c->outoff > ECHO_OUT_HIGH ||
		    !c->inlen)
			return true;
		int r = http_parse_request(c->in, c->inlen, ECHO_HEAD_MAX, &req);

		if (r == 0)
			return true;
		if (r < 0) {
			echo_queuef(
			    c, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			    r == -EMSGSIZE ? 431 : 400, r == -EMSGSIZE ? "Too Large" : "Bad");
			c->close_after = true;
			return true;
		}
		if (!echo_request(c, &req, (size_t)r))
			c->close_after = true;
		echo_consume(c, (size_t)r);
	}
}

static void echo_cb(struct evloop *loop, int fd, unsigned mask, void *data);

/* Sends what is queued; false when the connection is done (closed). */
static bool echo_flush(struct echo_conn *c)
{
	while (c->outoff < c->outlen || c->gen_left) {
		const void *p;
		size_t n;
		ssize_t w;

		if (c->outoff < c->outlen) {
			p = c->out + c->outoff;
			n = c->outlen - c->outoff;
		} else {
			size_t at = (size_t)(c->gen_pos % ECHO_PATTERN_LEN);

			p = echo_pattern + at;
			n = ECHO_PATTERN_LEN - at;
			if (n > c->gen_left)
				n = (size_t)c->gen_left;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0)
			return false;
		if (c->outoff < c->outlen) {
			c->outoff += (size_t)w;
			if (c->outoff == c->outlen) {
				c->outoff = c->outlen = 0;
				if (c->outcap > 65536) {
					free(c->out);
					c->out = NULL;
					c->outcap = 0;
				}
			}
		} else {
			c->gen_pos += (uint64_t)w;
			c->gen_left -= (uint64_t)w;
		}
	}
	return true;
}

/* Reads what is there, answers, sends; then picks what to wait for. */
static void echo_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct echo_conn *c = data;
	bool pending;
	unsigned want;

	if (mask & EVLOOP_READ) {
		for (int i = 0; i < 16 && !c->rd_eof; i++) {
			size_t room;
			ssize_t n;

			if (c->outlen - c->outoff > ECHO_OUT_HIGH)
				break;
			if (c->incap - c->inlen < ECHO_READ) {
				size_t cap = c->inlen + ECHO_READ;
				char *b = realloc(c->in, cap);

				if (!b) {
					echo_free(c);
					return;
				}
				c->in = b;
				c->incap = cap;
			}
			room = c->incap - c->inlen;
			n = recv(fd, c->in + c->inlen, room, MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0) {
				if (n < 0) {
					echo_free(c);
					return;
				}
				c->rd_eof = true;
				break;
			}
			c->inlen += (size_t)n;
			if (!echo_process(c)) {
				echo_free(c);
				return;
			}
			if ((size_t)n < room)
				break; /* short read: drained */
		}
	}
	/* Sending may let the next pipelined request be answered, which queues more. */
	for (;;) {
		size_t inlen = c->inlen, outlen = c->outlen;
		uint64_t gen = c->gen_left;

		if (!echo_flush(c) || !echo_process(c)) {
			echo_free(c);
			return;
		}
		if (inlen == c->inlen && outlen == c->outlen && gen == c->gen_left)
			break;
	}
	pending = c->outoff < c->outlen || c->gen_left;
	if (!pending && c->close_after) {
		echo_free(c);
		return;
	}
	if (!pending && c->rd_eof) {
		/* The client has said all; every answer is out: done. */
		echo_free(c);
		return;
	}
	if (c->in && !c->inlen && c->incap > ECHO_READ) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
	want = (pending ? EVLOOP_WRITE : 0) |
	       (!c->rd_eof && c->outlen - c->outoff <= ECHO_OUT_HIGH ? EVLOOP_READ : 0);
	if (!want || evloop_watch(loop, fd, want, echo_cb, c) < 0)
		echo_free(c);
}

static void echo_accept_cb(struct evloop *loop, int lfd, unsigned mask, void *data)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct echo_conn *c;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		echo_accepted++;
		if (evloop_watch(loop, fd, EVLOOP_READ, echo_cb, c) < 0)
			echo_free(c);
	}
}

static int echo_gen(unsigned long long n)
{
	while (n) {
		size_t k = n < ECHO_PATTERN_LEN ? (size_t)n : ECHO_PATTERN_LEN;

		if (fwrite(echo_pattern, 1, k, stdout) != k)
			return 1;
		n -= k;
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "gen", required_argument, NULL, 'g' },
		{ 0 },
	};
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct rlimit rl;
	int c, fd, one = 1, port = 0;

	echo_pattern_init();
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &sin.sin_addr) != 1)
				return 2;
			break;
		case 'b':
			echo_fixed_bytes = atoll(optarg);
			break;
		case 'g':
			return echo_gen(strtoull(optarg, NULL, 10));
		default:
			fprintf(stderr,
				"usage: pg_echo --port P [--addr A] [--bytes N] | --gen N\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: pg_echo --port P [--addr A] [--bytes N] | --gen N\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4096) < 0) {
		perror("pg_echo: listen");
		return 1;
	}
	if (evloop_new(&echo_loop) < 0 ||
	    evloop_watch(echo_loop, fd, EVLOOP_READ, echo_accept_cb, NULL) < 0)
		return 1;
	return evloop_run(echo_loop) < 0;
}
