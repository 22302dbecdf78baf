// SPDX-License-Identifier: MIT
/* bind_bench: socket()+bind()+close() cost with the portgate bind hook vs without it. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "bpf_enforce.h"

/*
 * Usage: bind_bench [-n ITERATIONS] [-r ROUNDS] [--markdown]
 *
 * Runs in a cgroup it makes (portgate-bench-PID under the cgroup2 mount), never attaching
 * anywhere else, and binds only 127.0.0.1 without any traffic. Pinned to one CPU, it times the
 * mean of ITERATIONS socket()+bind(127.0.0.1:P)+close() in that cgroup:
 *   - without the hook;
 *   - with the programs attached and 10, 1,000 and 50,000 allocations in the ports map, binding
 *     a port that is allocated and localhost-only (the whole bind policy runs) and a port that
 *     is not managed (one map lookup).
 * Each of ROUNDS rounds measures the baseline, attaches, measures the six cases, and uninstalls,
 * so that every "added" figure is the median over rounds of a difference taken a second apart
 * (the host's drift cancels out). A last pass, with BPF run-time statistics on (BPF_ENABLE_STATS,
 * for this process's lifetime only), reports the bind4 program's own time per run.
 * Exit status: 0, 1 on error, 77 when BPF is not usable here (the reason on stderr), 130 when
 * interrupted. Everything it made is removed on every path.
 */

#define SKIP 77

static volatile sig_atomic_t stop;

