/* SPDX-License-Identifier: MIT */
/* pg_common: the maps shared by every portgate program, address predicates and event output. */
#ifndef PORTGATE_PG_COMMON_BPF_H
#define PORTGATE_PG_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "portgate/port_policy.h"

/* Not in vmlinux.h (they are #defines in the UAPI). */
#define AF_INET	 2
#define AF_INET6 10

#define PG_ALLOW 1 /* cgroup sock_addr hooks: let the call proceed */
#define PG_DENY	 0 /* cgroup sock_addr hooks: fail the call with EPERM */

/* One entry per (protocol, port), see pg_port_index(); written by portgated. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PG_PORT_ENTRIES);
	__type(key, __u32);
	__type(value, struct pg_port_val);
} ports SEC(".maps");

/* Key 0 only: host mode and the proxy's cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pg_settings);
} settings SEC(".maps");

/* Every decision other than a plain allow, as struct pg_event. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PG_EVENTS_BYTES);
} events SEC(".maps");

/* PG_CNT_* totals, so that nothing is lost when the ring buffer is full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_CNT_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Who listens or connects on a socket, recorded in process context (see sockops_audit). */
struct pg_sk_owner {
	__u64 cgroup_id; /* bpf_get_current_cgroup_id() at listen()/connect() */
	__u32 pid;	 /* tgid */
	__u32 uid;
	char comm[16];
};

/*
 * Owner of TCP sockets listening on, or connecting to, an allocated port: for the established
 * events, which come in softirq context with no task of their own. BPF_F_CLONE: an accepted socket
 * inherits its listener's entry, so a passive connection is reported with the service listening.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct pg_sk_owner);
} sk_owner SEC(".maps");

/* A bind or connect request (or a connection's local end), read once from the context. */
struct pg_sockaddr {
	__u32 ip[4];   /* network order; IPv4 in ip[0] */
	__u16 port;    /* host order */
	__u8 family;   /* AF_INET / AF_INET6 */
	__u8 protocol; /* IPPROTO_TCP / IPPROTO_UDP / other */
};

/*
 * Reads the address a bind or connect hook sees. family must be a constant: a bind4 program may
 * not even mention user_ip6 (the verifier refuses the access), so the dead branch must fold away.
 */
static __always_inline void pg_read_sock_addr(struct bpf_sock_addr *ctx, int family,
					      struct pg_sockaddr *a)
{
	if (family == AF_INET) {
		a->ip[0] = ctx->user_ip4;
		a->ip[1] = 0;
		a->ip[2] = 0;
		a->ip[3] = 0;
	} else {
		a->ip[0] = ctx->user_ip6[0];
		a->ip[1] = ctx->user_ip6[1];
		a->ip[2] = ctx->user_ip6[2];
		a->ip[3] = ctx->user_ip6[3];
	}
	a->port = bpf_ntohs((__u16)ctx->user_port);
	a->family = family;
	a->protocol = ctx->protocol;
}

/* Only TCP and UDP on a fixed port are policed; port 0 (ephemeral) always passes. */
static __always_inline bool pg_policed(const struct pg_sockaddr *a)
{
	return a->port != 0 && (a->protocol == IPPROTO_TCP || a->protocol == IPPROTO_UDP);
}

static __always_inline const struct pg_port_val *pg_port_lookup(__u8 protocol, __u16 port)
{
	__u32 key = pg_port_index(protocol == IPPROTO_UDP ? PG_PROTO_UDP : PG_PROTO_TCP, port);

	return bpf_map_lookup_elem(&ports, &key);
}

/* The settings entry; NULL never happens for an ARRAY map, but the verifier wants the check. */
static __always_inline const struct pg_settings *pg_settings(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&settings, &key);
}

static __always_inline bool pg_v4_loopback(__u32 ip)
{
	return (bpf_ntohl(ip) >> 24) == 127;
}

/* ::ffff:a.b.c.d */
static __always_inline bool pg_v6_mapped(const struct pg_sockaddr *a)
{
	return a->ip[0] == 0 && a->ip[1] == 0 && a->ip[2] == bpf_htonl(0xffff);
}

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static __always_inline bool pg_is_loopback(const struct pg_sockaddr *a)
{
	if (a->family == AF_INET)
		return pg_v4_loopback(a->ip[0]);
	if (pg_v6_mapped(a))
		return pg_v4_loopback(a->ip[3]);
	return a->ip[0] == 0 && a->ip[1] == 0 && a->ip[2] == 0 && a->ip[3] == bpf_htonl(1);
}

/* 0.0.0.0 or :: (which, without IPV6_V6ONLY, is every IPv4 address too). */
static __always_inline bool pg_is_wildcard(const struct pg_sockaddr *a)
{
	return (a->ip[0] | a->ip[1] | a->ip[2] | a->ip[3]) == 0;
}

/* Is the current task in cgroup id, or in a cgroup below it? */
static __always_inline bool pg_current_in_cgroup(__u64 id)
{
	if (bpf_get_current_cgroup_id() == id)
		return true;
	for (int level = 0; level < PG_CGROUP_MAX_DEPTH; level++) {
		__u64 ancestor = bpf_get_current_ancestor_cgroup_id(level);

		if (ancestor == id)
			return true;
		if (ancestor == 0) /* past the current cgroup's own level */
			break;
	}
	return false;
}

static __always_inline void pg_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u32 pg_verdict_counter(__u8 verdict)
{
	switch (verdict) {
	case PG_V_DENIED:
		return PG_CNT_DENIED;
	case PG_V_REWRITTEN:
		return PG_CNT_REWRITTEN;
	case PG_V_AUDITED:
		return PG_CNT_AUDITED;
	default:
		return PG_CNT_ESTABLISHED;
	}
}

/*
 * Counts the decision and reserves its ring-buffer record, zeroed and filled with what is common
 * to every event; NULL when auditing is off, or (counted as lost) when the buffer is full. The
 * caller fills the rest and submits it.
 */
static __always_inline struct pg_event *pg_event_start(const struct pg_sockaddr *a, __u8 action,
						       __u8 verdict, __u8 reason)
{
	const struct pg_settings *s = pg_settings();
	struct pg_event *ev;

	pg_count(pg_verdict_counter(verdict));
	if (s && (s->flags & PG_SET_QUIET))
		return NULL; /* auditing off: counted above, not reported */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		pg_count(PG_CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev->addr, a->ip, sizeof(ev->addr));
	ev->port = a->port;
	ev->family = a->family;
	ev->protocol = a->protocol;
	ev->action = action;
	ev->verdict = verdict;
	ev->reason = reason;
	return ev;
}

/* Submits an event; the reader is woken only when a batch is waiting (PG_EVENTS_WAKEUP_BYTES). */
static __always_inline void pg_event_submit(struct pg_event *ev)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= PG_EVENTS_WAKEUP_BYTES
			  ? BPF_RB_FORCE_WAKEUP
			  : BPF_RB_NO_WAKEUP;

	bpf_ringbuf_submit(ev, flags);
}

/* An event about the calling task (bind, connect): who it is, then submitted. */
static __always_inline void pg_event_task(const struct pg_sockaddr *a, __u8 action, __u8 verdict,
					  __u8 reason, const __u32 *bound)
{
	struct pg_event *ev = pg_event_start(a, action, verdict, reason);

	if (!ev)
		return;
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (bound)
		__builtin_memcpy(ev->peer, bound, sizeof(ev->peer));
	pg_event_submit(ev);
}

#endif
