/* SPDX-License-Identifier: MIT */
/* bpf_enforce_int: what bpf_enforce.c and bpf_enforce_state.c share; for no other module. */
#ifndef PORTGATE_BPF_ENFORCE_INT_H
#define PORTGATE_BPF_ENFORCE_INT_H

#include <stdint.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf_enforce.h"

#define BPF_ENFORCE_NMAPS 5

/* Indexes of bpf_enforce.maps[] and bpf_enforce_map_pins[]. */
enum bpf_enforce_map {
	BPF_ENFORCE_MAP_PORTS,
	BPF_ENFORCE_MAP_SETTINGS,
	BPF_ENFORCE_MAP_EVENTS,
	BPF_ENFORCE_MAP_COUNTERS,
	BPF_ENFORCE_MAP_SK_OWNER,
};

struct port_policy_bpf;

/* One open set: the loaded object and what it is attached and pinned as. */
struct bpf_enforce {
	struct port_policy_bpf *skel;		       /* owns the program and map fds */
	struct bpf_program *progs[BPF_ENFORCE_NPROGS]; /* bind4 bind6 connect4 connect6 sockops */
	struct bpf_map *maps[BPF_ENFORCE_NMAPS];       /* enum bpf_enforce_map order */
	int links[BPF_ENFORCE_NPROGS];		       /* bpf_link fds, -1 when none */
	int cgroup_fd;				       /* the cgroup attached to */
	uint64_t cgroup_id;
	int prev_mode; /* the mode a reused settings map held before this open; -1: a new map */
	char pin_dir[256];
	char cgroup[4096];
};

/* Pin names under pin_dir: link_* in program order (bind4 bind6 connect4 connect6 sockops), then
 * the maps in enum bpf_enforce_map order. */
extern const char *const bpf_enforce_link_pins[BPF_ENFORCE_NPROGS];
extern const char *const bpf_enforce_map_pins[BPF_ENFORCE_NMAPS];

/* Route libbpf's output to the log (debug level) for the duration of one API call. */
libbpf_print_fn_t bpf_enforce_print_begin(void);
void bpf_enforce_print_end(libbpf_print_fn_t old);

/* dir/name into buf; -ENAMETOOLONG when it does not fit. */
int bpf_enforce_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* The kind of BPF object behind fd: 'm'ap, 'l'ink, 'p'rog, or 0 for anything else. */
char bpf_enforce_fd_kind(int fd);

/* Link info of fd (zeroed first); -EINVAL when fd is not a link. */
int bpf_enforce_link_info(int fd, struct bpf_link_info *info);

/* Map id of fd; -EINVAL when fd is not a map. */
int bpf_enforce_map_id(int fd, __u32 *id);

/* A new bpf_link attaching program i to e's cgroup: its fd, or -errno. */
int bpf_enforce_attach_one(struct bpf_enforce *e, int i);

#endif
