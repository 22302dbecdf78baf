// SPDX-License-Identifier: MIT
/* portgate-proxy: the X-Source-Token gate in front of protected ports (one loop per core). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include "log.h"
#include "proxy.h"
#include "proxy_congestion.h"
#include "proxy_head.h"
#include "proxy_sockmap.h"

#define PROXY_THREADS_MAX    64
#define PROXY_SWEEP_MS	     10000 /* forget idle failure windows this often */
#define PROXY_LIMITS_SOURCES 65536 /* sources tracked at most */
#define PROXY_LISTEN_BACKLOG 4096
#define PROXY_SOCKMAP_SOCKS  131072 /* redirected sockets at most (two per tunnel) */

struct proxy_settings proxy_settings = {
	.head_timeout_ms = 10000,
	.head_max = 16384,
	.fail_limit = 20,
	.fail_window_s = 60,
	.block_s = 600,
	.connect_timeout_ms = 5000,
	.linger_ms = 2000,
	.sockmap_after = PROXY_SOCKMAP_AFTER,
	.backend_reuse = 1,
	.defer_accept_s = 1,
	.answer_timeout_ms = 60000,
	.tunnel_idle_s = 3600,
};

struct proxy_limits *proxy_limits;

void proxy_settings_limits(struct proxy_limits_cfg *cfg)
{
	cfg->fail_limit = PROXY_SETTING(fail_limit);
	cfg->fail_window_s = PROXY_SETTING(fail_window_s);
	cfg->block_s = PROXY_SETTING(block_s);
}

struct proxy_opts {
	int control_fd;
	const char *routes[64];
	int n_routes;
	const char *token_hash, *token_header, *events, *user;
	int threads;
	bool seccomp;
	bool sockmap;
	bool verbose;
};

static void proxy_usage(FILE *f)
{
	fprintf(
	    f, "usage: portgate-proxy --control-fd N [options]\n"
	       "       portgate-proxy --route [ADDR:]PORT=BACKEND... --token-hash sha256:<hex> "
	       "[options]\n"
	       "  --control-fd N        read ops from portgated on fd N (docs/proxy-protocol.md)\n"
	       "  --route SPEC          standalone: listen on ADDR:PORT, forward to "
	       "127.0.0.1:BACKEND\n"
	       "  --token-hash H        standalone: the routes' token hash (sha256:<64 hex>)\n"
	       "  --token-header NAME   standalone: header carrying the token (X-Source-Token)\n"
	       "  --threads N           event loops (default: one per online CPU)\n"
	       "  --events FILE|-       write events as JSON lines (default: the control fd)\n"
	       "  --head-timeout-ms N   time for the whole request head (10000)\n"
	       "  --head-max N          bytes of request head at most (16384)\n"
	       "  --fail-limit N        failures that block a source (20)...\n"
	       "  --fail-window S       ...within S seconds (60)\n"
	       "  --block-for S         how long a source stays blocked (600)\n"
	       "  --forward MODE        auto (default): recv/send through one buffer per thread\n"
	       "                        while reads are small, splice(2) through pipes from the\n"
	       "                        first large one; splice or copy: always that\n"
	       "  --sockmap             move tunnels to the sockmap redirect (sk_skb, in the\n"
	       "                        kernel) as soon as their head is forwarded; faster, but\n"
	       "                        the kernel queues without limit for a slow reader (the\n"
	       "                        whole response of a fast backend): off by default\n"
	       "  --sockmap-after N     the same, once a tunnel has carried N bytes\n"
	       "  --no-sockmap          splice (or copy) only: the default\n"
	       "  --no-backend-reuse    a backend connection per client connection, also for\n"
	       "                        clients that send Connection: close (default: those share\n"
	       "                        idle backend connections)\n"
	       "  --defer-accept S      a connection reaches the proxy once its first bytes have\n"
	       "                        arrived, or after S seconds (TCP_DEFER_ACCEPT; default 1;\n"
	       "                        0: at once)\n"
	       "  --answer-timeout-ms N one-exchange clients: the backend's response head must\n"
	       "                        come within N ms, else 504 (60000)\n"
	       "  --tunnel-idle S       a tunnel (keep-alive, WebSocket) that carries no byte\n"
	       "                        for S seconds is closed (3600; 0: never)\n"
	       "  --congestion ALG      TCP congestion control of the proxy's own sockets (its\n"
	       "                        listeners' connections, its backend connections), e.g.\n"
	       "                        cubic or bbr; default: the host's\n"
	       "  --user NAME           run as this user once the routes are bound\n"
	       "  --no-seccomp          no system call filter (debugging)\n"
	       "  -v, --verbose         debug messages\n"
	       "SIGUSR1 prints the counters (Prometheus text) to stderr.\n");
}

