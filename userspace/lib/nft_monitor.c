// SPDX-License-Identifier: MIT
/* nft_monitor: nf_tables events in the namespace, reduced to "someone touched our table". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include "nft_int.h"

/* Room for bursts of events (a large resync of our own is one event per element). */
#define NFT_MON_RCVBUF (4 << 20)

int nft_monitor_open(struct nft_ctx *n)
{
	int fd, v = NFT_MON_RCVBUF, ret;

	if (n->mon)
		return mnl_socket_get_fd(n->mon);
	ret = nft_socket(n, SOCK_NONBLOCK, 1u << (NFNLGRP_NFTABLES - 1), &n->mon);
	if (ret < 0) {
		nft_seterr(n, "monitor: %s", strerror(-ret));
		return ret;
	}
	fd = mnl_socket_get_fd(n->mon);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	return fd;
}

static const char *nft_event_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return "newtable";
	case NFT_MSG_DELTABLE:
		return "deltable";
	case NFT_MSG_NEWCHAIN:
		return "newchain";
	case NFT_MSG_DELCHAIN:
		return "delchain";
	case NFT_MSG_NEWRULE:
		return "newrule";
	case NFT_MSG_DELRULE:
		return "delrule";
	case NFT_MSG_NEWSET:
		return "newset";
	case NFT_MSG_DELSET:
		return "delset";
	case NFT_MSG_NEWSETELEM:
		return "newsetelem";
	case NFT_MSG_DELSETELEM:
		return "delsetelem";
	default:
		return NULL;
	}
}

/*
 * Whether one event is a change to table inet portgate by someone else. Every object message
 * names its table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE,
 * NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE); the object's own name differs by type.
 */
static bool nft_event_parse(const struct nft_ctx *n, const struct nlmsghdr *nlh,
			    struct nft_event *ev)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type), name_attr;
	const struct nlattr *a;
	bool ours = false;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || !nft_event_name(type) ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*g) || g->nfgen_family != NFPROTO_INET)
		return false;
	/* Our own changes come back with our port id. */
	if (nlh->nlmsg_pid == n->portid)
		return false;
	switch (type) {
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		name_attr = NFTA_CHAIN_NAME;
		break;
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		name_attr = 0;
		break;
	default: /* NFTA_RULE_CHAIN, NFTA_SET_NAME, NFTA_SET_ELEM_LIST_SET */
		name_attr = 2;
		break;
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->portid = nlh->nlmsg_pid;
	ev->what = nft_event_name(type);
	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		uint16_t t = mnl_attr_get_type(a);

		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if (t == 1 && !strcmp(mnl_attr_get_str(a), NFT_TABLE))
			ours = true;
		else if (name_attr && t == name_attr)
			snprintf(ev->object, sizeof(ev->object), "%s", mnl_attr_get_str(a));
	}
	return ours;
}

int nft_monitor_read_cb(struct nft_ctx *n, void (*cb)(const struct nft_event *ev, void *data),
			void *data)
{
	const struct nlmsghdr *nlh;
	struct nft_event ev;
	int touched = 0, len;
	ssize_t got;

	if (!n->mon)
		return -EBADF;
	for (;;) {
		got = recv(mnl_socket_get_fd(n->mon), n->buf, sizeof(n->buf), MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* Events were dropped: one of them may have been a deletion. */
				memset(&ev, 0, sizeof(ev));
				ev.what = "lost";
				if (cb)
					cb(&ev, data);
				touched = 1;
				continue;
			}
			return -errno;
		}
		len = (int)got;
		for (nlh = (const struct nlmsghdr *)n->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (!nft_event_parse(n, nlh, &ev))
				continue;
			touched = 1;
			if (cb)
				cb(&ev, data);
		}
	}
	return touched;
}

int nft_monitor_read(struct nft_ctx *n)
{
	return nft_monitor_read_cb(n, NULL, NULL);
}
