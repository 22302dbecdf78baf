// SPDX-License-Identifier: MIT
/* bpf_enforce: loads, pins, attaches and feeds the port-policy BPF cgroup programs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "port_policy.skel.h"
#include "bpf_enforce.h"
#include "bpf_enforce_int.h"

#define NPROGS BPF_ENFORCE_NPROGS
#define NMAPS  BPF_ENFORCE_NMAPS
#include "log.h"

/* Pin names under pin_dir; links in the order of skel_progs(), maps in that of skel_maps(). */
const char *const bpf_enforce_link_pins[NPROGS] = {
	"link_bind4", "link_bind6", "link_connect4", "link_connect6", "link_sockops",
};
const char *const bpf_enforce_map_pins[NMAPS] = {
	"ports", "settings", "events", "counters", "sk_owner",
};

static void skel_progs(struct port_policy_bpf *s, struct bpf_program **p)
{
	p[0] = s->progs.pg_bind4;
	p[1] = s->progs.pg_bind6;
	p[2] = s->progs.pg_connect4;
	p[3] = s->progs.pg_connect6;
	p[4] = s->progs.pg_sockops;
}

static void skel_maps(struct port_policy_bpf *s, struct bpf_map **m)
{
	m[0] = s->maps.ports;
	m[1] = s->maps.settings;
	m[2] = s->maps.events;
	m[3] = s->maps.counters;
	m[4] = s->maps.sk_owner;
}

/*
 * libbpf's own output: shown by the program's log in debug mode only, and its first warning of
 * the current call kept to explain a failure in the caller's one-line error.
 */
static __thread char libbpf_first[256];

__attribute__((format(printf, 2, 0))) static int libbpf_print(enum libbpf_print_level level,
							      const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level == LIBBPF_WARN && !libbpf_first[0]) {
		const char *msg = strncmp(line, "libbpf: ", 8) ? line : line + 8;
		size_t len = strnlen(msg, sizeof(libbpf_first) - 1); /* truncated on purpose */

		memcpy(libbpf_first, msg, len);
		libbpf_first[len] = '\0';
	}
	if (level != LIBBPF_DEBUG) /* libbpf's debug level is a relocation trace: too much */
		log_debug("%s", line);
	return 0;
}

libbpf_print_fn_t bpf_enforce_print_begin(void)
{
	libbpf_first[0] = '\0';
	return libbpf_set_print(libbpf_print);
}

void bpf_enforce_print_end(libbpf_print_fn_t old)
{
	libbpf_set_print(old);
}

/* Writes one line into err (with libbpf's first warning of this call, if any); returns ret. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int ret,
						      const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (libbpf_first[0] && n + 1 < errlen)
		snprintf(err + n, errlen - n, " (libbpf: %s)", libbpf_first);
	return ret;
}

int bpf_enforce_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* What kind of BPF object an fd is: 'm'ap, 'l'ink, 'p'rog, or 0. */
char bpf_enforce_fd_kind(int fd)
{
	char proc[64], target[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	if (!strcmp(target, "anon_inode:bpf-map"))
		return 'm';
	/* A link reads "bpf_link" when created, "bpf-link" when opened from its pin. */
	if (!strcmp(target, "anon_inode:bpf_link") || !strcmp(target, "anon_inode:bpf-link"))
		return 'l';
	if (!strcmp(target, "anon_inode:bpf-prog"))
		return 'p';
	return 0;
}

int bpf_enforce_link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (bpf_enforce_fd_kind(fd) != 'l')
		return -EINVAL;
	return bpf_obj_get_info_by_fd(fd, info, &len) < 0 ? -errno : 0;
}

int bpf_enforce_map_id(int fd, __u32 *id)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_enforce_fd_kind(fd) != 'm')
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*id = info.id;
	return 0;
}

/* The first kernel feature the programs need and this kernel lacks, or NULL. */
static const char *missing_feature(void)
{
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) != 1)
		return "cgroup sock_addr programs (bind and connect hooks)";
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL) != 1)
		return "sockops programs";
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		return "BPF ring buffers";
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) != 1)
		return "socket-local storage maps";
	return NULL;
}

static const char no_perm[] = "BPF not permitted (bpf() returned EPERM): portgated needs root, or "
			      "CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN; check also lockdown, "
			      "seccomp and the container's capabilities";

