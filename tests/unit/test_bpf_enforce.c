// SPDX-License-Identifier: MIT
/* test_bpf_enforce: the port-policy programs on the real kernel, only in cgroups the test makes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "bpf_enforce.h"

/*
 * Safety (docs/enforcement-bpf.md, "Tests"): every test attaches only to a cgroup it made under
 * the cgroup2 mount (portgate-test-PID-N), pins only under its own pin dir, binds only loopback,
 * wildcard or TEST-NET addresses without traffic, and connects only to loopback. Teardown runs
 * on every path: uninstall the pins (links detached), move any process out, remove the cgroups.
 */

#define CHILD_COMM "pgt-child"

static struct {
	bool ok;		 /* BPF usable: otherwise every test skips with why */
	char why[512];		 /* the reason to skip */
	char cgroot[512];	 /* cgroup2 mount */
	char bpfroot[512];	 /* where the pin dirs go */
	char private_bpffs[512]; /* a bpffs this test mounted (when /sys/fs/bpf has none) */
	bool ipv6;		 /* ::1 usable */
	int n;			 /* tests run so far: names */
	uint16_t next_port;	 /* where the search for a free test port goes on */
} g;

struct fix {
	char cg[1024];	/* the test's cgroup: programs attach here only */
	char pin[1024]; /* the test's pin dir */
	uint64_t cg_id;
	struct bpf_enforce *e;
	uint16_t port, port2; /* ports of this test's own */
};

#define SKIP_UNLESS_BPF()                                                                          \
	do {                                                                                       \
		if (!g.ok) {                                                                       \
			print_message("SKIP: %s\n", g.why);                                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static bool is_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
}

/* Whether nothing holds port (TCP or UDP, any address): not even a TIME_WAIT left by a client. */
static bool port_is_free(uint16_t port)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool ok = true;

	for (size_t i = 0; i < 2 && ok; i++) {
		int fd = socket(AF_INET, types[i] | SOCK_CLOEXEC, 0);

		ok = fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		if (fd >= 0)
			close(fd);
	}
	return ok;
}

/*
 * A port for one test, below the ephemeral range (clients of earlier tests leave thousands of
 * TIME_WAIT sockets there) and checked free, so that an allowed bind can only fail for a reason
 * of the hook's.
 */
static uint16_t free_port(void)
{
	for (int tries = 0; tries < 10000; tries++) {
		uint16_t port = g.next_port++;

		if (g.next_port >= 32000)
			g.next_port = 20000;
		if (port_is_free(port))
			return port;
	}
	fail_msg("no free port in 20000-32000");
	return 0;
}

