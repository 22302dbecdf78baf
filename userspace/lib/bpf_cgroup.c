// SPDX-License-Identifier: MIT
/* bpf_cgroup: cgroup v2 paths, ids and membership, as the BPF cgroup programs see them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "bpf_cgroup.h"

int bpf_cgroup2_mount(char *out, size_t outlen)
{
	struct mntent ent, *m;
	char buf[4096];
	int ret = -ENOENT;
	FILE *f;

	f = setmntent("/proc/self/mounts", "re");
	if (!f)
		return -errno;
	/* getmntent_r also undoes the octal escapes (\040 for a space) in the mount point. */
	while ((m = getmntent_r(f, &ent, buf, sizeof(buf)))) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if (strlen(m->mnt_dir) >= outlen) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, m->mnt_dir);
		ret = 0;
		break;
	}
	endmntent(f);
	return ret;
}

int bpf_cgroup_id(const char *path, uint64_t *id)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs) < 0)
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EINVAL;
	/* kernfs makes the inode number the node id on 64-bit hosts; the cgroup id is that id. */
	*id = st.st_ino;
	return 0;
}

static int write_str(const char *path, const char *s)
{
	ssize_t len = (ssize_t)strlen(s), n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, (size_t)len);
	if (n < 0)
		ret = -errno;
	else if (n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int bpf_cgroup_move(const char *path, pid_t pid)
{
	char procs[PATH_MAX], num[32];

	if (snprintf(procs, sizeof(procs), "%s/cgroup.procs", path) >= (int)sizeof(procs))
		return -ENAMETOOLONG;
	snprintf(num, sizeof(num), "%d", (int)pid);
	return write_str(procs, num);
}

int bpf_cgroup_of(pid_t pid, char *out, size_t outlen)
{
	char file[64], line[PATH_MAX + 8], mnt[PATH_MAX];
	int ret = -ENOENT;
	FILE *f;

	ret = bpf_cgroup2_mount(mnt, sizeof(mnt));
	if (ret < 0)
		return ret;
	if (pid)
		snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(file, sizeof(file), "/proc/self/cgroup");
	f = fopen(file, "re");
	if (!f)
		return -errno;
	ret = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		/* The v2 entry is "0::/path"; v1 hierarchies have a number and controllers. */
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(out, outlen, "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "") >=
		    (int)outlen)
			ret = -ENAMETOOLONG;
		else
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* Moves every process listed in path/cgroup.procs to parent. */
static int move_all(const char *path, const char *parent)
{
	char procs[PATH_MAX];
	int ret = 0, r;
	FILE *f;
	int pid;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	f = fopen(procs, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1) {
		r = bpf_cgroup_move(parent, pid);
		if (r < 0 && r != -ESRCH && ret == 0) /* ESRCH: it exited meanwhile */
			ret = r;
	}
	fclose(f);
	return ret;
}

static int remove_tree(const char *path, const char *parent, int depth)
{
	char child[PATH_MAX];
	struct dirent *de;
	int ret = 0, r;
	DIR *d;

	if (depth > 64)
		return -ELOOP;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= (int)sizeof(child))
			r = -ENAMETOOLONG;
		else
			r = remove_tree(child, parent, depth + 1);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	/* Everything still inside goes to the parent of the tree's top, which stays. */
	r = move_all(path, parent);
	if (r < 0 && ret == 0)
		ret = r;
	if (rmdir(path) < 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	return ret;
}

int bpf_cgroup_remove(const char *path)
{
	char real[PATH_MAX], parent[PATH_MAX], mnt[PATH_MAX], *slash;
	struct statfs sfs;
	int ret;

	if (!realpath(path, real))
		return errno == ENOENT ? 0 : -errno;
	if (statfs(real, &sfs) < 0)
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -EINVAL;
	ret = bpf_cgroup2_mount(mnt, sizeof(mnt));
	if (ret < 0)
		return ret;
	if (!strcmp(real, mnt))
		return -EPERM; /* never the root cgroup */
	strcpy(parent, real);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EPERM;
	*slash = '\0';
	return remove_tree(real, parent, 0);
}
