/* SPDX-License-Identifier: MIT */
/* audit_nflog: the packets table inet portgate drops, read from its NFLOG group, into the audit
 * trail (action packet); NFLOG's own losses, counted from its sequence numbers, as loss events. */
#ifndef PORTGATED_AUDIT_NFLOG_H
#define PORTGATED_AUDIT_NFLOG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include "audit_event.h"
#include "daemon.h"

struct audit_nflog;

/*
 * Binds an NFLOG socket to d->cfg.nflog_group in the namespace of the nftables table
 * (d->cfg.netns; "" = portgated's own): the socket is made there and stays there, the process
 * does not. Each dropped packet becomes one event for audit_emit(d->audit, ...). Returns 0 with
 * *out set (free with audit_nflog_close), or -errno with one line in err: -ENOENT no such netns,
 * -EBUSY another process already reads that group there, -EPERM without CAP_NET_ADMIN.
 */
int audit_nflog_open(struct daemon *d, struct audit_nflog **out, char *err, size_t errlen);

/* Stops reading and closes the socket (the kernel forgets the group's instance). Accepts NULL. */
void audit_nflog_close(struct audit_nflog *n);

/*
 * One NFULNL_MSG_PACKET as an audit event (exposed for the unit test): prefix to result, reason
 * and scan mark; the copied IPv4/IPv6 header and TCP/UDP ports to addresses and ports. *seq is
 * the message's NFULA_SEQ (*has_seq false when it has none). -EINVAL when nlh is not a packet.
 */
int audit_nflog_packet(const struct nlmsghdr *nlh, struct audit_event *ev, uint32_t *seq,
		       bool *has_seq);

#endif
