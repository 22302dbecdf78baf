// SPDX-License-Identifier: MIT
/* fuzz_nflog_packet: NFLOG messages (prefix, sequence number, packet bytes from the network) into
 * audit events, on any bytes: no crash, no read past the message, sane fields. */
// fuzz-sources: userspace/portgated/audit_nflog.c userspace/lib/audit_event.c
// fuzz-sources: userspace/lib/nflog_msg.c
// fuzz-libs: -lmnl
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include "../../userspace/portgated/audit.h"
#include "../../userspace/portgated/audit_nflog.h"
#include "evloop.h"
#include "log.h"
#include "fuzz_check.h"

/* The parser alone is fuzzed: the socket side of audit_nflog.c is linked, never called. */
void audit_emit(struct audit *a, const struct audit_event *ev)
{
	(void)a;
	(void)ev;
	abort();
}

int evloop_watch(struct evloop *loop, int fd, unsigned mask, evloop_fd_cb cb, void *data)
{
	(void)loop, (void)fd, (void)mask, (void)cb, (void)data;
	abort();
}

void evloop_unwatch(struct evloop *loop, int fd)
{
	(void)loop, (void)fd;
	abort();
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	(void)lvl, (void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * The message as large as the input, in a buffer only as large as its 4-byte alignment
	 * (libmnl walks attributes up to the aligned end; the kernel's buffers pad with zeros), so
	 * ASan sees any read past it.
	 */
	size_t len = NLMSG_LENGTH(sizeof(struct nfgenmsg)) + size;
	struct nlmsghdr *nlh = calloc(1, NLMSG_ALIGN(len));
	struct audit_event ev;
	char json[4096];
	uint32_t seq = 0;
	bool has_seq;

	if (!nlh)
		return 0;
	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	memcpy((char *)nlh + NLMSG_LENGTH(sizeof(struct nfgenmsg)), data, size);
	if (audit_nflog_packet(nlh, &ev, &seq, &has_seq) == 0) {
		check(ev.action == AUDIT_PACKET);
		check(ev.result < AUDIT_NRESULTS);
		check(memchr(ev.reason, '\0', sizeof(ev.reason)));
		check(ev.family == 0 || ev.family == AF_INET || ev.family == AF_INET6);
		check(audit_event_json(&ev, "fuzz", json, sizeof(json)) > 0);
	}
	free(nlh);
	return 0;
}
