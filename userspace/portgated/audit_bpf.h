/* SPDX-License-Identifier: MIT */
/* audit_bpf: the BPF ring buffer (binds, connects, established connections) into the audit
 * trail, and the ring buffer's losses, counted by the kernel, as loss events. */
#ifndef PORTGATED_AUDIT_BPF_H
#define PORTGATED_AUDIT_BPF_H

#include "audit_event.h"
#include "bpf_enforce.h"
#include "daemon.h"
#include "portgate/port_policy.h"

struct audit_bpf;

/*
 * Starts reading e's `events` ring buffer on d->loop: every record becomes one event for
 * audit_emit(d->audit, ...), as it arrives. Once a second the kernel's count of events it could
 * not write (PG_CNT_EVENTS_LOST, under d->cfg.bpf_pin_dir) is read; what it grew by is reported
 * as one loss event. Returns 0 with *out set (free with audit_bpf_close), or -errno. e must
 * outlive the handle.
 */
int audit_bpf_open(struct daemon *d, struct bpf_enforce *e, struct audit_bpf **out);

/* Reads what is left in the ring buffer, stops watching it and frees ab. Accepts NULL. */
void audit_bpf_close(struct audit_bpf *ab);

/* One ring-buffer record as an audit event (exposed for the unit test). The local end is the
 * destination (the port bound, or reached), unless outgoing: an established connection this
 * socket made to a managed port, which is then the destination. */
void audit_bpf_event(const struct pg_event *pe, bool outgoing, struct audit_event *ev);

#endif
