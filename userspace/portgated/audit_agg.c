// SPDX-License-Identifier: MIT
/* audit_agg: a fixed table of keys, each (source, action, result) or (source, scan), with an LRU
 * list so a full table flushes its oldest key instead of losing counts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "audit_agg.h"

#define AGG_FEW_PORTS  32  /* distinct ports kept inline before a bitmap is needed */
#define AGG_MAX_BITMAP 256 /* 8 KiB bitmaps alive at once (2 MiB): past it, ports over-counted */
#define AGG_NONE       (-1)

/* A local event (no source address: a bind, a refused connect) is keyed by its cgroup and
 * uid, so one flooding process (or its forks) is one source. */
enum agg_kind { AGG_ADDR, AGG_LOCAL };

struct agg_key {
	uint8_t kind, family, action, result;
	uint8_t addr[16]; /* the source address, or cgroup id + uid for AGG_LOCAL */
};

struct agg_entry {
	struct agg_key key;
	bool used, detected;
	uint64_t window_start;	 /* monotonic µs */
	uint64_t seen;		 /* events in this window (aggregation) or candidates (scan) */
	uint64_t held;		 /* events held back, to be emitted as one */
	uint64_t first_us;	 /* time of the first held event (scan: first candidate) */
	struct audit_event last; /* the latest held event (scan: the latest candidate) */
	uint32_t nports;
	uint16_t few[AGG_FEW_PORTS];
	uint8_t *bitmap;    /* 65536 bits once nports passed AGG_FEW_PORTS */
	int32_t hnext;	    /* hash chain */
	int32_t prev, next; /* LRU list (most recent first), or the free list (next) */
};

struct audit_agg {
	struct audit_agg_cfg cfg;
	struct audit_agg_ops ops;
	struct agg_entry *e;
	int32_t *bucket;
	size_t nbucket, nkeys, nbitmaps;
	int32_t head, tail, free;
	struct audit_agg_stats st;
};

int audit_agg_new(const struct audit_agg_cfg *cfg, const struct audit_agg_ops *ops,
		  struct audit_agg **out)
{
	struct audit_agg *g;
	size_t n = cfg->max_keys ? cfg->max_keys : AUDIT_AGG_DEFAULT_KEYS;

	if (!cfg->window_us || !cfg->threshold || !ops->emit || n > INT32_MAX / 4)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cfg = *cfg;
	g->cfg.max_keys = n;
	g->ops = *ops;
	for (g->nbucket = 1; g->nbucket < 2 * n; g->nbucket *= 2)
		;
	g->e = calloc(n, sizeof(*g->e));
	g->bucket = malloc(g->nbucket * sizeof(*g->bucket));
	if (!g->e || !g->bucket) {
		free(g->e);
		free(g->bucket);
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->nbucket; i++)
		g->bucket[i] = AGG_NONE;
	for (size_t i = 0; i < n; i++)
		g->e[i].next = i + 1 < n ? (int32_t)(i + 1) : AGG_NONE;
	g->head = g->tail = AGG_NONE;
	g->free = 0;
	*out = g;
	return 0;
}