/* Is bpf() usable at all? One tiny map, created and closed. 0, -EPERM or -EOPNOTSUPP. */
static int bpf_usable(char *err, size_t errlen)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pg_probe", 4, 4, 1, NULL), ret;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	ret = -errno;
	if (ret == -EPERM)
		return fail(err, errlen, -EPERM, "%s", no_perm);
	if (ret == -ENOSYS)
		return fail(err, errlen, -EOPNOTSUPP, "this kernel has no bpf() system call");
	return fail(err, errlen, ret, "bpf(): %s", strerror(-ret));
}

/* Loading failed with ret: the one-line reason, mapped to the documented codes. */
static int load_failed(int ret, char *err, size_t errlen)
{
	const char *missing;

	if (ret == -EPERM)
		return fail(err, errlen, -EPERM, "%s", no_perm);
	missing = missing_feature();
	if (missing)
		return fail(err, errlen, -EOPNOTSUPP, "this kernel lacks %s", missing);
	return fail(err, errlen, ret, "loading the BPF programs: %s", strerror(-ret));
}

/*
 * Makes sure dir is a directory on a bpf filesystem, creating it (*created) and, for the standard
 * place /sys/fs/bpf, mounting the filesystem when nothing is mounted there yet.
 */
static int prepare_pin_dir(const char *dir, bool *created, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;
	struct statfs sfs;

	if (statfs(dir, &sfs) == 0) {
		if (sfs.f_type != BPF_FS_MAGIC)
			return fail(err, errlen, -EXDEV, "pin dir %s is not on a bpf filesystem",
				    dir);
		return 0;
	}
	if (errno != ENOENT)
		return fail(err, errlen, -errno, "pin dir %s: %s", dir, strerror(errno));
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return fail(err, errlen, -EXDEV, "pin dir %s is not on a bpf filesystem", dir);
	*slash = '\0';
	if (statfs(parent, &sfs) < 0)
		return fail(err, errlen, -errno, "pin dir parent %s: %s", parent, strerror(errno));
	if (sfs.f_type != BPF_FS_MAGIC) {
		if (strcmp(parent, "/sys/fs/bpf") != 0)
			return fail(err, errlen, -EXDEV,
				    "%s is not on a bpf filesystem (mount -t bpf)", parent);
		if (mount("bpf", parent, "bpf", 0, "mode=0700") < 0)
			return fail(err, errlen, -errno, "mounting a bpf filesystem on %s: %s",
				    parent, strerror(errno));
	}
	if (mkdir(dir, 0700) < 0)
		return fail(err, errlen, -errno, "creating pin dir %s: %s", dir, strerror(errno));
	*created = true;
	return 0;
}

/*
 * Is the map pinned at path (if any) the same layout as m? 1 when pinned and compatible, 0 when
 * nothing is pinned there, -EEXIST (with err) when something else is.
 */
static int check_pinned_map(struct bpf_map *m, const char *path, char *err, size_t errlen)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd, ret = 1;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (bpf_enforce_fd_kind(fd) != 'm' || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		ret = fail(err, errlen, -EEXIST, "%s is not a BPF map; uninstall first", path);
	else if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		 info.value_size != bpf_map__value_size(m) ||
		 info.max_entries != bpf_map__max_entries(m) ||
		 info.map_flags != bpf_map__map_flags(m))
		ret = fail(err, errlen, -EEXIST,
			   "pinned map %s has another layout (value size %u, %u entries; this "
			   "portgate wants %u, %u): uninstall the old set first",
			   path, info.value_size, info.max_entries, bpf_map__value_size(m),
			   bpf_map__max_entries(m));
	close(fd);
	return ret;
}

int bpf_enforce_attach_one(struct bpf_enforce *e, int i)
{
	int fd = bpf_link_create(bpf_program__fd(e->progs[i]), e->cgroup_fd,
				 bpf_program__expected_attach_type(e->progs[i]), NULL);

	return fd < 0 ? -errno : fd;
}

/*
 * Is the link pinned for program i (if any) ours to take over? 1 when it is a cgroup link of the
 * right type attached to our cgroup, 0 when there is none or it is detached (it enforces nothing:
 * replaced), -EEXIST (with err) when it is something else. Changes nothing.
 */
