// SPDX-License-Identifier: MIT
/* audit_nflog: the packets table inet portgate drops, read from its NFLOG group, into the audit
 * trail (action packet); NFLOG's own losses, counted from its sequence numbers, as loss events. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include "audit.h"
#include "audit_nflog.h"
#include "log.h"
#include "nflog_msg.h"

#define AUDIT_NFLOG_RANGE    128	/* bytes copied: IP and TCP/UDP headers */
#define AUDIT_NFLOG_RCVBUF   (16 << 20) /* a burst of drops waits here, not in the kernel */
#define AUDIT_NFLOG_TIMEOUT  5		/* kernel flush, 1/100 s: a drop is seen within 50 ms */
#define AUDIT_NFLOG_QTHRESH  64		/* or after this many packets, whichever first */
#define AUDIT_NFLOG_PER_WAKE 64		/* reads per wake-up, so a flood cannot starve the loop */

struct audit_nflog {
	struct daemon *d;
	struct mnl_socket *nl;
	uint16_t group;
	uint32_t next_seq;   /* NFULA_SEQ expected next (the instance starts at 0) */
	uint64_t lost;	     /* a gap found, reported before the event that showed it */
	bool overrun_logged; /* ENOBUFS said once */
	char buf[1 << 16] __attribute__((aligned(8))); /* netlink messages are 4-byte aligned */
};

/* The drop rule's prefix ("pg:localonly ") to what happened and why. */
static void audit_nflog_prefix(const char *prefix, struct audit_event *ev)
{
	static const struct {
		const char *prefix, *reason;
		uint8_t result, scan;
	} map[] = {
		/* A blocked source's probes still count: a scan's figures do not depend on when,
		 * during it, the block landed (and a source that goes on is reported again). */
		{ "pg:blocked", "source blocked", AUDIT_BLOCKED, AUDIT_SCAN_YES },
		{ "pg:localonly", "localhost only", AUDIT_DENIED, AUDIT_SCAN_YES },
		{ "pg:notallowed", "source not allowed", AUDIT_DENIED, AUDIT_SCAN_YES },
		{ "pg:closed", "closed port", AUDIT_DENIED, AUDIT_SCAN_YES },
	};
	size_t n = strcspn(prefix, " ");

	ev->result = AUDIT_DENIED;
	snprintf(ev->reason, sizeof(ev->reason), "dropped");
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strlen(map[i].prefix) == n && strncmp(prefix, map[i].prefix, n) == 0) {
			ev->result = map[i].result;
			ev->scan = map[i].scan;
			snprintf(ev->reason, sizeof(ev->reason), "%s", map[i].reason);
		}
	}
}

/* TCP or UDP: the ports are the transport header's first 4 bytes. */
static void audit_nflog_ports(const uint8_t *l4, size_t len, uint8_t proto, struct audit_event *ev)
{
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || len < 4)
		return;
	ev->src_port = (uint16_t)(l4[0] << 8 | l4[1]);
	ev->dst_port = (uint16_t)(l4[2] << 8 | l4[3]);
}

static void audit_nflog_ipv4(const uint8_t *p, size_t len, struct audit_event *ev)
{
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	bool first_fragment;

	if (len < 20 || ihl < 20)
		return;
	first_fragment = ((p[6] & 0x1f) | p[7]) == 0;
	ev->family = AF_INET;
	ev->has_src = ev->has_dst = true;
	memcpy(ev->src, p + 12, 4);
	memcpy(ev->dst, p + 16, 4);
	ev->protocol = p[9];
	if (first_fragment && len > ihl)
		audit_nflog_ports(p + ihl, len - ihl, p[9], ev);
}

/* Walks the extension headers a packet to a port may carry (hop-by-hop, routing, destination
 * options, a first fragment) to the transport header. */
