/* SPDX-License-Identifier: MIT */
/* metrics: /health and Prometheus /metrics on the metrics address (127.0.0.1:9464). */
#ifndef PORTGATED_METRICS_H
#define PORTGATED_METRICS_H

#include "httpd.h"

/* The httpd handler for the metrics listener; arg is the struct daemon. */
void metrics_handle(struct httpd_req *req, void *arg);

#endif
