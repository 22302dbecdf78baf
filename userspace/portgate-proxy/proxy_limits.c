// SPDX-License-Identifier: MIT
/* proxy_limits: failures per source in a sliding window, and the sources blocked for a while. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "proxy_limits.h"

#define PROXY_LIMITS_BUCKETS 4096 /* power of two */

/*
 * One source. ring[] holds the times of its latest failures, oldest at ring[first], at most
 * cap of them (the limit when it was sized): a source with `limit` failures in the window is
 * blocked at once, so more are never needed.
 */
struct proxy_source {
	struct proxy_source *next;
	uint8_t family;
	uint8_t addr[16];
	uint16_t first, n, cap;
	uint64_t blocked_until; /* ms; 0: not blocked */
	uint64_t *ring;
};

struct proxy_limits {
	pthread_mutex_t lock;
	struct proxy_source *buckets[PROXY_LIMITS_BUCKETS];
	size_t count, max;
	size_t n_blocked; /* also read without the lock, as a hint */
	uint64_t key[2];  /* hash key: sources are chosen by the peer, so the chains must not be */
};

int proxy_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct proxy_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		a->family = AF_INET;
		memcpy(a->addr, &in->sin_addr, 4);
		a->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		a->port = ntohs(in6->sin6_port);
		if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
			a->family = AF_INET;
			memcpy(a->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->addr, in6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -EAFNOSUPPORT;
}

void proxy_addr_format(const struct proxy_addr *a, char out[PROXY_ADDR_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, out, PROXY_ADDR_STRLEN))
		strcpy(out, "?");
}

int proxy_limits_new(size_t max_sources, struct proxy_limits **out)
{
	struct proxy_limits *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->max = max_sources;
	if (getrandom(l->key, sizeof(l->key), GRND_NONBLOCK) != sizeof(l->key)) {
		/* Early boot: weaker, still different per process. */
		l->key[0] = (uint64_t)(uintptr_t)l ^ 0x9e3779b97f4a7c15ull;
		l->key[1] = (uint64_t)(uintptr_t)&l ^ 0xc2b2ae3d27d4eb4full;
	}
	*out = l;
	return 0;
}

static void proxy_source_free(struct proxy_source *s)
{
	if (s) {
		free(s->ring);
		free(s);
	}
}

