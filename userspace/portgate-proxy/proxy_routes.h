/* SPDX-License-Identifier: MIT */
/* proxy_routes: the port -> route table (backend, token hash, names), shared by all threads. */
#ifndef PORTGATE_PROXY_ROUTES_H
#define PORTGATE_PROXY_ROUTES_H

#include <stdint.h>
#include "token.h"

#define PROXY_HEADER_NAME_MAX 64
#define PROXY_NAME_MAX	      128
#define PROXY_BIND_MAX	      64

/*
 * One protected port. Immutable once built and shared by reference: a change builds a new
 * route and swaps it in, and connections keep the one they started with.
 */
struct proxy_route {
	int refs;				  /* atomic */
	uint16_t port;				  /* the public (listening) port */
	uint16_t backend_port;			  /* on 127.0.0.1 */
	char token_hash[TOKEN_HASH_TEXT_LEN + 1]; /* "sha256:<hex>"; never printed */
	char token_header[PROXY_HEADER_NAME_MAX + 1];
	char bind_address[PROXY_BIND_MAX];
	char service[PROXY_NAME_MAX + 1];
	char port_name[PROXY_NAME_MAX + 1];
	/* "\"service\":\"...\",\"port_name\":\"...\"", escaped once for every event */
	char labels_json[2 * 6 * PROXY_NAME_MAX + 64];
};

/* What a route is made of (strings need not outlive the call; NULL header: the default). */
struct proxy_route_spec {
	uint16_t port, backend_port;
	const char *token_hash, *token_header, *bind_address, *service, *port_name;
};

/*
 * Builds a route with one reference. -EINVAL when a port is 0, the hash is not
 * "sha256:<64 lowercase hex>", the header name is not 1..64 token characters, or a name is
 * too long or holds control bytes; -ENOMEM.
 */
int proxy_route_new(const struct proxy_route_spec *spec, struct proxy_route **out);
struct proxy_route *proxy_route_get(struct proxy_route *r);
void proxy_route_put(struct proxy_route *r); /* NULL is fine */

/* Installs r for its port (the table takes its own reference), replacing any route there. */
void proxy_routes_set(struct proxy_route *r);
/* Removes the route of port; 0 or -ENOENT. */
int proxy_routes_remove(uint16_t port);
/* The route of port with a reference for the caller, or NULL. */
struct proxy_route *proxy_routes_lookup(uint16_t port);
/* Bumped by every set and remove: a cached route is current while this has not moved. */
unsigned proxy_routes_generation(void);
/* Drops every route (at exit). */
void proxy_routes_clear(void);

/*
 * Parses a standalone route "ADDR:PORT=BACKEND" ("127.0.0.1:18081=18080", "[::1]:8443=9001",
 * "0.0.0.0:80=8080") or "PORT=BACKEND" (ADDR 0.0.0.0). addr gets the address without brackets.
 * 0 or -EINVAL.
 */
int proxy_route_parse(const char *arg, char addr[PROXY_BIND_MAX], uint16_t *port,
		      uint16_t *backend_port);

/* Writes s as the inside of a JSON string (no quotes) into out[0..size); 0 or -ENOSPC. */
int proxy_json_escape(const char *s, char *out, size_t size);

#endif
