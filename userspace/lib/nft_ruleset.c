// SPDX-License-Identifier: MIT
/* nft_ruleset: table inet portgate, its sets, chains and rules; resync and uninstall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include "nft_int.h"

/* nftables datatype ids (nftables' datatype.h): what `nft list` names the key types by. */
#define DT_IPADDR	 7
#define DT_IP6ADDR	 8
#define DT_INET_PROTOCOL 12
#define DT_INET_SERVICE	 13
#define DT_CONCAT(a, b)	 (((a) << 6) | (b))

#define NF_CT_STATE_EST_REL 0x6 /* NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | ...(IP_CT_RELATED) */
#define LOOPBACK_IFINDEX    1	/* lo is ifindex 1 in every network namespace */

/*
 * The sets. Concatenated fields sit in 4-byte words (inet_proto: 1 byte + 3 padding,
 * inet_service: 2 bytes big endian + 2 padding). Interval concatenations (the kernel's pipapo
 * set) need NFT_SET_CONCAT and the real field lengths.
 */
const struct nft_setdef nft_setdefs[NFT_NSETS] = {
	[NFT_LOCALONLY] = { "localonly",
			    0,
			    DT_CONCAT(DT_INET_PROTOCOL, DT_INET_SERVICE),
			    8,
			    2,
			    { 1, 2 } },
	[NFT_OPEN] = { "open", 0, DT_CONCAT(DT_INET_PROTOCOL, DT_INET_SERVICE), 8, 2, { 1, 2 } },
	[NFT_RESTRICTED_SRC] = { "restricted_src",
				 0,
				 DT_CONCAT(DT_INET_PROTOCOL, DT_INET_SERVICE),
				 8,
				 2,
				 { 1, 2 } },
	[NFT_ALLOWED4] = { "allowed4",
			   NFT_SET_CONCAT | NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
			   DT_CONCAT(DT_CONCAT(DT_IPADDR, DT_INET_PROTOCOL), DT_INET_SERVICE),
			   12,
			   3,
			   { 4, 1, 2 } },
	[NFT_ALLOWED6] = { "allowed6",
			   NFT_SET_CONCAT | NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
			   DT_CONCAT(DT_CONCAT(DT_IP6ADDR, DT_INET_PROTOCOL), DT_INET_SERVICE),
			   24,
			   3,
			   { 16, 1, 2 } },
	[NFT_BLOCKED4] = { "blocked4", NFT_SET_TIMEOUT, DT_IPADDR, 4, 1, { 4 } },
	[NFT_BLOCKED6] = { "blocked6", NFT_SET_TIMEOUT, DT_IP6ADDR, 16, 1, { 16 } },
	[NFT_MANAGED] = { "managed",
			  NFT_SET_CONCAT | NFT_SET_INTERVAL,
			  DT_CONCAT(DT_INET_PROTOCOL, DT_INET_SERVICE),
			  8,
			  2,
			  { 1, 2 } },
};

const char *const nft_log_prefix[NFT_NDROPS] = {
	[NFT_DROP_BLOCKED] = "pg:blocked ",
	[NFT_DROP_LOCALONLY] = "pg:localonly ",
	[NFT_DROP_NOTALLOWED] = "pg:notallowed ",
	[NFT_DROP_CLOSED] = "pg:closed ",
};

/* The base chains; both carry the same rules. */
const struct nft_chaindef nft_chains[NFT_NCHAINS] = {
	{ "prerouting", NF_INET_PRE_ROUTING, -150 }, /* before Docker's DNAT (-100) */
	{ "input", NF_INET_LOCAL_IN, 0 },
};

unsigned nft_rules_per_chain(bool closed)
{
	/* est/rel, lo, blocked4, blocked6, localonly, allow4, allow6, notallowed, [closed] */
	return closed ? 9 : 8;
}

/* A rule being built: expressions appended in order; the first allocation failure sticks. */
struct nft_rb {
	struct nftnl_rule *r;
	int err;
};

static struct nftnl_expr *nft_rb_expr(struct nft_rb *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e) {
		rb->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rb->r, e);
	return e;
}