static int check_pinned_link(struct bpf_enforce *e, int i, const char *path, char *err,
			     size_t errlen)
{
	enum bpf_attach_type type = bpf_program__expected_attach_type(e->progs[i]);
	struct bpf_link_info info;
	int fd, ret;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	ret = bpf_enforce_link_info(fd, &info);
	close(fd);
	if (ret < 0 || info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.attach_type != type)
		return fail(err, errlen, -EEXIST,
			    "%s is not a portgate cgroup link; uninstall first", path);
	if (info.cgroup.cgroup_id == 0) /* detached by hand, or its cgroup was removed */
		return 0;
	if (info.cgroup.cgroup_id != e->cgroup_id)
		return fail(err, errlen, -EEXIST,
			    "%s is attached to cgroup id %llu, not to %s (id %llu): uninstall the "
			    "old set first",
			    path, (unsigned long long)info.cgroup.cgroup_id, e->cgroup,
			    (unsigned long long)e->cgroup_id);
	return 1;
}

/* Swaps program i into the link pinned at path, atomically (bpf_link_update). */
static int adopt_link(struct bpf_enforce *e, int i, const char *path, char *err, size_t errlen)
{
	int fd, ret;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (bpf_link_update(fd, bpf_program__fd(e->progs[i]), NULL) < 0) {
		ret = -errno;
		close(fd);
		return fail(err, errlen, ret, "updating %s: %s", path, strerror(-ret));
	}
	e->links[i] = fd;
	return 0;
}

/* Writes the mode into the settings map, keeping the rest (a reused map keeps its proxy), and
 * remembers the mode a reused map held (so a change across restarts can be reported). */
static int write_mode(struct bpf_enforce *e, unsigned mode, bool reused)
{
	struct pg_settings s;
	int ret;

	ret = bpf_enforce_get_settings(e, &s);
	if (ret < 0)
		return ret;
	e->prev_mode = reused ? (int)s.mode : -1;
	s.mode = mode;
	return bpf_enforce_set_settings(e, &s);
}

static void handle_free(struct bpf_enforce *e)
{
	for (int i = 0; i < NPROGS; i++)
		if (e->links[i] >= 0)
			close(e->links[i]);
	port_policy_bpf__destroy(e->skel);
	if (e->cgroup_fd >= 0)
		close(e->cgroup_fd);
	free(e);
}

