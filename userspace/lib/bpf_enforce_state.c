// SPDX-License-Identifier: MIT
/* bpf_enforce_state: what the kernel holds (attachments, pins, table), drift repair, uninstall. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf_enforce.h"
#include "bpf_enforce_int.h"

#define NPROGS BPF_ENFORCE_NPROGS
#define NMAPS  BPF_ENFORCE_NMAPS

/* What the kernel holds, compared with what this handle expects. */
struct scan {
	bool attached[NPROGS]; /* our link's program is in the cgroup's program list */
	bool link_pinned[NPROGS];
	bool map_pinned[NMAPS];
	__u32 prog_ids[NPROGS];
	unsigned n_attached, n_pins_ok;
};

/* 0 while the cgroup directory we attached to still exists, else -ENOENT. */
static int cgroup_alive(struct bpf_enforce *e)
{
	uint64_t id;

	if (bpf_cgroup_id(e->cgroup, &id) < 0 || id != e->cgroup_id)
		return -ENOENT;
	return 0;
}

static bool pin_names(const char *path, __u32 id, bool is_link)
{
	struct bpf_link_info info;
	__u32 got = 0;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	if (is_link) {
		if (bpf_enforce_link_info(fd, &info) == 0)
			got = info.id;
	} else {
		bpf_enforce_map_id(fd, &got);
	}
	close(fd);
	return got != 0 && got == id;
}

static int scan(struct bpf_enforce *e, struct scan *s)
{
	char path[PATH_MAX];
	__u32 ids[1024];

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NPROGS; i++) {
		LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = 1024);
		struct bpf_link_info info;

		if (bpf_prog_query_opts(e->cgroup_fd,
					bpf_program__expected_attach_type(e->progs[i]), &q) < 0)
			return -errno;
		if (e->links[i] < 0 || bpf_enforce_link_info(e->links[i], &info) < 0 ||
		    info.cgroup.cgroup_id != e->cgroup_id)
			continue;
		s->prog_ids[i] = info.prog_id;
		for (__u32 k = 0; k < q.prog_cnt; k++)
			if (ids[k] == info.prog_id)
				s->attached[i] = true;
		s->n_attached += s->attached[i];
		if (bpf_enforce_pin_path(path, sizeof(path), e->pin_dir,
					 bpf_enforce_link_pins[i]) == 0)
			s->link_pinned[i] = pin_names(path, info.id, true);
		s->n_pins_ok += s->link_pinned[i];
	}
	for (int j = 0; j < NMAPS; j++) {
		__u32 id = 0;

		if (bpf_enforce_map_id(bpf_map__fd(e->maps[j]), &id) < 0)
			continue;
		if (bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_map_pins[j]) ==
		    0)
			s->map_pinned[j] = pin_names(path, id, false);
		s->n_pins_ok += s->map_pinned[j];
	}
	return 0;
}

int bpf_enforce_check(struct bpf_enforce *e)
{
	struct scan s;
	int ret;

	ret = cgroup_alive(e);
	if (ret < 0)
		return ret;
	ret = scan(e, &s);
	if (ret < 0)
		return ret;
	return s.n_attached == NPROGS && s.n_pins_ok == BPF_ENFORCE_NPINS ? 0 : -ENOLINK;
}

/* Pins fd at path in place of whatever is there. */
static int repin(int fd, const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return bpf_obj_pin(fd, path) < 0 ? -errno : 0;
}

int bpf_enforce_repair(struct bpf_enforce *e)
{
	char path[PATH_MAX];
	libbpf_print_fn_t old;
	int ret, fixed = 0;
	struct scan s;

	ret = cgroup_alive(e);
	if (ret < 0)
		return ret;
	old = bpf_enforce_print_begin();
	ret = scan(e, &s);
	if (ret < 0)
		goto out;
	if (mkdir(e->pin_dir, 0700) < 0 && errno != EEXIST) { /* removed by hand? */
		ret = -errno;
		goto out;
	}
	for (int i = 0; i < NPROGS; i++) {
		ret =
		    bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_link_pins[i]);
		if (ret < 0)
			goto out;
		if (s.attached[i]) {
			if (!s.link_pinned[i]) {
				ret = repin(e->links[i], path);
				if (ret < 0)
					goto out;
				fixed++;
			}
			continue;
		}
		/* Detached (by hand, or its link was unpinned and closed): a new link, pinned in
		 * place of whatever the pin holds now. */
		ret = bpf_enforce_attach_one(e, i);
		if (ret < 0)
			goto out;
		if (e->links[i] >= 0)
			close(e->links[i]); /* detached already: closing it changes nothing */
		e->links[i] = ret;
		ret = repin(e->links[i], path);
		if (ret < 0)
			goto out;
		fixed++;
	}
	for (int j = 0; j < NMAPS; j++) {
		if (s.map_pinned[j])
			continue;
		ret = bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_map_pins[j]);
		if (ret == 0)
			ret = repin(bpf_map__fd(e->maps[j]), path);
		if (ret < 0)
			goto out;
		fixed++;
	}
	ret = fixed;