static int proxy_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int proxy_parse_args(int argc, char **argv, struct proxy_opts *o)
{
	enum {
		O_ROUTE = 256,
		O_HASH,
		O_HEADER,
		O_EVENTS,
		O_HTMO,
		O_HMAX,
		O_FLIM,
		O_FWIN,
		O_BLOCK,
		O_USER,
		O_NOSEC,
		O_THREADS,
		O_CTL,
		O_FWD,
		O_SM,
		O_SMAFTER,
		O_NOSM,
		O_NOREUSE,
		O_DEFER,
		O_ANSWER,
		O_IDLE,
		O_CC
	};
	static const struct option lo[] = {
		{ "control-fd", required_argument, NULL, O_CTL },
		{ "route", required_argument, NULL, O_ROUTE },
		{ "token-hash", required_argument, NULL, O_HASH },
		{ "token-header", required_argument, NULL, O_HEADER },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "head-timeout-ms", required_argument, NULL, O_HTMO },
		{ "head-max", required_argument, NULL, O_HMAX },
		{ "fail-limit", required_argument, NULL, O_FLIM },
		{ "fail-window", required_argument, NULL, O_FWIN },
		{ "block-for", required_argument, NULL, O_BLOCK },
		{ "user", required_argument, NULL, O_USER },
		{ "no-seccomp", no_argument, NULL, O_NOSEC },
		{ "forward", required_argument, NULL, O_FWD },
		{ "sockmap", no_argument, NULL, O_SM },
		{ "sockmap-after", required_argument, NULL, O_SMAFTER },
		{ "no-sockmap", no_argument, NULL, O_NOSM },
		{ "no-backend-reuse", no_argument, NULL, O_NOREUSE },
		{ "defer-accept", required_argument, NULL, O_DEFER },
		{ "answer-timeout-ms", required_argument, NULL, O_ANSWER },
		{ "tunnel-idle", required_argument, NULL, O_IDLE },
		{ "congestion", required_argument, NULL, O_CC },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	long v;

	*o = (struct proxy_opts){ .control_fd = -1, .seccomp = true };
	int li = -1;

	while ((c = getopt_long(argc, argv, "vh", lo, &li)) != -1) {
		switch (c) {
		case O_CTL:
			if (proxy_num(optarg, 0, 65535, &v))
				goto bad;
			o->control_fd = (int)v;
			break;
		case O_ROUTE:
			if (o->n_routes == (int)(sizeof(o->routes) / sizeof(o->routes[0])))
				goto bad;
			o->routes[o->n_routes++] = optarg;
			break;
		case O_HASH:
			o->token_hash = optarg;
			break;
		case O_HEADER:
			o->token_header = optarg;
			break;
		case O_THREADS:
			if (proxy_num(optarg, 1, PROXY_THREADS_MAX, &v))
				goto bad;
			o->threads = (int)v;
			break;
		case O_EVENTS:
			o->events = optarg;
			break;
		case O_HTMO:
			if (proxy_num(optarg, 100, 600000, &v))
				goto bad;
			proxy_settings.head_timeout_ms = (uint32_t)v;
			break;
		case O_HMAX:
			if (proxy_num(optarg, 1024, PROXY_HEAD_MAX_LIMIT, &v))
				goto bad;
			proxy_settings.head_max = (uint32_t)v;
			break;
		case O_FLIM:
			if (proxy_num(optarg, 1, PROXY_FAIL_LIMIT_MAX, &v))
				goto bad;
			proxy_settings.fail_limit = (uint32_t)v;
			break;
		case O_FWIN:
			if (proxy_num(optarg, 1, 86400, &v))
				goto bad;
			proxy_settings.fail_window_s = (uint32_t)v;
			break;
		case O_BLOCK:
			if (proxy_num(optarg, 0, 31 * 86400, &v))
				goto bad;
			proxy_settings.block_s = (uint32_t)v;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_NOSEC:
			o->seccomp = false;
			break;
		case O_FWD:
			if (strcmp(optarg, "auto") == 0)
				proxy_settings.forward_copy = PROXY_FORWARD_AUTO;
			else if (strcmp(optarg, "splice") == 0)
				proxy_settings.forward_copy = PROXY_FORWARD_SPLICE;
			else if (strcmp(optarg, "copy") == 0)
				proxy_settings.forward_copy = PROXY_FORWARD_COPY;
			else
				goto bad;
			break;
		case O_SMAFTER:
			if (proxy_num(optarg, 0, INT32_MAX, &v))
				goto bad;
			proxy_settings.sockmap_after = (uint32_t)v;
			o->sockmap = true;
			break;
		case O_SM:
			proxy_settings.sockmap_after = PROXY_SOCKMAP_AFTER;
			o->sockmap = true;
			break;
		case O_NOSM:
			o->sockmap = false;
			break;
		case O_NOREUSE:
			proxy_settings.backend_reuse = 0;
			break;
		case O_DEFER:
			if (proxy_num(optarg, 0, PROXY_DEFER_ACCEPT_MAX, &v))
				goto bad;
			proxy_settings.defer_accept_s = (uint32_t)v;
			break;
		case O_ANSWER:
			if (proxy_num(optarg, PROXY_ANSWER_TIMEOUT_MIN, PROXY_ANSWER_TIMEOUT_MAX,
				      &v))
				goto bad;
			proxy_settings.answer_timeout_ms = (uint32_t)v;
			break;
		case O_IDLE:
			if (proxy_num(optarg, 0, PROXY_TUNNEL_IDLE_MAX, &v))
				goto bad;
			proxy_settings.tunnel_idle_s = (uint32_t)v;
			break;
		case O_CC:
			if (proxy_congestion_set_name(optarg) < 0)
				goto bad;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			proxy_usage(stdout);
			exit(0);
		default:
			goto usage;
		}
	}
	if (optind != argc || (o->control_fd < 0 && !o->n_routes))
		goto usage;
	if (o->n_routes && !o->token_hash) {
		fprintf(stderr, "portgate-proxy: --route needs --token-hash\n");
		return -EINVAL;
	}
	return 0;
bad:
	/* Name the option: "bad value" alone leaves the operator guessing which one. */
	fprintf(stderr, "portgate-proxy: --%s: bad value '%s' (see --help for the range)\n",
		li >= 0 ? lo[li].name : "?", optarg);
	return -EINVAL;
usage:
	proxy_usage(stderr);
	return -EINVAL;
}

