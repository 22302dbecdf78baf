// SPDX-License-Identifier: MIT
/* nft: a context on one network namespace's nftables: sockets opened there, probe, names. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include "nft_int.h"

/* Seconds to wait for the kernel's answer before giving up on a request or batch. */
#define NFT_TIMEOUT_S 10

/*
 * Opens a NETLINK_NETFILTER socket in n's namespace and binds it to groups. Only the calling
 * thread moves, only for socket(): a socket stays in the namespace it was created in, so the
 * rest of the process never leaves its own.
 */
int nft_socket(struct nft_ctx *n, int flags, unsigned groups, struct mnl_socket **out)
{
	struct mnl_socket *nl;
	int self = -1, ret = 0;

	if (n->netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0)
			return -errno;
		if (setns(n->netns_fd, CLONE_NEWNET) < 0) {
			ret = -errno;
			close(self);
			return ret;
		}
	}
	nl = mnl_socket_open2(NETLINK_NETFILTER, flags | SOCK_CLOEXEC);
	if (!nl)
		ret = -errno;
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET) < 0) {
			/* The thread would go on in the wrong namespace: refuse everything. */
			ret = -errno;
			nft_seterr(n, "cannot return to the caller's network namespace: %s",
				   strerror(errno));
			if (nl)
				mnl_socket_close(nl);
			close(self);
			return ret;
		}
		close(self);
	}
	if (ret)
		return ret;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	*out = nl;
	return 0;
}

static int nft_probe_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

/* Asks for the ruleset generation: answers only when nf_tables is there and we may use it. */
static int nft_probe(struct nft_ctx *n)
{
	struct nlmsghdr *nlh = nft_request_hdr(n, NFT_MSG_GETGEN, NLM_F_ACK);

	return nft_request(n, nlh, nft_probe_cb, NULL);
}

static bool nft_netns_name_ok(const char *s)
{
	return *s && strlen(s) < 200 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

int nft_open(const struct nft_opts *o, struct nft_ctx **out, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = NFT_TIMEOUT_S };
	const char *ns = o && o->netns && *o->netns ? o->netns : NULL;
	const char *step = "";
	struct nft_ctx *n;
	char path[256];
	int one = 1, ret;

	if (errlen)
		err[0] = '\0';
	n = calloc(1, sizeof(*n));
	if (!n) {
		ret = -ENOMEM;
		step = "nftables: out of memory";
		goto fail;
	}
	n->netns_fd = -1;
	n->nflog_group = o && o->nflog_group ? o->nflog_group : NFT_NFLOG_GROUP_DEFAULT;
	n->closed = o && o->closed_by_default;
	if (n->nflog_group > UINT16_MAX) {
		ret = -EINVAL;
		step = "nftables: NFLOG group out of range (0..65535)";
		goto fail;
	}
	if (ns) {
		if (!nft_netns_name_ok(ns)) {
			ret = -EINVAL;
			step = "nftables: invalid network namespace name";
			goto fail;
		}
		snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
		n->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (n->netns_fd < 0) {
			ret = -errno;
			step = "nftables: cannot open network namespace";
			goto fail;
		}
	}
	ret = nft_socket(n, 0, 0, &n->nl);
	if (ret < 0) {
		step = ret == -EPROTONOSUPPORT ? "nftables: no nfnetlink in this kernel"
					       : "nftables: netlink socket";
		goto fail;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	/* Errors without a copy of the request: an error for a large message stays small. */
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ret = nft_sockbuf(n, SO_RCVBUF, &n->rcvbuf, NFT_RCVBUF);
	if (ret < 0) {
		step = "nftables: receive buffer";
		goto fail;
	}
	ret = nft_probe(n);
	if (ret < 0) {
		if (ret == -EPERM)
			step = "nftables: not permitted (CAP_NET_ADMIN needed)";
		else if (ret == -EOPNOTSUPP || ret == -EPROTONOSUPPORT || ret == -ENOENT)
			step = "nftables: nf_tables not available in this kernel";
		else
			step = "nftables: probe";
		goto fail;
	}
	*out = n;
	return 0;
fail:
	if (errlen) {
		if (ns)
			snprintf(err, errlen, "%s (netns %s): %s", step, ns, strerror(-ret));
		else
			snprintf(err, errlen, "%s: %s", step, strerror(-ret));
	}
	nft_close(n);
	return ret;
}

void nft_close(struct nft_ctx *n)
{
	if (!n)
		return;
	if (n->mon)
		mnl_socket_close(n->mon);
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->netns_fd >= 0)
		close(n->netns_fd);
	free(n);
}

const char *nft_strerror(const struct nft_ctx *n)
{
	return n && n->err[0] ? n->err : "no error";
}

const char *nft_set_name(enum nft_setname s)
{
	return (unsigned)s < NFT_NSETS ? nft_setdefs[s].name : "?";
}

const char *nft_reason_name(enum nft_reason r)
{
	static const char *const names[NFT_NDROPS] = {
		[NFT_DROP_BLOCKED] = "blocked",
		[NFT_DROP_LOCALONLY] = "localonly",
		[NFT_DROP_NOTALLOWED] = "notallowed",
		[NFT_DROP_CLOSED] = "closed",
	};

	return (unsigned)r < NFT_NDROPS ? names[r] : "?";
}
