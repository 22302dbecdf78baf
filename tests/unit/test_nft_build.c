// SPDX-License-Identifier: MIT
/* test_nft_build: nftables batches built without a kernel, then parsed back with libnftnl. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
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
#include <cmocka.h>
#include "nft.h"

#define BUFLEN	 (1u << 20)
#define SEQ	 1000u
#define MAXMSGS	 4096
#define MAXELEMS 200000

static char *buf;

static int group_setup(void **state)
{
	buf = malloc(BUFLEN + 64);
	return buf ? 0 : -1;
}

static int group_teardown(void **state)
{
	free(buf);
	return 0;
}

/* The messages of a batch, in order. */
struct parsed {
	const struct nlmsghdr *m[MAXMSGS];
	size_t n;
};

static void parse_batch(const void *b, long len, struct parsed *p)
{
	const struct nlmsghdr *nlh = b;
	int left = (int)len;

	assert_true(len > 0);
	p->n = 0;
	while (mnl_nlmsg_ok(nlh, left)) {
		assert_true(p->n < MAXMSGS);
		p->m[p->n++] = nlh;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	/* Nothing after the last message: the length returned is exactly the batch. */
	assert_int_equal(left, 0);
}

static uint16_t nft_type(const struct nlmsghdr *nlh)
{
	assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_NFTABLES);
	return NFNL_MSG_TYPE(nlh->nlmsg_type);
}