static void audit_nflog_ipv6(const uint8_t *p, size_t len, struct audit_event *ev)
{
	uint8_t next;
	size_t off = 40;

	if (len < 40)
		return;
	ev->family = AF_INET6;
	ev->has_src = ev->has_dst = true;
	memcpy(ev->src, p + 8, 16);
	memcpy(ev->dst, p + 24, 16);
	next = p[6];
	while (off + 8 <= len && (next == 0 || next == 43 || next == 60 || next == 44)) {
		if (next == 44 && ((p[off + 2] << 8 | p[off + 3]) & 0xfff8))
			return; /* a later fragment: no transport header */
		next = p[off];
		off += next == 44 ? 8 : (size_t)(p[off + 1] + 1) * 8;
	}
	ev->protocol = next;
	if (off < len)
		audit_nflog_ports(p + off, len - off, next, ev);
}

int audit_nflog_packet(const struct nlmsghdr *nlh, struct audit_event *ev, uint32_t *seq,
		       bool *has_seq)
{
	const struct nlattr *a;
	const uint8_t *payload = NULL;
	size_t plen = 0;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->action = AUDIT_PACKET;
	ev->pid = -1;
	ev->uid = -1;
	*has_seq = false;
	audit_nflog_prefix("", ev);
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		switch (mnl_attr_get_type(a)) {
		case NFULA_PREFIX:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				audit_nflog_prefix(mnl_attr_get_str(a), ev);
			break;
		case NFULA_PAYLOAD:
			payload = mnl_attr_get_payload(a);
			plen = mnl_attr_get_payload_len(a);
			break;
		case NFULA_SEQ:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
				*seq = ntohl(mnl_attr_get_u32(a));
				*has_seq = true;
			}
			break;
		}
	}
	if (payload && plen >= 1 && payload[0] >> 4 == 4)
		audit_nflog_ipv4(payload, plen, ev);
	else if (payload && plen >= 1 && payload[0] >> 4 == 6)
		audit_nflog_ipv6(payload, plen, ev);
	return 0;
}

static void audit_nflog_loss(struct audit_nflog *n)
{
	struct audit_event ev = {
		.action = AUDIT_LOSS, .result = AUDIT_LOST, .pid = -1, .uid = -1
	};

	if (!n->lost)
		return;
	ev.count = n->lost;
	n->lost = 0;
	snprintf(ev.reason, sizeof(ev.reason), "NFLOG messages lost (receive buffer full)");
	audit_emit(n->d->audit, &ev);
}

static int audit_nflog_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct audit_nflog *n = arg;
	struct audit_event ev;
	uint32_t seq;
	bool has_seq;

	if (audit_nflog_packet(nlh, &ev, &seq, &has_seq) < 0)
		return MNL_CB_OK;
	/* The instance numbers every message it tries to send: a gap is what never arrived. */
	if (has_seq) {
		if (seq != n->next_seq)
			n->lost += (uint32_t)(seq - n->next_seq);
		n->next_seq = seq + 1;
	}
	audit_nflog_loss(n);
	audit_emit(n->d->audit, &ev);
	return MNL_CB_OK;
}

/* Reads what the socket holds, a bounded number of times per wake-up. */
static void audit_nflog_ready(struct evloop *loop, int fd, unsigned mask, void *arg)
{
	struct audit_nflog *n = arg;

	for (int i = 0; i < AUDIT_NFLOG_PER_WAKE; i++) {
		ssize_t len = mnl_socket_recvfrom(n->nl, n->buf, sizeof(n->buf));

		if (len < 0 && errno == ENOBUFS) {
			/* The kernel dropped messages: the next sequence number says how many. */
			if (!n->overrun_logged)
				log_warn("audit: NFLOG group %u overran portgated's buffer; losses "
					 "are counted in the trail",
					 n->group);
			n->overrun_logged = true;
			continue;
		}
		if (len <= 0)
			return; /* EAGAIN: drained */
		mnl_cb_run(n->buf, (size_t)len, 0, 0, audit_nflog_msg, n);
	}
}

/* One NFULNL_MSG_CONFIG for the group with one attribute, acknowledged; packets that arrive
 * meanwhile go to the trail like any other. 0 or -errno. */