static bool ipv6_usable(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return false;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

static int group_setup(void **state)
{
	char err[400];
	int ret;

	(void)state;
	g.next_port = (uint16_t)(20000 + (getpid() % 500) * 20);
	g.ipv6 = ipv6_usable();
	ret = bpf_enforce_probe(err, sizeof(err));
	if (ret < 0) {
		snprintf(g.why, sizeof(g.why), "BPF cgroup programs unusable here: %s", err);
		return 0;
	}
	if (bpf_cgroup2_mount(g.cgroot, sizeof(g.cgroot)) < 0) {
		snprintf(g.why, sizeof(g.why), "no cgroup v2 mount");
		return 0;
	}
	if (is_bpffs("/sys/fs/bpf")) {
		snprintf(g.bpfroot, sizeof(g.bpfroot), "/sys/fs/bpf");
	} else {
		/* A bpffs of our own, so that the host's /sys/fs/bpf is left as it is. */
		snprintf(g.private_bpffs, sizeof(g.private_bpffs), "/tmp/portgate-test-%d-bpffs",
			 (int)getpid());
		if (mkdir(g.private_bpffs, 0700) < 0 ||
		    mount("bpf", g.private_bpffs, "bpf", 0, "mode=0700") < 0) {
			snprintf(g.why, sizeof(g.why),
				 "no bpffs at /sys/fs/bpf, cannot mount one: %s", strerror(errno));
			rmdir(g.private_bpffs);
			g.private_bpffs[0] = '\0';
			return 0;
		}
		snprintf(g.bpfroot, sizeof(g.bpfroot), "%s", g.private_bpffs);
	}
	g.ok = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (g.private_bpffs[0]) {
		if (umount(g.private_bpffs) < 0)
			umount2(g.private_bpffs, MNT_DETACH);
		rmdir(g.private_bpffs);
	}
	return 0;
}

static int setup(void **state)
{
	struct fix *f;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;
	g.n++;
	if (!g.ok)
		return 0;
	snprintf(f->cg, sizeof(f->cg), "%s/portgate-test-%d-%d", g.cgroot, (int)getpid(), g.n);
	snprintf(f->pin, sizeof(f->pin), "%s/portgate-test-%d-%d", g.bpfroot, (int)getpid(), g.n);
	f->port = free_port();
	f->port2 = free_port();
	if (mkdir(f->cg, 0755) < 0 || bpf_cgroup_id(f->cg, &f->cg_id) < 0) {
		print_error("cannot create cgroup %s: %s\n", f->cg, strerror(errno));
		rmdir(f->cg);
		free(f);
		*state = NULL;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	int ret = 0, r;

	if (!f)
		return 0;
	bpf_enforce_close(f->e);
	if (f->pin[0]) {
		r = bpf_enforce_uninstall(f->pin);
		if (r < 0) {
			print_error("uninstall %s: %s\n", f->pin, strerror(-r));
			ret = -1;
		}
		if (access(f->pin, F_OK) == 0) {
			print_error("pin dir %s left behind\n", f->pin);
			ret = -1;
		}
	}
	if (f->cg[0]) {
		r = bpf_cgroup_remove(f->cg);
		if (r < 0) {
			print_error("removing cgroup %s: %s\n", f->cg, strerror(-r));
			ret = -1;
		}
	}
	free(f);
	return ret;
}

/* Opens the enforcement on the test's cgroup and pin dir, in mode. */
static void open_enforce(struct fix *f, unsigned mode)
{
	struct bpf_enforce_opts o = { .cgroup_path = f->cg, .pin_dir = f->pin, .mode = mode };
	char err[512] = "";
	int ret;

	ret = bpf_enforce_open(&o, &f->e, err, sizeof(err));
	if (ret < 0)
		print_error("bpf_enforce_open: %s\n", err);
	assert_int_equal(ret, 0);
}

/* A cgroup below the test's, for owners and the proxy. */
static void sub_cgroup(const struct fix *f, const char *name, char *path, uint64_t *id)
{
	snprintf(path, 2048, "%s/%s", f->cg, name);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(bpf_cgroup_id(path, id), 0);
}

static void set_port(struct fix *f, int proto, uint16_t port, uint32_t flags, uint64_t cg)
{
	struct pg_port_val v = { .flags = flags, .cgroup_id = cg };

	assert_int_equal(bpf_enforce_set_port(f->e, proto, port, &v), 0);
}

static void set_mode(struct fix *f, unsigned mode, uint64_t proxy)
{
	struct pg_settings s = { .mode = mode, .proxy_cgroup_id = proxy };

	assert_int_equal(bpf_enforce_set_settings(f->e, &s), 0);
}

static socklen_t make_sa(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

/* What a child does in its cgroup. */
enum op { OP_BIND, OP_CONNECT, OP_ESTABLISH };

struct req {
	enum op op;
	int family, type; /* type: SOCK_STREAM / SOCK_DGRAM */
	const char *addr;
	uint16_t port;
	int v6only; /* AF_INET6 only */
};

struct res {
	int joined; /* 1 once inside the cgroup */
	int err;    /* 0, or errno of the operation */
	pid_t pid;
	char bound[INET6_ADDRSTRLEN]; /* OP_BIND: getsockname address */
};

static void child_bind(const struct req *r, struct res *out)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(r->family, r->addr, r->port, &ss);
	int fd, one = 1;

	fd = socket(r->family, r->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		out->err = errno;
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &r->v6only, sizeof(r->v6only));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		out->err = errno;
	} else {
		len = sizeof(ss);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out->bound,
				  sizeof(out->bound));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out->bound,
				  sizeof(out->bound));
	}
	close(fd);
}

static void child_connect(const struct req *r, struct res *out)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(r->family, r->addr, r->port, &ss);
	int fd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		out->err = errno;
	if (fd >= 0)
		close(fd);
}

/* A listener on addr:port, a connection to it, accepted: both ends established. */
static void child_establish(const struct req *r, struct res *out)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(r->family, r->addr, r->port, &ss);
	int lfd, cfd = -1, afd = -1, one = 1;

	lfd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 4) < 0) {
		out->err = errno;
		goto out;
	}
	cfd = socket(r->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, len) < 0) {
		out->err = errno;
		goto out;
	}
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		out->err = errno;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
}

/*
 * Forks a child that moves itself into cgroup cg and does r; its result comes back through a pipe
 * (5 s at most, then it is killed). The parent never enters the cgroup.
 */
static struct res in_cgroup(const char *cg, const struct req *r)
{
	struct res res = { 0 };
	struct pollfd pfd;
	int p[2], status;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_NAME, CHILD_COMM);
		res.pid = getpid();
		if (bpf_cgroup_move(cg, 0) == 0) {
			res.joined = 1;
			if (r->op == OP_BIND)
				child_bind(r, &res);
			else if (r->op == OP_CONNECT)
				child_connect(r, &res);
			else
				child_establish(r, &res);
		}
		if (write(p[1], &res, sizeof(res)) != sizeof(res))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(p[0], &res, sizeof(res)) != sizeof(res)) {
		kill(pid, SIGKILL);
		memset(&res, 0, sizeof(res));
	}
	close(p[0]);
	waitpid(pid, &status, 0);
	assert_int_equal(res.joined, 1);
	return res;
}