/* Begin and end framing, NLM_F_ACK and consecutive sequence numbers on every message. */
static void assert_framing(const struct parsed *p, uint32_t seq)
{
	const struct nfgenmsg *g;

	assert_true(p->n >= 2);
	assert_int_equal(p->m[0]->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(p->m[0]->nlmsg_seq, seq);
	g = mnl_nlmsg_get_payload(p->m[0]);
	assert_int_equal(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
	assert_int_equal(p->m[p->n - 1]->nlmsg_type, NFNL_MSG_BATCH_END);
	assert_int_equal(p->m[p->n - 1]->nlmsg_seq, (uint32_t)(seq + p->n - 1));
	for (size_t i = 1; i + 1 < p->n; i++) {
		const struct nlmsghdr *nlh = p->m[i];

		assert_int_equal(nlh->nlmsg_seq, (uint32_t)(seq + i));
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		/* Adds never carry EXCL: an element already there is no failure. */
		assert_false(nlh->nlmsg_flags & NLM_F_EXCL);
		assert_true(nlh->nlmsg_len <= NFT_MSG_MAX);
		g = mnl_nlmsg_get_payload(nlh);
		assert_int_equal(g->nfgen_family, NFPROTO_INET);
		(void)nft_type(nlh);
	}
}

static const struct nft_port localonly[] = { { IPPROTO_TCP, 8080 }, { IPPROTO_UDP, 5353 } };
static const struct nft_port open_ports[] = { { IPPROTO_TCP, 8081 } };
static const struct nft_port restricted[] = { { IPPROTO_TCP, 8082 }, { IPPROTO_TCP, 8086 } };
static const struct nft_range managed[] = { { IPPROTO_TCP, 14000, 14100 },
					    { IPPROTO_TCP, 14050, 14200 } };
static struct nft_source allowed[4];

static struct nft_desired desired(void)
{
	memset(allowed, 0, sizeof(allowed));
	allowed[0] = (struct nft_source){
		.proto = IPPROTO_TCP, .port = 8082, .family = AF_INET, .prefix = 24
	};
	inet_pton(AF_INET, "10.9.0.77", allowed[0].addr); /* host bits are ignored */
	allowed[1] = (struct nft_source){ .proto = IPPROTO_TCP,
					  .port = 8082,
					  .family = AF_INET,
					  .prefix = 32,
					  .timeout_ms = 2000 };
	inet_pton(AF_INET, "10.9.1.5", allowed[1].addr);
	allowed[2] = (struct nft_source){
		.proto = IPPROTO_TCP, .port = 8086, .family = AF_INET6, .prefix = 128
	};
	inet_pton(AF_INET6, "fd09::2", allowed[2].addr);
	return (struct nft_desired){
		.localonly = localonly,
		.n_localonly = 2,
		.open = open_ports,
		.n_open = 1,
		.restricted_src = restricted,
		.n_restricted_src = 2,
		.allowed = allowed,
		.n_allowed = 3,
		.managed = managed,
		.n_managed = 2,
	};
}

static void test_nft_build_resync_framing(void **state)
{
	struct nft_opts o = { .closed_by_default = true };
	struct nft_desired d = desired();
	struct parsed p;
	static const uint16_t head[] = { NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE };
	long len = nft_build_resync(&o, &d, SEQ, buf, BUFLEN);
	size_t i, k = 0;

	parse_batch(buf, len, &p);
	assert_framing(&p, SEQ);
	/* Table reset, 8 sets, 2 chains, 9 rules each, then elements. */
	for (i = 0; i < 3; i++)
		assert_int_equal(nft_type(p.m[1 + i]), head[i]);
	for (i = 0; i < NFT_NSETS; i++)
		assert_int_equal(nft_type(p.m[4 + i]), NFT_MSG_NEWSET);
	assert_int_equal(nft_type(p.m[12]), NFT_MSG_NEWCHAIN);
	assert_int_equal(nft_type(p.m[13]), NFT_MSG_NEWCHAIN);
	for (i = 14; i < 14 + 18; i++)
		assert_int_equal(nft_type(p.m[i]), NFT_MSG_NEWRULE);
	for (; i + 1 < p.n; i++, k++)
		assert_int_equal(nft_type(p.m[i]), NFT_MSG_NEWSETELEM);
	/* localonly, open, restricted_src, allowed4, allowed6, managed */
	assert_int_equal(k, 6);
}

static void test_nft_build_resync_table_and_chains(void **state)
{
	struct nft_desired d = desired();
	struct parsed p;
	long len = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();

	parse_batch(buf, len, &p);
	assert_int_equal(nftnl_table_nlmsg_parse(p.m[3], t), 0);
	assert_string_equal(nftnl_table_get_str(t, NFTNL_TABLE_NAME), "portgate");
	assert_int_equal(p.m[3]->nlmsg_flags & NLM_F_CREATE, NLM_F_CREATE);
	assert_int_equal(nftnl_chain_nlmsg_parse(p.m[12], c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "prerouting");
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_PRE_ROUTING);
	assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -150);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	nftnl_chain_free(c);
	c = nftnl_chain_alloc();
	assert_int_equal(nftnl_chain_nlmsg_parse(p.m[13], c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "input");
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_LOCAL_IN);
	assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), 0);
	nftnl_chain_free(c);
	nftnl_table_free(t);
}

static void test_nft_build_resync_sets(void **state)
{
	static const struct {
		const char *name;
		uint32_t flags, key_len, key_type;
	} want[NFT_NSETS] = {
		{ "localonly", 0, 8, 12 << 6 | 13 },
		{ "open", 0, 8, 12 << 6 | 13 },
		{ "restricted_src", 0, 8, 12 << 6 | 13 },
		{ "allowed4", NFT_SET_CONCAT | NFT_SET_INTERVAL | NFT_SET_TIMEOUT, 12,
		  (7 << 12) | (12 << 6) | 13 },
		{ "allowed6", NFT_SET_CONCAT | NFT_SET_INTERVAL | NFT_SET_TIMEOUT, 24,
		  (8 << 12) | (12 << 6) | 13 },
		{ "blocked4", NFT_SET_TIMEOUT, 4, 7 },
		{ "blocked6", NFT_SET_TIMEOUT, 16, 8 },
		{ "managed", NFT_SET_CONCAT | NFT_SET_INTERVAL, 8, 12 << 6 | 13 },
	};
	struct nft_desired d = desired();
	struct parsed p;
	long len = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);

	parse_batch(buf, len, &p);
	for (int i = 0; i < NFT_NSETS; i++) {
		struct nftnl_set *s = nftnl_set_alloc();

		assert_int_equal(nftnl_set_nlmsg_parse(p.m[4 + i], s), 0);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), want[i].name);
		assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), "portgate");
		assert_string_equal(nft_set_name((enum nft_setname)i), want[i].name);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), want[i].flags);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), want[i].key_len);
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), want[i].key_type);
		/* A transaction id, so rules in the same batch can name the new set. */
		assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_ID), (uint32_t)i + 1);
		nftnl_set_free(s);
	}
}

