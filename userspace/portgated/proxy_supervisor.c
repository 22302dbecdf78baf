// SPDX-License-Identifier: MIT
/* proxy_supervisor: runs portgate-proxy (a supervised child that drops to its own user) for
 * portgated. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bpf_cgroup.h"
#include "log.h"
#include "proxy_int.h"
#include "reconciler.h"

#define PROXY_RESTART_MIN_MS 100
#define PROXY_RESTART_MAX_MS 5000
#define PROXY_STABLE_MS	     10000 /* up this long: the next restart starts from the minimum */
#define PROXY_STOP_WAIT_MS   2000
#define PROXY_CGROUP_NAME    "portgate-proxy"
#define PROXY_DEFAULT_USER   "portgate-proxy"
#define PROXY_FALLBACK_USER  "nobody"
#define PROXY_FALLBACK_ID    65534

static void proxy_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The binary: --proxy PATH, else portgate-proxy beside portgated's own. 1 when it is the default
 * and missing (run without a proxy), 0, or -errno with err set. */
static int proxy_find_binary(struct proxy_supervisor *s, const char *cfg, char *err, size_t errlen)
{
	char self[PATH_MAX];
	ssize_t n;

	if (*cfg) {
		snprintf(s->binary, sizeof(s->binary), "%s", cfg);
		if (access(s->binary, X_OK) == 0)
			return 0;
		snprintf(err, errlen, "--proxy %s: %s", s->binary, strerror(errno));
		return -ENOENT;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(err, errlen, "cannot read /proc/self/exe: %s", strerror(errno));
		return -errno;
	}
	self[n] = '\0';
	snprintf(s->binary, sizeof(s->binary), "%s/portgate-proxy", dirname(self));
	return access(s->binary, X_OK) == 0 ? 0 : 1;
}

/* The user: --proxy-user NAME or UID, else portgate-proxy if it exists, else nobody (65534).
 * Only root changes user; anyone else runs the proxy as itself. 0 or -ENOENT with err set. */
static int proxy_find_user(struct proxy_supervisor *s, const char *cfg, char *err, size_t errlen)
{
	const char *name = *cfg ? cfg : PROXY_DEFAULT_USER;
	struct passwd *pw = getpwnam(name);
	char *end;
	unsigned long id;

	if (geteuid() != 0) {
		struct passwd *me = getpwuid(geteuid());

		snprintf(s->user, sizeof(s->user), "%s", me ? me->pw_name : "self");
		return 0;
	}
	if (!pw && !*cfg)
		pw = getpwnam(name = PROXY_FALLBACK_USER);
	if (pw) {
		s->uid = pw->pw_uid;
		s->gid = pw->pw_gid;
		snprintf(s->user, sizeof(s->user), "%s", name);
	} else if (!*cfg) {
		s->uid = s->gid = PROXY_FALLBACK_ID;
		snprintf(s->user, sizeof(s->user), "%d", PROXY_FALLBACK_ID);
	} else {
		errno = 0;
		id = strtoul(cfg, &end, 10);
		if (*end || errno || id == 0 || id >= (unsigned long)UINT32_MAX) {
			snprintf(err, errlen, "--proxy-user %s: no such user", cfg);
			return -ENOENT;
		}
		s->uid = (uid_t)id;
		s->gid = (gid_t)id;
		snprintf(s->user, sizeof(s->user), "%lu", id);
	}
	if (s->uid == 0) {
		snprintf(err, errlen, "--proxy-user %s: the proxy never runs as root", name);
		return -EINVAL;
	}
	s->drop = true;
	return 0;
}

/* With enforcement on: <attach cgroup>/portgate-proxy, the only cgroup whose connections reach
 * backends. Without it (or when it cannot be made) the proxy stays in portgated's cgroup. */
static void proxy_setup_cgroup(struct proxy_supervisor *s)
{
	const char *parent = reconciler_cgroup(s->d->rec);
	uint64_t id;
	int err;

	s->cgroup[0] = '\0';
	if (!parent)
		return;
	snprintf(s->cgroup, sizeof(s->cgroup), "%s/%s", parent, PROXY_CGROUP_NAME);
	if (mkdir(s->cgroup, 0755) < 0 && errno != EEXIST)
		err = -errno;
	else
		err = bpf_cgroup_id(s->cgroup, &id);
	if (err == 0)
		err = reconciler_set_proxy_cgroup(s->d->rec, id);
	if (err < 0) {
		log_warn("proxy cgroup %s: %s: backends are not kept from other local processes",
			 s->cgroup, strerror(-err));
		s->cgroup[0] = '\0';
		return;
	}
	s->cgroup_id = id;
}

