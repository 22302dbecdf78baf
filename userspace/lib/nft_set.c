// SPDX-License-Identifier: MIT
/* nft_set: set elements: keys as the kernel compares them, merged ranges, messages, reads. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include "nft_int.h"

/* Element bytes per NEWSETELEM/DELSETELEM message: under NFT_MSG_MAX with room for headers. */
#define NFT_ELEM_BUDGET (NFT_MSG_MAX - 1024)
#define NFT_FOREVER	UINT64_MAX

static bool nft_proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* inet_proto . inet_service at k: proto, 3 bytes padding, port big endian, 2 bytes padding. */
static void nft_key_l4(uint8_t *k, uint8_t proto, uint16_t port)
{
	memset(k, 0, 8);
	k[0] = proto;
	k[4] = (uint8_t)(port >> 8);
	k[5] = (uint8_t)port;
}

int nft_elem_port(struct nft_elem *e, enum nft_setname set, const struct nft_port *p)
{
	if ((set != NFT_LOCALONLY && set != NFT_OPEN && set != NFT_RESTRICTED_SRC) || !p ||
	    !nft_proto_ok(p->proto) || !p->port)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->set = (uint8_t)set;
	nft_key_l4(e->key, p->proto, p->port);
	return 0;
}

/* Address length of a family: 4, 16, or 0 when unsupported. */
static size_t nft_alen(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* The first and last address of addr/prefix. */
static void nft_prefix_range(const uint8_t *addr, size_t alen, unsigned prefix, uint8_t *lo,
			     uint8_t *hi)
{
	for (size_t i = 0; i < alen; i++) {
		unsigned bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		uint8_t mask = (uint8_t)(0xff00u >> bits);

		lo[i] = addr[i] & mask;
		hi[i] = addr[i] | (uint8_t)~mask;
	}
}

int nft_elem_source(struct nft_elem *e, const struct nft_source *s)
{
	size_t alen = s ? nft_alen(s->family) : 0;

	if (!alen || s->prefix > 8 * alen || !nft_proto_ok(s->proto) || !s->port)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->set = s->family == AF_INET ? NFT_ALLOWED4 : NFT_ALLOWED6;
	e->has_end = true;
	e->timeout_ms = s->timeout_ms;
	nft_prefix_range(s->addr, alen, s->prefix, e->key, e->key_end);
	nft_key_l4(e->key + alen, s->proto, s->port);
	nft_key_l4(e->key_end + alen, s->proto, s->port);
	return 0;
}

int nft_elem_block(struct nft_elem *e, int family, const uint8_t *addr, uint32_t timeout_ms)
{
	size_t alen = nft_alen(family);

	if (!alen || !addr)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->set = family == AF_INET ? NFT_BLOCKED4 : NFT_BLOCKED6;
	e->timeout_ms = timeout_ms;
	memcpy(e->key, addr, alen);
	return 0;
}

/* An upper bound of the bytes e takes in a message (nests, key, key end, timeout, flags). */
size_t nft_elem_size(const struct nft_elem *e)
{
	size_t k = 8 + nft_setdefs[e->set].key_len;

	return 4 + 4 + k + (e->has_end ? 4 + k : 0) + 12 + 8;
}

/* ---- merging ranges: the kernel's interval sets refuse an overlap ---- */

/* A range [lo, hi] of big-endian numbers of len bytes, alive for life ms, within a group. */
struct nft_ival {
	uint32_t group; /* ranges only merge within a group (family, proto, port) */
	uint8_t len;
	uint8_t lo[16], hi[16];
	uint64_t life; /* ms; NFT_FOREVER without timeout */
};

static int nft_ival_cmp(const void *a, const void *b)
{
	const struct nft_ival *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return memcmp(x->lo, y->lo, x->len);
}

static void nft_num_inc(uint8_t *v, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++v[i])
			break;
}

static void nft_num_dec(uint8_t *v, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (v[i]--)
			break;
}

static bool nft_num_max(const uint8_t *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (v[i] != 0xff)
			return false;
	return true;
}