/* The expression names of a rule, space separated, and its log prefix and group. */
static void rule_summary(const struct nlmsghdr *nlh, char *names, size_t len, char *prefix,
			 unsigned *group, uint32_t *lookup_inv)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	names[0] = prefix[0] = '\0';
	*group = 0;
	*lookup_inv = 0;
	it = nftnl_expr_iter_create(r);
	while ((e = nftnl_expr_iter_next(it))) {
		const char *n = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (names[0])
			strncat(names, " ", len - strlen(names) - 1);
		strncat(names, n, len - strlen(names) - 1);
		if (!strcmp(n, "log")) {
			strcpy(prefix, nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX));
			*group = nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP);
		}
		if (!strcmp(n, "lookup") && nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) &&
		    nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV)
			*lookup_inv = 1;
	}
	nftnl_expr_iter_destroy(it);
	nftnl_rule_free(r);
}

static void test_nft_build_resync_rules(void **state)
{
	static const struct {
		const char *exprs, *prefix;
	} want[] = {
		{ "ct bitwise cmp immediate", "" },
		{ "meta cmp immediate", "" },
		{ "meta cmp payload lookup counter log immediate", "pg:blocked " },
		{ "meta cmp payload lookup counter log immediate", "pg:blocked " },
		{ "meta payload lookup counter log immediate", "pg:localonly " },
		{ "meta payload lookup meta cmp payload meta payload lookup immediate", "" },
		{ "meta payload lookup meta cmp payload meta payload lookup immediate", "" },
		{ "meta payload lookup counter log immediate", "pg:notallowed " },
		{ "meta payload lookup meta payload lookup counter log immediate", "pg:closed " },
	};
	struct nft_opts o = { .nflog_group = 777, .closed_by_default = true };
	struct nft_desired d = desired();
	char names[256], prefix[64];
	unsigned group;
	uint32_t inv;
	struct parsed p;
	long len = nft_build_resync(&o, &d, SEQ, buf, BUFLEN);

	parse_batch(buf, len, &p);
	for (int c = 0; c < 2; c++) {
		for (int i = 0; i < 9; i++) {
			rule_summary(p.m[14 + 9 * c + i], names, sizeof(names), prefix, &group,
				     &inv);
			assert_string_equal(names, want[i].exprs);
			assert_string_equal(prefix, want[i].prefix);
			if (prefix[0])
				assert_int_equal(group, 777);
			/* Only the closed rule negates a lookup (!= @open). */
			assert_int_equal(inv, i == 8);
		}
	}
	/* Without closed-by-default: 8 rules a chain, the closed rule left out. */
	len = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);
	parse_batch(buf, len, &p);
	rule_summary(p.m[14 + 7], names, sizeof(names), prefix, &group, &inv);
	assert_string_equal(prefix, "pg:notallowed ");
	assert_int_equal(group, NFT_NFLOG_GROUP_DEFAULT);
	rule_summary(p.m[14 + 8], names, sizeof(names), prefix, &group, &inv);
	assert_string_equal(names, want[0].exprs); /* input's first rule */
}

/* Elements of one set collected from every NEWSETELEM (or DELSETELEM) message. */
struct elem {
	uint8_t key[24], key_end[24];
	uint32_t klen;
	bool has_end;
	uint64_t timeout;
};

struct elems {
	struct elem *e;
	size_t n;
};

