// SPDX-License-Identifier: MIT
/* nft_change: incremental changes, one batch each, and batches of many changes in one go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_tables.h>
#include "nft_int.h"

struct nft_batch {
	struct nft_ctx *n; /* NULL: build only */
	struct nft_elem *e;
	size_t count, cap;
};

/*
 * A batch in three passes, each grouped by set: ensure present (what will be deleted, so a
 * delete of an absent element is no error), delete, add. The last change of a key wins.
 */
struct nft_plan {
	struct nft_elem *ensure, *del, *add;
	size_t n_ensure, n_del, n_add;
	struct nft_elem *kept; /* the surviving changes in their original order */
	size_t n_kept;
	size_t bytes; /* an upper bound of the element bytes */
};

int nft_batch_begin(struct nft_ctx *n, struct nft_batch **out)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->n = n;
	*out = b;
	return 0;
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	free(b->e);
	free(b);
}

size_t nft_batch_count(const struct nft_batch *b)
{
	return b ? b->count : 0;
}

static int nft_batch_push(struct nft_batch *b, struct nft_elem *x, bool add)
{
	if (add)
		/* Into a set with timeouts an add replaces, so the new timeout (or none) holds. */
		x->op =
		    nft_setdefs[x->set].flags & NFT_SET_TIMEOUT ? NFT_ELEM_REPLACE : NFT_ELEM_ADD;
	else
		x->op = NFT_ELEM_DEL;
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct nft_elem *e = realloc(b->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		b->e = e;
		b->cap = cap;
	}
	b->e[b->count++] = *x;
	return 0;
}

int nft_batch_add_port(struct nft_batch *b, enum nft_setname set, const struct nft_port *p,
		       bool add)
{
	struct nft_elem x;
	int ret = nft_elem_port(&x, set, p);

	return ret ? ret : nft_batch_push(b, &x, add);
}

int nft_batch_add_source(struct nft_batch *b, const struct nft_source *s, bool add)
{
	struct nft_elem x;
	int ret = nft_elem_source(&x, s);

	return ret ? ret : nft_batch_push(b, &x, add);
}

int nft_batch_add_block(struct nft_batch *b, int family, const uint8_t *addr, uint32_t timeout_ms,
			bool add)
{
	struct nft_elem x;
	int ret = nft_elem_block(&x, family, addr, timeout_ms);

	return ret ? ret : nft_batch_push(b, &x, add);
}

/* Orders changes by key, then by position: the last of equal keys is the one to keep. */
static int nft_key_cmp(const void *a, const void *b, void *base)
{
	const struct nft_elem *e = base;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c;

	if (e[i].set != e[j].set)
		return e[i].set < e[j].set ? -1 : 1;
	c = memcmp(e[i].key, e[j].key, NFT_KEY_MAX);
	if (!c)
		c = memcmp(e[i].key_end, e[j].key_end, NFT_KEY_MAX);
	if (c)
		return c;
	return i < j ? -1 : i > j;
}

static void nft_plan_free(struct nft_plan *p)
{
	free(p->ensure);
	free(p->del);
	free(p->add);
	free(p->kept);
	memset(p, 0, sizeof(*p));
}

/*
 * native: the kernel updates an element's timeout when it is added again (recent kernels), so a
 * replace is a plain add; otherwise it is an add, a delete and an add.
 */
static int nft_plan(const struct nft_batch *b, struct nft_plan *p, bool native)
{
	size_t *idx = NULL, i, k;
	bool *keep = NULL;
	int ret = -ENOMEM;

	memset(p, 0, sizeof(*p));
	if (!b->count)
		return 0;
	idx = malloc(b->count * sizeof(*idx));
	keep = calloc(b->count, sizeof(*keep));
	p->ensure = malloc(b->count * sizeof(*p->ensure));
	p->del = malloc(b->count * sizeof(*p->del));
	p->add = malloc(b->count * sizeof(*p->add));
	p->kept = malloc(b->count * sizeof(*p->kept));
	if (!idx || !keep || !p->ensure || !p->del || !p->add || !p->kept)
		goto out;
	for (i = 0; i < b->count; i++)
		idx[i] = i;
	qsort_r(idx, b->count, sizeof(*idx), nft_key_cmp, b->e);
	for (i = 0; i < b->count; i++) {
		const struct nft_elem *x = &b->e[idx[i]], *y;

		y = i + 1 < b->count ? &b->e[idx[i + 1]] : NULL;
		keep[idx[i]] = !y || x->set != y->set || memcmp(x->key, y->key, NFT_KEY_MAX) ||
			       memcmp(x->key_end, y->key_end, NFT_KEY_MAX);
	}
	for (i = 0; i < b->count; i++)
		if (keep[i])
			p->kept[p->n_kept++] = b->e[i];
	/* Grouped by set, in order within a set: fewest messages. */
	for (unsigned s = 0; s < NFT_NSETS; s++) {
		for (k = 0; k < p->n_kept; k++) {
			const struct nft_elem *x = &p->kept[k];

			if (x->set != s)
				continue;
			p->bytes += 2 * nft_elem_size(x);
			if (x->op == NFT_ELEM_DEL || (x->op == NFT_ELEM_REPLACE && !native)) {
				p->ensure[p->n_ensure] = *x;
				p->ensure[p->n_ensure++].timeout_ms = 0;
				p->del[p->n_del++] = *x;
			}
			if (x->op != NFT_ELEM_DEL)
				p->add[p->n_add++] = *x;
		}
	}
	ret = 0;
out:
	free(keep);
	free(idx);
	if (ret)
		nft_plan_free(p);
	return ret;
}

