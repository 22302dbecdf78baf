// SPDX-License-Identifier: MIT
/* proxy_sockmap: portgate-proxy's tunnels in the kernel: each side's bytes go to its peer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "portgate/proxy_sockmap.h"

/* Sizes are set by the loader before load (proxy_sockmap.c). Every redirected socket, under its
 * own cookie: the verdict program is attached to this map. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} pg_proxy_socks SEC(".maps");

/* The redirect's targets: each side under its peer's cookie; no program on it. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} pg_proxy_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct proxy_sockmap_moved);
} pg_proxy_moved SEC(".maps");

/*
 * Every message of a socket in pg_proxy_socks: queued for sending on its peer (through the peer's
 * psock backlog) and counted. A socket without a peer entry would have its bytes dropped: user
 * space sets the peer first and removes nothing while bytes can flow, so drops are counted, not
 * expected.
 */
SEC("sk_skb/stream_verdict")
int pg_proxy_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct proxy_sockmap_moved *m;
	long verdict;

	/*
	 * A bare FIN can reach the verdict as an empty skb (the verdict-only read path passed
	 * them; kept for kernels whose parser path does too). Redirected, the peer's psock backlog
	 * would "send" 0 bytes, take that for a broken pipe and stop the peer's transmit path
	 * (EPIPE on the peer). The FIN itself is already recorded on this socket (user space sees
	 * it and forwards it once the bytes before it are out), so the empty skb is dropped.
	 */
	if (!skb->len)
		return SK_DROP;
	m = bpf_map_lookup_elem(&pg_proxy_moved, &cookie);
	verdict = bpf_sk_redirect_hash(skb, &pg_proxy_peers, &cookie, 0);
	if (m) {
		if (verdict == SK_PASS)
			__sync_fetch_and_add(&m->bytes, skb->len);
		else
			__sync_fetch_and_add(&m->drops, 1);
	}
	return verdict;
}

/*
 * The stream parser: every chunk read is a whole message (no framing). It is attached only so
 * that the kernel reads a redirected socket through the stream parser, whose reads start at
 * the socket's read position. Without one the verdict gets whole skbs from the receive queue
 * (tcp_read_skb), and an skb that begins before that position (a retransmitted segment that
 * overlaps bytes already received, or a queued skb already partly read by the splice pump)
 * is redirected whole: its first bytes reach the peer twice. Seen under stress as 53 bytes
 * (65,536 minus the loopback MSS) repeated mid-stream: docs/proxy-protocol.md.
 */
SEC("sk_skb/stream_parser")
int pg_proxy_parser(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