/* The bytes of NFTA_DATA_VALUE inside a key nest. */
static uint32_t data_value(const struct nlattr *nest, uint8_t *out)
{
	const struct nlattr *v;

	mnl_attr_for_each_nested(v, nest)
	{
		if (mnl_attr_get_type(v) != NFTA_DATA_VALUE)
			continue;
		assert_true(mnl_attr_get_payload_len(v) <= 24);
		memcpy(out, mnl_attr_get_payload(v), mnl_attr_get_payload_len(v));
		return mnl_attr_get_payload_len(v);
	}
	fail_msg("key without a value");
	return 0;
}

/*
 * Walks the element list with mnl: libnftnl numbers the nests of a request 1, 2, 3... (the
 * kernel ignores the nest type) while its parser wants NFTA_LIST_ELEM, as in a kernel dump.
 */
static void collect_msg(const struct nlmsghdr *nlh, struct elems *c)
{
	const struct nlattr *a, *le, *ea;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(le, a)
		{
			struct elem *x = &c->e[c->n++];

			assert_true(c->n <= MAXELEMS);
			memset(x, 0, sizeof(*x));
			mnl_attr_for_each_nested(ea, le)
			{
				switch (mnl_attr_get_type(ea)) {
				case NFTA_SET_ELEM_KEY:
					x->klen = data_value(ea, x->key);
					break;
				case NFTA_SET_ELEM_KEY_END:
					data_value(ea, x->key_end);
					x->has_end = true;
					break;
				case NFTA_SET_ELEM_TIMEOUT:
					x->timeout = be64toh(mnl_attr_get_u64(ea));
					break;
				}
			}
			assert_true(x->klen > 0);
		}
	}
}

static size_t collect(const struct parsed *p, uint16_t type, const char *set, struct elems *c)
{
	size_t msgs = 0;

	c->n = 0;
	for (size_t i = 1; i + 1 < p->n; i++) {
		const struct nlattr *a;
		bool match = false;

		if (nft_type(p->m[i]) != type)
			continue;
		mnl_attr_for_each(a, p->m[i], sizeof(struct nfgenmsg))
		{
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
				match = !strcmp(mnl_attr_get_str(a), set);
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE)
				assert_string_equal(mnl_attr_get_str(a), "portgate");
		}
		if (match) {
			msgs++;
			collect_msg(p->m[i], c);
		}
	}
	return msgs;
}

static void test_nft_build_resync_elements(void **state)
{
	static const uint8_t tcp8080[8] = { IPPROTO_TCP, 0, 0, 0, 0x1f, 0x90, 0, 0 };
	static const uint8_t udp5353[8] = { IPPROTO_UDP, 0, 0, 0, 0x14, 0xe9, 0, 0 };
	static const uint8_t net_lo[12] = { 10, 9, 0, 0, IPPROTO_TCP, 0, 0, 0, 0x1f, 0x92, 0, 0 };
	static const uint8_t net_hi[12] = { 10, 9, 0, 255, IPPROTO_TCP, 0, 0, 0, 0x1f, 0x92, 0, 0 };
	static const uint8_t mg_lo[8] = { IPPROTO_TCP, 0, 0, 0, 0x36, 0xb0, 0, 0 }; /* 14000 */
	static const uint8_t mg_hi[8] = { IPPROTO_TCP, 0, 0, 0, 0x37, 0x78, 0, 0 }; /* 14200 */
	struct nft_opts o = { .closed_by_default = true };
	struct nft_desired d = desired();
	struct elems c = { .e = calloc(MAXELEMS, sizeof(struct elem)) };
	struct parsed p;
	long len = nft_build_resync(&o, &d, SEQ, buf, BUFLEN);

	parse_batch(buf, len, &p);
	collect(&p, NFT_MSG_NEWSETELEM, "localonly", &c);
	assert_int_equal(c.n, 2);
	assert_memory_equal(c.e[0].key, tcp8080, 8);
	assert_memory_equal(c.e[1].key, udp5353, 8);
	assert_false(c.e[0].has_end);

	collect(&p, NFT_MSG_NEWSETELEM, "allowed4", &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.e[0].klen, 12);
	assert_memory_equal(c.e[0].key, net_lo, 12);
	assert_memory_equal(c.e[0].key_end, net_hi, 12);
	assert_int_equal(c.e[0].timeout, 0);
	assert_int_equal(c.e[1].timeout, 2000);
	assert_memory_equal(c.e[1].key, c.e[1].key_end, 12); /* a /32: start == end */

	collect(&p, NFT_MSG_NEWSETELEM, "allowed6", &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.e[0].klen, 24);
	assert_int_equal(c.e[0].key[0], 0xfd);
	assert_int_equal(c.e[0].key[16], IPPROTO_TCP);

	/* Overlapping managed ranges merged: the kernel's interval set would refuse them. */
	collect(&p, NFT_MSG_NEWSETELEM, "managed", &c);
	assert_int_equal(c.n, 1);
	assert_memory_equal(c.e[0].key, mg_lo, 8);
	assert_memory_equal(c.e[0].key_end, mg_hi, 8);

	/* Not closed: the managed set stays empty. */
	len = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);
	parse_batch(buf, len, &p);
	assert_int_equal(collect(&p, NFT_MSG_NEWSETELEM, "managed", &c), 0);
	free(c.e);
}