static int bind_in(const char *cg, int family, int type, const char *addr, uint16_t port)
{
	struct req r = {
		.op = OP_BIND, .family = family, .type = type, .addr = addr, .port = port
	};

	return in_cgroup(cg, &r).err;
}

static int bind6_in(const char *cg, const char *addr, uint16_t port, int v6only)
{
	struct req r = { .op = OP_BIND,
			 .family = AF_INET6,
			 .type = SOCK_STREAM,
			 .addr = addr,
			 .port = port,
			 .v6only = v6only };

	return in_cgroup(cg, &r).err;
}

static int connect_in(const char *cg, int family, const char *addr, uint16_t port)
{
	struct req r = { .op = OP_CONNECT, .family = family, .addr = addr, .port = port };

	return in_cgroup(cg, &r).err;
}

/* Ring-buffer events collected so far. */
struct evlog {
	struct pg_event ev[128];
	int n;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct evlog *log = ctx;

	if (len >= sizeof(struct pg_event) && log->n < 128)
		memcpy(&log->ev[log->n++], data, sizeof(struct pg_event));
	return 0;
}

/* Drains the ring buffer into log (events are written during the syscall that caused them). */
static void drain(struct fix *f, struct evlog *log)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_enforce_events_fd(f->e), on_event, log, NULL);

	assert_non_null(rb);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);
}

static const struct pg_event *find_event(const struct evlog *log, unsigned action, uint16_t port)
{
	for (int i = 0; i < log->n; i++)
		if (log->ev[i].action == action && log->ev[i].port == port)
			return &log->ev[i];
	return NULL;
}

static void test_bpf_enforce_cgroup2_mount(void **state)
{
	char mnt[PATH_MAX], tiny[4];
	struct statfs sfs;
	uint64_t id;

	(void)state;
	if (bpf_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		print_message("SKIP: no cgroup v2 mount\n");
		skip();
	}
	assert_int_equal(statfs(mnt, &sfs), 0);
	assert_true(sfs.f_type == CGROUP2_SUPER_MAGIC);
	assert_int_equal(bpf_cgroup2_mount(tiny, sizeof(tiny)), -ENAMETOOLONG);
	assert_int_equal(bpf_cgroup_id(mnt, &id), 0);
	assert_int_equal(id, 1); /* the root cgroup */
	assert_int_equal(bpf_cgroup_id("/proc", &id), -EINVAL);
	assert_int_equal(bpf_cgroup_id("/nonexistent-portgate", &id), -ENOENT);
	assert_int_equal(bpf_cgroup_remove(mnt), -EPERM); /* never the root */
}

static void test_bpf_enforce_names(void **state)
{
	(void)state;
	assert_string_equal(bpf_enforce_mode_name(PG_MODE_AUDIT_ONLY), "audit-only");
	assert_int_equal(bpf_enforce_mode_parse("strict"), PG_MODE_STRICT);
	assert_int_equal(bpf_enforce_mode_parse("rewrite"), PG_MODE_REWRITE);
	assert_int_equal(bpf_enforce_mode_parse("loose"), -EINVAL);
	assert_string_equal(bpf_enforce_verdict_name(PG_V_REWRITTEN), "rewritten");
	assert_string_equal(bpf_enforce_reason_name(PG_R_PROXY_ONLY), "proxy-only");
	assert_string_equal(bpf_enforce_action_name(PG_EV_ESTABLISHED), "established");
	assert_string_equal(bpf_enforce_reason_name(99), "unknown");
	assert_int_equal(sizeof(struct pg_event), 88);
	assert_int_equal(sizeof(struct pg_port_val), 16);
	assert_int_equal(sizeof(struct pg_settings), 16);
}

static void test_bpf_enforce_open_errors(void **state)
{
	struct fix *f = *state;
	struct bpf_enforce_opts o = { .pin_dir = f->pin };
	struct bpf_enforce *e = NULL;
	char err[512], cg[PATH_MAX], tmp[PATH_MAX];

	SKIP_UNLESS_BPF();
	snprintf(cg, sizeof(cg), "%s/does-not-exist", f->cg);
	o.cgroup_path = cg;
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "does-not-exist"));
	assert_int_equal(access(f->pin, F_OK), -1); /* nothing made */

	o.cgroup_path = "/proc";
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cgroup v2"));

	o.cgroup_path = f->cg;
	o.mode = 9;
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -EINVAL);

	/* A pin dir outside any bpf filesystem. */
	snprintf(tmp, sizeof(tmp), "/tmp/portgate-test-%d-notbpffs", (int)getpid());
	assert_int_equal(mkdir(tmp, 0700), 0);
	o.mode = PG_MODE_ENFORCE;
	o.pin_dir = tmp;
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -EXDEV);
	assert_non_null(strstr(err, "bpf filesystem"));
	rmdir(tmp);
	assert_null(e);
}