static void nft_rb_meta(struct nft_rb *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void nft_rb_cmp(struct nft_rb *rb, uint32_t sreg, uint32_t op, const void *data,
		       uint32_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void nft_rb_payload(struct nft_rb *rb, uint32_t base, uint32_t offset, uint32_t len,
			   uint32_t dreg)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void nft_rb_lookup(struct nft_rb *rb, uint32_t sreg, enum nft_setname set, bool inv)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nft_setdefs[set].name);
	/* The set is created in the same batch: name it by its transaction id too. */
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)set + 1);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

static void nft_rb_verdict(struct nft_rb *rb, int verdict)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

/* counter log prefix "pg:REASON " group G drop */
static void nft_rb_drop(struct nft_rb *rb, enum nft_reason why, unsigned group)
{
	struct nftnl_expr *e;

	nft_rb_expr(rb, "counter");
	e = nft_rb_expr(rb, "log");
	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, nft_log_prefix[why]);
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, (uint16_t)group);
	}
	nft_rb_verdict(rb, NF_DROP);
}

/* meta nfproto ipv4|ipv6: what `ip saddr` / `ip6 saddr` imply in an inet table. */
static void nft_rb_nfproto(struct nft_rb *rb, uint8_t nfproto)
{
	nft_rb_meta(rb, NFT_META_NFPROTO, NFT_REG_1);
	nft_rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
}

/* meta l4proto . th dport, into the registers starting at reg (proto) and next (port). */
static void nft_rb_l4port(struct nft_rb *rb, uint32_t reg, uint32_t next)
{
	nft_rb_meta(rb, NFT_META_L4PROTO, reg);
	nft_rb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, next);
}

/* [ip|ip6] saddr . meta l4proto . th dport: the allowed4/allowed6 key. */
static void nft_rb_src_l4port(struct nft_rb *rb, bool v6)
{
	nft_rb_nfproto(rb, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nft_rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
	/* Each field starts at the next 4-byte register after the address. */
	if (v6)
		nft_rb_l4port(rb, NFT_REG32_04, NFT_REG32_05);
	else
		nft_rb_l4port(rb, NFT_REG32_01, NFT_REG32_02);
}

/* ct state established,related accept */
static void nft_rb_established(struct nft_rb *rb)
{
	uint32_t mask = NF_CT_STATE_EST_REL, zero = 0;
	struct nftnl_expr *e = nft_rb_expr(rb, "ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	e = nft_rb_expr(rb, "bitwise");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	}
	nft_rb_cmp(rb, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero));
	nft_rb_verdict(rb, NF_ACCEPT);
}

/* iif "lo" accept */
static void nft_rb_lo(struct nft_rb *rb)
{
	uint32_t lo = LOOPBACK_IFINDEX;

	nft_rb_meta(rb, NFT_META_IIF, NFT_REG_1);
	nft_rb_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &lo, sizeof(lo));
	nft_rb_verdict(rb, NF_ACCEPT);
}