/* A grant inside a longer-lived range is cut out of it, each part keeping its lifetime. */
static void test_nft_build_merge_lifetimes(void **state)
{
	struct nft_source s[3] = { 0 };
	struct nft_desired d = { .allowed = s, .n_allowed = 3 };
	struct elems c = { .e = calloc(16, sizeof(struct elem)) };
	struct parsed p;
	long len;

	s[0] = (struct nft_source){
		.proto = IPPROTO_TCP, .port = 1, .family = AF_INET, .prefix = 24, .timeout_ms = 5000
	};
	inet_pton(AF_INET, "10.0.0.0", s[0].addr);
	s[1] =
	    (struct nft_source){ .proto = IPPROTO_TCP, .port = 1, .family = AF_INET, .prefix = 32 };
	inet_pton(AF_INET, "10.0.0.5", s[1].addr);
	/* Covered by a longer-lived range: disappears into it. */
	s[2] = (struct nft_source){
		.proto = IPPROTO_TCP, .port = 1, .family = AF_INET, .prefix = 28, .timeout_ms = 1000
	};
	inet_pton(AF_INET, "10.0.0.16", s[2].addr);
	len = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);
	parse_batch(buf, len, &p);
	collect(&p, NFT_MSG_NEWSETELEM, "allowed4", &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.e[0].key[3], 0);
	assert_int_equal(c.e[0].key_end[3], 4);
	assert_int_equal(c.e[0].timeout, 5000);
	assert_int_equal(c.e[1].key[3], 5);
	assert_int_equal(c.e[1].key_end[3], 5);
	assert_int_equal(c.e[1].timeout, 0);
	assert_int_equal(c.e[2].key[3], 6);
	assert_int_equal(c.e[2].key_end[3], 255);
	assert_int_equal(c.e[2].timeout, 5000);
	/* The protocol and port stay in every part. */
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(c.e[i].key[4], IPPROTO_TCP);
		assert_int_equal(c.e[i].key_end[9], 1);
	}
	free(c.e);
}