static void test_bpf_enforce_localhost_only_v4(void **state)
{
	struct fix *f = *state;
	const uint32_t lo = PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY;
	struct bpf_enforce_status st;
	const struct pg_event *ev;
	struct evlog log = { 0 };
	struct req r = { .op = OP_BIND, .family = AF_INET, .type = SOCK_STREAM };
	struct res res;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, lo, 0);
	set_port(f, IPPROTO_UDP, f->port, lo, 0);

	r.addr = "0.0.0.0";
	r.port = f->port;
	res = in_cgroup(f->cg, &r);
	assert_int_equal(res.err, EPERM);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_DGRAM, "0.0.0.0", f->port), EPERM);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "192.0.2.1", f->port), EPERM);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_DGRAM, "127.0.0.1", f->port), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.2", f->port), 0);
	/* Port 0 and unmanaged ports pass; so does TEST-NET on an unmanaged port (the kernel,
	 * not the hook, refuses it). */
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", 0), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port2), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "192.0.2.1", f->port2),
			 EADDRNOTAVAIL);

	/* The event for the first refusal, from the child itself. */
	drain(f, &log);
	ev = find_event(&log, PG_EV_BIND, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->verdict, PG_V_DENIED);
	assert_int_equal(ev->reason, PG_R_LOCALHOST_ONLY);
	assert_int_equal(ev->pid, res.pid);
	assert_string_equal(ev->comm, CHILD_COMM);
	assert_int_equal(ev->cgroup_id, f->cg_id);
	assert_int_equal(ev->uid, getuid());
	assert_int_equal(ev->family, AF_INET);
	assert_int_equal(ev->protocol, IPPROTO_TCP);
	assert_int_equal(ev->addr[0] | ev->addr[1] | ev->addr[2] | ev->addr[3], 0);
	assert_int_equal(log.n, 3); /* three refusals, allowed binds are silent */

	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.counters[PG_CNT_DENIED], 3);
	assert_int_equal(st.port_entries_set, 2);
	assert_int_equal(st.n_attached, 5);
	assert_int_equal(st.n_expected, 5);
	assert_int_equal(st.n_pins_ok, BPF_ENFORCE_NPINS);
	assert_int_equal(st.cgroup_id, f->cg_id);
	assert_string_equal(st.pin_dir, f->pin);
	assert_string_equal(st.cgroup, f->cg);
}

static void test_bpf_enforce_localhost_only_v6(void **state)
{
	struct fix *f = *state;

	SKIP_UNLESS_BPF();
	if (!g.ipv6) {
		print_message("SKIP: no IPv6 loopback here\n");
		skip();
	}
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);

	assert_int_equal(bind6_in(f->cg, "::", f->port, 0), EPERM); /* dual-stack */
	assert_int_equal(bind6_in(f->cg, "::", f->port, 1), EPERM);
	assert_int_equal(bind6_in(f->cg, "::ffff:192.0.2.1", f->port, 0), EPERM);
	assert_int_equal(bind6_in(f->cg, "::ffff:0.0.0.0", f->port, 0), EPERM);
	assert_int_equal(bind6_in(f->cg, "2001:db8::1", f->port, 1), EPERM);
	assert_int_equal(bind6_in(f->cg, "::1", f->port, 1), 0);
	assert_int_equal(bind6_in(f->cg, "::ffff:127.0.0.1", f->port, 0), 0);
}

static void test_bpf_enforce_rewrite(void **state)
{
	struct fix *f = *state;
	struct req r = { .op = OP_BIND, .family = AF_INET, .type = SOCK_STREAM, .addr = "0.0.0.0" };
	const struct pg_event *ev;
	struct evlog log = { 0 };
	struct res res;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_REWRITE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);

	r.port = f->port;
	res = in_cgroup(f->cg, &r);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.bound, "127.0.0.1");
	if (g.ipv6) {
		r.family = AF_INET6;
		r.addr = "::";
		res = in_cgroup(f->cg, &r);
		assert_int_equal(res.err, 0);
		assert_string_equal(res.bound, "::1");
	}
	/* Not a wildcard: still refused. */
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "192.0.2.1", f->port), EPERM);

	drain(f, &log);
	ev = find_event(&log, PG_EV_BIND, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->verdict, PG_V_REWRITTEN);
	assert_int_equal(ev->reason, PG_R_LOCALHOST_ONLY);
	assert_memory_equal(ev->peer, "\x7f\x00\x00\x01", 4); /* what was bound instead */
}

