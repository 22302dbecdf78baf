/* SPDX-License-Identifier: MIT */
/* bpf_cgroup: cgroup v2 paths, ids and membership, as the BPF cgroup programs see them. */
#ifndef PORTGATE_BPF_CGROUP_H
#define PORTGATE_BPF_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The cgroup v2 mount point, the first "cgroup2" entry of /proc/self/mounts (never assumed: it is
 * /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one). Returns 0 with out
 * set, -ENOENT when there is none, -ENAMETOOLONG when out is too small.
 */
int bpf_cgroup2_mount(char *out, size_t outlen);

/*
 * The id of the cgroup v2 directory at path, as bpf_get_current_cgroup_id() returns it for the
 * tasks inside (the kernfs node id, which is also the directory's inode number on 64-bit hosts).
 * Returns 0 with *id set, -ENOENT, -ENOTDIR, or -EINVAL when path is not on a cgroup v2 mount.
 */
int bpf_cgroup_id(const char *path, uint64_t *id);

/* Moves pid (0: the caller) into the cgroup v2 directory at path. Returns 0 or -errno. */
int bpf_cgroup_move(const char *path, pid_t pid);

/*
 * The path of the cgroup v2 directory that pid (0: the caller) is in, from /proc/PID/cgroup and the
 * cgroup2 mount. Returns 0 with out set, or -errno.
 */
int bpf_cgroup_of(pid_t pid, char *out, size_t outlen);

/*
 * Removes the cgroup directory at path and every cgroup below it, first moving the processes
 * still inside to path's parent. Meant for cgroups a test or benchmark created; refuses (-EPERM)
 * the cgroup2 mount's root. Returns 0, or the first -errno met (it keeps going past errors).
 */
int bpf_cgroup_remove(const char *path);

#endif
