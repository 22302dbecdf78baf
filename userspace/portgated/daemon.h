/* SPDX-License-Identifier: MIT */
/* daemon: the state portgated's modules share. */
#ifndef PORTGATED_DAEMON_H
#define PORTGATED_DAEMON_H

#include <stdint.h>
#include "config.h"
#include "evloop.h"
#include "httpd.h"
#include "registry.h"
#include "sockdiag.h"

struct audit;
struct embedded_redis;
struct proxy_supervisor;
struct reconciler;

struct daemon {
	struct pg_config cfg;
	struct evloop *loop;
	struct registry *reg;
	struct sockdiag *sd;
	struct httpd *api;
	struct httpd *metrics;
	struct embedded_redis *redis;
	struct reconciler *rec;		/* NULL when not enforcing */
	struct proxy_supervisor *proxy; /* NULL when there is no proxy */
	struct audit *audit;		/* NULL until audit_open(); audit_emit() takes NULL */
	uint64_t started_ms;
	bool ready_notified;
};

#endif
