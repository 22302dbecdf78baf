// SPDX-License-Identifier: MIT
/* nft_batch: one nftables transaction as one netlink batch, sent whole, every ack read. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include "nft_int.h"

/* The largest batch nft_tx_run builds: far above 100,000 elements (a few MB). */
#define NFT_BATCH_LIMIT (256u << 20)
/* Receive room per acknowledgement: an ack's skb costs about 1 KiB of the receive buffer. */
#define NFT_ACK_TRUESIZE 1536

/* Wrap-safe "a comes before b" for sequence numbers. */
static bool nft_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void nft_seterr(struct nft_ctx *n, const char *fmt, ...)
{
	va_list ap;

	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(n->err, sizeof(n->err), fmt, ap);
	va_end(ap);
}

static const char *nft_msg_name(uint16_t type)
{
	static const char *const names[] = {
		[NFT_MSG_NEWTABLE] = "NEWTABLE",     [NFT_MSG_DELTABLE] = "DELTABLE",
		[NFT_MSG_NEWCHAIN] = "NEWCHAIN",     [NFT_MSG_NEWRULE] = "NEWRULE",
		[NFT_MSG_NEWSET] = "NEWSET",	     [NFT_MSG_NEWSETELEM] = "NEWSETELEM",
		[NFT_MSG_DELSETELEM] = "DELSETELEM",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "message";
}

/*
 * Starts a batch in buf: mnl's batch keeps the last message that did not fit past its limit,
 * so the limit leaves NFT_MSG_MAX bytes of room for it and nothing is ever written beyond len.
 */
int nft_tx_start(struct nft_tx *tx, void *buf, size_t len, uint32_t seq)
{
	memset(tx, 0, sizeof(*tx));
	if (len <= NFT_MSG_MAX + MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return -EMSGSIZE;
	tx->mb = mnl_nlmsg_batch_start(buf, len - NFT_MSG_MAX);
	if (!tx->mb)
		return -ENOMEM;
	tx->table = NFT_TABLE;
	tx->seq_begin = seq;
	tx->seq = seq + 1;
	nftnl_batch_begin(mnl_nlmsg_batch_current(tx->mb), seq);
	if (!mnl_nlmsg_batch_next(tx->mb))
		tx->err = -EMSGSIZE;
	return tx->err;
}

/*
 * The next message of the batch: header for type (NFPROTO_INET, NLM_F_ACK added, the next
 * sequence number). NULL once the batch failed; the caller then stops building.
 */
struct nlmsghdr *nft_tx_msg(struct nft_tx *tx, uint16_t type, uint16_t flags, const char *object)
{
	struct nft_txmsg *m;

	if (tx->err)
		return NULL;
	if (tx->n_msgs == tx->cap_msgs) {
		size_t cap = tx->cap_msgs ? tx->cap_msgs * 2 : 64;

		m = realloc(tx->msgs, cap * sizeof(*m));
		if (!m) {
			tx->err = -ENOMEM;
			return NULL;
		}
		tx->msgs = m;
		tx->cap_msgs = cap;
	}
	tx->msgs[tx->n_msgs++] = (struct nft_txmsg){ .type = type, .object = object };
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(tx->mb), type, NFPROTO_INET,
				     flags | NLM_F_ACK, tx->seq++);
}

/* Keeps the message just built, or marks the batch full (the message is then dropped). */
void nft_tx_next(struct nft_tx *tx, struct nlmsghdr *nlh)
{
	if (tx->err || !nlh)
		return;
	if (nlh->nlmsg_len > NFT_MSG_MAX) {
		/* A builder broke its size bound: the overrun room was not enough. */
		tx->err = -EOVERFLOW;
		return;
	}
	if (!mnl_nlmsg_batch_next(tx->mb))
		tx->err = -EMSGSIZE;
}

/* Closes the batch; returns its length or the first building error. */
long nft_tx_end(struct nft_tx *tx)
{
	if (tx->err)
		return tx->err;
	nftnl_batch_end(mnl_nlmsg_batch_current(tx->mb), tx->seq);
	if (!mnl_nlmsg_batch_next(tx->mb))
		return tx->err = -EMSGSIZE;
	return (long)mnl_nlmsg_batch_size(tx->mb);
}

void nft_tx_release(struct nft_tx *tx)
{
	if (tx->mb)
		mnl_nlmsg_batch_stop(tx->mb);
	free(tx->msgs);
	memset(tx, 0, sizeof(*tx));
}

/* Grows a socket buffer (SO_SNDBUF or SO_RCVBUF) to want bytes if it is smaller. */
int nft_sockbuf(struct nft_ctx *n, int opt, int *cur, size_t want)
{
	int fd, force = opt == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, v;

	if (want > INT32_MAX / 2)
		return -EMSGSIZE;
	v = (int)want;
	if (v <= *cur)
		return 0;
	fd = mnl_socket_get_fd(n->nl);
	/* FORCE passes net.core.[rw]mem_max with CAP_NET_ADMIN, which we need anyway. */
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		return -errno;
	*cur = v;
	return 0;
}

/* Drops whatever an earlier, abandoned exchange left in the receive queue. */
static void nft_drain(struct nft_ctx *n)
{
	int fd = mnl_socket_get_fd(n->nl);

	while (recv(fd, n->buf, sizeof(n->buf), MSG_DONTWAIT) > 0)
		;
}

/* Records a failed message of tx: "NEWSETELEM allowed4: File exists". */
static void nft_tx_failed(struct nft_ctx *n, const struct nft_tx *tx, uint32_t seq, int err)
{
	uint32_t i = seq - tx->seq_begin - 1;

	if (seq == tx->seq_begin || i >= tx->n_msgs)
		nft_seterr(n, "batch: %s", strerror(err));
	else
		nft_seterr(n, "%s %s: %s", nft_msg_name(tx->msgs[i].type),
			   tx->msgs[i].object ? tx->msgs[i].object : "", strerror(err));
}

/*
 * Reads the acknowledgements of tx: one per message (all carry NLM_F_ACK), in order, each
 * checked by mnl_cb_run against the sequence number it must carry. An error on the batch begin
 * message means the commit itself failed. The kernel handles a batch inside sendmsg(), so after
 * a first error whatever else it answered is already queued: drain it without blocking.
 */
static int nft_tx_acks(struct nft_ctx *n, const struct nft_tx *tx)
{
	uint32_t next = tx->seq_begin + 1, end = tx->seq;
	int fd = mnl_socket_get_fd(n->nl), first = 0;
	const struct nlmsghdr *nlh;
	ssize_t got;
	int len;

	while (nft_seq_before(next, end)) {
		got = recv(fd, n->buf, sizeof(n->buf), first ? MSG_DONTWAIT : 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (first)
				break;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				nft_seterr(n, "batch: no acknowledgement from the kernel");
				return -ETIMEDOUT;
			}
			if (errno == ENOBUFS) {
				nft_seterr(n, "batch: acknowledgements lost, outcome unknown");
				return -ENOBUFS;
			}
			nft_seterr(n, "batch: recv: %s", strerror(errno));
			return -errno;
		}
		len = (int)got;
		for (nlh = (struct nlmsghdr *)n->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			uint32_t seq = nlh->nlmsg_seq;
			int ret;

			if (seq == tx->seq_begin) {
				/* The commit (or the batch as a whole) failed. */
				ret = mnl_cb_run(nlh, nlh->nlmsg_len, tx->seq_begin, n->portid,
						 NULL, NULL);
				if (ret < 0 && !first) {
					first = -errno;
					nft_tx_failed(n, tx, seq, errno);
				}
				continue;
			}
			/* Left over from an earlier exchange that gave up: not ours. */
			if (nft_seq_before(seq, tx->seq_begin) || !nft_seq_before(seq, end))
				continue;
			if (seq != next) {
				if (!first) {
					nft_seterr(n, "batch: ack %u out of order, want %u", seq,
						   next);
					first = -EPROTO;
				}
				next = seq;
			}
			ret = mnl_cb_run(nlh, nlh->nlmsg_len, next, n->portid, NULL, NULL);
			if (ret == MNL_CB_ERROR && !first) {
				first = -errno;
				nft_tx_failed(n, tx, seq, errno);
			}
			/* Only an ack or an error (not a reply with data) settles a message. */
			if (nlh->nlmsg_type == NLMSG_ERROR)
				next++;
		}
	}
	return first;
}

