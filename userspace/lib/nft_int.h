/* SPDX-License-Identifier: MIT */
/* nft_int: what the nft_*.c files share (context, set layout, batch plumbing, elements). */
#ifndef PORTGATE_NFT_INT_H
#define PORTGATE_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nft.h"

struct mnl_socket;
struct mnl_nlmsg_batch;
struct nlmsghdr;

/* Table of the one-off probe for the kernel's element-update semantics (nft_change.c). */
#define NFT_PROBE_TABLE "portgate_probe"
#define NFT_KEY_MAX	24 /* ipv6_addr . inet_proto . inet_service, each field in 4-byte words */
#define NFT_NCHAINS	2
#define NFT_PORTBITS	(65536 / 8)
#define NFT_RCVBUF	(256 * 1024)

/* A named set as it is built: what nft_check compares with what the kernel reports. */
struct nft_setdef {
	const char *name;
	uint32_t flags;	   /* NFT_SET_INTERVAL, NFT_SET_TIMEOUT, NFT_SET_CONCAT */
	uint32_t key_type; /* nftables datatype ids, 6 bits a concatenated field */
	uint8_t key_len;   /* bytes, each field padded to 4 */
	uint8_t nfields;   /* > 1: a concatenation */
	uint8_t field_len[3];
};
extern const struct nft_setdef nft_setdefs[NFT_NSETS];

/* A base chain as it is built. */
struct nft_chaindef {
	const char *name;
	uint32_t hook;
	int32_t prio;
};
extern const struct nft_chaindef nft_chains[NFT_NCHAINS];
extern const char *const nft_log_prefix[NFT_NDROPS];

/* What a context expects the kernel to hold, for nft_check. */
struct nft_expect {
	bool valid;			   /* false until a resync or nft_expect */
	uint8_t ports[3][2][NFT_PORTBITS]; /* localonly, open, restricted_src x tcp, udp */
	long managed;			   /* merged managed ranges */
};

struct nft_ctx {
	struct mnl_socket *nl;	/* requests and batches */
	struct mnl_socket *mon; /* NFNLGRP_NFTABLES events, NULL until nft_monitor_open */
	uint32_t portid;
	uint32_t seq;
	int netns_fd; /* -1: the caller's namespace */
	unsigned nflog_group;
	bool closed;
	int sndbuf, rcvbuf; /* what the sockets were given, to grow them only when needed */
	int readd_updates;  /* re-adding an element sets its timeout: 1 yes, -1 no, 0 unknown */
	struct nft_expect want;
	char err[256];
	char buf[32768] __attribute__((aligned(8))); /* receive buffer */
};

/* One element change of one set, keys encoded as the kernel compares them. */
enum nft_elem_op {
	NFT_ELEM_ADD,	  /* create if absent */
	NFT_ELEM_DEL,	  /* remove if present (an add then a delete: no -ENOENT) */
	NFT_ELEM_REPLACE, /* add, delete, add: the new timeout holds even if it was present */
};

struct nft_elem {
	uint8_t set; /* enum nft_setname */
	uint8_t op;  /* enum nft_elem_op */
	bool has_end;
	uint32_t timeout_ms;
	uint8_t key[NFT_KEY_MAX];
	uint8_t key_end[NFT_KEY_MAX];
};

/* One transaction being built: batch begin, messages numbered from seq_begin + 1, batch end. */
struct nft_txmsg {
	uint16_t type;	    /* NFT_MSG_* */
	const char *object; /* static: table, chain or set name */
};

struct nft_tx {
	struct mnl_nlmsg_batch *mb;
	const char *table;	 /* NFT_TABLE, or the probe's */
	uint32_t seq_begin, seq; /* seq: the next message's */
	int err;		 /* first failure while building, sticky (-EMSGSIZE: full) */
	struct nft_txmsg *msgs;	 /* by seq - seq_begin - 1, for error messages */
	size_t n_msgs, cap_msgs;
};

/* nft_batch.c: framing, sending, acknowledgements, dumps. */
int nft_tx_start(struct nft_tx *tx, void *buf, size_t len, uint32_t seq);
struct nlmsghdr *nft_tx_msg(struct nft_tx *tx, uint16_t type, uint16_t flags, const char *object);
void nft_tx_next(struct nft_tx *tx, struct nlmsghdr *nlh);
long nft_tx_end(struct nft_tx *tx);
void nft_tx_release(struct nft_tx *tx);
/* Builds with build(tx, arg) into a buffer grown until it fits, sends, reads every ack. */
int nft_tx_run(struct nft_ctx *n, size_t size_hint, int (*build)(struct nft_tx *tx, void *arg),
	       void *arg);
/* Sends one GET request (NLM_F_DUMP set by the caller if wanted), cb per reply message. */
int nft_request(struct nft_ctx *n, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *, void *),
		void *data);
struct nlmsghdr *nft_request_hdr(struct nft_ctx *n, uint16_t type, uint16_t flags);
void nft_seterr(struct nft_ctx *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* nft_ruleset.c: table, sets, chains, rules, as a resync or uninstall builds them. */
int nft_build_table_reset(struct nft_tx *tx);
int nft_build_objects(struct nft_tx *tx, unsigned nflog_group, bool closed);
int nft_build_uninstall(struct nft_tx *tx, void *arg);
int nft_build_set(struct nft_tx *tx, enum nft_setname id);
unsigned nft_rules_per_chain(bool closed);

/* nft_set.c: elements. */
int nft_elems_build(struct nft_tx *tx, const struct nft_elem *e, size_t n, uint16_t type);
int nft_desired_elems(const struct nft_desired *d, bool closed, struct nft_elem **out, size_t *n);
int nft_elem_port(struct nft_elem *e, enum nft_setname set, const struct nft_port *p);
int nft_elem_source(struct nft_elem *e, const struct nft_source *s);
int nft_elem_block(struct nft_elem *e, int family, const uint8_t *addr, uint32_t timeout_ms);
size_t nft_elem_size(const struct nft_elem *e);
void nft_expect_from(struct nft_expect *w, const struct nft_elem *e, size_t n);
void nft_expect_apply(struct nft_expect *w, const struct nft_elem *e, size_t n);
int nft_blocked_carry(struct nft_ctx *n, struct nft_elem **out, size_t *count);
int nft_port_set_index(unsigned set);
uint8_t *nft_expect_bit(struct nft_expect *w, int idx, const uint8_t *key, uint8_t *mask);
/* One element of a dump: key and, with a timeout, the time left. */
struct nft_seen {
	const uint8_t *key;
	uint16_t key_len;
	bool has_timeout;
	uint64_t timeout_ms;
	uint64_t expires_ms;
	bool catchall;
};
int nft_walk_set(struct nft_ctx *n, const char *table, enum nft_setname set,
		 void (*fn)(const struct nft_seen *s, void *data), void *data);

/* nft.c */
int nft_socket(struct nft_ctx *n, int flags, unsigned groups, struct mnl_socket **out);
int nft_sockbuf(struct nft_ctx *n, int opt, int *cur, size_t want);

#endif