static void test_bpf_enforce_owner_cgroup(void **state)
{
	struct fix *f = *state;
	char owner[2048], other[2048], below[PATH_MAX];
	uint64_t owner_id, other_id, below_id;
	struct evlog log = { 0 };
	const struct pg_event *ev;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	sub_cgroup(f, "owner", owner, &owner_id);
	sub_cgroup(f, "other", other, &other_id);
	snprintf(below, sizeof(below), "%s/worker", owner);
	assert_int_equal(mkdir(below, 0755), 0);
	assert_int_equal(bpf_cgroup_id(below, &below_id), 0);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED, owner_id);

	assert_int_equal(bind_in(other, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
	assert_int_equal(bind_in(owner, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);
	assert_int_equal(bind_in(below, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);
	assert_int_equal(bind_in(owner, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), 0);

	drain(f, &log);
	ev = find_event(&log, PG_EV_BIND, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->reason, PG_R_WRONG_CGROUP);
	assert_int_equal(ev->cgroup_id, other_id);
}

static void test_bpf_enforce_restricted(void **state)
{
	struct fix *f = *state;
	char owner[PATH_MAX];
	uint64_t owner_id;
	struct evlog log = { 0 };
	const struct pg_event *ev;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	sub_cgroup(f, "owner", owner, &owner_id);

	set_port(f, IPPROTO_TCP, f->port, PG_PORT_RESTRICTED, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
	assert_int_equal(bind_in(owner, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
	drain(f, &log);
	ev = find_event(&log, PG_EV_BIND, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->reason, PG_R_RESTRICTED);

	/* Granted to the owner's cgroup: only there. */
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_RESTRICTED | PG_PORT_GRANTED | PG_PORT_ALLOCATED,
		 owner_id);
	assert_int_equal(bind_in(owner, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
}

static void test_bpf_enforce_strict(void **state)
{
	struct fix *f = *state;
	struct evlog log = { 0 };
	const struct pg_event *ev;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_STRICT);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_MANAGED, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);
	drain(f, &log);
	ev = find_event(&log, PG_EV_BIND, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->reason, PG_R_UNALLOCATED);

	set_port(f, IPPROTO_TCP, f->port, PG_PORT_MANAGED | PG_PORT_ALLOCATED, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);

	/* Outside strict mode, an unallocated managed port is not refused. */
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_MANAGED, 0);
	set_mode(f, PG_MODE_ENFORCE, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), 0);
}

static void test_bpf_enforce_audit_only(void **state)
{
	struct fix *f = *state;
	struct req r = { .op = OP_BIND, .family = AF_INET, .type = SOCK_STREAM, .addr = "0.0.0.0" };
	struct bpf_enforce_status st;
	const struct pg_event *ev;
	struct evlog log = { 0 };
	struct res res;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_AUDIT_ONLY);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	r.port = f->port;
	res = in_cgroup(f->cg, &r);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.bound, "0.0.0.0");

	drain(f, &log);
	assert_int_equal(log.n, 1);
	ev = &log.ev[0];
	assert_int_equal(ev->action, PG_EV_BIND);
	assert_int_equal(ev->pid, res.pid);
	assert_string_equal(ev->comm, CHILD_COMM);
	assert_int_equal(ev->port, f->port);
	assert_int_equal(ev->verdict, PG_V_AUDITED);
	assert_int_equal(ev->reason, PG_R_LOCALHOST_ONLY);
	assert_int_equal(ev->cgroup_id, f->cg_id);
	assert_true(ev->ts_ns > 0);

	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.mode, PG_MODE_AUDIT_ONLY);
	assert_int_equal(st.counters[PG_CNT_AUDITED], 1);
	assert_int_equal(st.counters[PG_CNT_DENIED], 0);
}