static uint32_t agg_hash(const struct agg_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void lru_unlink(struct audit_agg *g, int32_t i)
{
	struct agg_entry *e = &g->e[i];

	if (e->prev != AGG_NONE)
		g->e[e->prev].next = e->next;
	else
		g->head = e->next;
	if (e->next != AGG_NONE)
		g->e[e->next].prev = e->prev;
	else
		g->tail = e->prev;
}

static void lru_push(struct audit_agg *g, int32_t i)
{
	g->e[i].prev = AGG_NONE;
	g->e[i].next = g->head;
	if (g->head != AGG_NONE)
		g->e[g->head].prev = i;
	g->head = i;
	if (g->tail == AGG_NONE)
		g->tail = i;
}

static int32_t agg_find(const struct audit_agg *g, const struct agg_key *k)
{
	int32_t i = g->bucket[agg_hash(k) & (g->nbucket - 1)];

	while (i != AGG_NONE && memcmp(&g->e[i].key, k, sizeof(*k)) != 0)
		i = g->e[i].hnext;
	return i;
}

/* Takes entry i out of the table (hash, LRU), back to the free list. */
static void agg_remove(struct audit_agg *g, int32_t i)
{
	struct agg_entry *e = &g->e[i];
	int32_t *p = &g->bucket[agg_hash(&e->key) & (g->nbucket - 1)];

	while (*p != i)
		p = &g->e[*p].hnext;
	*p = e->hnext;
	lru_unlink(g, i);
	if (e->bitmap) {
		free(e->bitmap);
		g->nbitmaps--;
	}
	memset(e, 0, sizeof(*e));
	e->next = g->free;
	g->free = i;
	g->nkeys--;
}

/* The scan event for a scan entry: the source, the ports and candidates of the window. */
static void agg_scan_event(const struct audit_agg *g, const struct agg_entry *e,
			   struct audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_us = e->last.time_us;
	ev->action = AUDIT_SCAN;
	ev->result = g->cfg.scan_block ? AUDIT_BLOCKED : AUDIT_DENIED;
	ev->protocol = e->last.protocol;
	ev->family = e->last.family;
	ev->has_src = true;
	memcpy(ev->src, e->last.src, sizeof(ev->src));
	ev->has_dst = e->last.has_dst;
	memcpy(ev->dst, e->last.dst, sizeof(ev->dst));
	strcpy(ev->reason, "port scan");
	ev->pid = -1;
	ev->uid = -1;
	ev->count = e->seen;
	ev->first_us = e->first_us;
	ev->ports = e->nports;
	ev->scan = AUDIT_SCAN_NO;
}

/* Ends entry i's window: removes it, then emits what it held. */
static void agg_close(struct audit_agg *g, int32_t i)
{
	struct agg_entry *e = &g->e[i];
	struct audit_event ev;
	bool out = false;

	if (e->key.action == AUDIT_SCAN && e->detected) {
		agg_scan_event(g, e, &ev);
		g->st.scans++;
		out = true;
	} else if (e->key.action != AUDIT_SCAN && e->held) {
		ev = e->last;
		ev.count = e->held;
		ev.first_us = e->first_us;
		g->st.aggregated++;
		out = true;
	}
	agg_remove(g, i);
	if (out)
		g->ops.emit(&ev, g->ops.arg);
}

/* A free entry for key k (evicting, i.e. flushing, the least recently used one if needed). */
static int32_t agg_insert(struct audit_agg *g, const struct agg_key *k, uint64_t now_us)
{
	struct agg_entry *e;
	uint32_t b;
	int32_t i;

	if (g->free == AGG_NONE) {
		g->st.evictions++;
		agg_close(g, g->tail);
	}
	i = g->free;
	e = &g->e[i];
	g->free = e->next;
	e->key = *k;
	e->used = true;
	e->window_start = now_us;
	b = agg_hash(k) & (g->nbucket - 1);
	e->hnext = g->bucket[b];
	g->bucket[b] = i;
	lru_push(g, i);
	g->nkeys++;
	return i;
}

/* The entry for k with an open window at now_us (a window that ended is closed first). */
static int32_t agg_get(struct audit_agg *g, const struct agg_key *k, uint64_t now_us)
{
	int32_t i = agg_find(g, k);

	if (i != AGG_NONE && now_us - g->e[i].window_start >= g->cfg.window_us) {
		agg_close(g, i);
		i = AGG_NONE;
	}
	if (i == AGG_NONE)
		return agg_insert(g, k, now_us);
	lru_unlink(g, i);
	lru_push(g, i);
	return i;
}

static void agg_key_of(const struct audit_event *ev, uint8_t action, uint8_t result,
		       struct agg_key *k)
{
	memset(k, 0, sizeof(*k));
	k->action = action;
	k->result = result;
	if (ev->has_src && (ev->family == AF_INET || ev->family == AF_INET6)) {
		k->kind = AGG_ADDR;
		k->family = ev->family;
		memcpy(k->addr, ev->src, ev->family == AF_INET ? 4 : 16);
	} else {
		k->kind = AGG_LOCAL;
		memcpy(k->addr, &ev->cgroup_id, 8);
		memcpy(k->addr + 8, &ev->uid, 8);
	}
}

/* Records port in e's set; true if it was new. */
static bool agg_port_add(struct audit_agg *g, struct agg_entry *e, uint16_t port)
{
	uint32_t few = e->nports < AGG_FEW_PORTS ? e->nports : AGG_FEW_PORTS;

	if (e->bitmap) {
		if (e->bitmap[port / 8] & (1u << (port % 8)))
			return false;
		e->bitmap[port / 8] |= (uint8_t)(1u << (port % 8));
		return true;
	}
	for (uint32_t j = 0; j < few; j++)
		if (e->few[j] == port)
			return false;
	if (e->nports < AGG_FEW_PORTS) {
		e->few[e->nports] = port;
		return true;
	}
	/* Past the inline set: a bitmap if one is left, else every port counts as new (a
	 * scanner may be over-counted then, never missed). */
	if (g->nbitmaps < AGG_MAX_BITMAP && (e->bitmap = calloc(1, 65536 / 8))) {
		g->nbitmaps++;
		for (uint32_t j = 0; j < AGG_FEW_PORTS; j++)
			e->bitmap[e->few[j] / 8] |= (uint8_t)(1u << (e->few[j] % 8));
		e->bitmap[port / 8] |= (uint8_t)(1u << (port % 8));
	}
	return true;
}

/* Scan detection for a candidate with a source address. */
static void agg_scan(struct audit_agg *g, const struct audit_event *ev, uint64_t n, uint64_t now_us)
{
	struct audit_event scan;
	struct agg_entry *e;
	struct agg_key k;

	agg_key_of(ev, AUDIT_SCAN, 0, &k);
	e = &g->e[agg_get(g, &k, now_us)];
	if (!e->seen)
		e->first_us = ev->time_us;
	e->seen += n;
	e->last = *ev;
	if (agg_port_add(g, e, ev->dst_port))
		e->nports++;
	if (e->detected || e->nports <= g->cfg.scan_ports)
		return;
	e->detected = true;
	if (g->ops.scan) {
		agg_scan_event(g, e, &scan);
		g->ops.scan(&scan, g->ops.arg);
	}
}

static bool agg_never(const struct audit_event *ev)
{
	return ev->action == AUDIT_CONTROL || ev->action == AUDIT_REPAIR ||
	       ev->action == AUDIT_SCAN || ev->action == AUDIT_LOSS ||
	       ev->action >= AUDIT_NACTIONS || ev->result >= AUDIT_NRESULTS;
}

void audit_agg_add(struct audit_agg *g, const struct audit_event *ev, uint64_t now_us)
{
	uint64_t n = ev->count ? ev->count : 1;
	struct agg_entry *e;
	struct agg_key k;

	if (agg_never(ev)) {
		g->ops.emit(ev, g->ops.arg);
		return;
	}
	agg_key_of(ev, ev->action, ev->result, &k);
	e = &g->e[agg_get(g, &k, now_us)];
	if (e->seen < g->cfg.threshold) {
		e->seen += n;
		g->ops.emit(ev, g->ops.arg);
	} else {
		if (!e->held)
			e->first_us = ev->time_us;
		e->held += n;
		e->last = *ev;
		e->last.count = 0;
		e->last.first_us = 0;
	}
	if (ev->has_src && audit_event_scan_candidate(ev))
		agg_scan(g, ev, n, now_us);
}

uint64_t audit_agg_tick(struct audit_agg *g, uint64_t now_us)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < g->cfg.max_keys; i++) {
		struct agg_entry *e = &g->e[i];
		uint64_t age;

		if (!e->used)
			continue;
		age = now_us - e->window_start;
		if (age >= g->cfg.window_us)
			agg_close(g, (int32_t)i);
		else if (g->cfg.window_us - age < next)
			next = g->cfg.window_us - age;
	}
	return next;
}

void audit_agg_flush(struct audit_agg *g)
{
	while (g->head != AGG_NONE)
		agg_close(g, g->tail);
}

void audit_agg_free(struct audit_agg *g)
{
	if (!g)
		return;
	audit_agg_flush(g);
	free(g->e);
	free(g->bucket);
	free(g);
}

size_t audit_agg_keys(const struct audit_agg *g)
{
	return g->nkeys;
}

void audit_agg_stats(const struct audit_agg *g, struct audit_agg_stats *out)
{
	*out = g->st;
}
