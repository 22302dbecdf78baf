/* SPDX-License-Identifier: MIT */
/* httpd: HTTP/1.1 server connections on the evloop, for the control API and the metrics port. */
#ifndef PORTGATED_HTTPD_H
#define PORTGATED_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "evloop.h"

#define HTTPD_MAX_HEAD (16 * 1024)
#define HTTPD_MAX_BODY (64 * 1024)

struct httpd_conn;

/* One request. Valid from the handler call until the reply is sent; a handler may answer
 * later (after a registry round trip) by keeping the pointer. */
struct httpd_req {
	struct httpd_conn *conn;
	char method[16];
	char path[1024];  /* percent-encoded, as sent, without the query */
	char query[1024]; /* "" when none */
	const char *body;
	size_t body_len;
	char owner_token[300]; /* X-Owner-Token, "" when absent */
	bool peer_known;       /* SO_PEERCRED answered (Unix socket) */
	uid_t uid;
	pid_t pid;
};

typedef void (*httpd_handler)(struct httpd_req *req, void *arg);

struct httpd_stats {
	unsigned long requests;
	unsigned long errors; /* answers >= 400 */
};

struct httpd;

/* Serves connections accepted on listen_fd (non-blocking, already listening); the httpd
 * owns listen_fd from here on. */
int httpd_new(struct evloop *loop, int listen_fd, httpd_handler handler, void *arg,
	      struct httpd **out);
void httpd_free(struct httpd *h);
const struct httpd_stats *httpd_stats(const struct httpd *h);

/* Answers `req` (exactly once per request). */
void httpd_reply(struct httpd_req *req, int status, const char *type, const char *body, size_t len);
/* Answers with a JSON document; takes the reference to `doc`. */
void httpd_reply_json(struct httpd_req *req, int status, json_t *doc);
/* Answers {"error": message, "field": field}; field may be NULL. */
void httpd_reply_error(struct httpd_req *req, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Listening sockets: a Unix stream socket at `path` (replacing a stale one) with `mode` and,
 * when `group` names a group, that group; or TCP on addr:port. Return the fd or -errno. */
int httpd_listen_unix(const char *path, mode_t mode, const char *group);
int httpd_listen_tcp(const char *addr, unsigned port);

#endif
