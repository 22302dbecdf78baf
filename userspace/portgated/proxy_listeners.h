/* SPDX-License-Identifier: MIT */
/* proxy_listeners: the token-protected ports portgate-proxy serves, and what it reports back. */
#ifndef PORTGATED_PROXY_LISTENERS_H
#define PORTGATED_PROXY_LISTENERS_H

#include <hiredis/hiredis.h>

struct proxy_supervisor;

/* Brings the proxy's listeners in line with the registry (a full read); call when the registry
 * becomes ready and after changes made without a record (cleanup). Accepts NULL. */
void proxy_listeners_sync(struct proxy_supervisor *s);

/* Incremental, before the API answers: a port record (the raw reply of the script, hashes
 * included) was added or released. Only token-protected tcp ports with a backend concern the
 * proxy: portgated binds the listening socket itself and hands it over. Accept NULL. */
void proxy_listeners_port_added(struct proxy_supervisor *s, const redisReply *rec);
void proxy_listeners_port_removed(struct proxy_supervisor *s, const redisReply *rec);

#endif