/* A listener on 127.0.0.1:port in the test process itself (outside the test cgroup). */
static int listen_lo(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_sa(AF_INET, "127.0.0.1", port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void test_bpf_enforce_connect_proxy(void **state)
{
	struct fix *f = *state;
	char proxy[PATH_MAX];
	uint64_t proxy_id;
	struct evlog log = { 0 };
	const struct pg_event *ev;
	int lfd;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	sub_cgroup(f, "proxy", proxy, &proxy_id);
	lfd = listen_lo(f->port);
	set_port(f, IPPROTO_TCP, f->port,
		 PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY | PG_PORT_PROXY_BACKEND, 0);

	/* No proxy registered: nothing to walk around. */
	assert_int_equal(connect_in(f->cg, AF_INET, "127.0.0.1", f->port), 0);

	set_mode(f, PG_MODE_ENFORCE, proxy_id);
	assert_int_equal(connect_in(f->cg, AF_INET, "127.0.0.1", f->port), EPERM);
	assert_int_equal(connect_in(f->cg, AF_INET, "0.0.0.0", f->port), EPERM);
	if (g.ipv6) {
		assert_int_equal(connect_in(f->cg, AF_INET6, "::ffff:127.0.0.1", f->port), EPERM);
		assert_int_equal(connect_in(f->cg, AF_INET6, "::1", f->port), EPERM);
	}
	assert_int_equal(connect_in(proxy, AF_INET, "127.0.0.1", f->port), 0);
	/* Other ports are not the hook's business: no listener, refused by TCP. */
	assert_int_equal(connect_in(f->cg, AF_INET, "127.0.0.1", f->port2), ECONNREFUSED);
	close(lfd);

	drain(f, &log);
	ev = find_event(&log, PG_EV_CONNECT, f->port);
	assert_non_null(ev);
	assert_int_equal(ev->verdict, PG_V_DENIED);
	assert_int_equal(ev->reason, PG_R_PROXY_ONLY);
	assert_int_equal(ev->cgroup_id, f->cg_id);
}

static void test_bpf_enforce_sockops_established(void **state)
{
	struct fix *f = *state;
	struct req r = { .op = OP_ESTABLISH, .family = AF_INET, .addr = "127.0.0.1" };
	const struct pg_event *passive = NULL, *active = NULL;
	struct evlog log = { 0 };
	struct res res;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	r.port = f->port;
	res = in_cgroup(f->cg, &r);
	assert_int_equal(res.err, 0);

	drain(f, &log);
	for (int i = 0; i < log.n; i++) {
		if (log.ev[i].action != PG_EV_ESTABLISHED)
			continue;
		if (log.ev[i].port == f->port)
			passive = &log.ev[i];
		else if (log.ev[i].peer_port == f->port)
			active = &log.ev[i];
	}
	assert_non_null(passive);
	assert_non_null(active);
	assert_int_equal(passive->verdict, PG_V_ALLOWED);
	assert_memory_equal(passive->addr, "\x7f\x00\x00\x01", 4);
	assert_memory_equal(passive->peer, "\x7f\x00\x00\x01", 4);
	assert_int_equal(passive->peer_port, active->port);
	/* The owners, recorded at bind (listener, inherited by the accepted socket) and connect. */
	assert_int_equal(passive->pid, res.pid);
	assert_string_equal(passive->comm, CHILD_COMM);
	assert_int_equal(passive->cgroup_id, f->cg_id);
	assert_int_equal(active->pid, res.pid);
	assert_int_equal(active->cgroup_id, f->cg_id);
}

/* The id of the link pinned at pin_dir/name, 0 when none. */
static uint32_t pinned_link_id(const char *pin_dir, const char *name)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		info.id = 0;
	close(fd);
	return info.id;
}

static void test_bpf_enforce_reopen_survives(void **state)
{
	struct fix *f = *state;
	struct req r = { .op = OP_BIND, .family = AF_INET, .type = SOCK_STREAM, .addr = "0.0.0.0" };
	struct pg_port_val v;
	struct pg_settings s;
	struct bpf_enforce_status st;
	uint32_t link_id;
	struct res res;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	assert_int_equal(bpf_enforce_prev_mode(f->e), -1); /* a new settings map */
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	set_mode(f, PG_MODE_ENFORCE, 4242);
	link_id = pinned_link_id(f->pin, "link_bind4");
	assert_true(link_id > 0);
	bpf_enforce_close(f->e);
	f->e = NULL;

	/* Nothing holds it open: still enforced (a portgated crash). */
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);

	/* A restart, with another mode: same links (never detached), same map contents. */
	open_enforce(f, PG_MODE_REWRITE);
	assert_int_equal(bpf_enforce_prev_mode(f->e), PG_MODE_ENFORCE); /* what it held before */
	assert_int_equal(bpf_enforce_check(f->e), 0);
	assert_int_equal(pinned_link_id(f->pin, "link_bind4"), link_id);
	assert_int_equal(bpf_enforce_get_port(f->e, IPPROTO_TCP, f->port, &v), 0);
	assert_int_equal(v.flags, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY);
	assert_int_equal(bpf_enforce_get_settings(f->e, &s), 0);
	assert_int_equal(s.mode, PG_MODE_REWRITE);
	assert_int_equal(s.proxy_cgroup_id, 4242);
	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.n_attached, 5);
	assert_int_equal(st.port_entries_set, 1);

	r.port = f->port;
	res = in_cgroup(f->cg, &r);
	assert_int_equal(res.err, 0);
	assert_string_equal(res.bound, "127.0.0.1");
}

static void test_bpf_enforce_reopen_incompatible(void **state)
{
	struct fix *f = *state;
	struct bpf_enforce_opts o = { .cgroup_path = f->cg, .pin_dir = f->pin };
	struct bpf_enforce *e = NULL;
	char other[PATH_MAX], path[PATH_MAX], err[512];
	uint64_t other_id;
	int fd;

	SKIP_UNLESS_BPF();
	/* Pinned links attached to another cgroup. */
	open_enforce(f, PG_MODE_ENFORCE);
	bpf_enforce_close(f->e);
	f->e = NULL;
	sub_cgroup(f, "other", other, &other_id);
	o.cgroup_path = other;
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "uninstall"));
	assert_int_equal(bpf_enforce_uninstall(f->pin), 10);

	/* A ports map of another layout. */
	assert_int_equal(mkdir(f->pin, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ports", 4, 8, 16, NULL);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/ports", f->pin);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	o.cgroup_path = f->cg;
	assert_int_equal(bpf_enforce_open(&o, &e, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "layout"));
	/* Nothing else was made. */
	snprintf(path, sizeof(path), "%s/link_bind4", f->pin);
	assert_int_equal(access(path, F_OK), -1);
	assert_null(e);
}

