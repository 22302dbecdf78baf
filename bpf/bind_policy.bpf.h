/* SPDX-License-Identifier: MIT */
/* bind_policy: may this task bind this (protocol, address, port)? Predicates for cgroup/bind*. */
#ifndef PORTGATE_BIND_POLICY_BPF_H
#define PORTGATE_BIND_POLICY_BPF_H

#include "pg_common.bpf.h"

/* Strict mode: a port inside a managed range that has no allocation. */
static __always_inline bool bind_unallocated(const struct pg_port_val *v, __u32 mode)
{
	return mode == PG_MODE_STRICT && (v->flags & PG_PORT_MANAGED) &&
	       !(v->flags & PG_PORT_ALLOCATED);
}

/* A restricted port that nobody was granted. */
static __always_inline bool bind_restricted(const struct pg_port_val *v)
{
	return (v->flags & PG_PORT_RESTRICTED) && !(v->flags & PG_PORT_GRANTED);
}

/* An owned port bound from outside its owner's cgroup (and the cgroups below it). */
static __always_inline bool bind_wrong_cgroup(const struct pg_port_val *v)
{
	return v->cgroup_id != 0 && !pg_current_in_cgroup(v->cgroup_id);
}

/* A localhost-only port bound anywhere but loopback: wildcard, v4-mapped, public. */
static __always_inline bool bind_not_local(const struct pg_port_val *v, const struct pg_sockaddr *a)
{
	return (v->flags & PG_PORT_LOCALHOST_ONLY) && !pg_is_loopback(a);
}

/*
 * Why the bind breaks the policy (PG_R_*), PG_R_NONE when it does not. Localhost-only comes last:
 * it is the one reason rewrite mode can fix, so it must not hide another one.
 */
static __always_inline __u8 bind_reason(const struct pg_port_val *v, const struct pg_sockaddr *a,
					__u32 mode)
{
	if (bind_unallocated(v, mode))
		return PG_R_UNALLOCATED;
	if (bind_restricted(v))
		return PG_R_RESTRICTED;
	if (bind_wrong_cgroup(v))
		return PG_R_WRONG_CGROUP;
	if (bind_not_local(v, a))
		return PG_R_LOCALHOST_ONLY;
	return PG_R_NONE;
}

/* Rewrite mode fixes exactly one case: a wildcard bind of a localhost-only port. */
static __always_inline bool bind_rewritable(const struct pg_sockaddr *a, __u32 mode, __u8 reason)
{
	return mode == PG_MODE_REWRITE && reason == PG_R_LOCALHOST_ONLY && pg_is_wildcard(a);
}

/* The whole decision for one bind; family is a constant (see pg_read_sock_addr). */
static __always_inline int bind_policy(struct bpf_sock_addr *ctx, int family)
{
	const struct pg_settings *s;
	const struct pg_port_val *v;
	struct pg_sockaddr a;
	__u32 loopback[4] = { 0 };
	__u32 mode;
	__u8 reason;

	pg_read_sock_addr(ctx, family, &a);
	if (!pg_policed(&a))
		return PG_ALLOW;
	v = pg_port_lookup(a.protocol, a.port);
	if (!v || (v->flags == 0 && v->cgroup_id == 0)) /* the common case: not a managed port */
		return PG_ALLOW;
	s = pg_settings();
	mode = s ? s->mode : PG_MODE_ENFORCE;

	reason = bind_reason(v, &a, mode);
	if (reason != PG_R_NONE && mode != PG_MODE_AUDIT_ONLY &&
	    !bind_rewritable(&a, mode, reason)) {
		pg_event_task(&a, PG_EV_BIND, PG_V_DENIED, reason, NULL);
		return PG_DENY;
	}
	if (reason == PG_R_NONE)
		return PG_ALLOW;
	if (mode == PG_MODE_AUDIT_ONLY) {
		pg_event_task(&a, PG_EV_BIND, PG_V_AUDITED, reason, NULL);
		return PG_ALLOW;
	}
	if (family == AF_INET) {
		loopback[0] = bpf_htonl(0x7f000001);
		ctx->user_ip4 = loopback[0];
	} else {
		loopback[3] = bpf_htonl(1);
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = 0;
		ctx->user_ip6[3] = loopback[3];
	}
	pg_event_task(&a, PG_EV_BIND, PG_V_REWRITTEN, reason, loopback);
	return PG_ALLOW;
}

#endif