/* ip saddr @blocked4 / ip6 saddr @blocked6 counter log prefix "pg:blocked " group G drop */
static void nft_rb_blocked(struct nft_rb *rb, bool v6, unsigned group)
{
	nft_rb_nfproto(rb, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nft_rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
	nft_rb_lookup(rb, NFT_REG_1, v6 ? NFT_BLOCKED6 : NFT_BLOCKED4, false);
	nft_rb_drop(rb, NFT_DROP_BLOCKED, group);
}

/* meta l4proto . th dport @localonly counter log prefix "pg:localonly " group G drop */
static void nft_rb_localonly(struct nft_rb *rb, unsigned group)
{
	nft_rb_l4port(rb, NFT_REG_1, NFT_REG32_01);
	nft_rb_lookup(rb, NFT_REG_1, NFT_LOCALONLY, false);
	nft_rb_drop(rb, NFT_DROP_LOCALONLY, group);
}

/*
 * meta l4proto . th dport @restricted_src ip saddr . meta l4proto . th dport @allowed4 accept
 * (ip6 and allowed6 alike): a listed source is admitted to a port that has an allowlist, and
 * only there, so a stray element cannot open a port that is not restricted.
 */
static void nft_rb_allow(struct nft_rb *rb, bool v6)
{
	nft_rb_l4port(rb, NFT_REG_1, NFT_REG32_01);
	nft_rb_lookup(rb, NFT_REG_1, NFT_RESTRICTED_SRC, false);
	nft_rb_src_l4port(rb, v6);
	nft_rb_lookup(rb, NFT_REG_1, v6 ? NFT_ALLOWED6 : NFT_ALLOWED4, false);
	nft_rb_verdict(rb, NF_ACCEPT);
}

/* meta l4proto . th dport @restricted_src counter log prefix "pg:notallowed " group G drop */
static void nft_rb_notallowed(struct nft_rb *rb, unsigned group)
{
	nft_rb_l4port(rb, NFT_REG_1, NFT_REG32_01);
	nft_rb_lookup(rb, NFT_REG_1, NFT_RESTRICTED_SRC, false);
	nft_rb_drop(rb, NFT_DROP_NOTALLOWED, group);
}

/*
 * meta l4proto . th dport @managed meta l4proto . th dport != @open
 *	counter log prefix "pg:closed " group G drop
 */
static void nft_rb_closed(struct nft_rb *rb, unsigned group)
{
	nft_rb_l4port(rb, NFT_REG_1, NFT_REG32_01);
	nft_rb_lookup(rb, NFT_REG_1, NFT_MANAGED, false);
	nft_rb_l4port(rb, NFT_REG_1, NFT_REG32_01);
	nft_rb_lookup(rb, NFT_REG_1, NFT_OPEN, true);
	nft_rb_drop(rb, NFT_DROP_CLOSED, group);
}

/* Appends rule number i (0..nft_rules_per_chain() - 1) of a chain. */
static int nft_build_rule(struct nft_tx *tx, const char *chain, unsigned i, unsigned group)
{
	struct nft_rb rb = { .r = nftnl_rule_alloc() };
	struct nlmsghdr *nlh;

	if (!rb.r)
		return -ENOMEM;
	nftnl_rule_set_str(rb.r, NFTNL_RULE_TABLE, tx->table);
	nftnl_rule_set_str(rb.r, NFTNL_RULE_CHAIN, chain);
	switch (i) {
	case 0:
		nft_rb_established(&rb);
		break;
	case 1:
		nft_rb_lo(&rb);
		break;
	case 2:
	case 3:
		nft_rb_blocked(&rb, i == 3, group);
		break;
	case 4:
		nft_rb_localonly(&rb, group);
		break;
	case 5:
	case 6:
		nft_rb_allow(&rb, i == 6);
		break;
	case 7:
		nft_rb_notallowed(&rb, group);
		break;
	default:
		nft_rb_closed(&rb, group);
		break;
	}
	if (!rb.err) {
		nlh = nft_tx_msg(tx, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, chain);
		if (nlh)
			nftnl_rule_nlmsg_build_payload(nlh, rb.r);
		nft_tx_next(tx, nlh);
	}
	nftnl_rule_free(rb.r);
	return rb.err ? rb.err : tx->err;
}

static int nft_build_table(struct nft_tx *tx, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, tx->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = nft_tx_msg(tx, type, flags, tx->table);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nft_tx_next(tx, nlh);
	nftnl_table_free(t);
	return tx->err;
}

/*
 * "Delete the table if present" without a failure when it is absent, on any kernel (no
 * NFT_MSG_DESTROYTABLE before 6.3): create it (a no-op when present), then delete it.
 */
int nft_build_uninstall(struct nft_tx *tx, void *arg)
{
	int ret = nft_build_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE);

	return ret ? ret : nft_build_table(tx, NFT_MSG_DELTABLE, 0);
}

/* The table emptied and created again: the first messages of a resync. */
int nft_build_table_reset(struct nft_tx *tx)
{
	int ret = nft_build_uninstall(tx, NULL);

	return ret ? ret : nft_build_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE);
}

int nft_build_set(struct nft_tx *tx, enum nft_setname id)
{
	const struct nft_setdef *d = &nft_setdefs[id];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	uint8_t fields[NFT_REG32_COUNT] = { 0 };

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, tx->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)id + 1);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
	if (d->flags & NFT_SET_CONCAT) {
		/* The pipapo set matches field by field: it needs each field's length. */
		memcpy(fields, d->field_len, d->nfields);
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, fields, d->nfields);
	}
	nlh = nft_tx_msg(tx, NFT_MSG_NEWSET, NLM_F_CREATE, d->name);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, s);
	nft_tx_next(tx, nlh);
	nftnl_set_free(s);
	return tx->err;
}

static int nft_build_chain(struct nft_tx *tx, const struct nft_chaindef *cd)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, tx->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, cd->name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, cd->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, cd->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_tx_msg(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, cd->name);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, c);
	nft_tx_next(tx, nlh);
	nftnl_chain_free(c);
	return tx->err;
}

