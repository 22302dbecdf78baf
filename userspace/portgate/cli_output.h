/* SPDX-License-Identifier: MIT */
/* cli_output: daemon answers shown as tables, lines or raw JSON; exit codes. */
#ifndef PORTGATE_CLI_OUTPUT_H
#define PORTGATE_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "cli_args.h"

/* Exit codes of portgate: stable, documented in portgate --help and docs/cli.md. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_INTERNAL = 1,	  /* internal or unexpected error */
	CLI_EXIT_USAGE = 2,	  /* bad argument (ours, or a 400 from the daemon) */
	CLI_EXIT_NOT_FOUND = 3,	  /* 404 */
	CLI_EXIT_CONFLICT = 4,	  /* 409; port-check: the port is taken */
	CLI_EXIT_DENIED = 5,	  /* 401, 403, socket permission */
	CLI_EXIT_UNAVAILABLE = 6, /* daemon unreachable, timed out, 503 */
	CLI_EXIT_DIFFERS = 7,	  /* status: the registry and the kernel differ */
	CLI_EXIT_EXEC = 127,	  /* exec: CMD could not be run (as env(1) and the shells) */
};

/* The exit code for an HTTP status of the daemon (2xx: CLI_EXIT_OK). */
enum cli_exit cli_output_exit_code(int status);

/*
 * Prints a daemon error answer to err as "portgate: error: <field>: <error>" (or without
 * the field when the answer names none; a generic line when the body is not the API's
 * error object), plus a hint for 401. Strings from the daemon are stripped of control
 * characters.
 */
void cli_output_error(FILE *err, int status, const char *body, size_t len);

/*
 * Prints the successful answer body[0..len) to cmd->command to out: human tables and lines,
 * or with cmd->json the document itself (one document, newline-terminated). Tokens are
 * printed only where the API hands them out once: owner_token from service create and a
 * daemon-made source_token from port-add, each with a line saying it is shown once.
 * Returns CLI_EXIT_OK, CLI_EXIT_CONFLICT for a port-check that found the port taken,
 * CLI_EXIT_DIFFERS for a status whose "in_sync" is false (with --json too), -EBADMSG when
 * the body is not the JSON the API describes, or -ENOMEM.
 */
int cli_output_render(FILE *out, const struct cli_cmd *cmd, const char *body, size_t len);

/*
 * The "cgroup" of a GET /v1/services/NAME answer body[0..len), copied NUL-terminated into
 * buf (n bytes). Returns its length, 0 when the service has none ("" or no such field);
 * -EBADMSG when the body is not a service object or the cgroup not an absolute path;
 * -ENAMETOOLONG when it does not fit. buf is written only on success.
 */
int cli_output_service_cgroup(const char *body, size_t len, char *buf, size_t n);

/* A string field of o, or NULL. */
const char *cli_output_str(const json_t *o, const char *key);
/* An integer field (JSON integer, or a real with an integral value) into *v; false if none. */
bool cli_output_int(const json_t *o, const char *key, json_int_t *v);

#endif
