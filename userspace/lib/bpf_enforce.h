/* SPDX-License-Identifier: MIT */
/* bpf_enforce: loads, pins, attaches and feeds the port-policy BPF cgroup programs. */
#ifndef PORTGATE_BPF_ENFORCE_H
#define PORTGATE_BPF_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "portgate/port_policy.h"
#include "bpf_cgroup.h"

/*
 * What gets installed, all from one object (bpf/port_policy.bpf.c):
 *   programs  pg_bind4 pg_bind6 pg_connect4 pg_connect6 pg_sockops, attached to one cgroup v2
 *             directory through bpf_links (BPF_F_ALLOW_MULTI semantics: cgroups below it cannot
 *             switch them off);
 *   pins      PIN_DIR/{ports,settings,events,counters,sk_owner} (maps) and
 *             PIN_DIR/link_{bind4,bind6,connect4,connect6,sockops} (links).
 * The pins keep everything enforced while no process holds it open. Not thread-safe: one handle
 * per thread, or a lock around it.
 */
struct bpf_enforce;

#define BPF_ENFORCE_NPROGS 5

struct bpf_enforce_opts {
	const char *cgroup_path; /* cgroup v2 directory to attach to */
	const char *pin_dir;	 /* e.g. /sys/fs/bpf/portgate (created, on a bpf filesystem) */
	unsigned mode;		 /* PG_MODE_*, written to the settings map at every open */
};

/*
 * Loads the programs and attaches them to o->cgroup_path, pinning maps and links under o->pin_dir.
 * When pin_dir already holds a set from an earlier run (a portgated restart or crash), re-opens
 * it instead: the pinned maps are reused with their contents, and each pinned link gets the
 * freshly loaded program swapped in atomically (bpf_link_update), so nothing is detached at any
 * moment. Pinned links found detached are replaced. When pin_dir's parent is /sys/fs/bpf and no
 * bpf filesystem is mounted there, one is mounted (as bpftool and systemd do).
 *
 * Returns 0 with *out set (free with bpf_enforce_close), or -errno with one line in err:
 *   -EINVAL      bad options, or cgroup_path is not a cgroup v2 directory;
 *   -ENOENT      cgroup_path does not exist;
 *   -EPERM       BPF not permitted here (capabilities, lockdown, seccomp);
 *   -EOPNOTSUPP  the kernel lacks a program type, a hook or a map type;
 *   -EXDEV       pin_dir is not on a bpf filesystem;
 *   -EEXIST      pin_dir holds an incompatible set (another layout, or attached to another
 *                cgroup): bpf_enforce_uninstall() it first;
 *   other        -errno from the kernel.
 * On failure nothing made by this call is left behind. err may be NULL.
 */
int bpf_enforce_open(const struct bpf_enforce_opts *o, struct bpf_enforce **out, char *err,
		     size_t errlen);

/* Closes every fd and frees e; the pinned programs stay attached and enforced. Accepts NULL. */
void bpf_enforce_close(struct bpf_enforce *e);

/*
 * Sets the entry of (proto, port), proto IPPROTO_TCP or IPPROTO_UDP; v->pad is written as zero.
 * Enforced by the kernel when this returns 0. -EINVAL for another protocol, or -errno.
 */
int bpf_enforce_set_port(struct bpf_enforce *e, int proto, uint16_t port,
			 const struct pg_port_val *v);

/* Zeroes the entry of (proto, port): the port is no longer managed. 0 or -errno. */
int bpf_enforce_clear_port(struct bpf_enforce *e, int proto, uint16_t port);

/* Reads the entry of (proto, port) into *v. 0 or -errno. */
int bpf_enforce_get_port(struct bpf_enforce *e, int proto, uint16_t port, struct pg_port_val *v);

/*
 * Replaces the whole table: vals[pg_port_index(PG_PROTO_*, port)], PG_PORT_ENTRIES entries (zero
 * entries clear their port). One BPF_MAP_UPDATE_BATCH call where the kernel has it, else one
 * update per entry. Each entry changes atomically, the table as a whole does not: a bind racing
 * with the resync sees every entry either old or new. 0 or -errno.
 */
