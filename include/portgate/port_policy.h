/* SPDX-License-Identifier: MIT */
/* port_policy: the map layout the BPF cgroup programs and portgated agree on. */
#ifndef PORTGATE_PORT_POLICY_H
#define PORTGATE_PORT_POLICY_H

/* The BPF side gets the same types from vmlinux.h; including both would clash. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* One entry per (protocol, port): an ARRAY map of 2 * 65536 entries indexed by
 * pg_port_index(), so a lookup costs the same at 10 or 50,000 allocations. */
#define PG_PORT_ENTRIES (2 * 65536)
#define PG_PROTO_TCP	0
#define PG_PROTO_UDP	1

/* pg_port_val.flags */
#define PG_PORT_ALLOCATED      (1u << 0) /* the registry has an allocation for this port */
#define PG_PORT_LOCALHOST_ONLY (1u << 1) /* may be bound only on 127.0.0.0/8 or ::1 */
#define PG_PORT_RESTRICTED     (1u << 2) /* restricted: binding needs a grant */
#define PG_PORT_GRANTED	       (1u << 3) /* restricted, and granted to the owner */
#define PG_PORT_MANAGED	       (1u << 4) /* inside a managed purpose range (strict mode) */
#define PG_PORT_PROXY_BACKEND  (1u << 5) /* token-protected backend: connect only from the proxy */

struct pg_port_val {
	__u32 flags;	 /* PG_PORT_* */
	__u32 pad;	 /* explicit, zero */
	__u64 cgroup_id; /* owner service's cgroup, or below it (0: any cgroup may bind it) */
};

/* pg_settings.mode */
#define PG_MODE_ENFORCE	   0 /* refuse (EPERM) */
#define PG_MODE_REWRITE	   1 /* a wildcard bind of a localhost-only port becomes loopback */
#define PG_MODE_AUDIT_ONLY 2 /* allow, but report */
#define PG_MODE_STRICT	   3 /* enforce, and refuse unallocated ports in managed ranges */

/* pg_settings.flags */
#define PG_SET_QUIET (1u << 0) /* auditing off: decisions counted, no ring-buffer events */

/* A single-entry ARRAY map, written by portgated. */
struct pg_settings {
	__u32 mode;	       /* PG_MODE_* */
	__u32 flags;	       /* PG_SET_* (was padding: zero keeps the old behaviour) */
	__u64 proxy_cgroup_id; /* cgroup of portgate-proxy, or below it (0: none yet) */
};

/* pg_event.action */
#define PG_EV_BIND	  1
#define PG_EV_CONNECT	  2
#define PG_EV_ESTABLISHED 3
/* pg_event.verdict */
#define PG_V_ALLOWED   0
#define PG_V_DENIED    1
#define PG_V_REWRITTEN 2
#define PG_V_AUDITED   3 /* audit-only: would have been denied */
/* pg_event.reason */
#define PG_R_NONE	    0
#define PG_R_LOCALHOST_ONLY 1 /* wildcard or non-loopback bind of a localhost-only port */
#define PG_R_WRONG_CGROUP   2 /* port owned by another service's cgroup */
#define PG_R_RESTRICTED	    3 /* restricted port, no grant */
#define PG_R_UNALLOCATED    4 /* strict: managed range, no allocation */
#define PG_R_PROXY_ONLY	    5 /* protected backend reached from outside the proxy */

/*
 * One ring-buffer record; every decision other than a plain allow. For an established connection,
 * cgroup_id, pid, uid and comm are the socket owner's, i.e. the task that bound or connected it on
 * an allocated port (0 / "" when unknown); otherwise they are the calling task's.
 */
struct pg_event {
	__u64 ts_ns;	 /* bpf_ktime_get_ns() */
	__u64 cgroup_id; /* bpf_get_current_cgroup_id() */
	__u32 pid;	 /* tgid */
	__u32 uid;
	char comm[16];
	__u8 addr[16];	 /* IPv4 in the first 4 bytes, or IPv6; network order */
	__u8 peer[16];	 /* established: remote address; rewritten bind: the address bound */
	__u16 port;	 /* host order; established: the local port */
	__u16 peer_port; /* host order; established: the remote port */
	__u8 family;	 /* AF_INET / AF_INET6 */
	__u8 protocol;	 /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 action;	 /* PG_EV_* */
	__u8 verdict;	 /* PG_V_* */
	__u8 reason;	 /* PG_R_* */
	__u8 pad[7];	 /* explicit, zero */
};

/* The `events` ring buffer in bytes (a power of two, a multiple of the page size): about 10,900
 * events (88 bytes each plus an 8-byte record header). */
#define PG_EVENTS_BYTES (1u << 20)
/* The programs wake the reader only once this much is waiting (a wake-up per event would cost
 * each bind() more than its event); the reader also drains on a short timer. */
#define PG_EVENTS_WAKEUP_BYTES (PG_EVENTS_BYTES / 8)

/* `counters`: a PERCPU_ARRAY of __u64, indexed by PG_CNT_*; readers sum over the CPUs. Decisions
 * are counted even when their event is lost. Fixed at PG_CNT_ENTRIES so that new counters do not
 * change the map's layout (pinned maps are reused). */
#define PG_CNT_DENIED	   0 /* binds and connects refused (EPERM) */
#define PG_CNT_REWRITTEN   1 /* wildcard binds moved to loopback */
#define PG_CNT_AUDITED	   2 /* audit-only: would have been refused */
#define PG_CNT_ESTABLISHED 3 /* connections reported on allocated ports */
#define PG_CNT_EVENTS_LOST 4 /* events not written, the ring buffer was full */
#define PG_CNT_ENTRIES	   16

/* Owner and proxy cgroups match their descendants down to this many levels below the root. */
#define PG_CGROUP_MAX_DEPTH 32

static inline __u32 pg_port_index(__u32 proto, __u32 port)
{
	return (proto == PG_PROTO_UDP ? 65536u : 0u) + (port & 0xffffu);
}

#endif