static int nft_bound_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * The ranges of one group v[0..n) (sorted by lo) as disjoint ranges, each alive as long as the
 * longest-lived input range covering it; appended to out (room for 2n). Returns the count.
 * Quadratic in n, but n is one port's allowlist.
 */
static size_t nft_ival_sweep(const struct nft_ival *v, size_t n, struct nft_ival *out,
			     uint8_t (*bound)[16])
{
	size_t len = v[0].len, nb = 0, count = 0, i, t;
	bool open = false;

	for (i = 0; i < n; i++) {
		memset(bound[nb], 0, 16);
		memcpy(bound[nb++], v[i].lo, len);
		if (!nft_num_max(v[i].hi, len)) {
			memset(bound[nb], 0, 16);
			memcpy(bound[nb], v[i].hi, len);
			nft_num_inc(bound[nb++], len);
		}
	}
	qsort(bound, nb, 16, nft_bound_cmp);
	for (t = 0; t < nb; t++) {
		uint64_t life = 0;

		if (t && !memcmp(bound[t], bound[t - 1], len))
			continue;
		for (i = 0; i < n; i++)
			if (memcmp(v[i].lo, bound[t], len) <= 0 &&
			    memcmp(bound[t], v[i].hi, len) <= 0 && v[i].life > life)
				life = v[i].life;
		if (!life) {
			open = false;
			continue;
		}
		if (!open || out[count - 1].life != life) {
			out[count] = v[0];
			memcpy(out[count].lo, bound[t], len);
			out[count].life = life;
			count++;
		}
		/* The segment ends before the next boundary, or at the top. */
		open = true;
		memset(out[count - 1].hi, 0xff, len);
		for (size_t u = t + 1; u < nb; u++) {
			if (memcmp(bound[u], bound[t], len)) {
				memcpy(out[count - 1].hi, bound[u], len);
				nft_num_dec(out[count - 1].hi, len);
				break;
			}
		}
	}
	return count;
}

/*
 * Sorts v[0..n) and rewrites it as disjoint ranges per group into *out (malloc'd, count
 * returned in *nout). Groups without an overlap are copied as they are.
 */
static int nft_ival_merge(struct nft_ival *v, size_t n, struct nft_ival **out, size_t *nout)
{
	struct nft_ival *o;
	uint8_t(*bound)[16] = NULL;
	size_t a, b, k, count = 0;

	*out = NULL;
	*nout = 0;
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), nft_ival_cmp);
	o = calloc(2 * n, sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (a = 0; a < n; a = b) {
		bool overlap = false;
		const uint8_t *top = v[a].hi;

		for (b = a + 1; b < n && v[b].group == v[a].group; b++) {
			if (memcmp(v[b].lo, top, v[a].len) <= 0)
				overlap = true;
			if (memcmp(v[b].hi, top, v[a].len) > 0)
				top = v[b].hi;
		}
		if (!overlap) {
			for (k = a; k < b; k++)
				o[count++] = v[k];
			continue;
		}
		if (!bound) {
			bound = calloc(2 * n, 16);
			if (!bound) {
				free(o);
				return -ENOMEM;
			}
		}
		count += nft_ival_sweep(v + a, b - a, o + count, bound);
	}
	free(bound);
	*out = o;
	*nout = count;
	return 0;
}

/* ---- the desired state as elements ---- */

static int nft_push(struct nft_elem **e, size_t *n, size_t *cap, const struct nft_elem *x)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct nft_elem *p = realloc(*e, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*e = p;
		*cap = c;
	}
	(*e)[(*n)++] = *x;
	return 0;
}

static int nft_push_ports(struct nft_elem **e, size_t *n, size_t *cap, enum nft_setname set,
			  const struct nft_port *p, size_t np)
{
	struct nft_elem x;
	int ret;

	if (np && !p)
		return -EINVAL;
	for (size_t i = 0; i < np; i++) {
		ret = nft_elem_port(&x, set, &p[i]);
		if (!ret)
			ret = nft_push(e, n, cap, &x);
		if (ret)
			return ret;
	}
	return 0;
}