int nft_tx_run(struct nft_ctx *n, size_t size_hint, int (*build)(struct nft_tx *tx, void *arg),
	       void *arg)
{
	size_t size = size_hint + 2 * NFT_MSG_MAX;
	struct nft_tx tx = { 0 };
	char *buf = NULL;
	long len;
	int ret;

	if (size < 256 * 1024)
		size = 256 * 1024;
	for (;;) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		ret = nft_tx_start(&tx, buf, size, n->seq);
		if (!ret)
			ret = build(&tx, arg);
		len = ret ? ret : nft_tx_end(&tx);
		/* The batch filled: build it again in a buffer twice as large. */
		if (len != -EMSGSIZE || size >= NFT_BATCH_LIMIT)
			break;
		nft_tx_release(&tx);
		free(buf);
		size *= 2;
	}
	if (len < 0) {
		ret = (int)len;
		nft_seterr(n, "building the batch: %s", strerror(-ret));
		goto out;
	}
	n->seq = tx.seq + 1;

	ret = nft_sockbuf(n, SO_SNDBUF, &n->sndbuf, (size_t)len + 4096);
	if (!ret)
		ret = nft_sockbuf(n, SO_RCVBUF, &n->rcvbuf,
				  NFT_RCVBUF + tx.n_msgs * (size_t)NFT_ACK_TRUESIZE);
	if (ret < 0) {
		nft_seterr(n, "socket buffers for a %ld-byte batch: %s", len, strerror(-ret));
		goto out;
	}
	nft_drain(n);
	if (mnl_socket_sendto(n->nl, buf, (size_t)len) != len) {
		ret = -errno;
		nft_seterr(n, "batch: send %ld bytes: %s", len, strerror(errno));
		goto out;
	}
	ret = nft_tx_acks(n, &tx);
out:
	nft_tx_release(&tx);
	free(buf);
	return ret;
}

struct nlmsghdr *nft_request_hdr(struct nft_ctx *n, uint16_t type, uint16_t flags)
{
	/* Requests are built at the start of the receive buffer, which is free between calls. */
	return nftnl_nlmsg_build_hdr(n->buf, type, NFPROTO_INET, flags, n->seq++);
}

/*
 * Sends the request at nlh (built by nft_request_hdr, so in n->buf) and runs cb over the
 * replies until the dump ends or the ack arrives. Returns 0 or -errno (-ENOENT: no such
 * table or set).
 */
int nft_request(struct nft_ctx *n, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *, void *),
		void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	char req[1024] __attribute__((aligned(8)));
	int ret = MNL_CB_OK;
	ssize_t len;

	if (nlh->nlmsg_len > sizeof(req))
		return -EMSGSIZE;
	memcpy(req, nlh, nlh->nlmsg_len);
	nft_drain(n);
	if (mnl_socket_sendto(n->nl, req, ((struct nlmsghdr *)req)->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(n->nl, n->buf, sizeof(n->buf));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		ret = mnl_cb_run(n->buf, (size_t)len, seq, n->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}
