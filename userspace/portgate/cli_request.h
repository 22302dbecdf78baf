/* SPDX-License-Identifier: MIT */
/* cli_request: a parsed command turned into the control API request (docs/api.md). */
#ifndef PORTGATE_CLI_REQUEST_H
#define PORTGATE_CLI_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

#include "cli_args.h"

#define CLI_REQUEST_PATH_MAX 512

struct cli_request {
	const char *method;		 /* "GET", "POST" or "DELETE" */
	char path[CLI_REQUEST_PATH_MAX]; /* origin-form target, segments percent-encoded */
	char *body;			 /* JSON text (owned), NULL when the request has none */
	size_t body_len;
	const char *owner_token; /* for X-Owner-Token, NULL when none; points into the cmd */
};

/*
 * Builds the request for a daemon command (not help/version; for exec, the read of the
 * service's record that names its cgroup). The owner token is only attached to changes that
 * need it (delete, port-add, port-remove).
 * Returns 0; -EINVAL for a command that sends nothing; -ENOMEM; -ENAMETOOLONG when the
 * path does not fit. *req is written only on success; release it with cli_request_free.
 */
int cli_request_build(const struct cli_cmd *cmd, struct cli_request *req);

/* Frees what cli_request_build allocated; accepts a zeroed or NULL request. */
void cli_request_free(struct cli_request *req);

/*
 * Percent-encodes in for one path segment or query value: everything but the RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX. Writes a NUL-terminated string.
 * Returns its length, or -ENOSPC when out (outlen bytes) is too small.
 */
ssize_t cli_request_encode(const char *in, char *out, size_t outlen);

#endif