int bpf_enforce_open(const struct bpf_enforce_opts *o, struct bpf_enforce **out, char *err,
		     size_t errlen)
{
	bool made_dir = false, map_existed[NMAPS] = { false }, link_made[NPROGS] = { false };
	int link_state[NPROGS] = { 0 };
	char path[PATH_MAX];
	struct bpf_enforce *e = NULL;
	libbpf_print_fn_t old;
	size_t n;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	old = bpf_enforce_print_begin();
	if (!o || !out || !o->cgroup_path || !o->pin_dir || o->mode > PG_MODE_STRICT) {
		ret = fail(err, errlen, -EINVAL, "bpf_enforce_open: bad options");
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	e->cgroup_fd = -1;
	e->prev_mode = -1;
	for (int i = 0; i < NPROGS; i++)
		e->links[i] = -1;
	if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", o->pin_dir) >= (int)sizeof(e->pin_dir) ||
	    snprintf(e->cgroup, sizeof(e->cgroup), "%s", o->cgroup_path) >=
		(int)sizeof(e->cgroup)) {
		ret = fail(err, errlen, -ENAMETOOLONG, "pin dir or cgroup path too long");
		goto cleanup;
	}
	n = strlen(e->pin_dir);
	while (n > 1 && e->pin_dir[n - 1] == '/')
		e->pin_dir[--n] = '\0';

	/* 1. bpf() itself, so that a missing privilege is named as such; then the cgroup. */
	ret = bpf_usable(err, errlen);
	if (ret < 0)
		goto cleanup;
	ret = bpf_cgroup_id(e->cgroup, &e->cgroup_id);
	if (ret == -EINVAL) {
		ret = fail(err, errlen, ret, "%s is not a cgroup v2 directory", e->cgroup);
		goto cleanup;
	}
	if (ret < 0) {
		ret = fail(err, errlen, ret, "cgroup %s: %s", e->cgroup, strerror(-ret));
		goto cleanup;
	}
	e->cgroup_fd = open(e->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->cgroup_fd < 0) {
		ret = fail(err, errlen, -errno, "cgroup %s: %s", e->cgroup, strerror(errno));
		goto cleanup;
	}

	/* 2. The pin dir, on a bpf filesystem; what is pinned there already must fit. */
	ret = prepare_pin_dir(e->pin_dir, &made_dir, err, errlen);
	if (ret < 0)
		goto cleanup;
	e->skel = port_policy_bpf__open();
	if (!e->skel) {
		ret = fail(err, errlen, -errno, "opening the BPF object: %s", strerror(errno));
		goto cleanup;
	}
	skel_progs(e->skel, e->progs);
	skel_maps(e->skel, e->maps);
	for (int j = 0; j < NMAPS; j++) {
		ret = bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_map_pins[j]);
		if (ret == 0)
			ret = check_pinned_map(e->maps[j], path, err, errlen);
		if (ret < 0)
			goto cleanup;
		map_existed[j] = ret == 1;
		/* libbpf reuses the map pinned there, or pins the one it creates. */
		ret = bpf_map__set_pin_path(e->maps[j], path);
		if (ret < 0) {
			ret = fail(err, errlen, ret, "pin path %s: %s", path, strerror(-ret));
			goto cleanup;
		}
	}
	for (int i = 0; i < NPROGS; i++) {
		ret =
		    bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_link_pins[i]);
		if (ret == 0)
			ret = check_pinned_link(e, i, path, err, errlen);
		if (ret < 0)
			goto cleanup;
		link_state[i] = ret;
	}

	/* 3. Load (verify) the programs against those maps; set the mode before any attach. */
	ret = port_policy_bpf__load(e->skel);
	if (ret < 0) {
		ret = load_failed(ret, err, errlen);
		goto cleanup;
	}
	ret = write_mode(e, o->mode, map_existed[BPF_ENFORCE_MAP_SETTINGS]);
	if (ret < 0) {
		ret = fail(err, errlen, ret, "writing the settings map: %s", strerror(-ret));
		goto cleanup;
	}

	/* 4. Each program: swapped into its pinned link, or attached through a new pinned link. */
	for (int i = 0; i < NPROGS; i++) {
		bpf_enforce_pin_path(path, sizeof(path), e->pin_dir, bpf_enforce_link_pins[i]);
		if (link_state[i] == 1) {
			ret = adopt_link(e, i, path, err, errlen);
			if (ret < 0)
				goto cleanup;
			continue;
		}
		if (unlink(path) < 0 && errno != ENOENT) { /* a detached link's pin */
			ret = fail(err, errlen, -errno, "removing stale %s: %s", path,
				   strerror(errno));
			goto cleanup;
		}
		ret = bpf_enforce_attach_one(e, i);
		if (ret < 0) {
			if (ret == -EINVAL || ret == -EOPNOTSUPP)
				ret = fail(err, errlen, -EOPNOTSUPP,
					   "this kernel cannot attach %s to a cgroup (%s)",
					   bpf_program__section_name(e->progs[i]), strerror(-ret));
			else
				ret = fail(err, errlen, ret, "attaching %s to %s: %s",
					   bpf_program__section_name(e->progs[i]), e->cgroup,
					   strerror(-ret));
			goto cleanup;
		}
		e->links[i] = ret;
		if (bpf_obj_pin(e->links[i], path) < 0) {
			ret = fail(err, errlen, -errno, "pinning %s: %s", path, strerror(errno));
			goto cleanup;
		}
		link_made[i] = true;
	}
	*out = e;
	ret = 0;
	goto out;

cleanup:
	/* Undo what this call made: new links (closing the last fd detaches them), maps, dir. */
	for (int i = 0; e && i < NPROGS; i++) {
		if (link_made[i] && bpf_enforce_pin_path(path, sizeof(path), e->pin_dir,
							 bpf_enforce_link_pins[i]) == 0)
			unlink(path);
	}
	for (int j = 0; e && e->skel && j < NMAPS; j++) {
		if (!map_existed[j] && bpf_map__is_pinned(e->maps[j]))
			bpf_map__unpin(e->maps[j], NULL);
	}
	if (made_dir)
		rmdir(e->pin_dir);
	if (e)
		handle_free(e);
out:
	bpf_enforce_print_end(old);
	return ret;
}

void bpf_enforce_close(struct bpf_enforce *e)
{
	if (e)
		handle_free(e);
}

static int port_key(int proto, uint16_t port, __u32 *key)
{
	if (proto == IPPROTO_TCP)
		*key = pg_port_index(PG_PROTO_TCP, port);
	else if (proto == IPPROTO_UDP)
		*key = pg_port_index(PG_PROTO_UDP, port);
	else
		return -EINVAL;
	return 0;
}

int bpf_enforce_set_port(struct bpf_enforce *e, int proto, uint16_t port,
			 const struct pg_port_val *v)
{
	struct pg_port_val val = *v;
	__u32 key;
	int ret;

	ret = port_key(proto, port, &key);
	if (ret < 0)
		return ret;
	val.pad = 0;
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.ports), &key, &val, BPF_ANY) < 0
		   ? -errno
		   : 0;
}