static void test_nft_build_invalid(void **state)
{
	struct nft_port bad_proto = { IPPROTO_ICMP, 80 }, zero = { IPPROTO_TCP, 0 };
	struct nft_source s = { .proto = IPPROTO_TCP, .port = 1, .family = AF_INET, .prefix = 33 };
	struct nft_range r = { IPPROTO_TCP, 200, 100 };
	struct nft_opts o = { .nflog_group = 70000 };
	struct nft_desired d = { .localonly = &bad_proto, .n_localonly = 1 };
	struct nft_batch *b;

	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, BUFLEN), -EINVAL);
	d = (struct nft_desired){ .open = &zero, .n_open = 1 };
	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, BUFLEN), -EINVAL);
	d = (struct nft_desired){ .allowed = &s, .n_allowed = 1 };
	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, BUFLEN), -EINVAL);
	s.prefix = 32;
	s.family = AF_UNIX;
	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, BUFLEN), -EINVAL);
	d = (struct nft_desired){ .managed = &r, .n_managed = 1 };
	struct nft_opts closed = { .closed_by_default = true };
	assert_int_equal(nft_build_resync(&closed, &d, SEQ, buf, BUFLEN), -EINVAL);
	d = (struct nft_desired){ .n_open = 1 }; /* a count without its array */
	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, BUFLEN), -EINVAL);
	d = (struct nft_desired){ 0 };
	assert_int_equal(nft_build_resync(&o, &d, SEQ, buf, BUFLEN), -EINVAL);
	/* NULL desired: an empty table. */
	assert_true(nft_build_resync(NULL, NULL, SEQ, buf, BUFLEN) > 0);

	assert_int_equal(nft_batch_begin(NULL, &b), 0);
	assert_int_equal(nft_batch_add_port(b, NFT_ALLOWED4, &open_ports[0], true), -EINVAL);
	assert_int_equal(nft_batch_add_port(b, NFT_OPEN, &bad_proto, true), -EINVAL);
	assert_int_equal(nft_batch_add_block(b, AF_UNIX, (const uint8_t *)"x", 0, true), -EINVAL);
	assert_int_equal(nft_batch_count(b), 0);
	/* A build-only batch cannot be committed. */
	assert_int_equal(nft_batch_commit(b), -EINVAL);
	nft_batch_free(b);
	nft_batch_free(NULL);
}

/* The batch fills: -EMSGSIZE, and not one byte written past the buffer. */
static void test_nft_build_batch_full(void **state)
{
	struct nft_desired d = desired();
	long full, len;

	full = nft_build_resync(NULL, &d, SEQ, buf, BUFLEN);
	assert_true(full > 0);
	/* Too small to hold even the overrun room mnl's batch needs. */
	assert_int_equal(nft_build_resync(NULL, &d, SEQ, buf, NFT_MSG_MAX), -EMSGSIZE);
	/* Room for the overrun, but the batch itself one byte short. */
	memset(buf, 0xa5, BUFLEN + 64);
	len = nft_build_resync(NULL, &d, SEQ, buf, (size_t)full - 1 + NFT_MSG_MAX);
	assert_int_equal(len, -EMSGSIZE);
	for (size_t i = (size_t)full - 1 + NFT_MSG_MAX; i < BUFLEN + 64; i++)
		assert_int_equal((unsigned char)buf[i], 0xa5);
	/* Exactly enough. */
	len = nft_build_resync(NULL, &d, SEQ, buf, (size_t)full + NFT_MSG_MAX);
	assert_int_equal(len, full);
}

/* 100,000 elements: split into messages under NFT_MSG_MAX, none lost, or -EMSGSIZE. */
static void test_nft_build_batch_large(void **state)
{
	struct nft_batch *b;
	struct elems c = { .e = calloc(MAXELEMS, sizeof(struct elem)) };
	size_t big = 8u << 20, msgs;
	char *bb = malloc(big);
	struct parsed *p = malloc(sizeof(*p));
	long len;

	assert_non_null(bb);
	assert_int_equal(nft_batch_begin(NULL, &b), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		assert_int_equal(nft_batch_add_block(b, AF_INET, (const uint8_t *)&a, 0, true), 0);
	}
	assert_int_equal(nft_batch_count(b), 100000);
	assert_int_equal(nft_batch_build(b, SEQ, buf, BUFLEN), -EMSGSIZE);
	len = nft_batch_build(b, SEQ, bb, big);
	assert_true(len > 0);
	parse_batch(bb, len, p);
	assert_framing(p, SEQ);
	/* A block add replaces (the timeout must hold): ensure, delete, add. */
	msgs = collect(p, NFT_MSG_NEWSETELEM, "blocked4", &c);
	assert_int_equal(c.n, 200000);
	assert_true(msgs > 2);
	collect(p, NFT_MSG_DELSETELEM, "blocked4", &c);
	assert_int_equal(c.n, 100000);
	nft_batch_free(b);
	free(p);
	free(bb);
	free(c.e);
}