/* Allowed sources as merged ranges, by family, proto and port. */
static int nft_push_allowed(struct nft_elem **e, size_t *n, size_t *cap,
			    const struct nft_desired *d)
{
	struct nft_ival *v, *m = NULL;
	struct nft_elem x;
	size_t nm = 0, i;
	int ret = 0;

	if (!d->n_allowed)
		return 0;
	if (!d->allowed)
		return -EINVAL;
	v = calloc(d->n_allowed, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < d->n_allowed && !ret; i++) {
		const struct nft_source *s = &d->allowed[i];
		size_t alen = nft_alen(s->family);

		ret = nft_elem_source(&x, s);
		if (ret)
			break;
		v[i].group = (uint32_t)(alen == 16) << 24 | (uint32_t)s->proto << 16 | s->port;
		v[i].len = (uint8_t)alen;
		memcpy(v[i].lo, x.key, alen);
		memcpy(v[i].hi, x.key_end, alen);
		v[i].life = s->timeout_ms ? s->timeout_ms : NFT_FOREVER;
	}
	if (!ret)
		ret = nft_ival_merge(v, d->n_allowed, &m, &nm);
	for (i = 0; i < nm && !ret; i++) {
		struct nft_source s = {
			.proto = (uint8_t)(m[i].group >> 16),
			.port = (uint16_t)m[i].group,
			.family = m[i].len == 16 ? AF_INET6 : AF_INET,
			.prefix = (uint8_t)(8 * m[i].len),
			.timeout_ms = m[i].life == NFT_FOREVER ? 0 : (uint32_t)m[i].life,
		};

		memcpy(s.addr, m[i].lo, m[i].len);
		nft_elem_source(&x, &s);
		/* A merged range need not be a prefix: set its end directly. */
		memcpy(x.key_end, m[i].hi, m[i].len);
		ret = nft_push(e, n, cap, &x);
	}
	free(m);
	free(v);
	return ret;
}

/* Managed ranges as merged ranges per protocol. */
static int nft_push_managed(struct nft_elem **e, size_t *n, size_t *cap,
			    const struct nft_desired *d)
{
	struct nft_ival *v, *m = NULL;
	size_t nm = 0, i;
	int ret = 0;

	if (!d->n_managed)
		return 0;
	if (!d->managed)
		return -EINVAL;
	v = calloc(d->n_managed, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < d->n_managed; i++) {
		const struct nft_range *r = &d->managed[i];

		if (!nft_proto_ok(r->proto) || !r->first || r->first > r->last) {
			ret = -EINVAL;
			break;
		}
		v[i].group = r->proto;
		v[i].len = 2;
		v[i].lo[0] = (uint8_t)(r->first >> 8);
		v[i].lo[1] = (uint8_t)r->first;
		v[i].hi[0] = (uint8_t)(r->last >> 8);
		v[i].hi[1] = (uint8_t)r->last;
		v[i].life = NFT_FOREVER;
	}
	if (!ret)
		ret = nft_ival_merge(v, d->n_managed, &m, &nm);
	for (i = 0; i < nm && !ret; i++) {
		struct nft_elem x = { .set = NFT_MANAGED, .has_end = true };

		nft_key_l4(x.key, (uint8_t)m[i].group, (uint16_t)(m[i].lo[0] << 8 | m[i].lo[1]));
		nft_key_l4(x.key_end, (uint8_t)m[i].group,
			   (uint16_t)(m[i].hi[0] << 8 | m[i].hi[1]));
		ret = nft_push(e, n, cap, &x);
	}
	free(m);
	free(v);
	return ret;
}

/*
 * The elements of a resync, all additions: port sets as given, allowed sources and managed
 * ranges (only when closed) merged. *out is malloc'd (NULL when there are none).
 */
int nft_desired_elems(const struct nft_desired *d, bool closed, struct nft_elem **out, size_t *n)
{
	struct nft_elem *e = NULL;
	size_t cnt = 0, cap = 0;
	int ret = 0;

	if (d) {
		ret = nft_push_ports(&e, &cnt, &cap, NFT_LOCALONLY, d->localonly, d->n_localonly);
		if (!ret)
			ret = nft_push_ports(&e, &cnt, &cap, NFT_OPEN, d->open, d->n_open);
		if (!ret)
			ret = nft_push_ports(&e, &cnt, &cap, NFT_RESTRICTED_SRC, d->restricted_src,
					     d->n_restricted_src);
		if (!ret)
			ret = nft_push_allowed(&e, &cnt, &cap, d);
		if (!ret && closed)
			ret = nft_push_managed(&e, &cnt, &cap, d);
	}
	if (ret) {
		free(e);
		return ret;
	}
	*out = e;
	*n = cnt;
	return 0;
}

