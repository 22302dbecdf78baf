// SPDX-License-Identifier: MIT
/* portgated: the portgate controller: registry, control API, health and metrics. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include "api.h"
#include "audit.h"
#include "daemon.h"
#include "embedded_redis.h"
#include "log.h"
#include "metrics.h"
#include "proxy_listeners.h"
#include "proxy_supervisor.h"
#include "reconciler.h"

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void on_signal(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct daemon *d = data;
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				if (!proxy_supervisor_reap(d->proxy, pid, status))
					embedded_redis_reap(d->redis, pid, status);
		} else if (si.ssi_signo == SIGHUP) {
			audit_reopen(d->audit); /* logrotate moved the audit file away */
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %d: stopping", (int)si.ssi_signo);
			evloop_stop(loop);
		}
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return evloop_watch(d->loop, fd, EVLOOP_READ, on_signal, d);
}

static void on_registry_state(bool ready, void *arg)
{
	struct daemon *d = arg;

	/* Every (re)connection: the kernel is rebuilt from the registry, atomically; the proxy's
	 * listeners follow it (after the kernel, which must let portgated bind them). */
	if (ready && d->rec)
		reconciler_request_resync(d->rec);
	else if (ready)
		proxy_listeners_sync(d->proxy);

	if (ready && !d->ready_notified) {
		d->ready_notified = true;
		log_info("ready: control API on %s", d->cfg.socket_path);
		sd_notify(0, "READY=1\nSTATUS=serving");
	}
}

/* Where the registry lives: the embedded redis-server, or --redis URL. */
static int setup_registry(struct daemon *d)
{
	struct registry_target t = { 0 };
	struct pg_redis_url url;
	char err[256];
	int rc;

	if (!d->cfg.redis_url[0]) {
		rc = embedded_redis_start(d->loop, d->cfg.state_dir, d->cfg.redis_server,
					  d->cfg.appendfsync, &d->redis);
		if (rc < 0) {
			log_error("cannot start %s: %s", d->cfg.redis_server, strerror(-rc));
			return rc;
		}
		t.is_unix = true;
		snprintf(t.path, sizeof(t.path), "%s", embedded_redis_socket(d->redis));
	} else {
		if (config_parse_redis_url(d->cfg.redis_url, &url, err, sizeof(err)) < 0) {
			log_error("--redis: %s", err);
			return -EINVAL;
		}
		t.is_unix = url.is_unix;
		t.port = url.port;
		t.db = url.db;
		snprintf(t.host, sizeof(t.host), "%s", url.host);
		snprintf(t.path, sizeof(t.path), "%s", url.path);
	}
	rc = registry_open(d->loop, &t, d->cfg.host, d->cfg.policy.restricted,
			   d->cfg.policy.n_restricted, on_registry_state, d, &d->reg);
	if (rc < 0)
		log_error("registry: %s", strerror(-rc));
	return rc;
}

static int setup_listeners(struct daemon *d)
{
	char dir[sizeof(d->cfg.socket_path)], addr[64];
	uint16_t port;
	bool enabled;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", d->cfg.socket_path);
	rc = mkdir_p(dirname(dir), 0755);
	fd = rc < 0 ? rc : httpd_listen_unix(d->cfg.socket_path, 0660, d->cfg.socket_group);
	if (fd < 0 || (rc = httpd_new(d->loop, fd, api_handle, d, &d->api)) < 0) {
		log_error("control socket %s: %s", d->cfg.socket_path,
			  strerror(-(fd < 0 ? fd : rc)));
		return fd < 0 ? fd : rc;
	}
	if (config_parse_listen(d->cfg.metrics, &enabled, addr, sizeof(addr), &port) < 0 ||
	    !enabled)
		return 0;
	fd = httpd_listen_tcp(addr, port);
	if (fd < 0 || (rc = httpd_new(d->loop, fd, metrics_handle, d, &d->metrics)) < 0) {
		log_error("metrics %s: %s", d->cfg.metrics, strerror(-(fd < 0 ? fd : rc)));
		return fd < 0 ? fd : rc;
	}
	log_info("health and metrics on http://%s/ (/health, /metrics)", d->cfg.metrics);
	return 0;
}

/* BPF and nftables, unless --enforce off; a kernel that lacks something stops the start
 * with one line saying what. */
static int setup_kernel(struct daemon *d)
{
	char err[512] = "";
	int rc = reconciler_open(d, &d->rec, err, sizeof(err));

	if (rc < 0)
		log_error("enforcement: %s (%s); run with --enforce off for registry only",
			  err[0] ? err : "cannot set up", strerror(-rc));
	return rc;
}

/* portgate-proxy, which serves the token-protected ports (unless --proxy off). */
static int setup_proxy(struct daemon *d)
{
	char err[512] = "";
	int rc = proxy_supervisor_open(d, &d->proxy, err, sizeof(err));

	if (rc < 0)
		log_error("proxy: %s; run with --proxy off to serve no token-protected port",
			  err[0] ? err : strerror(-rc));
	return rc;
}

/* The audit trail, before anything that records events (the reconciler's repairs, the proxy's
 * decisions); its stream waits for the registry, opened next. */
static int setup_audit(struct daemon *d)
{
	char err[512] = "";
	int rc = audit_open(d, &d->audit, err, sizeof(err));

	if (rc < 0)
		log_error("audit: %s", err[0] ? err : strerror(-rc));
	return rc;
}

static void teardown(struct daemon *d)
{
	httpd_free(d->metrics);
	httpd_free(d->api);
	if (d->api)
		unlink(d->cfg.socket_path);
	/* The registry first: its pending callbacks (answered with errors) still find the
	 * reconciler and the proxy supervisor they belong to. */
	registry_close(d->reg);
	proxy_supervisor_close(d->proxy);
	reconciler_close(d->rec);
	embedded_redis_stop(d->redis);
	/* Last: everything above may still record events; the registry has answered the
	 * stream's batch in flight. */
	audit_close(d->audit);
	sockdiag_close(d->sd);
	evloop_free(d->loop);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	char err[512];
	int rc;

	log_setup("portgated", LOG_LVL_INFO);
	rc = config_load(&d.cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "portgated: error: %s\n", err);
		return rc < 0 ? 2 : 0;
	}
	log_setup("portgated", (enum log_level)d.cfg.log_level);
	if (!d.cfg.enforce)
		log_info("enforcement off: registry only");
	d.started_ms = evloop_now_ms();
	rc = mkdir_p(d.cfg.state_dir, 0750);
	if (rc < 0) {
		log_error("state directory %s: %s", d.cfg.state_dir, strerror(-rc));
		return 1;
	}
	rc = sockdiag_open(&d.sd);
	if (rc < 0)
		log_warn("sock_diag unavailable (%s): listeners on the host are not checked",
			 strerror(-rc));
	if (evloop_new(&d.loop) < 0 || setup_signals(&d) < 0 || setup_audit(&d) < 0 ||
	    setup_kernel(&d) < 0 || setup_registry(&d) < 0 || setup_proxy(&d) < 0 ||
	    setup_listeners(&d) < 0) {
		teardown(&d);
		return 1;
	}
	log_info("portgated %s for host %s (registry %s)", PORTGATE_VERSION, d.cfg.host,
		 d.cfg.redis_url[0] ? d.cfg.redis_url : "embedded");
	rc = evloop_run(d.loop);
	sd_notify(0, "STOPPING=1");
	teardown(&d);
	return rc < 0 ? 1 : 0;
}
