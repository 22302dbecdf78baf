/* SPDX-License-Identifier: MIT */
/* sockdiag: is a port already taken on this host, and by whom (sock_diag over netlink). */
#ifndef PORTGATE_SOCKDIAG_H
#define PORTGATE_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nlmsghdr;

/*
 * Holds one NETLINK_SOCK_DIAG socket, reused across queries. Not thread-safe: one per thread.
 * It sees the network namespace it was opened in, which is where ports are allocated.
 */
struct sockdiag;

/* Who holds a port: the first matching socket found (IPv4 before IPv6). */
struct sockdiag_holder {
	pid_t pid;	  /* 0 when unknown (e.g. socket owned by another netns or hidden) */
	uid_t uid;	  /* socket owner uid from inet_diag_msg */
	char comm[16];	  /* "" when unknown */
	char address[64]; /* local address as text, e.g. "0.0.0.0", "::", "127.0.0.1" */
	int protocol;	  /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t inode;
};

/*
 * Opens the netlink socket and probes TCP and UDP once, so that a kernel without a sock_diag
 * handler is known from the start (see sockdiag_degraded). Returns 0 with *out set (free it with
 * sockdiag_close), or -errno.
 */
int sockdiag_open(struct sockdiag **out);

/* Closes the socket and frees sd. Accepts NULL. */
void sockdiag_close(struct sockdiag *sd);

/*
 * True when protocol is answered by reading /proc/net because the kernel has no sock_diag handler
 * for it (same answers, slower). The daemon logs this once after sockdiag_open.
 */
bool sockdiag_degraded(const struct sockdiag *sd, int protocol);

/*
 * Is anything bound on (protocol, port), IPv4 or IPv6? TCP counts listening sockets only; UDP
 * counts every socket bound to the port. Returns 1 when in use, with *holder (may be NULL) filled
 * and its pid and comm found from /proc when possible (a scan of every process: error path only);
 * 0 when free, holder untouched; -EINVAL for port 0 or a protocol other than TCP and UDP; other
 * -errno on failure.
 */
int sockdiag_port_in_use(struct sockdiag *sd, int protocol, uint16_t port,
			 struct sockdiag_holder *holder);

/*
 * Sets bit (port - first) in busy (caller-zeroed, (last - first + 1) bits, byte = bit / 8,
 * bit = bit % 8) for every port in [first, last] that has a listener (as sockdiag_port_in_use).
 * One filtered dump per address family. Returns the number of busy ports, or -errno (-EINVAL when
 * first > last).
 */
int sockdiag_busy_in_range(struct sockdiag *sd, int protocol, uint16_t first, uint16_t last,
			   uint8_t *busy);

/*
 * Builds the inet_diag dump request for (family, protocol) into buf: all sockets of that family
 * and protocol, TCP in LISTEN state only. Returns its nlmsghdr (at buf), or NULL when len is too
 * small or family/protocol are not supported. Exposed for tests.
 */
struct nlmsghdr *sockdiag_build_request(char *buf, size_t len, int family, int protocol,
					uint32_t seq);

/*
 * Appends to a request from sockdiag_build_request (in a buffer of buflen bytes) a kernel
 * bytecode filter keeping only local ports in [first, last]. Returns 0, or -ENOBUFS when the
 * buffer is too small. Exposed for tests.
 */
int sockdiag_add_port_filter(struct nlmsghdr *nlh, size_t buflen, uint16_t first, uint16_t last);

/*
 * Parses one line of /proc/net/{tcp,udp}{,6} for family (AF_INET or AF_INET6): fills *port,
 * *state (TCP_LISTEN, ...) and holder's address, uid and inode (the rest zeroed). Returns 0, or
 * -EINVAL for the header line or a malformed line. Exposed for tests.
 */
int sockdiag_parse_proc_line(const char *line, int family, uint16_t *port, int *state,
			     struct sockdiag_holder *holder);

#endif