/* Sets, then chains, then their rules (rules name the sets they look up). */
int nft_build_objects(struct nft_tx *tx, unsigned nflog_group, bool closed)
{
	unsigned i, c;
	int ret = 0;

	for (i = 0; i < NFT_NSETS && !ret; i++)
		ret = nft_build_set(tx, (enum nft_setname)i);
	for (c = 0; c < NFT_NCHAINS && !ret; c++)
		ret = nft_build_chain(tx, &nft_chains[c]);
	for (c = 0; c < NFT_NCHAINS && !ret; c++)
		for (i = 0; i < nft_rules_per_chain(closed) && !ret; i++)
			ret = nft_build_rule(tx, nft_chains[c].name, i, nflog_group);
	return ret;
}

/* A resync: what it builds from, and the element list derived from it. */
struct nft_resync_arg {
	unsigned group;
	bool closed;
	const struct nft_elem *e;
	size_t n;
};

static int nft_build_resync_tx(struct nft_tx *tx, void *arg)
{
	const struct nft_resync_arg *a = arg;
	int ret;

	ret = nft_build_table_reset(tx);
	if (!ret)
		ret = nft_build_objects(tx, a->group, a->closed);
	if (!ret)
		ret = nft_elems_build(tx, a->e, a->n, NFT_MSG_NEWSETELEM);
	return ret;
}

long nft_build_resync(const struct nft_opts *o, const struct nft_desired *d, uint32_t seq,
		      void *buf, size_t len)
{
	struct nft_resync_arg a = {
		.group = o && o->nflog_group ? o->nflog_group : NFT_NFLOG_GROUP_DEFAULT,
		.closed = o && o->closed_by_default,
	};
	struct nft_elem *e = NULL;
	struct nft_tx tx;
	long ret;

	if (a.group > UINT16_MAX)
		return -EINVAL;
	ret = nft_desired_elems(d, a.closed, &e, &a.n);
	if (ret < 0)
		return ret;
	a.e = e;
	ret = nft_tx_start(&tx, buf, len, seq);
	if (!ret)
		ret = nft_build_resync_tx(&tx, &a);
	if (!ret)
		ret = nft_tx_end(&tx);
	nft_tx_release(&tx);
	free(e);
	return ret;
}

int nft_resync(struct nft_ctx *n, const struct nft_desired *d)
{
	struct nft_resync_arg a = { .group = n->nflog_group, .closed = n->closed };
	struct nft_elem *e = NULL, *carry = NULL, *all;
	size_t n_carry = 0, hint = 64 * 1024, i;
	int ret;

	ret = nft_desired_elems(d, n->closed, &e, &a.n);
	if (ret < 0) {
		nft_seterr(n, "resync: invalid desired state: %s", strerror(-ret));
		return ret;
	}
	/* Blocked sources are runtime state, not in the desired state: carry them over. */
	ret = nft_blocked_carry(n, &carry, &n_carry);
	if (ret < 0)
		goto out;
	if (n_carry) {
		all = realloc(e, (a.n + n_carry) * sizeof(*e));
		if (!all) {
			ret = -ENOMEM;
			goto out;
		}
		e = all;
		memcpy(e + a.n, carry, n_carry * sizeof(*e));
		a.n += n_carry;
	}
	a.e = e;
	for (i = 0; i < a.n; i++)
		hint += nft_elem_size(&e[i]);
	ret = nft_tx_run(n, hint, nft_build_resync_tx, &a);
	if (!ret)
		nft_expect_from(&n->want, e, a.n);
out:
	free(carry);
	free(e);
	return ret;
}

/* Our table, and the probe's should a crash have left it (nft_change.c), in one batch. */
static int nft_build_uninstall_all(struct nft_tx *tx, void *arg)
{
	int ret = nft_build_uninstall(tx, NULL);

	tx->table = NFT_PROBE_TABLE;
	if (!ret)
		ret = nft_build_uninstall(tx, NULL);
	tx->table = NFT_TABLE;
	return ret;
}

int nft_uninstall(struct nft_ctx *n)
{
	int ret = nft_tx_run(n, 0, nft_build_uninstall_all, NULL);

	if (!ret)
		n->want.valid = false;
	return ret;
}