static void test_bpf_enforce_check_repair_detached(void **state)
{
	struct fix *f = *state;
	struct bpf_enforce_status st;
	char path[PATH_MAX];
	int fd;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	assert_int_equal(bpf_enforce_check(f->e), 0);

	/* What `bpftool link detach` does to the pinned bind4 link. */
	snprintf(path, sizeof(path), "%s/link_bind4", f->pin);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_link_detach(fd), 0);
	close(fd);
	assert_int_equal(bpf_enforce_check(f->e), -ENOLINK);
	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.n_attached, 4);
	assert_int_equal(st.prog_ids[0], 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), 0);

	assert_int_equal(bpf_enforce_repair(f->e), 1);
	assert_int_equal(bpf_enforce_check(f->e), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);
	assert_int_equal(bpf_enforce_repair(f->e), 0); /* nothing left to do */
}

static void test_bpf_enforce_check_repair_unpinned(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];
	struct pg_port_val v;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);

	/* Pins removed by hand: still attached (we hold the fds) but would not survive us. */
	snprintf(path, sizeof(path), "%s/link_connect4", f->pin);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/ports", f->pin);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_enforce_check(f->e), -ENOLINK);
	assert_int_equal(bpf_enforce_repair(f->e), 2);
	assert_int_equal(bpf_enforce_check(f->e), 0);

	/* The re-pinned map is the live one: a re-open sees its contents. */
	bpf_enforce_close(f->e);
	f->e = NULL;
	open_enforce(f, PG_MODE_ENFORCE);
	assert_int_equal(bpf_enforce_get_port(f->e, IPPROTO_TCP, f->port, &v), 0);
	assert_int_equal(v.flags, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);
}

static void test_bpf_enforce_load_all(void **state)
{
	struct fix *f = *state;
	struct bpf_enforce_status st;
	struct pg_port_val *vals, v;
	unsigned long n = 0;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_UDP, 9, PG_PORT_ALLOCATED, 0); /* replaced by the table below */
	vals = calloc(PG_PORT_ENTRIES, sizeof(*vals));
	assert_non_null(vals);
	/* 49,999 allocations around f->port, half TCP half UDP, then f->port itself. */
	for (uint32_t p = 1024; n < 49999; p++) {
		if (p == f->port)
			continue;
		vals[pg_port_index(n % 2 ? PG_PROTO_UDP : PG_PROTO_TCP, p)].flags =
		    PG_PORT_ALLOCATED;
		n++;
	}
	vals[pg_port_index(PG_PROTO_TCP, f->port)].flags =
	    PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY;
	vals[pg_port_index(PG_PROTO_TCP, f->port)].cgroup_id = 77;
	assert_int_equal(bpf_enforce_load_all(f->e, vals), 0);
	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.port_entries_set, 50000);
	assert_int_equal(bpf_enforce_get_port(f->e, IPPROTO_TCP, f->port, &v), 0);
	assert_int_equal(v.cgroup_id, 77);
	assert_int_equal(bpf_enforce_get_port(f->e, IPPROTO_UDP, 9, &v), 0);
	assert_int_equal(v.flags, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "127.0.0.1", f->port), EPERM);

	memset(vals, 0, PG_PORT_ENTRIES * sizeof(*vals));
	assert_int_equal(bpf_enforce_load_all(f->e, vals), 0);
	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.port_entries_set, 0);
	free(vals);

	assert_int_equal(bpf_enforce_clear_port(f->e, IPPROTO_TCP, f->port), 0);
	assert_int_equal(bpf_enforce_set_port(f->e, IPPROTO_ICMP, 1, &v), -EINVAL);
}

static void test_bpf_enforce_uninstall(void **state)
{
	struct fix *f = *state;
	LIBBPF_OPTS(bpf_prog_query_opts, q);
	int cgfd;

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);

	/* With the handle still open (portgated running): detached all the same. */
	assert_int_equal(bpf_enforce_uninstall(f->pin), 10);
	assert_int_equal(access(f->pin, F_OK), -1);
	cgfd = open(f->cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cgfd >= 0);
	assert_int_equal(bpf_prog_query_opts(cgfd, BPF_CGROUP_INET4_BIND, &q), 0);
	assert_int_equal(q.prog_cnt, 0);
	assert_int_equal(bpf_prog_query_opts(cgfd, BPF_CGROUP_SOCK_OPS, &q), 0);
	assert_int_equal(q.prog_cnt, 0);
	close(cgfd);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), 0);
	assert_int_equal(bpf_enforce_check(f->e), -ENOLINK);
	assert_int_equal(bpf_enforce_uninstall(f->pin), 0); /* again: nothing there */
}

/*
 * The daemon's default pin dir is under /sys/fs/bpf; with no bpffs there, open mounts one. Tried
 * in a child with a mount namespace of its own, so the mount (and its pins) vanish with it.
 */