static int nft_plan_build(struct nft_tx *tx, void *arg)
{
	const struct nft_plan *p = arg;
	int ret;

	ret = nft_elems_build(tx, p->ensure, p->n_ensure, NFT_MSG_NEWSETELEM);
	if (!ret)
		ret = nft_elems_build(tx, p->del, p->n_del, NFT_MSG_DELSETELEM);
	if (!ret)
		ret = nft_elems_build(tx, p->add, p->n_add, NFT_MSG_NEWSETELEM);
	return ret;
}

long nft_batch_build(struct nft_batch *b, uint32_t seq, void *buf, size_t len)
{
	struct nft_plan p;
	struct nft_tx tx;
	long ret;

	ret = nft_plan(b, &p, b->n && b->n->readd_updates > 0);
	if (ret < 0)
		return ret;
	ret = nft_tx_start(&tx, buf, len, seq);
	if (!ret)
		ret = nft_plan_build(&tx, &p);
	if (!ret)
		ret = nft_tx_end(&tx);
	nft_tx_release(&tx);
	nft_plan_free(&p);
	return ret;
}

/* ---- does re-adding an element set its timeout? ---- */

#define NFT_PROBE_HOUR 3600000u

/*
 * Step 0: a probe table with a timeout set holding A (1 h) and B (no timeout). Step 1: A again
 * without a timeout, B again with 2 h. Step 2: the table deleted.
 */
static int nft_probe_build(struct nft_tx *tx, void *arg)
{
	struct nft_elem e[2] = { { .set = NFT_BLOCKED4, .key = { 192, 0, 2, 1 } },
				 { .set = NFT_BLOCKED4, .key = { 192, 0, 2, 2 } } };
	int step = *(int *)arg, ret;

	tx->table = NFT_PROBE_TABLE;
	if (step == 2)
		return nft_build_uninstall(tx, NULL);
	e[step].timeout_ms = (uint32_t)(step + 1) * NFT_PROBE_HOUR;
	ret = step ? 0 : nft_build_table_reset(tx);
	if (!ret && !step)
		ret = nft_build_set(tx, NFT_BLOCKED4);
	return ret ? ret : nft_elems_build(tx, e, 2, NFT_MSG_NEWSETELEM);
}

static void nft_probe_seen(const struct nft_seen *s, void *data)
{
	int *ok = data;

	/* A must have lost its timeout and B gained one. */
	if (s->key_len == 4 && s->key[3] == 1 && !s->has_timeout)
		ok[0] = 1;
	if (s->key_len == 4 && s->key[3] == 2 && s->has_timeout)
		ok[1] = 1;
}

/*
 * Learns once per context whether the kernel updates the timeout of an element added again:
 * a plain add then replaces, as cheap as nft's own. Any failure keeps the safe way.
 */
static void nft_probe_readd(struct nft_ctx *n)
{
	int step, ok[2] = { 0, 0 }, ret = 0;

	for (step = 0; step < 2 && !ret; step++)
		ret = nft_tx_run(n, 0, nft_probe_build, &step);
	if (!ret)
		ret = nft_walk_set(n, NFT_PROBE_TABLE, NFT_BLOCKED4, nft_probe_seen, ok);
	step = 2;
	nft_tx_run(n, 0, nft_probe_build, &step);
	n->readd_updates = !ret && ok[0] && ok[1] ? 1 : -1;
	n->err[0] = '\0';
}

int nft_batch_commit(struct nft_batch *b)
{
	struct nft_plan p;
	size_t i;
	int ret;

	if (!b || !b->n)
		return -EINVAL;
	if (!b->count)
		return 0;
	for (i = 0; i < b->count && !b->n->readd_updates; i++)
		if (b->e[i].op == NFT_ELEM_REPLACE)
			nft_probe_readd(b->n);
	ret = nft_plan(b, &p, b->n->readd_updates > 0);
	if (ret < 0)
		return ret;
	ret = nft_tx_run(b->n, p.bytes, nft_plan_build, &p);
	if (!ret && b->n->want.valid)
		nft_expect_apply(&b->n->want, p.kept, p.n_kept);
	nft_plan_free(&p);
	return ret;
}

/* One change as its own batch. */
static int nft_one(struct nft_ctx *n, int built, struct nft_elem *x, bool add)
{
	struct nft_batch b = { .n = n };
	int ret;

	if (built < 0)
		return built;
	ret = nft_batch_push(&b, x, add);
	if (!ret)
		ret = nft_batch_commit(&b);
	free(b.e);
	return ret;
}

int nft_port_localonly(struct nft_ctx *n, const struct nft_port *p, bool add)
{
	struct nft_elem x;

	return nft_one(n, nft_elem_port(&x, NFT_LOCALONLY, p), &x, add);
}

int nft_port_open(struct nft_ctx *n, const struct nft_port *p, bool add)
{
	struct nft_elem x;

	return nft_one(n, nft_elem_port(&x, NFT_OPEN, p), &x, add);
}

int nft_port_restrict_src(struct nft_ctx *n, const struct nft_port *p, bool add)
{
	struct nft_elem x;

	return nft_one(n, nft_elem_port(&x, NFT_RESTRICTED_SRC, p), &x, add);
}

int nft_source_allow(struct nft_ctx *n, const struct nft_source *s, bool add)
{
	struct nft_elem x;

	return nft_one(n, nft_elem_source(&x, s), &x, add);
}

int nft_source_block(struct nft_ctx *n, int family, const uint8_t *addr, uint32_t timeout_ms)
{
	struct nft_elem x;

	return nft_one(n, nft_elem_block(&x, family, addr, timeout_ms), &x, true);
}
