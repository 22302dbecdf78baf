/* SPDX-License-Identifier: MIT */
/* proxy_sockmap: the maps that portgate-proxy's sk_skb redirect and its loader agree on. */
#ifndef PORTGATE_PROXY_SOCKMAP_H
#define PORTGATE_PROXY_SOCKMAP_H

/* The BPF side gets the same types from vmlinux.h; including both would clash. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * pg_proxy_socks (BPF_MAP_TYPE_SOCKHASH, verdict attached): key = a socket's cookie (SO_COOKIE),
 * value = that socket; a socket in it has its bytes redirected.
 * pg_proxy_peers (BPF_MAP_TYPE_SOCKHASH, no program): key = the cookie of one side of a tunnel,
 * value = the OTHER side. Bytes arriving on a socket are sent out of the socket stored under
 * its own cookie here.
 *
 * pg_proxy_moved (BPF_MAP_TYPE_HASH): key = the same cookie, value = bytes redirected from that
 * socket so far. User space compares it with what reached the peer's send queue before it
 * forwards a FIN: the redirect goes through the peer's psock backlog, asynchronously.
 */
struct proxy_sockmap_moved {
	__u64 bytes; /* redirected from this socket to its peer */
	__u64 drops; /* skbs the redirect refused (the peer left the map): never expected */
};

#endif
