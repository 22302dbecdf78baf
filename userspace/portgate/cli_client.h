/* SPDX-License-Identifier: MIT */
/* cli_client: one HTTP/1.1 request to portgated over its Unix socket. */
#ifndef PORTGATE_CLI_CLIENT_H
#define PORTGATE_CLI_CLIENT_H

#include <stddef.h>

#include "cli_request.h"

#define CLI_CLIENT_TIMEOUT_MS 10000
#define CLI_CLIENT_MAX_HEAD   16384
/* Answers are JSON documents; ports-global with every port taken stays far below this. */
#define CLI_CLIENT_MAX_BODY (64u << 20)

struct cli_response {
	int status;	 /* 100..599 */
	char *body;	 /* owned, NUL-terminated (the body may not contain a NUL itself) */
	size_t body_len; /* bytes of body, without the added NUL */
};

/*
 * Connects to socket_path, sends req (Host: localhost, Content-Length, X-Owner-Token when
 * req->owner_token is set, Connection: close) and reads the answer head and its
 * Content-Length body, all within timeout_ms in total.
 * Returns 0 with *resp filled (any status, 4xx/5xx included), or -errno:
 * connect errors as connect(2) gives them (-ENOENT, -ECONNREFUSED, -EACCES, ...),
 * -ENAMETOOLONG for a path too long for sun_path, -ETIMEDOUT, -ECONNRESET when the daemon
 * closed before a complete answer, -EBADMSG for a malformed answer, -EMSGSIZE for a head or
 * body over the limits, -ENOMEM. *resp is written only on success; free it with
 * cli_client_response_free.
 */
int cli_client_request(const char *socket_path, const struct cli_request *req, int timeout_ms,
		       struct cli_response *resp);

/* Frees the body; accepts NULL and a zeroed response. */
void cli_client_response_free(struct cli_response *resp);

#endif
