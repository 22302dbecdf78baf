/* SPDX-License-Identifier: MIT */
/* reconciler: makes the kernel (BPF port map, nftables sets) match the registry. */
#ifndef PORTGATED_RECONCILER_H
#define PORTGATED_RECONCILER_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdint.h>
#include "daemon.h"

struct reconciler;

/* Opens the kernel side as configured (--enforce off: *out = NULL, 0). Loads or re-opens the
 * pinned BPF programs on the cgroup and the nftables table in the netns; -errno with one line
 * in err when the kernel lacks something (BPF not permitted, no nftables...). */
int reconciler_open(struct daemon *d, struct reconciler **out, char *err, size_t errlen);
void reconciler_close(struct reconciler *r);

/* Full, atomic resync from a REG_READ_GLOBAL reply. 0 or -errno. */
int reconciler_resync(struct reconciler *r, const redisReply *global);
/* Incremental: one allocation appeared or went away (its record as the API returns it).
 * Applied before the API answers. 0 or -errno (the caller schedules a resync). */
int reconciler_port_added(struct reconciler *r, json_t *rec);
int reconciler_port_removed(struct reconciler *r, json_t *rec);
/* Asks for a resync from the registry soon (after drift, cleanup or an error). */
void reconciler_request_resync(struct reconciler *r);

/* The cgroup v2 directory the programs are attached to (NULL when r is NULL). */
const char *reconciler_cgroup(const struct reconciler *r);
/* The cgroup of portgate-proxy (0: none): backends accept connections only from it. Written to
 * the kernel now and at every resync. 0 or -errno. */
int reconciler_set_proxy_cgroup(struct reconciler *r, uint64_t id);
/* Puts the address (IPv4 or IPv6 text) in the nftables blocked set for `seconds`. 0 or -errno. */
int reconciler_block(struct reconciler *r, const char *addr, unsigned seconds);

/* The kernel's view for `portgate status`; sets *in_sync. New reference. */
json_t *reconciler_status(struct reconciler *r, bool *in_sync);
/* Removes every kernel object portgate made and stops enforcing (registry only from now). */
int reconciler_uninstall(struct reconciler *r);

#endif
