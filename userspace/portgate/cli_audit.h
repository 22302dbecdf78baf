/* SPDX-License-Identifier: MIT */
/* cli_audit: portgate audit: its filters, the reads of GET /v1/audit, tables, JSON lines and
 * --follow. */
#ifndef PORTGATE_CLI_AUDIT_H
#define PORTGATE_CLI_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_args.h"

/* How long one read of --follow waits on the daemon for new events (GET /v1/audit wait=). */
#define CLI_AUDIT_WAIT_S 25
/* --follow's retries while portgated is away: from the first to the longest pause. */
#define CLI_AUDIT_BACKOFF_MIN_MS 200
#define CLI_AUDIT_BACKOFF_MAX_MS 5000

/*
 * Checks the value of an audit option `opt` ("service", "port", "action", "result", "since",
 * "limit"). Returns 0, or -EINVAL with the reason in why (n bytes), e.g. "'x' is not one of
 * bind, connect, ...".
 */
int cli_audit_check_option(const char *opt, const char *v, char *why, size_t n);

/*
 * The target of one read: "/v1/audit?" with the filters of a, then `from_key`=`from` (since or
 * after; none when from_key is NULL), limit and wait (when > 0), values percent-encoded.
 * Returns 0 or -ENAMETOOLONG.
 */
int cli_audit_target(const struct cli_audit_args *a, const char *from_key, const char *from,
		     unsigned long limit, unsigned wait, char *out, size_t n);

/*
 * Prints events[0..n) (JSON objects from GET /v1/audit) as a table: TIME (UTC), ACTION,
 * RESULT, SOURCE, DESTINATION, SERVICE, REASON/WHAT, plus COUNT when one stands for more than
 * one event and PID/COMM when one has them; "No audit events." when n is 0.
 * Returns 0, -EBADMSG when an event is not an object, or -ENOMEM.
 */
int cli_audit_print_table(FILE *out, json_t *const *events, size_t n);

/* One event as one line of fixed-width columns, for --follow (no alignment across batches);
 * with head, the column titles instead. Returns 0, -EBADMSG or -ENOMEM. */
int cli_audit_print_line(FILE *out, const json_t *ev, bool head);

/*
 * Runs portgate audit (cmd->socket_path set). Prints to stdout, notes and daemon errors to
 * stderr. Returns an exit code (enum cli_exit), or -errno of a read that got no answer, not
 * yet reported (main reports it as for every command). --follow returns only on SIGINT or
 * SIGTERM (0) or on an error that retrying cannot mend.
 */
int cli_audit_run(const struct cli_cmd *cmd);

#endif
