// SPDX-License-Identifier: MIT
/* nft_check: reads the table back (chains, rules and counters, sets, elements) for drift. */
#include <errno.h>
#include <stdarg.h>
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

struct nft_scan {
	struct nft_status *st;
	bool closed;
	unsigned rules[NFT_NCHAINS];
	unsigned reasons[NFT_NCHAINS]; /* bit per enum nft_reason seen in a drop rule */
	bool set_ok[NFT_NSETS];
	char problem[192];
};

static void nft_scan_problem(struct nft_scan *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void nft_scan_problem(struct nft_scan *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(sc->problem, sizeof(sc->problem), fmt, ap);
	va_end(ap);
}

static int nft_chain_index(const char *name)
{
	for (int i = 0; i < NFT_NCHAINS; i++)
		if (name && !strcmp(name, nft_chains[i].name))
			return i;
	return -1;
}

static int nft_scan_table(const struct nlmsghdr *nlh, void *data)
{
	struct nft_scan *sc = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 &&
	    nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET &&
	    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), NFT_TABLE))
		sc->st->table = true;
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int nft_scan_chain(const struct nlmsghdr *nlh, void *data)
{
	struct nft_scan *sc = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *name;
	int i;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		goto out;
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	i = nft_chain_index(name);
	if (i < 0) {
		nft_scan_problem(sc, "unexpected chain %s", name ? name : "?");
		goto out;
	}
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != nft_chains[i].hook ||
	    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != nft_chains[i].prio ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_ACCEPT) {
		nft_scan_problem(sc, "chain %s: hook, priority or policy changed", name);
		goto out;
	}
	sc->st->chains++;
out:
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int nft_scan_rule(const struct nlmsghdr *nlh, void *data)
{
	struct nft_scan *sc = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it = NULL;
	struct nftnl_expr *e;
	uint64_t pk = 0, by = 0;
	int c, why = -1;

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	c = nft_chain_index(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (c < 0)
		goto out;
	sc->rules[c]++;
	sc->st->rules++;
	it = nftnl_expr_iter_create(r);
	if (!it)
		goto out;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (!strcmp(name, "counter")) {
			pk = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			by = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		} else if (!strcmp(name, "log") && nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX)) {
			const char *p = nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX);

			for (int k = 0; k < NFT_NDROPS; k++)
				if (!strcmp(p, nft_log_prefix[k]))
					why = k;
		}
	}
	if (why >= 0) {
		sc->reasons[c] |= 1u << why;
		sc->st->drops[why] += pk;
		sc->st->drop_bytes[why] += by;
	}
out:
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static int nft_scan_set(const struct nlmsghdr *nlh, void *data)
{
	struct nft_scan *sc = data;
	struct nftnl_set *s = nftnl_set_alloc();
	const uint32_t mask = NFT_SET_INTERVAL | NFT_SET_TIMEOUT | NFT_SET_CONCAT | NFT_SET_MAP;
	const char *name;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0)
		goto out;
	name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	for (int i = 0; i < NFT_NSETS; i++) {
		const struct nft_setdef *d = &nft_setdefs[i];

		if (!name || strcmp(name, d->name))
			continue;
		if ((nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & mask) != d->flags ||
		    nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) != d->key_len) {
			nft_scan_problem(sc, "set %s: type or flags changed", name);
			break;
		}
		sc->set_ok[i] = true;
		sc->st->sets++;
	}
out:
	nftnl_set_free(s);
	return MNL_CB_OK;
}

struct nft_count {
	struct nft_expect *w;
	int idx; /* port-set index when compared element by element, else -1 */
	long n, unexpected;
	char first[32]; /* the first unexpected element, "tcp/8081" */
};

static void nft_count_one(const struct nft_seen *s, void *data)
{
	struct nft_count *c = data;
	uint8_t *b, mask;

	c->n++;
	if (c->idx < 0)
		return;
	b = s->key_len == 8 ? nft_expect_bit(c->w, c->idx, s->key, &mask) : NULL;
	if (b && (*b & mask))
		return;
	if (!c->unexpected++ && s->key_len == 8)
		snprintf(c->first, sizeof(c->first), "%s/%u",
			 s->key[0] == IPPROTO_TCP   ? "tcp"
			 : s->key[0] == IPPROTO_UDP ? "udp"
						    : "proto",
			 (unsigned)(s->key[4] << 8 | s->key[5]));
}

