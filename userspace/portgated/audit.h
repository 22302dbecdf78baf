/* SPDX-License-Identifier: MIT */
/* audit: portgated's audit trail: aggregation, scan detection, the JSON-lines file and the
 * Redis stream pg:{HOST}:audit (docs/audit.md). */
#ifndef PORTGATED_AUDIT_H
#define PORTGATED_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "audit_event.h"

struct daemon;
struct audit;

/* Opens the sinks configured in d->cfg (audit_file, audit_stream_maxlen, ...). */
int audit_open(struct daemon *d, struct audit **out, char *err, size_t errlen);
void audit_close(struct audit *a);

/*
 * Records one event: stamps the time if unset, fills service/port_name from the port table
 * when unset, aggregates floods per (source, action, result) and window, detects port scans,
 * then writes it to the file and queues it for the Redis stream. Never blocks on Redis;
 * a NULL a is allowed (auditing off) and does nothing.
 */
void audit_emit(struct audit *a, const struct audit_event *ev);

/* The port table audit_emit() fills names from, kept by the reconciler and the API. */
void audit_name_port(struct audit *a, uint8_t protocol, uint16_t port, const char *service,
		     const char *port_name);
void audit_unname_port(struct audit *a, uint8_t protocol, uint16_t port);
void audit_unname_all(struct audit *a);
/* Whether the table names (protocol, port): the registry has an allocation for it. */
bool audit_port_named(struct audit *a, uint8_t protocol, uint16_t port);

/* SIGHUP: reopens the file (logrotate moved it away). */
void audit_reopen(struct audit *a);

/* Prometheus text (portgate_audit_events_total{action,result}, losses, aggregated, scans),
 * malloc'd for the caller to free; NULL when a is NULL or out of memory. */
char *audit_metrics(struct audit *a);

#endif