/* ---- messages ---- */

/* One NEWSETELEM/DELSETELEM message with e[0..n) (all of one set). */
static int nft_elems_msg(struct nft_tx *tx, const struct nft_elem *e, size_t n, uint16_t type)
{
	const struct nft_setdef *d = &nft_setdefs[e->set];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *se;
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, tx->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	for (size_t i = 0; i < n; i++) {
		se = nftnl_set_elem_alloc();
		if (!se) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, e[i].key, d->key_len);
		if (e[i].has_end)
			nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY_END, e[i].key_end, d->key_len);
		if (type == NFT_MSG_NEWSETELEM && e[i].timeout_ms)
			nftnl_set_elem_set_u64(se, NFTNL_SET_ELEM_TIMEOUT, e[i].timeout_ms);
		nftnl_set_elem_add(s, se);
	}
	/* No NLM_F_EXCL: adding what is there is not an error. */
	nlh = nft_tx_msg(tx, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, d->name);
	if (nlh)
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nft_tx_next(tx, nlh);
	nftnl_set_free(s);
	return tx->err;
}

/* Messages of type for e[0..n): one per run of the same set, split to stay under the budget. */
int nft_elems_build(struct nft_tx *tx, const struct nft_elem *e, size_t n, uint16_t type)
{
	size_t i = 0, j, bytes;
	int ret = 0;

	while (i < n && !ret) {
		for (j = i, bytes = 0; j < n && e[j].set == e[i].set; j++) {
			if (bytes + nft_elem_size(&e[j]) > NFT_ELEM_BUDGET)
				break;
			bytes += nft_elem_size(&e[j]);
		}
		if (j == i)
			j = i + 1; /* cannot happen (an element is < 200 bytes), but never loop */
		ret = nft_elems_msg(tx, e + i, j - i, type);
		i = j;
	}
	return ret;
}

/* ---- what a context expects ---- */

int nft_port_set_index(unsigned set)
{
	return set == NFT_LOCALONLY ? 0 : set == NFT_OPEN ? 1 : set == NFT_RESTRICTED_SRC ? 2 : -1;
}

/* The bit of a port-set key in the expectation bitmaps, or NULL for another protocol. */
uint8_t *nft_expect_bit(struct nft_expect *w, int idx, const uint8_t *key, uint8_t *mask)
{
	uint16_t port = (uint16_t)(key[4] << 8 | key[5]);
	int p = key[0] == IPPROTO_TCP ? 0 : key[0] == IPPROTO_UDP ? 1 : -1;

	if (p < 0)
		return NULL;
	*mask = (uint8_t)(1u << (port & 7));
	return &w->ports[idx][p][port >> 3];
}

/* Applies element changes, in order, to what w expects. */
void nft_expect_apply(struct nft_expect *w, const struct nft_elem *e, size_t n)
{
	uint8_t *b, mask;

	for (size_t i = 0; i < n; i++) {
		int idx = nft_port_set_index(e[i].set);

		if (e[i].set == NFT_MANAGED)
			w->managed += e[i].op == NFT_ELEM_DEL ? -1 : 1;
		if (idx < 0 || !(b = nft_expect_bit(w, idx, e[i].key, &mask)))
			continue;
		if (e[i].op == NFT_ELEM_DEL)
			*b &= (uint8_t)~mask;
		else
			*b |= mask;
	}
}

static void nft_expect_reset(struct nft_expect *w, const struct nft_elem *e, size_t n)
{
	memset(w, 0, sizeof(*w));
	nft_expect_apply(w, e, n);
	w->valid = true;
}

void nft_expect_from(struct nft_expect *w, const struct nft_elem *e, size_t n)
{
	nft_expect_reset(w, e, n);
}

