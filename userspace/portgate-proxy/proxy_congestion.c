// SPDX-License-Identifier: MIT
/*
 * proxy_congestion: the TCP congestion control of the proxy's own sockets.
 *
 * Why a proxy would choose: the sender's algorithm rules bulk throughput, and the host's
 * default is tuned for one kind of path. BBR paces every segment (without the fq qdisc, with a
 * timer per socket); through a proxy a transfer has two senders, both paced, and on loopback
 * that halved 256 MiB downloads (docs/benchmarks.md). The reverse also holds: a host on cubic
 * can give the proxy's public listeners BBR for distant clients without changing the host.
 *
 * Why on the listener: a connection takes its algorithm when it is made. Changed after accept,
 * the algorithm changes but BBR's "needs pacing" mark on the socket stays, so half the gain is
 * lost; set on the listener, every accepted connection starts with the chosen one.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "proxy_congestion.h"

#define PROXY_CONGESTION_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

char proxy_congestion[PROXY_CONGESTION_MAX];

int proxy_congestion_set_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= PROXY_CONGESTION_MAX || strspn(name, PROXY_CONGESTION_CHARS) != n)
		return -EINVAL;
	memcpy(proxy_congestion, name, n + 1);
	return 0;
}

int proxy_congestion_apply(int fd)
{
	if (!proxy_congestion[0])
		return 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, proxy_congestion,
		       (socklen_t)strlen(proxy_congestion)) < 0)
		return -errno;
	return 0;
}

int proxy_congestion_check(char *why, size_t whylen)
{
	int fd, rc;

	if (!proxy_congestion[0])
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot make a socket to try it: %s", strerror(-rc));
		return rc;
	}
	rc = proxy_congestion_apply(fd);
	close(fd);
	if (rc == -ENOENT)
		snprintf(why, whylen,
			 "%s is not available on this kernel (see "
			 "net.ipv4.tcp_available_congestion_control; modprobe tcp_%s?)",
			 proxy_congestion, proxy_congestion);
	else if (rc == -EPERM)
		snprintf(why, whylen,
			 "%s is not allowed to an unprivileged process (add it to "
			 "net.ipv4.tcp_allowed_congestion_control)",
			 proxy_congestion);
	else if (rc < 0)
		snprintf(why, whylen, "%s refused: %s", proxy_congestion, strerror(-rc));
	return rc;
}