/* Whether the sysctl file (a list of names split by spaces) names alg. */
static bool proxy_sysctl_lists(const char *path, const char *alg)
{
	char buf[512], *save = NULL;
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (char *w = strtok_r(buf, " \n", &save); w && !found;
		     w = strtok_r(NULL, " \n", &save))
			found = strcmp(w, alg) == 0;
	fclose(f);
	return found;
}

/* --proxy-congestion: told at start rather than by a proxy that fails and is restarted for
 * ever. The proxy runs without privileges, so the algorithm must be one the kernel allows to
 * everybody (net.ipv4.tcp_allowed_congestion_control), not only one it has. */
static int proxy_check_congestion(const char *alg, char *err, size_t errlen)
{
	if (!*alg || proxy_sysctl_lists("/proc/sys/net/ipv4/tcp_allowed_congestion_control", alg))
		return 0;
	if (proxy_sysctl_lists("/proc/sys/net/ipv4/tcp_available_congestion_control", alg))
		snprintf(err, errlen,
			 "--proxy-congestion %s: not allowed to the unprivileged proxy (add it to "
			 "net.ipv4.tcp_allowed_congestion_control)",
			 alg);
	else
		snprintf(err, errlen,
			 "--proxy-congestion %s: not available on this kernel (see "
			 "net.ipv4.tcp_available_congestion_control)",
			 alg);
	return -EINVAL;
}

/* In the child, before exec: cgroup, fd 3, nothing else open, no_new_privs, dies with
 * portgated; `--user UID:GID` makes the proxy drop to its user itself once its sockmap program
 * is loaded. Errors go to stderr (portgated's log) and end the child; the parent restarts it. */
static void proxy_exec(const struct proxy_supervisor *s, int fd, pid_t parent)
{
	char user[32];
	char *argv[] = { (char *)s->binary, "--control-fd", "3", NULL, NULL, NULL, NULL, NULL };
	int argc = 3;
	const char *step;
	sigset_t none;
	int err;

	step = "cgroup";
	err = s->cgroup[0] ? bpf_cgroup_move(s->cgroup, 0) : 0;
	if (err == 0) {
		/* dup2 clears close-on-exec on fd 3; when fd already is 3, clear it by hand. */
		step = "control fd";
		err = fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(fd, 3);
		err = err < 0 ? -errno : 0;
	}
	if (err == 0) {
		step = "close fds";
		err = close_range(4, ~0U, 0) < 0 ? -errno : 0;
	}
	/*
	 * The proxy changes user itself, once it has loaded its sockmap program (which needs
	 * CAP_BPF and CAP_NET_ADMIN) and before it reads a byte from the network.
	 */
	if (s->drop) {
		snprintf(user, sizeof(user), "%u:%u", (unsigned)s->uid, (unsigned)s->gid);
		argv[argc++] = "--user";
		argv[argc++] = user;
	}
	/* A command-line option, not a setting: it must hold before the first listener. */
	if (s->d->cfg.proxy_congestion[0]) {
		argv[argc++] = "--congestion";
		argv[argc++] = (char *)s->d->cfg.proxy_congestion;
	}
	/* A parent already gone: stop here. */
	if (err == 0) {
		step = "parent death signal";
		err = prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ? -errno : 0;
		if (err == 0 && getppid() != parent)
			_exit(1);
	}
	if (err == 0) {
		step = "no_new_privs";
		err = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
	}
	if (err < 0) {
		dprintf(2, "portgated: portgate-proxy child: %s: %s\n", step, strerror(-err));
		_exit(126);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(s->binary, argv);
	dprintf(2, "portgated: cannot run %s: %s\n", s->binary, strerror(errno));
	_exit(127);
}

static int proxy_spawn(struct proxy_supervisor *s)
{
	pid_t parent = getpid(), pid;
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		proxy_exec(s, sv[1], parent);
	}
	close(sv[1]);
	s->pid = pid;
	s->started_ms = evloop_now_ms();
	s->ready = false;
	s->instance++;
	err = proxy_link_new(s->d->loop, sv[0], proxy_listeners_event, s, &s->link);
	if (err < 0) {
		s->link = NULL;
		kill(pid, SIGKILL); /* reaped and restarted like any death */
		return 0;
	}
	log_info("portgate-proxy started (pid %d, user %s%s%s)", (int)pid, s->user,
		 s->cgroup[0] ? ", cgroup " : "", s->cgroup);
	proxy_listeners_start(s);
	return 0;
}

static void proxy_restart(struct evloop *loop, void *arg)
{
	struct proxy_supervisor *s = arg;
	int err;

	s->restart_timer = 0;
	err = proxy_spawn(s);
	if (err < 0) {
		snprintf(s->last_error, sizeof(s->last_error), "cannot start: %s", strerror(-err));
		log_error("cannot restart portgate-proxy: %s", strerror(-err));
		proxy_supervisor_schedule(s);
	}
}