/* Binds and listens on addr:port (standalone); returns the socket or -errno. */
static int proxy_bind(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, err;

	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, PROXY_LISTEN_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int proxy_standalone_routes(const struct proxy_opts *o, int *fds)
{
	for (int i = 0; i < o->n_routes; i++) {
		char addr[PROXY_BIND_MAX];
		uint16_t port, backend;

		if (proxy_route_parse(o->routes[i], addr, &port, &backend) < 0) {
			log_error("bad --route %s (want [ADDR:]PORT=BACKEND)", o->routes[i]);
			return -EINVAL;
		}
		fds[i] = proxy_bind(addr, port);
		if (fds[i] < 0) {
			log_error("cannot listen on %s port %u: %s", addr, port, strerror(-fds[i]));
			return fds[i];
		}
	}
	return 0;
}

static int proxy_standalone_listen(const struct proxy_opts *o, int *fds)
{
	for (int i = 0; i < o->n_routes; i++) {
		struct proxy_route_spec spec = { .token_hash = o->token_hash,
						 .token_header = o->token_header };
		char addr[PROXY_BIND_MAX];
		struct proxy_route *r;
		int rc;

		proxy_route_parse(o->routes[i], addr, &spec.port, &spec.backend_port);
		spec.bind_address = addr;
		rc = proxy_route_new(&spec, &r);
		if (rc < 0) {
			log_error("route %s: bad --token-hash or --token-header", o->routes[i]);
			return rc;
		}
		rc = proxy_control_listen(r, fds[i]);
		fds[i] = -1;
		proxy_route_put(r);
		if (rc < 0) {
			log_error("route %s: %s", o->routes[i], strerror(-rc));
			return rc;
		}
		proxy_events_printf("{\"event\":\"listening\",\"port\":%u}", (unsigned)spec.port);
	}
	return 0;
}

/* Where events go: --events, else the control fd, else nowhere. -errno on failure. */
static int proxy_open_events(const struct proxy_opts *o)
{
	int fd;

	if (!o->events)
		return proxy_events_init(o->control_fd, o->control_fd >= 0);
	if (strcmp(o->events, "-") == 0)
		return proxy_events_init(STDOUT_FILENO, false);
	fd = open(o->events, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	return proxy_events_init(fd, false);
}

static void proxy_signal_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			proxy_stats_prometheus(stderr);
			fflush(stderr);
		} else {
			log_info("signal %u: stopping", si.ssi_signo);
			evloop_stop(loop);
		}
	}
}

static void proxy_sweep_cb(struct evloop *loop, void *data)
{
	struct proxy_limits_cfg cfg;

	proxy_settings_limits(&cfg);
	proxy_limits_sweep(proxy_limits, evloop_now_ms(), &cfg);
	evloop_timer_add(loop, PROXY_SWEEP_MS, proxy_sweep_cb, NULL);
}

