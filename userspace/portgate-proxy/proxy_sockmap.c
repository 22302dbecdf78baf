// SPDX-License-Identifier: MIT
/* proxy_sockmap: the sk_skb redirect that carries a tunnel's bytes without a wake-up per read. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "portgate/proxy_sockmap.h"
#include "proxy_sockmap.h"
#include "proxy_sockmap.skel.h"

/*
 * Two sockhash maps: "socks" holds every redirected socket under its own cookie and carries
 * the verdict program; "peers" holds each side under the OTHER side's cookie and is only the
 * redirect's target table. Peers are set before a socket joins "socks", so the verdict never
 * runs on a socket without a target (it would drop the bytes).
 */
static struct proxy_sockmap_bpf *proxy_skel;
static int proxy_socks_fd = -1, proxy_peers_fd = -1, proxy_moved_fd = -1;

bool proxy_sockmap_loaded(void)
{
	return proxy_skel != NULL;
}

static int proxy_sockmap_silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0; /* the caller says once why the sockmap path is off */
}

/* The load itself; proxy_sockmap_load() keeps libbpf quiet around it. */
static int proxy_sockmap_load_quiet(unsigned max_socks)
{
	struct proxy_sockmap_bpf *skel;
	int rc;

	skel = proxy_sockmap_bpf__open();
	if (!skel)
		return errno ? -errno : -ENOMEM;
	if (bpf_map__set_max_entries(skel->maps.pg_proxy_socks, max_socks) ||
	    bpf_map__set_max_entries(skel->maps.pg_proxy_peers, max_socks) ||
	    bpf_map__set_max_entries(skel->maps.pg_proxy_moved, max_socks)) {
		rc = -EINVAL;
		goto fail;
	}
	rc = proxy_sockmap_bpf__load(skel);
	if (rc)
		goto fail;
	/* The parser first: the verdict alone would read whole skbs (see the BPF source). */
	if (bpf_prog_attach(bpf_program__fd(skel->progs.pg_proxy_parser),
			    bpf_map__fd(skel->maps.pg_proxy_socks), BPF_SK_SKB_STREAM_PARSER, 0)) {
		rc = -errno;
		goto fail;
	}
	rc = bpf_prog_attach(bpf_program__fd(skel->progs.pg_proxy_verdict),
			     bpf_map__fd(skel->maps.pg_proxy_socks), BPF_SK_SKB_STREAM_VERDICT, 0);
	if (rc) {
		rc = -errno;
		goto fail;
	}
	proxy_skel = skel;
	proxy_socks_fd = bpf_map__fd(skel->maps.pg_proxy_socks);
	proxy_peers_fd = bpf_map__fd(skel->maps.pg_proxy_peers);
	proxy_moved_fd = bpf_map__fd(skel->maps.pg_proxy_moved);
	return 0;
fail:
	proxy_sockmap_bpf__destroy(skel);
	return rc < 0 ? rc : -EINVAL;
}

int proxy_sockmap_load(unsigned max_socks)
{
	libbpf_print_fn_t old = libbpf_set_print(proxy_sockmap_silent);
	int rc = proxy_sockmap_load_quiet(max_socks);

	libbpf_set_print(old);
	return rc;
}

void proxy_sockmap_unload(void)
{
	proxy_sockmap_bpf__destroy(proxy_skel);
	proxy_skel = NULL;
	proxy_socks_fd = proxy_peers_fd = proxy_moved_fd = -1;
}

int proxy_sockmap_cookie(int fd, uint64_t *out)
{
	uint64_t v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &v, &len) < 0)
		return -errno;
	*out = v;
	return 0;
}

/*
 * Bytes the socket has taken into its send queue: new data sent (sent minus retransmitted)
 * plus what waits unsent. Only differences of two readings are used.
 */
int proxy_sockmap_written(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (len < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof(ti.tcpi_bytes_retrans))
		return -EOPNOTSUPP; /* a kernel without the byte counters */
	*out = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + ti.tcpi_notsent_bytes;
	return 0;
}

bool proxy_sockmap_alive(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	return ti.tcpi_state == BPF_TCP_ESTABLISHED || ti.tcpi_state == BPF_TCP_CLOSE_WAIT;
}

int proxy_sockmap_peer(uint64_t src_cookie, int dst_fd)
{
	struct proxy_sockmap_moved zero = { 0 };
	uint64_t fd = (uint64_t)dst_fd;

	if (bpf_map_update_elem(proxy_moved_fd, &src_cookie, &zero, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(proxy_peers_fd, &src_cookie, &fd, BPF_ANY)) {
		int err = -errno;

		bpf_map_delete_elem(proxy_moved_fd, &src_cookie);
		return err;
	}
	return 0;
}

int proxy_sockmap_redirect(uint64_t src_cookie, int src_fd)
{
	uint64_t fd = (uint64_t)src_fd;
	int one = 1;

	if (bpf_map_update_elem(proxy_socks_fd, &src_cookie, &fd, BPF_ANY))
		return -errno;
	/*
	 * Bytes that arrived before the verdict was attached wait in the receive queue until the
	 * next segment. Setting SO_RCVLOWAT makes TCP run its data-ready hook at once (the
	 * verdict, now), so they go first, in order, even if no segment ever follows.
	 */
	setsockopt(src_fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	return 0;
}

int proxy_sockmap_moved(uint64_t src_cookie, uint64_t *bytes, uint64_t *drops)
{
	struct proxy_sockmap_moved m;

	if (bpf_map_lookup_elem(proxy_moved_fd, &src_cookie, &m))
		return -errno;
	*bytes = m.bytes;
	*drops = m.drops;
	return 0;
}

void proxy_sockmap_forget(uint64_t src_cookie, bool maps)
{
	if (maps) {
		bpf_map_delete_elem(proxy_socks_fd, &src_cookie);
		bpf_map_delete_elem(proxy_peers_fd, &src_cookie);
	}
	bpf_map_delete_elem(proxy_moved_fd, &src_cookie);
}