void proxy_supervisor_schedule(struct proxy_supervisor *s)
{
	if (s->stopping || s->restart_timer > 0)
		return;
	s->restart_timer = evloop_timer_add(s->d->loop, s->backoff_ms, proxy_restart, s);
	s->backoff_ms =
	    s->backoff_ms * 2 > PROXY_RESTART_MAX_MS ? PROXY_RESTART_MAX_MS : s->backoff_ms * 2;
}

void proxy_supervisor_kill(struct proxy_supervisor *s, const char *why)
{
	if (s->pid <= 0)
		return;
	log_warn("portgate-proxy (pid %d): %s; restarting it", (int)s->pid, why);
	kill(s->pid, SIGKILL);
}

bool proxy_supervisor_reap(struct proxy_supervisor *s, pid_t pid, int status)
{
	if (!s || pid != s->pid || pid <= 0)
		return false;
	s->pid = 0;
	proxy_link_free(s->link);
	s->link = NULL;
	proxy_listeners_lost(s); /* the listeners died with it */
	if (s->stopping)
		return true;
	if (evloop_now_ms() - s->started_ms >= PROXY_STABLE_MS)
		s->backoff_ms = PROXY_RESTART_MIN_MS;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(s->last_error, sizeof(s->last_error),
			 "killed by SIGSYS (its seccomp filter refused a system call)");
	else if (WIFSIGNALED(status))
		snprintf(s->last_error, sizeof(s->last_error), "killed by signal %d",
			 WTERMSIG(status));
	else
		snprintf(s->last_error, sizeof(s->last_error), "exited with %d",
			 WEXITSTATUS(status));
	log_warn("portgate-proxy (pid %d) %s; restarting in %llu ms", (int)pid, s->last_error,
		 (unsigned long long)s->backoff_ms);
	s->restarts++;
	proxy_supervisor_schedule(s);
	return true;
}

int proxy_supervisor_open(struct daemon *d, struct proxy_supervisor **out, char *err, size_t errlen)
{
	struct proxy_supervisor *s;
	int rc;

	*out = NULL;
	if (strcmp(d->cfg.proxy, "off") == 0) {
		log_info("proxy off: token-protected ports are not served");
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->backoff_ms = PROXY_RESTART_MIN_MS;
	rc = proxy_find_binary(s, d->cfg.proxy, err, errlen);
	if (rc == 1) {
		log_warn("no portgate-proxy beside portgated (%s): token-protected ports are not "
			 "served (--proxy PATH, or --proxy off)",
			 s->binary);
		free(s);
		return 0;
	}
	if (rc == 0)
		rc = proxy_find_user(s, d->cfg.proxy_user, err, errlen);
	if (rc == 0)
		rc = proxy_check_congestion(d->cfg.proxy_congestion, err, errlen);
	if (rc == 0) {
		proxy_setup_cgroup(s);
		rc = proxy_spawn(s);
		if (rc < 0)
			snprintf(err, errlen, "cannot start %s: %s", s->binary, strerror(-rc));
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void proxy_supervisor_close(struct proxy_supervisor *s)
{
	int status;

	if (!s)
		return;
	s->stopping = true;
	evloop_timer_cancel(s->d->loop, s->restart_timer);
	proxy_link_free(s->link);
	s->link = NULL;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		for (int i = 0; i < PROXY_STOP_WAIT_MS / 20; i++) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
				s->pid = 0;
				break;
			}
			proxy_sleep_ms(20);
		}
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
	}
	/* Empty now; made again at the next start. */
	if (s->cgroup[0])
		rmdir(s->cgroup);
	proxy_listeners_lost(s);
	free(s->listeners);
	free(s->decisions);
	free(s);
}

json_t *proxy_supervisor_status(const struct proxy_supervisor *s)
{
	if (!s)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b,s:s,s:s,s:s,s:i,s:b,s:b,s:I,s:I,s:I,s:I,s:s}", "enabled", 1,
			 "binary", s->binary, "user", s->user, "cgroup", s->cgroup, "pid",
			 (int)s->pid, "running", s->pid > 0, "ready", s->ready, "listeners",
			 (json_int_t)s->n_listeners, "restarts", (json_int_t)s->restarts,
			 "decisions", (json_int_t)s->n_events, "blocks", (json_int_t)s->blocks,
			 "last_error", s->last_error);
}

void proxy_supervisor_stats(const struct proxy_supervisor *s, struct proxy_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	st->running = s->pid > 0;
	st->listeners = (unsigned)s->n_listeners;
	st->restarts = s->restarts;
	st->blocks = s->blocks;
}

const struct proxy_decision *proxy_supervisor_decisions(const struct proxy_supervisor *s, size_t *n)
{
	*n = s ? s->n_decisions : 0;
	return s ? s->decisions : NULL;
}
