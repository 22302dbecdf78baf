/* SPDX-License-Identifier: MIT */
/* proxy_sockmap: the sk_skb redirect that carries a tunnel's bytes without a wake-up per read. */
#ifndef PORTGATE_PROXY_SOCKMAP_H_USER
#define PORTGATE_PROXY_SOCKMAP_H_USER

#include <stdbool.h>
#include <stdint.h>

/*
 * Loads bpf/proxy_sockmap.bpf.c and attaches its verdict program to the sockhash; needs
 * CAP_BPF and CAP_NET_ADMIN, so it runs before the sandbox. max_socks sizes the maps (two
 * entries per tunnel). 0, or -errno: the proxy then splices only (the reason is logged by the
 * caller). Later calls only touch the maps through the fds kept here.
 */
int proxy_sockmap_load(unsigned max_socks);
bool proxy_sockmap_loaded(void);
void proxy_sockmap_unload(void);

/* The kernel's cookie of a socket (SO_COOKIE). 0 or -errno. */
int proxy_sockmap_cookie(int fd, uint64_t *out);
/* Bytes queued into fd's send queue since it was created (TCP_INFO); 0 or -errno. */
int proxy_sockmap_written(int fd, uint64_t *out);
/* True while fd can still send: established, or its peer has only half-closed (the kernel's
 * states, as in the BPF UAPI). */
bool proxy_sockmap_alive(int fd);

/* Makes dst the peer of src (bytes arriving on src are sent out of dst, once src is
 * redirected) and zeroes src's byte counter. 0 or -errno. */
int proxy_sockmap_peer(uint64_t src_cookie, int dst_fd);
/* Starts redirecting src's bytes (its peer must be set) and processes what already waits in
 * its receive queue. From here on nobody may read src; 0 or -errno (nothing changed). */
int proxy_sockmap_redirect(uint64_t src_cookie, int src_fd);
/* Bytes redirected from src so far, and skbs that could not be (lost). 0 or -errno. */
int proxy_sockmap_moved(uint64_t src_cookie, uint64_t *bytes, uint64_t *drops);
/* Forgets src's counter, and with maps also its entries in both sockhashes (a closed socket
 * leaves them by itself). */
void proxy_sockmap_forget(uint64_t src_cookie, bool maps);

#endif
