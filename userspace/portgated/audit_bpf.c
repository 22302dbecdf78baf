// SPDX-License-Identifier: MIT
/* audit_bpf: the BPF ring buffer (binds, connects, established connections) into the audit
 * trail, and the ring buffer's losses, counted by the kernel, as loss events. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "audit.h"
#include "audit_bpf.h"
#include "log.h"

#define AUDIT_BPF_DRAIN_MS   100 /* the programs wake us for batches only: drain this often too */
#define AUDIT_BPF_LOSS_EVERY 10	 /* drains between two reads of the kernel's loss counter */

struct audit_bpf {
	struct daemon *d;
	struct ring_buffer *rb;
	int epoll_fd;	      /* the ring buffer's own epoll fd, watched on d->loop */
	int counters_fd;      /* the pinned `counters` map, -1 when it cannot be opened */
	int ncpus;	      /* values per key of the per-CPU counters */
	uint64_t lost_seen;   /* PG_CNT_EVENTS_LOST at the last read */
	int64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC in µs, once per batch */
	long loss_timer;      /* audit_bpf_tick() */
	unsigned long ticks;
};

/* Why, in words; the fixed vocabulary of docs/audit.md. */
static const char *audit_bpf_reason(unsigned reason)
{
	switch (reason) {
	case PG_R_LOCALHOST_ONLY:
		return "localhost only";
	case PG_R_WRONG_CGROUP:
		return "port owned by another service";
	case PG_R_RESTRICTED:
		return "restricted port, not granted";
	case PG_R_UNALLOCATED:
		return "not allocated (strict)";
	case PG_R_PROXY_ONLY:
		return "backend reachable through the proxy only";
	default:
		return "";
	}
}

static void audit_bpf_addr(uint8_t *dst, const uint8_t *src, uint8_t family)
{
	memcpy(dst, src, family == AF_INET ? 4 : 16);
}

static void audit_bpf_verdict(const struct pg_event *pe, struct audit_event *ev)
{
	const char *why = audit_bpf_reason(pe->reason);

	switch (pe->verdict) {
	case PG_V_DENIED:
		ev->result = AUDIT_DENIED;
		snprintf(ev->reason, sizeof(ev->reason), "%s", why);
		break;
	case PG_V_REWRITTEN:
		ev->result = AUDIT_REWRITTEN;
		snprintf(ev->reason, sizeof(ev->reason), "%s: bound to loopback", why);
		break;
	case PG_V_AUDITED:
		ev->result = AUDIT_ALLOWED;
		snprintf(ev->reason, sizeof(ev->reason), "audit-only: would be denied (%.32s)",
			 why);
		break;
	default:
		ev->result = AUDIT_ALLOWED;
		snprintf(ev->reason, sizeof(ev->reason), "%s", why);
	}
}

