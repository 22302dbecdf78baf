// SPDX-License-Identifier: MIT
/* port_policy: the cgroup programs that hold every service to its port allocation. */
#include "pg_common.bpf.h"
#include "bind_policy.bpf.h"
#include "connect_policy.bpf.h"
#include "sockops_audit.bpf.h"

/*
 * One object, so one set of maps (ports, settings, events, counters) shared by all five programs.
 * The host mode lives in the settings map rather than in const volatile data: it changes at run
 * time, without reloading anything.
 */

SEC("cgroup/bind4")
int pg_bind4(struct bpf_sock_addr *ctx)
{
	return bind_policy(ctx, AF_INET);
}

SEC("cgroup/bind6")
int pg_bind6(struct bpf_sock_addr *ctx)
{
	return bind_policy(ctx, AF_INET6);
}

SEC("cgroup/connect4")
int pg_connect4(struct bpf_sock_addr *ctx)
{
	return connect_policy(ctx, AF_INET);
}

SEC("cgroup/connect6")
int pg_connect6(struct bpf_sock_addr *ctx)
{
	return connect_policy(ctx, AF_INET6);
}

SEC("sockops")
int pg_sockops(struct bpf_sock_ops *skops)
{
	if (sockops_owner_known_now(skops))
		sockops_remember_owner(skops);
	else if (sockops_established(skops))
		sockops_audit(skops);
	return 1;
}

/* GPL-compatible for the kernel (the code is MIT; "Dual MIT/GPL" is a string it accepts). */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