/* Lets the process hold as many connections as its hard limit allows. */
static void proxy_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct proxy_worker workers[PROXY_THREADS_MAX];
	struct evloop *loop = NULL;
	struct proxy_opts o;
	int route_fds[64], n_workers = 0, sfd = -1, rc, ret = 1;
	char warm[TOKEN_HASH_TEXT_LEN + 1];
	sigset_t sigs;
	char why[256];

	if (proxy_parse_args(argc, argv, &o) < 0)
		return 2;
	log_setup("portgate-proxy", o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	for (int i = 0; i < 64; i++)
		route_fds[i] = -1;
	if (o.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o.threads = n < 1 ? 1 : n > PROXY_THREADS_MAX ? PROXY_THREADS_MAX : (int)n;
	}
	proxy_raise_nofile();

	/* 1. Everything that needs a privilege or a file: events file, routes bound. */
	rc = proxy_open_events(&o);
	if (rc < 0) {
		log_error("cannot open events %s: %s", o.events ? o.events : "fd", strerror(-rc));
		return 1;
	}
	if (proxy_standalone_routes(&o, route_fds) < 0)
		goto out;
	if (proxy_limits_new(PROXY_LIMITS_SOURCES, &proxy_limits) < 0)
		goto out;
	/* First uses that open files: libcrypto's configuration and jansson's hash seed (from
	 * /dev/urandom), both before seccomp forbids open(). */
	token_hash("warm-up", 7, warm);
	json_object_seed(0);
	/* jansson seeds its hash tables from /dev/urandom on the first object: do it now, while
	 * openat is still allowed (the control channel parses JSON under seccomp). */
	json_object_seed(0);

	/* The sockmap redirect needs CAP_BPF and CAP_NET_ADMIN to load: now or never. */
	if (o.sockmap) {
		rc = proxy_sockmap_load(PROXY_SOCKMAP_SOCKS);
		if (rc < 0)
			log_warn("sockmap redirect unavailable (%s): tunnels splice only",
				 strerror(-rc));
	}

	/* 2. Signals: read from a signalfd by this thread; SIGPIPE never kills (splice to a
	 * closed socket raises it). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}

	/* 3. Shed privileges before the first untrusted byte. */
	if (proxy_sandbox_enter(o.user, o.seccomp, proxy_sockmap_loaded()) < 0)
		goto out;
	/* Tried as the process now is: what its later sockets will be able to use. */
	if (proxy_congestion_check(why, sizeof(why)) < 0) {
		log_error("--congestion: %s", why);
		goto out;
	}

	/* 4. The loops: one per worker, plus this thread's for control and signals. */
	if ((rc = evloop_new(&loop)) < 0) {
		log_error("event loop: %s", strerror(-rc));
		goto out;
	}
	proxy_events_thread(loop);
	for (; n_workers < o.threads; n_workers++) {
		rc = proxy_worker_start(&workers[n_workers], n_workers);
		if (rc < 0) {
			log_error("worker %d: %s", n_workers, strerror(-rc));
			if (workers[n_workers].loop)
				proxy_worker_join(&workers[n_workers]);
			goto out;
		}
	}
	rc = proxy_control_start(loop, o.control_fd, workers, n_workers);
	if (rc < 0) {
		log_error("control channel: %s", strerror(-rc));
		goto out;
	}
	if (evloop_watch(loop, sfd, EVLOOP_READ, proxy_signal_cb, NULL) < 0 ||
	    evloop_timer_add(loop, PROXY_SWEEP_MS, proxy_sweep_cb, NULL) < 0)
		goto out;
	if (proxy_standalone_listen(&o, route_fds) < 0)
		goto out;
	proxy_events_printf("{\"event\":\"ready\",\"pid\":%d}", (int)getpid());
	proxy_events_flush();
	log_info("ready: %d worker%s, %d route%s%s", n_workers, n_workers == 1 ? "" : "s",
		 o.n_routes, o.n_routes == 1 ? "" : "s",
		 o.control_fd >= 0 ? ", control channel" : "");

	rc = evloop_run(loop);
	ret = rc < 0 ? 1 : 0;
out:
	for (int i = 0; i < n_workers; i++)
		proxy_worker_join(&workers[i]);
	for (int i = 0; i < 64; i++)
		if (route_fds[i] >= 0)
			close(route_fds[i]);
	proxy_control_stop();
	proxy_events_drain();
	proxy_events_fini();
	proxy_routes_clear();
	proxy_stats_free();
	proxy_limits_free(proxy_limits);
	proxy_sockmap_unload();
	evloop_free(loop);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