int bpf_enforce_load_all(struct bpf_enforce *e, const struct pg_port_val *vals);

/* Writes the settings (mode, proxy cgroup); s->pad is written as zero. 0, -EINVAL, -errno. */
int bpf_enforce_set_settings(struct bpf_enforce *e, const struct pg_settings *s);

/* Reads the settings. 0 or -errno. */
int bpf_enforce_get_settings(struct bpf_enforce *e, struct pg_settings *s);

/* The mode (PG_MODE_*) the pinned settings map held before this open reused it, or -1 when the
 * map is new: a mode changed across a restart is then known. */
int bpf_enforce_prev_mode(const struct bpf_enforce *e);

/*
 * Drift check: 0 when every program is attached to the cgroup through our link (the program ids
 * from BPF_PROG_QUERY on the cgroup include each link's program) and every pin still names our
 * map or link; -ENOLINK when something is missing (repair with bpf_enforce_repair); -ENOENT when
 * the cgroup itself is gone; other -errno when the check could not be made.
 */
int bpf_enforce_check(struct bpf_enforce *e);

/*
 * Reattaches every program found detached (a new link, pinned in place of the old one) and
 * re-pins missing pins. Returns the number of programs reattached plus pins restored (0: nothing
 * to do), or -errno (-ENOENT when the cgroup is gone).
 */
int bpf_enforce_repair(struct bpf_enforce *e);

/* The `events` ring buffer's fd, for ring_buffer__new(); records are struct pg_event. */
int bpf_enforce_events_fd(struct bpf_enforce *e);

struct bpf_enforce_status {
	unsigned n_attached;		/* our programs found attached to the cgroup */
	unsigned n_expected;		/* BPF_ENFORCE_NPROGS */
	unsigned long port_entries_set; /* non-zero entries in the ports map */
	char pin_dir[256];
	char cgroup[4096];
	unsigned mode; /* PG_MODE_*, as the settings map holds it */
	/* Appended: */
	uint64_t cgroup_id;	  /* id of the cgroup attached to */
	uint64_t proxy_cgroup_id; /* settings.proxy_cgroup_id */
	unsigned n_pins_ok;	  /* pins naming our maps and links, of BPF_ENFORCE_NPINS */
	uint64_t counters[PG_CNT_ENTRIES];     /* PG_CNT_*, summed over CPUs since load */
	uint32_t prog_ids[BPF_ENFORCE_NPROGS]; /* bind4 bind6 connect4 connect6 sockops (0: none) */
};

#define BPF_ENFORCE_NPINS (BPF_ENFORCE_NPROGS + 5)

/* Fills *st (a full scan of the ports map, ~1 ms). 0 or -errno. */
int bpf_enforce_status(struct bpf_enforce *e, struct bpf_enforce_status *st);

/*
 * Removes what portgate made under pin_dir and nothing else: every link pin is detached
 * (BPF_LINK_DETACH) and unpinned, every map pin unpinned, then pin_dir itself if it is left
 * empty. Works without an open handle (e.g. `portgate uninstall` with portgated stopped); a
 * handle still open on the set enforces nothing afterwards. Returns the number of pins removed
 * (0: nothing was installed), or the first -errno met (it keeps going past errors).
 */
int bpf_enforce_uninstall(const char *pin_dir);

/*
 * Can the programs be loaded here? Loads (without attaching) the whole object. Returns 0, or
 * -errno with the reason in err: -EPERM (not permitted), -EOPNOTSUPP (kernel lacks a feature),
 * -ENOENT (no cgroup v2 mount).
 */
int bpf_enforce_probe(char *err, size_t errlen);

/* Names for the codes in struct pg_event ("denied", "localhost-only", "bind", ...). */
const char *bpf_enforce_verdict_name(unsigned verdict);
const char *bpf_enforce_reason_name(unsigned reason);
const char *bpf_enforce_action_name(unsigned action);
const char *bpf_enforce_mode_name(unsigned mode);

/* "enforce", "rewrite", "audit-only" or "strict" to PG_MODE_*; -EINVAL for anything else. */
int bpf_enforce_mode_parse(const char *s);

#endif
