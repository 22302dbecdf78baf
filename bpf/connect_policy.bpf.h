/* SPDX-License-Identifier: MIT */
/* connect_policy: a token-protected backend is reached only through the proxy (cgroup/connect*). */
#ifndef PORTGATE_CONNECT_POLICY_BPF_H
#define PORTGATE_CONNECT_POLICY_BPF_H

#include "pg_common.bpf.h"

/*
 * Does the destination reach this host's loopback listeners? Loopback itself, and the wildcard
 * addresses too: connect() to 0.0.0.0, :: or ::ffff:0.0.0.0 goes to the local host. (A host's
 * own public addresses are not checked: a backend is localhost-only, bound on loopback.)
 */
static __always_inline bool connect_to_local(const struct pg_sockaddr *a)
{
	if (pg_is_loopback(a) || pg_is_wildcard(a))
		return true;
	return a->family == AF_INET6 && pg_v6_mapped(a) && a->ip[3] == 0;
}

/* A local connection to a proxy backend from outside the proxy's cgroup. */
static __always_inline bool connect_bypasses_proxy(const struct pg_port_val *v,
						   const struct pg_sockaddr *a,
						   const struct pg_settings *s)
{
	/* No proxy registered yet: nothing to walk around, so nothing is refused. */
	if (!(v->flags & PG_PORT_PROXY_BACKEND) || s->proxy_cgroup_id == 0)
		return false;
	return connect_to_local(a) && !pg_current_in_cgroup(s->proxy_cgroup_id);
}

/* The whole decision for one connect; family is a constant (see pg_read_sock_addr). */
static __always_inline int connect_policy(struct bpf_sock_addr *ctx, int family)
{
	const struct pg_settings *s;
	const struct pg_port_val *v;
	struct pg_sockaddr a;

	pg_read_sock_addr(ctx, family, &a);
	if (!pg_policed(&a))
		return PG_ALLOW;
	v = pg_port_lookup(a.protocol, a.port);
	if (!v || !(v->flags & PG_PORT_PROXY_BACKEND))
		return PG_ALLOW;
	s = pg_settings();
	if (!s || !connect_bypasses_proxy(v, &a, s))
		return PG_ALLOW;
	if (s->mode == PG_MODE_AUDIT_ONLY) {
		pg_event_task(&a, PG_EV_CONNECT, PG_V_AUDITED, PG_R_PROXY_ONLY, NULL);
		return PG_ALLOW;
	}
	pg_event_task(&a, PG_EV_CONNECT, PG_V_DENIED, PG_R_PROXY_ONLY, NULL);
	return PG_DENY;
}

#endif
