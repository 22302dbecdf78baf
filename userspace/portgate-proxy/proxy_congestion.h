/* SPDX-License-Identifier: MIT */
/* proxy_congestion: the TCP congestion control of the proxy's own sockets (--congestion). */
#ifndef PORTGATE_PROXY_CONGESTION_H
#define PORTGATE_PROXY_CONGESTION_H

#include <stddef.h>

#define PROXY_CONGESTION_MAX 16 /* the kernel's TCP_CA_NAME_MAX, with its NUL */

/* "" (the default): the host's (net.ipv4.tcp_congestion_control). Set once, before the loops. */
extern char proxy_congestion[PROXY_CONGESTION_MAX];

/* Takes an algorithm's name (1-15 of [a-z0-9_]); -EINVAL when it cannot be one. */
int proxy_congestion_set_name(const char *name);

/* Whether this process (as it now is: its user, its capabilities) may use the algorithm: 0, or
 * -errno with why[] saying what to change. Run after the sandbox, which is what later sockets
 * get. */
int proxy_congestion_check(char *why, size_t whylen);

/* Sets it on a socket: a listener (its connections inherit it when they are made, so they start
 * with it) or a socket before connect(). 0 when none is set; else 0 or -errno. */
int proxy_congestion_apply(int fd);

#endif