static void test_bpf_enforce_mounts_bpffs(void **state)
{
	struct fix *f = *state;
	int p[2], status, got = -1;
	pid_t pid;

	SKIP_UNLESS_BPF();
	if (is_bpffs("/sys/fs/bpf")) {
		print_message("SKIP: /sys/fs/bpf is already a bpf filesystem here\n");
		skip();
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct bpf_enforce_opts o = { .cgroup_path = f->cg, .mode = PG_MODE_ENFORCE };
		struct bpf_enforce *e = NULL;
		char pin[256], err[512];
		int r = -1000;

		snprintf(pin, sizeof(pin), "/sys/fs/bpf/portgate-test-%d-%d", (int)getppid(), g.n);
		o.pin_dir = pin;
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
			r = bpf_enforce_open(&o, &e, err, sizeof(err));
			if (r == 0)
				r = is_bpffs("/sys/fs/bpf") ? bpf_enforce_check(e) : -1001;
			bpf_enforce_close(e);
			if (bpf_enforce_uninstall(pin) != 10 && r == 0)
				r = -1002;
		}
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &got, sizeof(got)) != sizeof(got))
		got = -1003;
	close(p[0]);
	waitpid(pid, &status, 0);
	assert_int_equal(got, 0);
	assert_false(is_bpffs("/sys/fs/bpf")); /* the host's namespace is untouched */
}

/* Auditing off (PG_SET_QUIET): the refusal still happens and is counted, but no event is written.
 */
static void test_bpf_enforce_quiet(void **state)
{
	struct fix *f = *state;
	struct pg_settings s = { .mode = PG_MODE_ENFORCE, .flags = PG_SET_QUIET };
	struct bpf_enforce_status st;
	struct evlog log = { 0 };

	SKIP_UNLESS_BPF();
	open_enforce(f, PG_MODE_ENFORCE);
	set_port(f, IPPROTO_TCP, f->port, PG_PORT_ALLOCATED | PG_PORT_LOCALHOST_ONLY, 0);
	assert_int_equal(bpf_enforce_set_settings(f->e, &s), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);
	drain(f, &log);
	assert_int_equal(log.n, 0);
	assert_int_equal(bpf_enforce_status(f->e, &st), 0);
	assert_int_equal(st.counters[PG_CNT_DENIED], 1);
	assert_int_equal(st.counters[PG_CNT_EVENTS_LOST], 0);

	s.flags = 0; /* back on: reported again */
	assert_int_equal(bpf_enforce_set_settings(f->e, &s), 0);
	assert_int_equal(bind_in(f->cg, AF_INET, SOCK_STREAM, "0.0.0.0", f->port), EPERM);
	drain(f, &log);
	assert_int_equal(log.n, 1);
	s.flags = 1u << 7; /* unknown flags are refused */
	assert_int_equal(bpf_enforce_set_settings(f->e, &s), -EINVAL);
}

/* The cgroup attached to is removed: check and repair say so rather than "repaired". */
static void test_bpf_enforce_cgroup_removed(void **state)
{
	struct fix *f = *state;
	struct bpf_enforce_opts o = { .pin_dir = f->pin, .mode = PG_MODE_ENFORCE };
	char victim[2048], err[512];
	uint64_t id;

	SKIP_UNLESS_BPF();
	sub_cgroup(f, "victim", victim, &id);
	o.cgroup_path = victim;
	assert_int_equal(bpf_enforce_open(&o, &f->e, err, sizeof(err)), 0);
	assert_int_equal(bpf_enforce_check(f->e), 0);
	assert_int_equal(rmdir(victim), 0);
	assert_int_equal(bpf_enforce_check(f->e), -ENOENT);
	assert_int_equal(bpf_enforce_repair(f->e), -ENOENT);
	bpf_enforce_close(f->e);
	f->e = NULL;
	assert_int_equal(bpf_enforce_uninstall(f->pin), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_enforce_cgroup2_mount),
		cmocka_unit_test(test_bpf_enforce_names),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_bpf_enforce_open_errors),
		T(test_bpf_enforce_localhost_only_v4),
		T(test_bpf_enforce_localhost_only_v6),
		T(test_bpf_enforce_rewrite),
		T(test_bpf_enforce_owner_cgroup),
		T(test_bpf_enforce_restricted),
		T(test_bpf_enforce_strict),
		T(test_bpf_enforce_audit_only),
		T(test_bpf_enforce_connect_proxy),
		T(test_bpf_enforce_sockops_established),
		T(test_bpf_enforce_reopen_survives),
		T(test_bpf_enforce_reopen_incompatible),
		T(test_bpf_enforce_check_repair_detached),
		T(test_bpf_enforce_check_repair_unpinned),
		T(test_bpf_enforce_load_all),
		T(test_bpf_enforce_uninstall),
		T(test_bpf_enforce_mounts_bpffs),
		T(test_bpf_enforce_cgroup_removed),
		T(test_bpf_enforce_quiet),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
