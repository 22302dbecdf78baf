// SPDX-License-Identifier: MIT
/* proxy_routes: the port -> route table (backend, token hash, names), shared by all threads. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proxy_head.h"
#include "proxy_routes.h"

/* Indexed by port: 512 KiB of address space, of which only the used pages are ever touched. */
static struct proxy_route *proxy_routes_table[65536];
static pthread_mutex_t proxy_routes_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned proxy_routes_gen;

int proxy_json_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t k = 0;

		if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		} else {
			esc[k++] = (char)c;
		}
		if (n + k >= size)
			return -ENOSPC;
		memcpy(out + n, esc, k);
		n += k;
	}
	if (n >= size)
		return -ENOSPC;
	out[n] = '\0';
	return 0;
}

static bool proxy_route_hash_ok(const char *h)
{
	if (!h || strlen(h) != TOKEN_HASH_TEXT_LEN || strncmp(h, TOKEN_HASH_PREFIX, 7) != 0)
		return false;
	for (h += 7; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return false;
	return true;
}

/* A field name: 1..PROXY_HEADER_NAME_MAX tchars (RFC 9110 5.6.2). */
static bool proxy_route_header_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > PROXY_HEADER_NAME_MAX)
		return false;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'z') ||
		      (*h >= 'A' && *h <= 'Z') || strchr("!#$%&'*+-.^_`|~", *h)))
			return false;
	return true;
}

static bool proxy_route_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int proxy_route_new(const struct proxy_route_spec *spec, struct proxy_route **out)
{
	const char *header = spec->token_header ? spec->token_header : PROXY_TOKEN_HEADER_DEFAULT;
	const char *service = spec->service ? spec->service : "";
	const char *port_name = spec->port_name ? spec->port_name : "";
	const char *bind = spec->bind_address ? spec->bind_address : "";
	char esc_s[6 * PROXY_NAME_MAX + 1], esc_p[6 * PROXY_NAME_MAX + 1];
	struct proxy_route *r;

	if (!spec->port || !spec->backend_port || !proxy_route_hash_ok(spec->token_hash) ||
	    !proxy_route_header_ok(header) || !proxy_route_name_ok(service, PROXY_NAME_MAX) ||
	    !proxy_route_name_ok(port_name, PROXY_NAME_MAX) ||
	    !proxy_route_name_ok(bind, PROXY_BIND_MAX - 1))
		return -EINVAL;
	if (proxy_json_escape(service, esc_s, sizeof(esc_s)) ||
	    proxy_json_escape(port_name, esc_p, sizeof(esc_p)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->refs = 1;
	r->port = spec->port;
	r->backend_port = spec->backend_port;
	strcpy(r->token_hash, spec->token_hash);
	strcpy(r->token_header, header);
	strcpy(r->bind_address, bind);
	strcpy(r->service, service);
	strcpy(r->port_name, port_name);
	snprintf(r->labels_json, sizeof(r->labels_json), "\"service\":\"%s\",\"port_name\":\"%s\"",
		 esc_s, esc_p);
	*out = r;
	return 0;
}

struct proxy_route *proxy_route_get(struct proxy_route *r)
{
	if (r)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void proxy_route_put(struct proxy_route *r)
{
	if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		explicit_bzero(r->token_hash, sizeof(r->token_hash));
		free(r);
	}
}

void proxy_routes_set(struct proxy_route *r)
{
	struct proxy_route *old;

	proxy_route_get(r);
	pthread_mutex_lock(&proxy_routes_lock);
	old = proxy_routes_table[r->port];
	proxy_routes_table[r->port] = r;
	__atomic_add_fetch(&proxy_routes_gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&proxy_routes_lock);
	proxy_route_put(old);
}

int proxy_routes_remove(uint16_t port)
{
	struct proxy_route *old;

	pthread_mutex_lock(&proxy_routes_lock);
	old = proxy_routes_table[port];
	proxy_routes_table[port] = NULL;
	__atomic_add_fetch(&proxy_routes_gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&proxy_routes_lock);
	proxy_route_put(old);
	return old ? 0 : -ENOENT;
}

struct proxy_route *proxy_routes_lookup(uint16_t port)
{
	struct proxy_route *r;

	pthread_mutex_lock(&proxy_routes_lock);
	r = proxy_route_get(proxy_routes_table[port]);
	pthread_mutex_unlock(&proxy_routes_lock);
	return r;
}

unsigned proxy_routes_generation(void)
{
	return __atomic_load_n(&proxy_routes_gen, __ATOMIC_ACQUIRE);
}

void proxy_routes_clear(void)
{
	for (size_t p = 0; p < 65536; p++)
		if (proxy_routes_table[p])
			proxy_routes_remove((uint16_t)p);
}

static int proxy_route_port(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int proxy_route_parse(const char *arg, char addr[PROXY_BIND_MAX], uint16_t *port,
		      uint16_t *backend_port)
{
	char buf[PROXY_BIND_MAX + 16], *eq, *colon, *a = NULL;
	uint16_t p, b;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	eq = strrchr(buf, '=');
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	if (proxy_route_port(eq + 1, &b))
		return -EINVAL;
	colon = strrchr(buf, ':');
	if (colon) {
		*colon = '\0';
		a = buf;
		if (*a == '[') {
			size_t n = strlen(a);

			if (n < 3 || a[n - 1] != ']')
				return -EINVAL;
			a[n - 1] = '\0';
			a++;
		} else if (strchr(a, ':')) {
			return -EINVAL; /* IPv6 needs brackets */
		}
		if (!*a)
			return -EINVAL;
	}
	if (proxy_route_port(colon ? colon + 1 : buf, &p))
		return -EINVAL;
	if (!a)
		a = "0.0.0.0";
	if (strlen(a) >= PROXY_BIND_MAX)
		return -EINVAL;
	memcpy(addr, a, strlen(a) + 1);
	*port = p;
	*backend_port = b;
	return 0;
}