int bpf_enforce_clear_port(struct bpf_enforce *e, int proto, uint16_t port)
{
	const struct pg_port_val zero = { 0 };

	return bpf_enforce_set_port(e, proto, port, &zero);
}

int bpf_enforce_get_port(struct bpf_enforce *e, int proto, uint16_t port, struct pg_port_val *v)
{
	__u32 key;
	int ret;

	ret = port_key(proto, port, &key);
	if (ret < 0)
		return ret;
	return bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ports), &key, v) < 0 ? -errno : 0;
}

int bpf_enforce_load_all(struct bpf_enforce *e, const struct pg_port_val *vals)
{
	int fd = bpf_map__fd(e->skel->maps.ports), ret = 0;
	__u32 *keys, count = PG_PORT_ENTRIES;

	keys = malloc(PG_PORT_ENTRIES * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (__u32 k = 0; k < PG_PORT_ENTRIES; k++)
		keys[k] = k;
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL) == 0)
		goto out;
	ret = -errno;
	if (ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ENOTSUP)
		goto out;
	/* No batch operations on this kernel: one update per entry. */
	ret = 0;
	for (__u32 k = 0; k < PG_PORT_ENTRIES; k++) {
		if (bpf_map_update_elem(fd, &k, &vals[k], BPF_ANY) < 0) {
			ret = -errno;
			break;
		}
	}
out:
	free(keys);
	return ret;
}

int bpf_enforce_set_settings(struct bpf_enforce *e, const struct pg_settings *s)
{
	struct pg_settings val = *s;
	__u32 key = 0;

	if (s->mode > PG_MODE_STRICT || (s->flags & ~PG_SET_QUIET))
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(e->skel->maps.settings), &key, &val, BPF_ANY) < 0
		   ? -errno
		   : 0;
}

int bpf_enforce_get_settings(struct bpf_enforce *e, struct pg_settings *s)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.settings), &key, s) < 0 ? -errno : 0;
}

int bpf_enforce_events_fd(struct bpf_enforce *e)
{
	return bpf_map__fd(e->skel->maps.events);
}

int bpf_enforce_probe(char *err, size_t errlen)
{
	struct port_policy_bpf *skel = NULL;
	char mnt[PATH_MAX];
	libbpf_print_fn_t old;
	const char *missing;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	old = bpf_enforce_print_begin();
	ret = bpf_usable(err, errlen);
	if (ret < 0)
		goto out;
	if (bpf_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		ret =
		    fail(err, errlen, -ENOENT,
			 "no cgroup v2 filesystem mounted (no cgroup2 line in /proc/self/mounts)");
		goto out;
	}
	missing = missing_feature();
	if (missing) {
		ret = fail(err, errlen, -EOPNOTSUPP, "this kernel lacks %s", missing);
		goto out;
	}
	skel = port_policy_bpf__open();
	if (!skel) {
		ret = fail(err, errlen, -errno, "opening the BPF object: %s", strerror(errno));
		goto out;
	}
	ret = port_policy_bpf__load(skel);
	if (ret < 0)
		ret = load_failed(ret, err, errlen);
out:
	port_policy_bpf__destroy(skel);
	bpf_enforce_print_end(old);
	return ret;
}

const char *bpf_enforce_verdict_name(unsigned verdict)
{
	static const char *const names[] = { "allowed", "denied", "rewritten", "audited" };

	return verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "unknown";
}

const char *bpf_enforce_reason_name(unsigned reason)
{
	static const char *const names[] = { "none",	   "localhost-only", "wrong-cgroup",
					     "restricted", "unallocated",    "proxy-only" };

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "unknown";
}

const char *bpf_enforce_action_name(unsigned action)
{
	static const char *const names[] = { "unknown", "bind", "connect", "established" };

	return action < sizeof(names) / sizeof(names[0]) ? names[action] : "unknown";
}

int bpf_enforce_prev_mode(const struct bpf_enforce *e)
{
	return e ? e->prev_mode : -1;
}

const char *bpf_enforce_mode_name(unsigned mode)
{
	static const char *const names[] = { "enforce", "rewrite", "audit-only", "strict" };

	return mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "unknown";
}

int bpf_enforce_mode_parse(const char *s)
{
	for (unsigned m = PG_MODE_ENFORCE; m <= PG_MODE_STRICT; m++)
		if (!strcmp(s, bpf_enforce_mode_name(m)))
			return (int)m;
	return -EINVAL;
}