static int audit_nflog_config(struct audit_nflog *n, uint16_t attr, const void *data, size_t len,
			      uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nflog_config_msg(buf, n->group, attr, data, len, seq);
	ssize_t got;
	int ret;

	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		got = mnl_socket_recvfrom(n->nl, n->buf, sizeof(n->buf));
		if (got < 0)
			return -errno;
		ret = mnl_cb_run(n->buf, (size_t)got, seq, mnl_socket_get_portid(n->nl),
				 audit_nflog_msg, n);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

/* Binds the group: packets copied up to the transport ports, numbered, flushed quickly. */
static int audit_nflog_bind(struct audit_nflog *n)
{
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = htonl(AUDIT_NFLOG_RANGE),
					       .copy_mode = NFULNL_COPY_PACKET };
	uint16_t flags = htons(NFULNL_CFG_F_SEQ);
	uint32_t timeout = htonl(AUDIT_NFLOG_TIMEOUT), qthresh = htonl(AUDIT_NFLOG_QTHRESH);
	struct timeval tv = { .tv_sec = 2 };
	int err, fd = mnl_socket_get_fd(n->nl), size = AUDIT_NFLOG_RCVBUF;

	/* As root the buffer may pass net.core.rmem_max; otherwise what the limit allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = audit_nflog_config(n, NFULA_CFG_CMD, &cmd, sizeof(cmd), 1);
	if (err == 0)
		err = audit_nflog_config(n, NFULA_CFG_MODE, &mode, sizeof(mode), 2);
	if (err == 0)
		err = audit_nflog_config(n, NFULA_CFG_FLAGS, &flags, sizeof(flags), 3);
	if (err == 0)
		err = audit_nflog_config(n, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout), 4);
	if (err == 0)
		err = audit_nflog_config(n, NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh), 5);
	if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		err = -errno;
	return err;
}

/* A netlink socket made in netns (NULL: here): this thread enters it for socket() only. */
static int audit_nflog_socket(const char *netns, struct mnl_socket **out)
{
	char path[256];
	int target = -1, self = -1, err = 0;
	struct mnl_socket *nl;

	if (netns && *netns) {
		if (strchr(netns, '/') ||
		    snprintf(path, sizeof(path), "/run/netns/%s", netns) >= (int)sizeof(path))
			return -EINVAL;
		target = open(path, O_RDONLY | O_CLOEXEC);
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (target < 0 || self < 0 || setns(target, CLONE_NEWNET) < 0) {
			err = -errno;
			goto out;
		}
	}
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		err = -errno;
	/* Back home, or nothing else in this process may run on this thread. */
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		log_error("audit: cannot return to portgated's network namespace: %s",
			  strerror(errno));
		abort();
	}
	if (!err && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
	}
	if (!err)
		*out = nl;
out:
	if (target >= 0)
		close(target);
	if (self >= 0)
		close(self);
	return err;
}

int audit_nflog_open(struct daemon *d, struct audit_nflog **out, char *err, size_t errlen)
{
	const char *where = d->cfg.netns[0] ? d->cfg.netns : "this namespace";
	struct audit_nflog *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	n->d = d;
	n->group = (uint16_t)(d->cfg.nflog_group ? d->cfg.nflog_group : 4242);
	rc = audit_nflog_socket(d->cfg.netns, &n->nl);
	if (rc < 0) {
		snprintf(err, errlen, "NFLOG socket in %s: %s", where, strerror(-rc));
		free(n);
		return rc;
	}
	rc = audit_nflog_bind(n);
	if (rc == 0)
		rc = evloop_watch(d->loop, mnl_socket_get_fd(n->nl), EVLOOP_READ, audit_nflog_ready,
				  n);
	if (rc < 0) {
		snprintf(err, errlen, "NFLOG group %u in %s: %s%s", n->group, where, strerror(-rc),
			 rc == -EBUSY ? " (another process reads it)" : "");
		mnl_socket_close(n->nl);
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void audit_nflog_close(struct audit_nflog *n)
{
	if (!n)
		return;
	evloop_unwatch(n->d->loop, mnl_socket_get_fd(n->nl));
	audit_nflog_ready(n->d->loop, mnl_socket_get_fd(n->nl), EVLOOP_READ, n);
	mnl_socket_close(n->nl);
	free(n);
}