/* Ports add plainly; the last change of a key wins; deletes are made safe by an add first. */
static void test_nft_build_batch_plan(void **state)
{
	struct nft_source s = { .proto = IPPROTO_TCP,
				.port = 8082,
				.family = AF_INET,
				.prefix = 24,
				.timeout_ms = 3000 };
	struct nft_port a = { IPPROTO_TCP, 1 }, b2 = { IPPROTO_TCP, 2 };
	struct elems c = { .e = calloc(16, sizeof(struct elem)) };
	struct nft_batch *b;
	struct parsed p;
	long len;

	inet_pton(AF_INET, "10.9.0.0", s.addr);
	assert_int_equal(nft_batch_begin(NULL, &b), 0);
	assert_int_equal(nft_batch_add_port(b, NFT_OPEN, &a, true), 0);
	assert_int_equal(nft_batch_add_port(b, NFT_OPEN, &b2, true), 0);
	assert_int_equal(nft_batch_add_port(b, NFT_OPEN, &b2, false), 0); /* wins over the add */
	assert_int_equal(nft_batch_add_source(b, &s, true), 0);
	assert_int_equal(nft_batch_count(b), 4);
	len = nft_batch_build(b, 7, buf, BUFLEN);
	parse_batch(buf, len, &p);
	assert_framing(&p, 7);
	/* ensure: open {2}, allowed4 {s}; delete: open {2}, allowed4 {s}; add: open {1}, s */
	assert_int_equal(p.n, 2 + 6);
	assert_int_equal(nft_type(p.m[1]), NFT_MSG_NEWSETELEM);
	assert_int_equal(nft_type(p.m[3]), NFT_MSG_DELSETELEM);
	assert_int_equal(nft_type(p.m[4]), NFT_MSG_DELSETELEM);
	assert_int_equal(nft_type(p.m[5]), NFT_MSG_NEWSETELEM);
	collect(&p, NFT_MSG_NEWSETELEM, "open", &c);
	assert_int_equal(c.n, 2); /* 2 ensured, then 1 added */
	assert_int_equal(c.e[0].key[5], 2);
	assert_int_equal(c.e[1].key[5], 1);
	collect(&p, NFT_MSG_DELSETELEM, "open", &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.e[0].key[5], 2);
	collect(&p, NFT_MSG_NEWSETELEM, "allowed4", &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.e[0].timeout, 0); /* the ensure carries no timeout */
	assert_int_equal(c.e[1].timeout, 3000);
	collect(&p, NFT_MSG_DELSETELEM, "allowed4", &c);
	assert_int_equal(c.n, 1);
	assert_true(c.e[0].has_end);
	nft_batch_free(b);
	free(c.e);
}

/* Sequence numbers wrap like the kernel's: no gap, no reuse. */
static void test_nft_build_seq_wrap(void **state)
{
	struct nft_desired d = desired();
	struct parsed p;
	long len = nft_build_resync(NULL, &d, UINT32_MAX - 3, buf, BUFLEN);

	parse_batch(buf, len, &p);
	assert_framing(&p, UINT32_MAX - 3);
	assert_int_equal(p.m[4]->nlmsg_seq, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nft_build_resync_framing),
		cmocka_unit_test(test_nft_build_resync_table_and_chains),
		cmocka_unit_test(test_nft_build_resync_sets),
		cmocka_unit_test(test_nft_build_resync_rules),
		cmocka_unit_test(test_nft_build_resync_elements),
		cmocka_unit_test(test_nft_build_merge_lifetimes),
		cmocka_unit_test(test_nft_build_invalid),
		cmocka_unit_test(test_nft_build_batch_full),
		cmocka_unit_test(test_nft_build_batch_large),
		cmocka_unit_test(test_nft_build_batch_plan),
		cmocka_unit_test(test_nft_build_seq_wrap),
	};

	return cmocka_run_group_tests_name("nft_build", tests, group_setup, group_teardown);
}