int nft_expect(struct nft_ctx *n, const struct nft_desired *d)
{
	struct nft_elem *e = NULL;
	size_t cnt = 0;
	int ret = nft_desired_elems(d, n->closed, &e, &cnt);

	if (ret < 0)
		return ret;
	nft_expect_reset(&n->want, e, cnt);
	free(e);
	return 0;
}

/* ---- reading elements back ---- */

struct nft_walk {
	void (*fn)(const struct nft_seen *s, void *data);
	void *data;
};

static void nft_walk_elem(const struct nlattr *le, struct nft_walk *w)
{
	struct nft_seen s = { 0 };
	const struct nlattr *a, *v;

	mnl_attr_for_each_nested(a, le)
	{
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			mnl_attr_for_each_nested(v, a)
			{
				if (mnl_attr_get_type(v) == NFTA_DATA_VALUE &&
				    mnl_attr_get_payload_len(v) <= NFT_KEY_MAX) {
					s.key = mnl_attr_get_payload(v);
					s.key_len = mnl_attr_get_payload_len(v);
				}
			}
			break;
		case NFTA_SET_ELEM_TIMEOUT:
			if (mnl_attr_get_payload_len(a) == 8) {
				s.timeout_ms = be64toh(mnl_attr_get_u64(a));
				/* A kernel may report 0 for an element without a timeout. */
				s.has_timeout = s.timeout_ms != 0;
			}
			break;
		case NFTA_SET_ELEM_EXPIRATION:
			if (mnl_attr_get_payload_len(a) == 8)
				s.expires_ms = be64toh(mnl_attr_get_u64(a));
			break;
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_get_payload_len(a) == 4 &&
			    ntohl(mnl_attr_get_u32(a)) & NFT_SET_ELEM_CATCHALL)
				s.catchall = true;
			break;
		}
	}
	if (s.key || s.catchall)
		w->fn(&s, w->data);
}

static int nft_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a, *le;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(le, a)
		{
			if (mnl_attr_get_type(le) == NFTA_LIST_ELEM)
				nft_walk_elem(le, data);
		}
	}
	return MNL_CB_OK;
}

/* Dumps the elements of one of our sets through fn. -ENOENT when the table or set is gone. */
int nft_walk_set(struct nft_ctx *n, const char *table, enum nft_setname set,
		 void (*fn)(const struct nft_seen *s, void *data), void *data)
{
	struct nft_walk w = { fn, data };
	struct nlmsghdr *nlh = nft_request_hdr(n, NFT_MSG_GETSETELEM, NLM_F_DUMP | NLM_F_ACK);

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, nft_setdefs[set].name);
	return nft_request(n, nlh, nft_walk_cb, &w);
}

struct nft_carry {
	enum nft_setname set;
	struct nft_elem *e;
	size_t n, cap;
	int err;
};

static void nft_carry_one(const struct nft_seen *s, void *data)
{
	struct nft_carry *c = data;
	struct nft_elem x = { .set = (uint8_t)c->set };

	if (c->err || s->catchall || s->key_len != nft_setdefs[c->set].key_len)
		return;
	if (s->has_timeout) {
		if (!s->expires_ms)
			return;
		x.timeout_ms = s->expires_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)s->expires_ms;
	}
	memcpy(x.key, s->key, s->key_len);
	c->err = nft_push(&c->e, &c->n, &c->cap, &x);
}

/* The kernel's blocked4/blocked6 elements with the time they have left, to add back. */
int nft_blocked_carry(struct nft_ctx *n, struct nft_elem **out, size_t *count)
{
	struct nft_carry c = { 0 };
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		c.set = i ? NFT_BLOCKED6 : NFT_BLOCKED4;
		ret = nft_walk_set(n, NFT_TABLE, c.set, nft_carry_one, &c);
		if (ret == -ENOENT)
			ret = 0; /* no table (yet), or damaged: nothing to carry */
		if (!ret)
			ret = c.err;
	}
	if (ret < 0) {
		nft_seterr(n, "resync: reading blocked sources: %s", strerror(-ret));
		free(c.e);
		return ret;
	}
	*out = c.e;
	*count = c.n;
	return 0;
}
