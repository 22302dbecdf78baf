/* SPDX-License-Identifier: MIT */
/* sockops_audit: report TCP connections established on allocated ports (sockops). */
#ifndef PORTGATE_SOCKOPS_AUDIT_BPF_H
#define PORTGATE_SOCKOPS_AUDIT_BPF_H

#include "pg_common.bpf.h"

static __always_inline bool sockops_established(const struct bpf_sock_ops *skops)
{
	return skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
	       skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
}

static __always_inline bool sockops_port_allocated(__u16 port)
{
	const struct pg_port_val *v = pg_port_lookup(IPPROTO_TCP, port);

	return v && (v->flags & PG_PORT_ALLOCATED);
}

/*
 * listen() and connect() run these callbacks in the calling task's context: the one moment a
 * TCP socket and its owner meet. Recording there, rather than at bind(), keeps the (costly)
 * storage allocation off the bind path and out of UDP entirely.
 */
static __always_inline bool sockops_owner_known_now(const struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_TCP_LISTEN_CB)
		return sockops_port_allocated(skops->local_port);
	if (skops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		return sockops_port_allocated(bpf_ntohl(skops->remote_port));
	return false;
}

/* Remembers the current task as the owner of the socket (see sk_owner). */
static __always_inline void sockops_remember_owner(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct pg_sk_owner *o;

	if (!sk)
		return;
	o = bpf_sk_storage_get(&sk_owner, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Local and remote addresses of the connection, network order, IPv4 in [0]. */
static __always_inline void sockops_read_ip(const struct bpf_sock_ops *skops, __u8 family,
					    __u32 *local, __u32 *peer)
{
	__u32 l4 = skops->local_ip4, r4 = skops->remote_ip4;
	__u32 l6[4], r6[4];

	l6[0] = skops->local_ip6[0];
	l6[1] = skops->local_ip6[1];
	l6[2] = skops->local_ip6[2];
	l6[3] = skops->local_ip6[3];
	r6[0] = skops->remote_ip6[0];
	r6[1] = skops->remote_ip6[1];
	r6[2] = skops->remote_ip6[2];
	r6[3] = skops->remote_ip6[3];
	barrier_var(l4); /* keep each load separate (see sockops_audit) */
	barrier_var(r4);
	if (family == AF_INET) {
		local[0] = l4;
		peer[0] = r4;
		return;
	}
	for (int i = 0; i < 4; i++) {
		local[i] = l6[i];
		peer[i] = r6[i];
	}
}

/*
 * One ESTABLISHED event when either end's port is allocated. Runs in softirq context, so there is
 * no task to ask: pid, uid, comm and cgroup are the socket owner's, as recorded at listen() or
 * connect() (sockops_remember_owner), or zero when unknown (e.g. a listener started before
 * portgate was attached).
 */
static __always_inline void sockops_audit(struct bpf_sock_ops *skops)
{
	struct pg_sockaddr local = { 0 };
	__u32 peer[4] = { 0 };
	struct pg_sk_owner *owner;
	struct bpf_sock *sk;
	struct pg_event *ev;
	__u16 peer_port;

	local.family = skops->family;
	local.protocol = IPPROTO_TCP;
	local.port = skops->local_port;		   /* host order */
	peer_port = bpf_ntohl(skops->remote_port); /* network order, in the upper half */
	if (!sockops_port_allocated(local.port) && !sockops_port_allocated(peer_port))
		return;

	/*
	 * Every field is read at its own constant offset, then chosen: reading them inside
	 * if/else lets clang merge the loads into one through a computed context pointer, which
	 * the verifier refuses ("dereference of modified ctx ptr").
	 */
	sockops_read_ip(skops, local.family, local.ip, peer);
	ev = pg_event_start(&local, PG_EV_ESTABLISHED, PG_V_ALLOWED, PG_R_NONE);
	if (!ev)
		return;
	__builtin_memcpy(ev->peer, peer, sizeof(peer));
	ev->peer_port = peer_port;
	sk = skops->sk;
	owner = sk ? bpf_sk_storage_get(&sk_owner, sk, NULL, 0) : NULL;
	if (owner) {
		ev->cgroup_id = owner->cgroup_id;
		ev->pid = owner->pid;
		ev->uid = owner->uid;
		__builtin_memcpy(ev->comm, owner->comm, sizeof(ev->comm));
	}
	pg_event_submit(ev);
}

#endif