void proxy_limits_free(struct proxy_limits *l)
{
	if (!l)
		return;
	for (size_t b = 0; b < PROXY_LIMITS_BUCKETS; b++) {
		struct proxy_source *s = l->buckets[b], *next;

		for (; s; s = next) {
			next = s->next;
			proxy_source_free(s);
		}
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* A keyed mix of the address (not cryptographic, but an attacker does not know the key). */
static size_t proxy_limits_bucket(const struct proxy_limits *l, const struct proxy_addr *a)
{
	uint64_t w[2], h = l->key[0] ^ a->family;

	memcpy(w, a->addr, sizeof(w));
	for (int i = 0; i < 2; i++) {
		h ^= w[i] + l->key[1];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
		h *= 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	return (size_t)(h & (PROXY_LIMITS_BUCKETS - 1));
}

static bool proxy_source_is(const struct proxy_source *s, const struct proxy_addr *a)
{
	return s->family == a->family && memcmp(s->addr, a->addr, sizeof(s->addr)) == 0;
}

/* Drops failures older than the window; ends a block that is over. Called under the lock. */
static void proxy_source_age(struct proxy_limits *l, struct proxy_source *s, uint64_t now,
			     uint64_t window_ms)
{
	if (s->blocked_until && now >= s->blocked_until) {
		s->blocked_until = 0;
		__atomic_sub_fetch(&l->n_blocked, 1, __ATOMIC_RELAXED);
	}
	while (s->n && now - s->ring[s->first] >= window_ms) {
		s->first = (uint16_t)((s->first + 1) % s->cap);
		s->n--;
	}
}

static bool proxy_source_idle(const struct proxy_source *s)
{
	return !s->blocked_until && !s->n;
}

/* The source's entry; created when create is set. NULL when absent or out of room. */
static struct proxy_source *proxy_limits_find(struct proxy_limits *l, const struct proxy_addr *a,
					      bool create, int *err)
{
	size_t b = proxy_limits_bucket(l, a);
	struct proxy_source *s;

	for (s = l->buckets[b]; s; s = s->next)
		if (proxy_source_is(s, a))
			return s;
	if (!create)
		return NULL;
	if (l->count >= l->max) {
		*err = -ENOSPC;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->family = a->family;
	memcpy(s->addr, a->addr, sizeof(s->addr));
	s->next = l->buckets[b];
	l->buckets[b] = s;
	l->count++;
	return s;
}

/* Makes room for limit timestamps, keeping the newest ones in order. Under the lock. */
static int proxy_source_size(struct proxy_source *s, uint16_t limit)
{
	uint64_t *ring;
	uint16_t keep;

	if (s->cap == limit)
		return 0;
	ring = calloc(limit, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	keep = s->n < limit ? s->n : limit;
	for (uint16_t i = 0; i < keep; i++)
		ring[i] = s->ring[(s->first + s->n - keep + i) % s->cap];
	free(s->ring);
	s->ring = ring;
	s->cap = limit;
	s->first = 0;
	s->n = keep;
	return 0;
}

int proxy_limits_fail(struct proxy_limits *l, const struct proxy_addr *src, uint64_t now_ms,
		      const struct proxy_limits_cfg *cfg, unsigned *failures)
{
	uint16_t limit = (uint16_t)(cfg->fail_limit < 1			     ? 1
				    : cfg->fail_limit > PROXY_FAIL_LIMIT_MAX ? PROXY_FAIL_LIMIT_MAX
									     : cfg->fail_limit);
	struct proxy_source *s;
	int err = 0, rc = 0;

	pthread_mutex_lock(&l->lock);
	s = proxy_limits_find(l, src, true, &err);
	if (!s)
		goto out;
	proxy_source_age(l, s, now_ms, (uint64_t)cfg->fail_window_s * 1000);
	if (s->blocked_until) {
		/* A connection accepted just before the block: nothing more to count. */
		*failures = limit;
		goto out;
	}
	err = proxy_source_size(s, limit);
	if (err)
		goto out;
	s->ring[(s->first + s->n) % s->cap] = now_ms;
	s->n++;
	*failures = s->n;
	if (s->n >= limit) {
		/* block_s 0: the event is still reported, but nothing is refused here. */
		if (cfg->block_s) {
			s->blocked_until = now_ms + (uint64_t)cfg->block_s * 1000;
			__atomic_add_fetch(&l->n_blocked, 1, __ATOMIC_RELAXED);
		}
		s->n = 0;
		s->first = 0;
		rc = 1;
	}
out:
	pthread_mutex_unlock(&l->lock);
	return err ? err : rc;
}

bool proxy_limits_blocked(struct proxy_limits *l, const struct proxy_addr *src, uint64_t now_ms)
{
	struct proxy_source *s;
	bool blocked = false;
	int err;

	if (!__atomic_load_n(&l->n_blocked, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&l->lock);
	s = proxy_limits_find(l, src, false, &err);
	if (s && s->blocked_until) {
		if (now_ms < s->blocked_until) {
			blocked = true;
		} else {
			s->blocked_until = 0;
			__atomic_sub_fetch(&l->n_blocked, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return blocked;
}

size_t proxy_limits_sweep(struct proxy_limits *l, uint64_t now_ms,
			  const struct proxy_limits_cfg *cfg)
{
	size_t dropped = 0;

	pthread_mutex_lock(&l->lock);
	for (size_t b = 0; b < PROXY_LIMITS_BUCKETS; b++) {
		struct proxy_source **pp = &l->buckets[b], *s;

		while ((s = *pp)) {
			proxy_source_age(l, s, now_ms, (uint64_t)cfg->fail_window_s * 1000);
			if (!proxy_source_idle(s)) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			proxy_source_free(s);
			l->count--;
			dropped++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return dropped;
}

size_t proxy_limits_count(struct proxy_limits *l, size_t *blocked)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->count;
	if (blocked)
		*blocked = l->n_blocked;
	pthread_mutex_unlock(&l->lock);
	return n;
}