static struct {
	char cg[1024];	 /* the bench cgroup */
	char home[4096]; /* the cgroup we came from */
	char bpffs[512]; /* a private bpffs, when /sys/fs/bpf has none */
	char pin[1024];
	struct bpf_enforce *e;
} b;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Mean ns of one socket()+bind()+close() over n iterations; -errno when a bind fails. */
static double run_once(uint16_t port, long n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	double t0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t0 = now_ns();
	for (long i = 0; i < n && !stop; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		close(fd);
	}
	return (now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b2)
{
	double x = *(const double *)a, y = *(const double *)b2;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* k allocations spread over TCP and UDP, always including (TCP, managed). */
static int fill(int k, uint16_t managed, uint16_t unmanaged)
{
	struct pg_port_val *vals = calloc(PG_PORT_ENTRIES, sizeof(*vals));
	int n = 1, ret;

	if (!vals)
		return -ENOMEM;
	vals[pg_port_index(PG_PROTO_TCP, managed)].flags =
	    PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY;
	for (uint32_t p = 1024; n < k && p < 65536; p++) {
		if (p == managed || p == unmanaged)
			continue;
		vals[pg_port_index(n % 2 ? PG_PROTO_UDP : PG_PROTO_TCP, p)].flags =
		    PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY;
		n++;
	}
	ret = bpf_enforce_load_all(b.e, vals);
	free(vals);
	return ret;
}

static void cleanup(void)
{
	bpf_enforce_close(b.e);
	b.e = NULL;
	if (b.pin[0])
		bpf_enforce_uninstall(b.pin);
	if (b.home[0])
		bpf_cgroup_move(b.home, 0);
	if (b.cg[0])
		bpf_cgroup_remove(b.cg);
	if (b.bpffs[0]) {
		umount2(b.bpffs, MNT_DETACH);
		rmdir(b.bpffs);
	}
}

static int setup(char *err, size_t errlen)
{
	char mnt[512];
	struct statfs sfs;
	int ret;

	ret = bpf_cgroup2_mount(mnt, sizeof(mnt));
	if (ret < 0)
		return snprintf(err, errlen, "no cgroup v2 mount"), ret;
	ret = bpf_cgroup_of(0, b.home, sizeof(b.home));
	if (ret < 0)
		return snprintf(err, errlen, "own cgroup: %s", strerror(-ret)), ret;
	snprintf(b.cg, sizeof(b.cg), "%s/portgate-bench-%d", mnt, (int)getpid());
	if (mkdir(b.cg, 0755) < 0) {
		ret = -errno;
		b.cg[0] = '\0';
		return snprintf(err, errlen, "mkdir %s: %s", b.cg, strerror(-ret)), ret;
	}
	if (statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC) {
		snprintf(b.pin, sizeof(b.pin), "/sys/fs/bpf/portgate-bench-%d", (int)getpid());
	} else {
		snprintf(b.bpffs, sizeof(b.bpffs), "/tmp/portgate-bench-%d-bpffs", (int)getpid());
		if (mkdir(b.bpffs, 0700) < 0 || mount("bpf", b.bpffs, "bpf", 0, "mode=0700") < 0) {
			ret = -errno;
			rmdir(b.bpffs);
			b.bpffs[0] = '\0';
			return snprintf(err, errlen, "mounting a bpffs: %s", strerror(-ret)), ret;
		}
		snprintf(b.pin, sizeof(b.pin), "%s/pins", b.bpffs);
	}
	ret = bpf_cgroup_move(b.cg, 0);
	if (ret < 0)
		return snprintf(err, errlen, "joining %s: %s", b.cg, strerror(-ret)), ret;
	return 0;
}

static int pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : cpu;
}

static int attach(void)
{
	struct bpf_enforce_opts o = { .cgroup_path = b.cg,
				      .pin_dir = b.pin,
				      .mode = PG_MODE_ENFORCE };
	char err[2048];

	if (bpf_enforce_open(&o, &b.e, err, sizeof(err)) < 0) {
		fprintf(stderr, "bind_bench: %s\n", err);
		return -1;
	}
	return 0;
}

static void detach(void)
{
	bpf_enforce_close(b.e);
	b.e = NULL;
	bpf_enforce_uninstall(b.pin);
}

/* ns per run of the bind4 program over n binds of port, from BPF run-time statistics. */
static double prog_ns(uint16_t port, long n)
{
	struct bpf_enforce_status st;
	struct bpf_prog_info a = { 0 }, z = { 0 };
	__u32 len = sizeof(a);
	int fd;

	if (bpf_enforce_status(b.e, &st) < 0)
		return -1;
	fd = bpf_prog_get_fd_by_id(st.prog_ids[0]);
	if (fd < 0)
		return -1;
	bpf_obj_get_info_by_fd(fd, &a, &len);
	if (run_once(port, n) < 0)
		n = 0;
	len = sizeof(z);
	bpf_obj_get_info_by_fd(fd, &z, &len);
	close(fd);
	if (!n || z.run_cnt == a.run_cnt)
		return -1;
	return (double)(z.run_time_ns - a.run_time_ns) / (double)(z.run_cnt - a.run_cnt);
}

enum { NSIZES = 3, MAXROUNDS = 64 };
static const int sizes[NSIZES] = { 10, 1000, 50000 };

struct results {
	double base[MAXROUNDS];		    /* no hook */
	double hook[NSIZES][2][MAXROUNDS];  /* [size][allocated, unmanaged][round] */
	double added[NSIZES][2][MAXROUNDS]; /* hook - base of the same round */
	double base_med, hook_med[NSIZES][2], added_med[NSIZES][2];
	double prog[NSIZES][2]; /* bind4 ns per run, from BPF statistics */
};

/* One round: baseline, then each size with the hook. 0, or -1 (message printed). */
static int round_once(struct results *r, int i, uint16_t port, uint16_t port2, long n)
{
	double t;

	t = run_once(port, n);
	if (t < 0) {
		fprintf(stderr, "bind_bench: bind 127.0.0.1:%u: %s\n", port, strerror((int)-t));
		return -1;
	}
	r->base[i] = t;
	if (attach() < 0)
		return -1;
	for (int s = 0; s < NSIZES && !stop; s++) {
		if (fill(sizes[s], port, port2) < 0) {
			fprintf(stderr, "bind_bench: filling the ports map failed\n");
			return -1;
		}
		for (int k = 0; k < 2; k++) {
			t = run_once(k ? port2 : port, n);
			if (t < 0) {
				fprintf(stderr, "bind_bench: bind with the hook: %s\n",
					strerror((int)-t));
				return -1;
			}
			r->hook[s][k][i] = t;
			r->added[s][k][i] = t - r->base[i];
		}
	}
	detach();
	return 0;
}

int main(int argc, char **argv)
{
	static struct results r;
	uint16_t port, port2;
	long n = 20000;
	int rounds = 9, cpu, ret = 1, stats_fd = -1;
	bool markdown = false;
	struct utsname u;
	char err[2048];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--markdown"))
			markdown = true;
		else {
			fprintf(stderr, "usage: %s [-n ITERATIONS] [-r ROUNDS] [--markdown]\n",
				argv[0]);
			return 1;
		}
	}
	if (n < 1 || rounds < 1 || rounds > MAXROUNDS) {
		fprintf(stderr, "bind_bench: -n must be positive, -r within 1..%d\n", MAXROUNDS);
		return 1;
	}
	if (bpf_enforce_probe(err, sizeof(err)) < 0) {
		fprintf(stderr, "bind_bench: skipped: %s\n", err);
		return SKIP;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (setup(err, sizeof(err)) < 0) {
		fprintf(stderr, "bind_bench: %s\n", err);
		goto out;
	}
	cpu = pin_cpu();
	port = (uint16_t)(20000 + (getpid() % 500) * 20); /* below the ephemeral range */
	port2 = (uint16_t)(port + 1);

	run_once(port, n / 4 + 1); /* warm-up */
	for (int i = 0; i < rounds && !stop; i++)
		if (round_once(&r, i, port, port2, n) < 0)
			goto out;
	if (stop)
		goto out;

	/* The program's own time, with statistics on for this last pass only. */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (attach() < 0)
		goto out;
	for (int s = 0; s < NSIZES && !stop; s++) {
		if (fill(sizes[s], port, port2) < 0)
			goto out;
		r.prog[s][0] = prog_ns(port, n);
		r.prog[s][1] = prog_ns(port2, n);
	}
	detach();

	r.base_med = median(r.base, rounds);
	for (int s = 0; s < NSIZES; s++)
		for (int k = 0; k < 2; k++) {
			r.hook_med[s][k] = median(r.hook[s][k], rounds);
			r.added_med[s][k] = median(r.added[s][k], rounds);
		}

	uname(&u);
	if (markdown) {
		printf("### bind hook: socket()+bind(127.0.0.1)+close() (%ld cores, %s)\n\n",
		       sysconf(_SC_NPROCESSORS_ONLN), u.release);
		printf(
		    "Command: `build/tools/bind_bench -n %ld -r %d --markdown` (pinned to CPU %d; "
		    "medians over %d rounds of %ld binds; \"added\": the median of each round's "
		    "difference with the same cgroup without the hook, measured just before; "
		    "\"program\": pg_bind4's own run time per call, from BPF_ENABLE_STATS)\n\n",
		    n, rounds, cpu, rounds, n);
		printf(
		    "| allocations | allocated port | added | program | unmanaged port | added | "
		    "program |\n");
		printf("|---|---|---|---|---|---|---|\n");
		printf("| no hook | %.0f ns | | | %.0f ns | | |\n", r.base_med, r.base_med);
		for (int s = 0; s < NSIZES; s++)
			printf("| %d | %.0f ns | %+.0f ns | %.0f ns | %.0f ns | %+.0f ns | %.0f ns "
			       "|\n",
			       sizes[s], r.hook_med[s][0], r.added_med[s][0], r.prog[s][0],
			       r.hook_med[s][1], r.added_med[s][1], r.prog[s][1]);
	} else {
		printf("bind_bench: %d rounds x %ld binds, CPU %d, kernel %s\n", rounds, n, cpu,
		       u.release);
		printf("no hook                %6.0f ns\n", r.base_med);
		for (int s = 0; s < NSIZES; s++)
			printf("allocations=%-6d allocated port %6.0f ns (%+4.0f, program %3.0f)   "
			       "unmanaged port %6.0f ns (%+4.0f, program %3.0f)\n",
			       sizes[s], r.hook_med[s][0], r.added_med[s][0], r.prog[s][0],
			       r.hook_med[s][1], r.added_med[s][1], r.prog[s][1]);
	}
	ret = 0;
out:
	if (stats_fd >= 0)
		close(stats_fd);
	cleanup();
	return stop ? 130 : ret;
}