out:
	bpf_enforce_print_end(old);
	return ret;
}

/* Non-zero entries of the ports map: batched reads, else one lookup per entry. */
static long count_ports(struct bpf_enforce *e)
{
	enum { CHUNK = 8192 };
	int fd = bpf_map__fd(e->maps[BPF_ENFORCE_MAP_PORTS]);
	struct pg_port_val *vals;
	__u32 *keys, in = 0, next = 0;
	long n = 0;
	bool first = true, done = false;

	keys = calloc(CHUNK, sizeof(*keys));
	vals = calloc(CHUNK, sizeof(*vals));
	if (!keys || !vals) {
		n = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = CHUNK;

		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &next, keys, vals, &count, NULL) <
		    0) {
			if (errno != ENOENT) {
				n = -errno;
				break;
			}
			done = true; /* ENOENT: the last chunk, count still valid */
		}
		for (__u32 k = 0; k < count; k++)
			n += vals[k].flags != 0 || vals[k].cgroup_id != 0;
		in = next;
		first = false;
	}
	if (n >= 0 || (n != -EINVAL && n != -EOPNOTSUPP && n != -ENOTSUP))
		goto out;
	n = 0;
	for (__u32 k = 0; k < PG_PORT_ENTRIES; k++) {
		struct pg_port_val v;

		if (bpf_map_lookup_elem(fd, &k, &v) < 0) {
			n = -errno;
			break;
		}
		n += v.flags != 0 || v.cgroup_id != 0;
	}
out:
	free(keys);
	free(vals);
	return n;
}

static int read_counters(struct bpf_enforce *e, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(e->maps[BPF_ENFORCE_MAP_COUNTERS]);
	__u64 *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < PG_CNT_ENTRIES; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals) < 0)
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int bpf_enforce_status(struct bpf_enforce *e, struct bpf_enforce_status *st)
{
	struct pg_settings set;
	struct scan s;
	long ports;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = scan(e, &s);
	if (ret < 0)
		return ret;
	ret = bpf_enforce_get_settings(e, &set);
	if (ret < 0)
		return ret;
	ports = count_ports(e);
	if (ports < 0)
		return (int)ports;
	ret = read_counters(e, st->counters);
	if (ret < 0)
		return ret;
	st->n_attached = s.n_attached;
	st->n_expected = NPROGS;
	st->port_entries_set = (unsigned long)ports;
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%s", e->pin_dir);
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", e->cgroup);
	st->mode = set.mode;
	st->cgroup_id = e->cgroup_id;
	st->proxy_cgroup_id = set.proxy_cgroup_id;
	st->n_pins_ok = s.n_pins_ok;
	memcpy(st->prog_ids, s.prog_ids, sizeof(st->prog_ids));
	return 0;
}

int bpf_enforce_uninstall(const char *pin_dir)
{
	struct bpf_link_info info;
	char path[PATH_MAX];
	int n = 0, ret = 0, fd;

	for (int i = 0; i < NPROGS + NMAPS; i++) {
		bool is_link = i < NPROGS;

		if (bpf_enforce_pin_path(path, sizeof(path), pin_dir,
					 is_link ? bpf_enforce_link_pins[i]
						 : bpf_enforce_map_pins[i - NPROGS]) < 0)
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT && errno != ENOTDIR && ret == 0)
				ret = -errno;
			continue;
		}
		/* Only what portgate pins under these names; anything else stays. */
		if (is_link
			? bpf_enforce_link_info(fd, &info) < 0 || info.type != BPF_LINK_TYPE_CGROUP
			: bpf_enforce_fd_kind(fd) != 'm') {
			close(fd);
			continue;
		}
		/* Detach now, even while a portgated still holds the link open. */
		if (is_link && info.cgroup.cgroup_id != 0 && bpf_link_detach(fd) < 0 && ret == 0)
			ret = -errno;
		close(fd);
		if (unlink(path) < 0) {
			if (ret == 0)
				ret = -errno;
			continue;
		}
		n++;
	}
	if (rmdir(pin_dir) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != ENOTDIR &&
	    ret == 0)
		ret = -errno;
	return ret < 0 ? ret : n;
}
