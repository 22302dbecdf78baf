/* SPDX-License-Identifier: MIT */
/* proxy_limits: failures per source in a sliding window, and the sources blocked for a while. */
#ifndef PORTGATE_PROXY_LIMITS_H
#define PORTGATE_PROXY_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
/* Largest failure limit: the window keeps one timestamp per failure up to the limit. */
#define PROXY_FAIL_LIMIT_MAX 1000

/* A peer: IPv4 (also an IPv4-mapped IPv6 address) or IPv6, with its port. */
struct proxy_addr {
	uint8_t family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 bytes for AF_INET */
	uint16_t port;	  /* host order */
};

struct proxy_limits_cfg {
	uint32_t fail_limit;	/* failures that block a source... */
	uint32_t fail_window_s; /* ...within this many seconds */
	uint32_t block_s;	/* how long a source stays blocked */
};

struct proxy_limits;

/* Fills *a from a socket address (IPv4-mapped IPv6 becomes IPv4). 0 or -EAFNOSUPPORT. */
int proxy_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct proxy_addr *a);
/* The address as text ("10.0.0.2", "2001:db8::1") into out[PROXY_ADDR_STRLEN]. */
void proxy_addr_format(const struct proxy_addr *a, char out[PROXY_ADDR_STRLEN]);

/* A table of at most max_sources sources (failure windows and blocks). 0 or -ENOMEM. */
int proxy_limits_new(size_t max_sources, struct proxy_limits **out);
void proxy_limits_free(struct proxy_limits *l);

/*
 * Records one failure of src (its address; the port is ignored) at now_ms. When the failures
 * within the last cfg->fail_window_s seconds reach cfg->fail_limit, the source is blocked for
 * cfg->block_s seconds and its window is emptied: returns 1 and *failures (the count that
 * tripped it). Otherwise 0 (*failures = failures now in the window). A full table records
 * nothing (-ENOSPC) rather than grow; -ENOMEM as usual. Thread-safe.
 */
int proxy_limits_fail(struct proxy_limits *l, const struct proxy_addr *src, uint64_t now_ms,
		      const struct proxy_limits_cfg *cfg, unsigned *failures);

/* True while src is blocked at now_ms. Thread-safe; lock-free when nothing is blocked. */
bool proxy_limits_blocked(struct proxy_limits *l, const struct proxy_addr *src, uint64_t now_ms);

/* Forgets sources whose block is over and whose failures all left the window; returns how
 * many were dropped. Call now and then (the table also cleans up as it goes). */
size_t proxy_limits_sweep(struct proxy_limits *l, uint64_t now_ms,
			  const struct proxy_limits_cfg *cfg);

/* Sources tracked now, and sources blocked now. */
size_t proxy_limits_count(struct proxy_limits *l, size_t *blocked);

#endif
