/* SPDX-License-Identifier: MIT */
/* nft: portgate's nftables table (inet portgate) through libnftnl + libmnl, one batch a change. */
#ifndef PORTGATE_NFT_H
#define PORTGATE_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the library installs (docs/enforcement-nft.md shows it as `nft list` prints it):
 *
 *   table inet portgate
 *     set localonly       inet_proto . inet_service       reached from lo only
 *     set open            inet_proto . inet_service       public ports
 *     set restricted_src  inet_proto . inet_service       ports that have an allowlist
 *     set allowed4        ipv4_addr . inet_proto . inet_service, flags interval,timeout
 *     set allowed6        ipv6_addr . inet_proto . inet_service, flags interval,timeout
 *     set blocked4        ipv4_addr, flags timeout
 *     set blocked6        ipv6_addr, flags timeout
 *     set managed         inet_proto . inet_service, flags interval (closed-by-default only)
 *     chain prerouting    filter hook prerouting priority -150 (before Docker's DNAT)
 *     chain input         filter hook input priority 0
 *
 * Both chains (policy accept) hold the same rules: established/related and lo accepted, then
 * drops, each counted and logged to one NFLOG group with a prefix naming the reason.
 *
 * A context is one namespace's netlink sockets: not thread-safe, use one per thread.
 */

#define NFT_TABLE		"portgate"
#define NFT_NFLOG_GROUP_DEFAULT 4242

/* The named sets, in the order nft_status reports them. */
enum nft_setname {
	NFT_LOCALONLY,
	NFT_OPEN,
	NFT_RESTRICTED_SRC,
	NFT_ALLOWED4,
	NFT_ALLOWED6,
	NFT_BLOCKED4,
	NFT_BLOCKED6,
	NFT_MANAGED,
	NFT_NSETS,
};

/* Why a packet was dropped: one rule (and one log prefix) per reason in each chain. */
enum nft_reason {
	NFT_DROP_BLOCKED,    /* "pg:blocked ": source in blocked4/blocked6 */
	NFT_DROP_LOCALONLY,  /* "pg:localonly ": a localhost-only port reached from outside */
	NFT_DROP_NOTALLOWED, /* "pg:notallowed ": an allowlisted port, source not listed */
	NFT_DROP_CLOSED,     /* "pg:closed ": unallocated port in a managed range */
	NFT_NDROPS,
};

struct nft_ctx;
struct nft_batch;

struct nft_opts {
	const char *netns;	/* NULL or "" = the caller's namespace, else /var/run/netns/NAME */
	unsigned nflog_group;	/* 0 = NFT_NFLOG_GROUP_DEFAULT */
	bool closed_by_default; /* drop what is in `managed` and not in `open` */
};

/* A port: proto is IPPROTO_TCP or IPPROTO_UDP, port 1..65535. */
struct nft_port {
	uint8_t proto;
	uint16_t port;
};

/* An allowed source (address/prefix) for one port, optionally temporary. */
struct nft_source {
	uint8_t proto;
	uint16_t port;
	int family;	     /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network order; the first 4 bytes for AF_INET */
	uint8_t prefix;	     /* 0..32 or 0..128; host bits are ignored */
	uint32_t timeout_ms; /* 0 = no timeout */
};

/* A managed range for closed-by-default: first..last inclusive. */
struct nft_range {
	uint8_t proto;
	uint16_t first, last;
};

/* The whole state, for the atomic resync. Arrays may be NULL when their count is 0. */
struct nft_desired {
	const struct nft_port *localonly;
	size_t n_localonly;
	const struct nft_port *open; /* public ports */
	size_t n_open;
	const struct nft_port *restricted_src; /* ports that have an allowlist */
	size_t n_restricted_src;
	const struct nft_source *allowed;
	size_t n_allowed;
	const struct nft_range *managed; /* used when closed_by_default */
	size_t n_managed;
};

/* What nft_check found. Counts are from the kernel; *_want from what this context expects. */
struct nft_status {
	bool table;		    /* table inet portgate exists */
	unsigned chains;	    /* our base chains present and hooked as built (of 2) */
	unsigned rules;		    /* rules in them */
	unsigned rules_want;	    /* rules they should hold */
	unsigned sets;		    /* named sets present with the type we build (of NFT_NSETS) */
	long elems[NFT_NSETS];	    /* elements per set; -1 when the set is missing */
	long elems_want[NFT_NSETS]; /* expected; -1 when not tracked (timeouts, no expectation) */
	uint64_t drops[NFT_NDROPS]; /* packets dropped, both chains summed */
	uint64_t drop_bytes[NFT_NDROPS];
	char problem[192]; /* the first damage found; "" when healthy */
};

/*
 * Opens a netlink socket in o->netns (the calling thread joins the namespace only for socket()
 * and returns to its own), and probes nftables there. Returns 0 with *out set (free it with
 * nft_close), or -errno with a sentence in err (errlen may be 0): -ENOENT no such netns,
 * -EPROTONOSUPPORT/-EOPNOTSUPP no nftables in the kernel, -EPERM without CAP_NET_ADMIN.
 */
int nft_open(const struct nft_opts *o, struct nft_ctx **out, char *err, size_t errlen);

/* Closes both sockets and frees n. Accepts NULL. Leaves the kernel table as it is. */
void nft_close(struct nft_ctx *n);

/* What the last failed call of n was doing and why ("NEWSETELEM allowed4: File exists"). */
const char *nft_strerror(const struct nft_ctx *n);

/*
 * One batch: delete the table if present, then create table, sets, chains, rules and elements.
 * Atomic: the kernel sees the old ruleset or the new one, never a mix. Overlapping allowed
 * sources of one port and overlapping managed ranges are merged first (the kernel's interval
 * sets refuse overlaps): where they overlap, the longest lifetime wins. Blocked sources are
 * runtime state, not in d: those in the kernel are carried over with the time they have left.
 * Also sets what nft_check expects. Returns 0 or -errno (the table is then as before).
 */
int nft_resync(struct nft_ctx *n, const struct nft_desired *d);

/*
 * Incremental, one batch each, idempotent: adding a present element or removing an absent one
 * succeeds. An add into a set with timeouts replaces the element: its new timeout (or none)
 * holds, so a re-grant restarts its clock. Recent kernels do that on a plain re-add; older
 * ones get add, delete, add (learned once per context from a throwaway table
 * inet portgate_probe). -ENOENT: the table or set is missing (resync); -EEXIST: an allowed
 * range overlaps another already in the kernel (resync merges them).
 */
int nft_port_localonly(struct nft_ctx *n, const struct nft_port *p, bool add);
int nft_port_open(struct nft_ctx *n, const struct nft_port *p, bool add);
int nft_port_restrict_src(struct nft_ctx *n, const struct nft_port *p, bool add);
int nft_source_allow(struct nft_ctx *n, const struct nft_source *s, bool add);
/* Blocks one address (AF_INET: 4 bytes, AF_INET6: 16) for timeout_ms (0 = until removed). */
int nft_source_block(struct nft_ctx *n, int family, const uint8_t *addr, uint32_t timeout_ms);

/*
 * Generic multi-change transaction: one API call (e.g. port-add with 3 allowed CIDRs) is one
 * batch. nft_batch_begin allocates (n may be NULL for a batch that is only built, in tests);
 * nft_batch_add_* record changes (validated at once: -EINVAL); nft_batch_commit sends them as
 * one batch and reads every acknowledgement: all applied, or none (-errno). The same key
 * changed twice in one batch: the last change wins. nft_batch_free accepts NULL.
 */
int nft_batch_begin(struct nft_ctx *n, struct nft_batch **out);
/* set: NFT_LOCALONLY, NFT_OPEN or NFT_RESTRICTED_SRC. */
int nft_batch_add_port(struct nft_batch *b, enum nft_setname set, const struct nft_port *p,
		       bool add);
int nft_batch_add_source(struct nft_batch *b, const struct nft_source *s, bool add);
int nft_batch_add_block(struct nft_batch *b, int family, const uint8_t *addr, uint32_t timeout_ms,
			bool add);
size_t nft_batch_count(const struct nft_batch *b);
int nft_batch_commit(struct nft_batch *b);
void nft_batch_free(struct nft_batch *b);

/*
 * Drift. Reads the table, chains, rules (with their counters), sets and elements. Returns 1 when
 * everything is there as built (and sets whose content this context tracks hold exactly what it
 * expects), 0 when missing or damaged (st->problem says what), -errno. st may be NULL.
 */
int nft_check(struct nft_ctx *n, struct nft_status *st);

/*
 * Tells n what the kernel should hold without touching it (e.g. a new process that did not
 * resync): localonly, open and restricted_src are then compared element by element, managed
 * by count. nft_resync and successful batches keep this up to date.
 */
int nft_expect(struct nft_ctx *n, const struct nft_desired *d);

/*
 * Netlink monitor for drift: an fd (non-blocking, close-on-exec, owned by n) subscribed to
 * NFNLGRP_NFTABLES in n's namespace; poll it for input. nft_monitor_read drains it and returns
 * 1 when an event from another process touched table inet portgate (table, chain, rule, set or
 * element added or deleted; or events were lost), 0 otherwise, -errno. The changes n makes
 * itself are not reported.
 */
struct nft_event {
	uint16_t type;	  /* NFT_MSG_DELTABLE, NFT_MSG_NEWRULE, ... (0: events were lost) */
	uint32_t portid;  /* the netlink port of the process that made the change */
	char object[64];  /* chain or set name ("" for the table) */
	const char *what; /* "deltable", "newrule", ... */
};
int nft_monitor_open(struct nft_ctx *n);
int nft_monitor_read(struct nft_ctx *n);
/* As nft_monitor_read, also calling cb (may be NULL) for each event that touched the table. */
int nft_monitor_read_cb(struct nft_ctx *n, void (*cb)(const struct nft_event *ev, void *data),
			void *data);

/*
 * Deletes table inet portgate (and inet portgate_probe, should a crash have left it) and nothing
 * else, in one batch. 0 also when it was absent.
 */
int nft_uninstall(struct nft_ctx *n);

/* The name of a set ("localonly", ...) and of a drop reason ("closed", ...). */
const char *nft_set_name(enum nft_setname s);
const char *nft_reason_name(enum nft_reason r);

/*
 * Builds the resync batch for o and d into buf without a kernel (for tests and --dry-run):
 * batch begin, messages numbered from seq + 1 with NLM_F_ACK, batch end. Returns its length in
 * bytes, -EMSGSIZE when it does not fit in len (the batch filled), -EINVAL for invalid input,
 * -ENOMEM.
 */
long nft_build_resync(const struct nft_opts *o, const struct nft_desired *d, uint32_t seq,
		      void *buf, size_t len);

/* Builds batch b the same way (what nft_batch_commit would send, once it knows the kernel). */
long nft_batch_build(struct nft_batch *b, uint32_t seq, void *buf, size_t len);

/*
 * The largest single message the builders write. mnl's batch keeps the message that did not fit
 * past its limit, so of a caller buffer of len bytes, len - NFT_MSG_MAX hold the batch.
 */
#define NFT_MSG_MAX 32768

#endif