void audit_bpf_event(const struct pg_event *pe, bool outgoing, struct audit_event *ev)
{
	bool v6 = pe->family == AF_INET6;

	memset(ev, 0, sizeof(*ev));
	ev->protocol = pe->protocol;
	ev->family = v6 ? AF_INET6 : AF_INET;
	ev->pid = pe->pid ? (int32_t)pe->pid : -1;
	ev->uid = pe->pid || pe->comm[0] ? (int64_t)pe->uid : -1;
	ev->cgroup_id = pe->cgroup_id;
	memcpy(ev->comm, pe->comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = '\0';
	/* The local side is the destination: the address bound, connected to, or reached. */
	ev->has_dst = true;
	audit_bpf_addr(ev->dst, pe->addr, ev->family);
	ev->dst_port = pe->port;
	switch (pe->action) {
	case PG_EV_ESTABLISHED:
		ev->action = AUDIT_CONNECT;
		ev->result = AUDIT_ALLOWED;
		ev->has_src = true;
		audit_bpf_addr(ev->src, pe->peer, ev->family);
		ev->src_port = pe->peer_port;
		snprintf(ev->reason, sizeof(ev->reason), "established");
		if (outgoing) { /* the managed port is the remote one: it is the destination */
			audit_bpf_addr(ev->src, pe->addr, ev->family);
			ev->src_port = pe->port;
			audit_bpf_addr(ev->dst, pe->peer, ev->family);
			ev->dst_port = pe->peer_port;
		}
		return;
	case PG_EV_CONNECT:
		ev->action = AUDIT_CONNECT;
		break;
	default:
		ev->action = AUDIT_BIND;
	}
	audit_bpf_verdict(pe, ev);
}

static int64_t audit_bpf_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An established connection is reported for the end on a managed port: when the local port
 * is not allocated, this socket connected out to one (the peer's port is). The audit trail's
 * port table says so without a map lookup (a system call) per connection. */
static bool audit_bpf_outgoing(struct audit_bpf *ab, const struct pg_event *pe)
{
	return pe->action == PG_EV_ESTABLISHED &&
	       !audit_port_named(ab->d->audit, IPPROTO_TCP, pe->port);
}

static int audit_bpf_record(void *ctx, void *data, size_t size)
{
	struct audit_bpf *ab = ctx;
	const struct pg_event *pe = data;
	struct audit_event ev;

	if (size < sizeof(*pe))
		return 0; /* a record of another layout: nothing to say about it */
	audit_bpf_event(pe, audit_bpf_outgoing(ab, pe), &ev);
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: shifted onto the wall clock. */
	if (pe->ts_ns)
		ev.time_us = (uint64_t)((int64_t)(pe->ts_ns / 1000) + ab->mono_to_real);
	audit_emit(ab->d->audit, &ev);
	return 0;
}

static void audit_bpf_ready(struct evloop *loop, int fd, unsigned mask, void *arg)
{
	struct audit_bpf *ab = arg;
	int n;

	ab->mono_to_real = audit_bpf_clock_us(CLOCK_REALTIME) - audit_bpf_clock_us(CLOCK_MONOTONIC);
	n = ring_buffer__consume(ab->rb);
	if (n < 0)
		log_warn("audit: reading the BPF ring buffer: %s", strerror(-n));
}

/* PG_CNT_EVENTS_LOST summed over the CPUs; 0 or -errno. */
static int audit_bpf_lost(struct audit_bpf *ab, uint64_t *total)
{
	uint32_t key = PG_CNT_EVENTS_LOST;
	uint64_t *vals;
	int err = 0;

	if (ab->counters_fd < 0)
		return -EBADF;
	vals = calloc((size_t)ab->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(ab->counters_fd, &key, vals) < 0)
		err = -errno;
	*total = 0;
	for (int i = 0; err == 0 && i < ab->ncpus; i++)
		*total += vals[i];
	free(vals);
	return err;
}

/* Every AUDIT_BPF_DRAIN_MS: what is waiting (too little to wake us), and now and then losses. */
static void audit_bpf_tick(struct evloop *loop, void *arg)
{
	struct audit_bpf *ab = arg;
	struct audit_event ev = {
		.action = AUDIT_LOSS, .result = AUDIT_LOST, .pid = -1, .uid = -1
	};
	uint64_t total;

	ab->loss_timer = evloop_timer_add(loop, AUDIT_BPF_DRAIN_MS, audit_bpf_tick, ab);
	/* What was still queued first: a loss event comes after every event that made it. */
	audit_bpf_ready(loop, ab->epoll_fd, EVLOOP_READ, ab);
	if (++ab->ticks % AUDIT_BPF_LOSS_EVERY)
		return;
	if (audit_bpf_lost(ab, &total) < 0 || total <= ab->lost_seen)
		return;
	ev.count = total - ab->lost_seen;
	ab->lost_seen = total;
	snprintf(ev.reason, sizeof(ev.reason), "BPF ring buffer full");
	audit_emit(ab->d->audit, &ev);
}

/* The pinned counters map; without it losses go unreported, which is said once. */
static void audit_bpf_counters(struct audit_bpf *ab)
{
	char path[4200];

	ab->ncpus = libbpf_num_possible_cpus();
	snprintf(path, sizeof(path), "%s/counters", ab->d->cfg.bpf_pin_dir);
	ab->counters_fd = ab->ncpus > 0 ? bpf_obj_get(path) : -1;
	if (ab->counters_fd < 0 || audit_bpf_lost(ab, &ab->lost_seen) < 0)
		log_warn("audit: cannot read the BPF event counters (%s): ring-buffer losses "
			 "will not be reported",
			 path);
}

int audit_bpf_open(struct daemon *d, struct bpf_enforce *e, struct audit_bpf **out)
{
	struct audit_bpf *ab;
	int fd = e ? bpf_enforce_events_fd(e) : -EINVAL, err;

	if (fd < 0)
		return fd;
	ab = calloc(1, sizeof(*ab));
	if (!ab)
		return -ENOMEM;
	ab->d = d;
	ab->counters_fd = -1;
	ab->rb = ring_buffer__new(fd, audit_bpf_record, ab, NULL);
	if (!ab->rb) {
		err = -errno;
		free(ab);
		return err ? err : -ENOMEM;
	}
	ab->epoll_fd = ring_buffer__epoll_fd(ab->rb);
	err = evloop_watch(d->loop, ab->epoll_fd, EVLOOP_READ, audit_bpf_ready, ab);
	if (err < 0) {
		ring_buffer__free(ab->rb);
		free(ab);
		return err;
	}
	audit_bpf_counters(ab);
	ab->loss_timer = evloop_timer_add(d->loop, AUDIT_BPF_DRAIN_MS, audit_bpf_tick, ab);
	*out = ab;
	return 0;
}

void audit_bpf_close(struct audit_bpf *ab)
{
	if (!ab)
		return;
	evloop_timer_cancel(ab->d->loop, ab->loss_timer);
	audit_bpf_ready(ab->d->loop, ab->epoll_fd, EVLOOP_READ, ab);
	evloop_unwatch(ab->d->loop, ab->epoll_fd);
	ring_buffer__free(ab->rb);
	if (ab->counters_fd >= 0)
		close(ab->counters_fd);
	free(ab);
}