static long nft_popcount(const uint8_t *b, size_t len)
{
	long n = 0;

	for (size_t i = 0; i < len; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

/* Counts the elements of every set found, comparing with what n expects (st->problem). */
static int nft_check_elems(struct nft_ctx *n, struct nft_status *st)
{
	for (int i = 0; i < NFT_NSETS; i++) {
		struct nft_count c = { .w = &n->want, .idx = -1 };
		int ret;

		if (st->elems[i] < 0)
			continue;
		if (n->want.valid) {
			c.idx = nft_port_set_index((unsigned)i);
			if (c.idx >= 0)
				st->elems_want[i] =
				    nft_popcount(n->want.ports[c.idx][0], 2 * NFT_PORTBITS);
			else if (i == NFT_MANAGED)
				st->elems_want[i] = n->closed ? n->want.managed : 0;
		}
		ret = nft_walk_set(n, NFT_TABLE, (enum nft_setname)i, nft_count_one, &c);
		if (ret < 0)
			return ret;
		st->elems[i] = c.n;
		if (st->problem[0])
			continue;
		if (c.unexpected)
			snprintf(st->problem, sizeof(st->problem),
				 "set %s: %ld unexpected element(s), first %s", nft_setdefs[i].name,
				 c.unexpected, c.first);
		else if (st->elems_want[i] >= 0 && c.n != st->elems_want[i])
			snprintf(st->problem, sizeof(st->problem),
				 "set %s: %ld element(s), want %ld", nft_setdefs[i].name, c.n,
				 st->elems_want[i]);
	}
	return 0;
}

/* A dump of one object type, filtered by our table where the kernel supports it. */
static int nft_dump(struct nft_ctx *n, uint16_t type, int (*cb)(const struct nlmsghdr *, void *),
		    struct nft_scan *sc)
{
	struct nlmsghdr *nlh = nft_request_hdr(n, type, NLM_F_DUMP | NLM_F_ACK);

	if (type != NFT_MSG_GETTABLE)
		/* NFTA_CHAIN_TABLE, NFTA_RULE_TABLE and NFTA_SET_TABLE are all attribute 1. */
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE);
	return nft_request(n, nlh, cb, sc);
}

int nft_check(struct nft_ctx *n, struct nft_status *out)
{
	struct nft_status st = { 0 };
	struct nft_scan sc = { .st = &st, .closed = n->closed };
	unsigned want_reasons = (1u << NFT_DROP_BLOCKED) | (1u << NFT_DROP_LOCALONLY) |
				(1u << NFT_DROP_NOTALLOWED) |
				(n->closed ? 1u << NFT_DROP_CLOSED : 0);
	int ret, i;

	for (i = 0; i < NFT_NSETS; i++)
		st.elems[i] = st.elems_want[i] = -1;
	st.rules_want = NFT_NCHAINS * nft_rules_per_chain(n->closed);

	ret = nft_dump(n, NFT_MSG_GETTABLE, nft_scan_table, &sc);
	if (ret < 0)
		goto fail;
	if (!st.table) {
		nft_scan_problem(&sc, "table inet %s missing", NFT_TABLE);
		goto done;
	}
	ret = nft_dump(n, NFT_MSG_GETCHAIN, nft_scan_chain, &sc);
	if (!ret)
		ret = nft_dump(n, NFT_MSG_GETRULE, nft_scan_rule, &sc);
	if (!ret)
		ret = nft_dump(n, NFT_MSG_GETSET, nft_scan_set, &sc);
	/* The table went away between two dumps: that is damage, not an error. */
	if (ret == -ENOENT) {
		st.table = false;
		nft_scan_problem(&sc, "table inet %s missing", NFT_TABLE);
		goto done;
	}
	if (ret < 0)
		goto fail;
	if (st.chains < NFT_NCHAINS)
		nft_scan_problem(&sc, "%u of %u chains", st.chains, NFT_NCHAINS);
	for (i = 0; i < NFT_NCHAINS; i++) {
		if (sc.rules[i] != nft_rules_per_chain(n->closed))
			nft_scan_problem(&sc, "chain %s: %u rules, want %u", nft_chains[i].name,
					 sc.rules[i], nft_rules_per_chain(n->closed));
		else if (sc.reasons[i] != want_reasons)
			nft_scan_problem(&sc, "chain %s: drop rules changed", nft_chains[i].name);
	}
	for (i = 0; i < NFT_NSETS; i++) {
		if (!sc.set_ok[i])
			nft_scan_problem(&sc, "set %s missing", nft_setdefs[i].name);
		else
			st.elems[i] = 0;
	}
	ret = nft_check_elems(n, &st);
	if (ret == -ENOENT) {
		nft_scan_problem(&sc, "a set went away during the check");
		ret = 0;
	}
	if (ret < 0)
		goto fail;
	/* nft_check_elems reports in st.problem; the structure's problem comes first. */
	if (st.problem[0])
		nft_scan_problem(&sc, "%s", st.problem);
done:
	memcpy(st.problem, sc.problem, sizeof(st.problem));
	if (out)
		*out = st;
	return st.problem[0] ? 0 : 1;
fail:
	nft_seterr(n, "check: %s", strerror(-ret));
	return ret;
}
