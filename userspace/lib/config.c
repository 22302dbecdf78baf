// SPDX-License-Identifier: MIT
/* config: portgated settings from defaults, INI file, PORTGATE_* environment and flags. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"

#define CONFIG_SUN_PATH_MAX  (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define CONFIG_RANGE_ENV     "PORTGATE_RANGE_"
#define CONFIG_MAX_FILE_KEYS 128
#define CONFIG_RANK_ENV	     INT_MAX

enum config_key {
	CK_STATE_DIR,
	CK_SOCKET,
	CK_SOCKET_GROUP,
	CK_REDIS,
	CK_HOST,
	CK_METRICS,
	CK_ENFORCE,
	CK_REDIS_SERVER,
	CK_APPENDFSYNC,
	CK_LOG_LEVEL,
	CK_CGROUP,
	CK_BPF_PIN_DIR,
	CK_NETNS,
	CK_MODE,
	CK_CLOSED_BY_DEFAULT,
	CK_NFLOG_GROUP,
	CK_PROXY,
	CK_PROXY_USER,
	CK_PROXY_CONGESTION,
	CK_PROXY_HEAD_TIMEOUT_MS,
	CK_PROXY_HEAD_MAX,
	CK_PROXY_FAIL_LIMIT,
	CK_PROXY_FAIL_WINDOW,
	CK_PROXY_BLOCK_SECONDS,
	CK_PROXY_BACKEND_REUSE,
	CK_PROXY_DEFER_ACCEPT,
	CK_PROXY_ANSWER_TIMEOUT_MS,
	CK_PROXY_TUNNEL_IDLE,
	CK_AUDIT_FILE,
	CK_AUDIT_MAX_BYTES,
	CK_AUDIT_STREAM_MAXLEN,
	CK_AUDIT_WINDOW,
	CK_AUDIT_THRESHOLD,
	CK_SCAN_PORTS,
	CK_SCAN_BLOCK_SECONDS,
	CK_COUNT
};

/* One setting of [portgated]: its names in each layer and its --help line. */
static const struct config_setting {
	const char *key, *env, *flag, *arg, *def, *help;
} config_settings[CK_COUNT] = {
	[CK_STATE_DIR] = { "state_dir", "PORTGATE_STATE_DIR", "state-dir", "DIR",
			   "/var/lib/portgate", "state directory (embedded Redis data)" },
	[CK_SOCKET] = { "socket", "PORTGATE_SOCKET", "socket", "PATH",
			"/run/portgate/portgate.sock",
			"control API Unix socket (at most 107 bytes)" },
	[CK_SOCKET_GROUP] = { "socket_group", "PORTGATE_SOCKET_GROUP", "socket-group", "GROUP",
			      "portgate", "group allowed to use the control socket" },
	[CK_REDIS] = { "redis", "PORTGATE_REDIS", "redis", "URL",
		       "\"\" (run an embedded redis-server)",
		       "registry: redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]" },
	[CK_HOST] = { "host", "PORTGATE_HOST", "host", "NAME", "gethostname()",
		      "this host's name in registry keys ([A-Za-z0-9._-])" },
	[CK_METRICS] = { "metrics", "PORTGATE_METRICS", "metrics", "ADDR:PORT", "127.0.0.1:9464",
			 "health and Prometheus metrics listener, [IPV6]:PORT, or off" },
	[CK_ENFORCE] = { "enforce", "PORTGATE_ENFORCE", "enforce", "on|off", "on",
			 "off: record and report, but block nothing" },
	[CK_REDIS_SERVER] = { "redis_server", "PORTGATE_REDIS_SERVER", "redis-server", "PATH",
			      "redis-server", "binary of the embedded Redis (looked up in PATH)" },
	[CK_APPENDFSYNC] = { "appendfsync", "PORTGATE_APPENDFSYNC", "appendfsync",
			     "always|everysec", "everysec", "embedded Redis AOF fsync policy" },
	[CK_LOG_LEVEL] = { "log_level", "PORTGATE_LOG_LEVEL", "log-level", "LEVEL", "info",
			   "error, warn, info or debug" },
	[CK_CGROUP] = { "cgroup", "PORTGATE_CGROUP", "cgroup", "PATH",
			"\"\" (the cgroup v2 mount's root)",
			"cgroup v2 directory the BPF programs attach to" },
	[CK_BPF_PIN_DIR] = { "bpf_pin_dir", "PORTGATE_BPF_PIN_DIR", "bpf-pin-dir", "DIR",
			     "/sys/fs/bpf/portgate", "where BPF maps and links are pinned" },
	[CK_NETNS] = { "netns", "PORTGATE_NETNS", "netns", "NAME", "\"\" (the daemon's own)",
		       "network namespace (ip netns name) of the nftables table" },
	[CK_MODE] = { "mode", "PORTGATE_MODE", "mode", "MODE", "enforce",
		      "enforce, rewrite, audit-only or strict" },
	[CK_CLOSED_BY_DEFAULT] = { "closed_by_default", "PORTGATE_CLOSED_BY_DEFAULT",
				   "closed-by-default", "on|off", "off",
				   "drop unallocated ports inside the managed ranges" },
	[CK_NFLOG_GROUP] = { "nflog_group", "PORTGATE_NFLOG_GROUP", "nflog-group", "N", "4242",
			     "NFLOG group of the nftables drops (1-65535)" },
	[CK_PROXY] = { "proxy", "PORTGATE_PROXY", "proxy", "PATH|off",
		       "portgate-proxy beside portgated",
		       "the token proxy portgated runs for token-protected ports, or off" },
	[CK_PROXY_USER] = { "proxy_user", "PORTGATE_PROXY_USER", "proxy-user", "USER",
			    "portgate-proxy, else nobody", "user the token proxy runs as" },
	[CK_PROXY_CONGESTION] = { "proxy_congestion", "PORTGATE_PROXY_CONGESTION",
				  "proxy-congestion", "ALG", "the host's",
				  "token proxy: TCP congestion control of its own sockets (e.g. "
				  "cubic, bbr)" },
	[CK_PROXY_HEAD_TIMEOUT_MS] = { "proxy_head_timeout_ms", "PORTGATE_PROXY_HEAD_TIMEOUT_MS",
				       "proxy-head-timeout-ms", "MS", "10000",
				       "token proxy: time to send a request head (100-600000)" },
	[CK_PROXY_HEAD_MAX] = { "proxy_head_max", "PORTGATE_PROXY_HEAD_MAX", "proxy-head-max",
				"BYTES", "16384",
				"token proxy: largest request head (1024-1048576)" },
	[CK_PROXY_FAIL_LIMIT] = { "proxy_fail_limit", "PORTGATE_PROXY_FAIL_LIMIT",
				  "proxy-fail-limit", "N", "20",
				  "token proxy: failures of a source before it is blocked, 0 "
				  "never" },
	[CK_PROXY_FAIL_WINDOW] = { "proxy_fail_window", "PORTGATE_PROXY_FAIL_WINDOW",
				   "proxy-fail-window", "SECONDS", "60",
				   "token proxy: window the failures are counted in (1-86400)" },
	[CK_PROXY_BLOCK_SECONDS] = { "proxy_block_seconds", "PORTGATE_PROXY_BLOCK_SECONDS",
				     "proxy-block-seconds", "SECONDS", "600",
				     "token proxy: how long a failing source stays blocked" },
	[CK_PROXY_BACKEND_REUSE] = { "proxy_backend_reuse", "PORTGATE_PROXY_BACKEND_REUSE",
				     "proxy-backend-reuse", "0|1", "1",
				     "token proxy: Connection: close clients share idle backend "
				     "connections" },
	[CK_PROXY_DEFER_ACCEPT] = { "proxy_defer_accept", "PORTGATE_PROXY_DEFER_ACCEPT",
				    "proxy-defer-accept", "SECONDS", "1",
				    "token proxy: a connection reaches the proxy once data has "
				    "arrived or after this long (TCP_DEFER_ACCEPT, 0-60, 0 off)" },
	[CK_PROXY_ANSWER_TIMEOUT_MS] = { "proxy_answer_timeout_ms",
					 "PORTGATE_PROXY_ANSWER_TIMEOUT_MS",
					 "proxy-answer-timeout-ms", "MS", "60000",
					 "token proxy: one-exchange clients: the backend's "
					 "response "
					 "head within this long, else 504 (100-3600000)" },
	[CK_PROXY_TUNNEL_IDLE] = { "proxy_tunnel_idle", "PORTGATE_PROXY_TUNNEL_IDLE",
				   "proxy-tunnel-idle", "SECONDS", "3600",
				   "token proxy: a tunnel (keep-alive, WebSocket) that carries no "
				   "byte for this long is closed (0 never, up to 604800)" },
	[CK_AUDIT_FILE] = { "audit_file", "PORTGATE_AUDIT_FILE", "audit-file", "PATH|off",
			    "STATE_DIR/audit.jsonl", "audit trail as JSON lines, or off" },
	[CK_AUDIT_MAX_BYTES] = { "audit_max_bytes", "PORTGATE_AUDIT_MAX_BYTES", "audit-max-bytes",
				 "BYTES", "104857600",
				 "audit file size cap: rotated to .1 beyond it, 0 no cap" },
	[CK_AUDIT_STREAM_MAXLEN] = { "audit_stream_maxlen", "PORTGATE_AUDIT_STREAM_MAXLEN",
				     "audit-stream-maxlen", "N", "100000",
				     "audit events kept in Redis (about), 0 none" },
	[CK_AUDIT_WINDOW] = { "audit_window", "PORTGATE_AUDIT_WINDOW", "audit-window", "SECONDS",
			      "10", "audit aggregation and scan window (1-3600)" },
	[CK_AUDIT_THRESHOLD] = { "audit_threshold", "PORTGATE_AUDIT_THRESHOLD", "audit-threshold",
				 "N", "20",
				 "events of one source in a window before they are aggregated" },
	[CK_SCAN_PORTS] = { "scan_ports", "PORTGATE_SCAN_PORTS", "scan-ports", "N", "20",
			    "closed or localhost-only ports in a window that make a port scan" },
	[CK_SCAN_BLOCK_SECONDS] = { "scan_block_seconds", "PORTGATE_SCAN_BLOCK_SECONDS",
				    "scan-block-seconds", "SECONDS", "0",
				    "block a scanning source for this long, 0 report only" },
};

/* The numeric settings: where each goes and the values it accepts. */
static const struct config_number {
	enum config_key key;
	size_t offset;
	uint64_t min, max;
} config_numbers[] = {
	{ CK_PROXY_HEAD_TIMEOUT_MS, offsetof(struct pg_config, proxy_head_timeout_ms), 100,
	  600000 },
	{ CK_PROXY_HEAD_MAX, offsetof(struct pg_config, proxy_head_max), 1024, 1048576 },
	{ CK_PROXY_FAIL_LIMIT, offsetof(struct pg_config, proxy_fail_limit), 0, 1000000 },
	{ CK_PROXY_FAIL_WINDOW, offsetof(struct pg_config, proxy_fail_window), 1, 86400 },
	{ CK_PROXY_BLOCK_SECONDS, offsetof(struct pg_config, proxy_block_seconds), 1, 604800 },
	{ CK_PROXY_BACKEND_REUSE, offsetof(struct pg_config, proxy_backend_reuse), 0, 1 },
	{ CK_PROXY_DEFER_ACCEPT, offsetof(struct pg_config, proxy_defer_accept), 0, 60 },
	{ CK_PROXY_ANSWER_TIMEOUT_MS, offsetof(struct pg_config, proxy_answer_timeout_ms), 100,
	  3600000 },
	{ CK_PROXY_TUNNEL_IDLE, offsetof(struct pg_config, proxy_tunnel_idle), 0, 604800 },
	{ CK_AUDIT_MAX_BYTES, offsetof(struct pg_config, audit_max_bytes), 0, 1ull << 40 },
	{ CK_AUDIT_STREAM_MAXLEN, offsetof(struct pg_config, audit_stream_maxlen), 0, 100000000 },
	{ CK_AUDIT_WINDOW, offsetof(struct pg_config, audit_window), 1, 3600 },
	{ CK_AUDIT_THRESHOLD, offsetof(struct pg_config, audit_threshold), 1, 1000000 },
	{ CK_SCAN_PORTS, offsetof(struct pg_config, scan_ports), 2, 65535 },
	{ CK_SCAN_BLOCK_SECONDS, offsetof(struct pg_config, scan_block_seconds), 0, 604800 },
};

static const char *const config_modes[] = { "enforce", "rewrite", "audit-only", "strict" };

static const char *const config_log_levels[] = { "error", "warn", "info", "debug" };

/* Where a range was last set, to blame the right one for an overlap. */
struct config_origin {
	char purpose[PG_PURPOSE_MAX];
	int rank;	/* 0 built in, the line in the file, CONFIG_RANK_ENV */
	char where[64]; /* the environment variable */
};

struct config_ctx {
	struct pg_config c;
	char *err;
	size_t errlen;
	bool host_set;
	struct config_origin origins[PG_MAX_PURPOSES];
	size_t n_origins;
	/* the INI file being read */
	const char *path;
	FILE *f;
	char *buf;
	size_t cap;
	int lineno;
	int read_errno;
	int err_line; /* first line with an error, 0 if none */
	struct {
		char key[48]; /* "section/key" */
		int line;
	} seen[CONFIG_MAX_FILE_KEYS];
	size_t n_seen;
};

/* Formats one line into err; bytes that are not printable ASCII become '?'. Returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
config_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *s = err; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
	return -EINVAL;
}

static int config_copy(char *dst, size_t size, const char *v, char *why, size_t whylen)
{
	size_t len = strlen(v);

	if (len >= size)
		return config_fail(why, whylen, "longer than %zu bytes", size - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

static bool config_name_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* Strict decimal 0..max, no sign or leading zero. */
static int config_parse_uint(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int config_parse_listen(const char *s, bool *enabled, char *addr, size_t addrlen, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *h, *colon;
	size_t hlen;
	uint16_t p;
	int family = AF_INET;

	if (!s)
		return -EINVAL;
	if (strcmp(s, "off") == 0) {
		if (addrlen)
			addr[0] = '\0';
		*enabled = false;
		*port = 0;
		return 0;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		family = AF_INET6;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL; /* no port, or IPv6 without brackets */
		h = s;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(family, host, bin) != 1 || policy_parse_port(colon + 1, &p))
		return -EINVAL;
	if (hlen >= addrlen)
		return -ENAMETOOLONG;
	memcpy(addr, host, hlen + 1);
	*enabled = true;
	*port = p;
	return 0;
}

static int config_parse_redis_tcp(const char *s, struct pg_redis_url *u, char *err, size_t errlen)
{
	const char *end = s + strcspn(s, "/"), *port = NULL, *h = s;
	size_t hlen;
	long db = 0;

	if (strchr(s, '@'))
		return config_fail(err, errlen, "user:password@ in the URL is not supported");
	if (strpbrk(s, "?#"))
		return config_fail(err, errlen, "query or fragment in a redis:// URL");
	if (*s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));
		unsigned char bin[sizeof(struct in6_addr)];

		h = s + 1;
		hlen = close ? (size_t)(close - h) : 0;
		if (!close || hlen >= sizeof(u->host))
			return config_fail(err, errlen, "bad IPv6 address, expected [ADDR]");
		memcpy(u->host, h, hlen);
		u->host[hlen] = '\0';
		if (inet_pton(AF_INET6, u->host, bin) != 1)
			return config_fail(err, errlen, "bad IPv6 address [%s]", u->host);
		if (close + 1 != end && close[1] != ':')
			return config_fail(err, errlen, "expected :PORT after [%s]", u->host);
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = memchr(s, ':', (size_t)(end - s));

		hlen = (size_t)((colon ? colon : end) - s);
		if (hlen == 0)
			return config_fail(err, errlen, "missing host");
		if (hlen >= sizeof(u->host))
			return config_fail(err, errlen, "host longer than %zu bytes",
					   sizeof(u->host) - 1);
		memcpy(u->host, s, hlen);
		u->host[hlen] = '\0';
		if (!config_name_chars(u->host, ".-_"))
			return config_fail(err, errlen, "bad host \"%.64s\"", u->host);
		if (colon)
			port = colon + 1;
	}
	if (port) {
		size_t plen = (size_t)(end - port);
		char buf[8] = "";

		if (plen < sizeof(buf))
			memcpy(buf, port, plen);
		if (plen >= sizeof(buf) || policy_parse_port(buf, &u->port))
			return config_fail(err, errlen, "bad port \"%.*s\", expected 1-65535",
					   (int)(plen > 16 ? 16 : plen), port);
	}
	if (*end == '/' && end[1] && config_parse_uint(end + 1, strlen(end + 1), INT_MAX, &db))
		return config_fail(err, errlen, "bad database \"%.16s\", expected a number",
				   end + 1);
	u->db = (int)db;
	return 0;
}

static int config_parse_redis_unix(const char *s, struct pg_redis_url *u, char *err, size_t errlen)
{
	size_t plen = strcspn(s, "?");
	long db = 0;

	if (s[0] != '/')
		return config_fail(err, errlen, "expected unix:///ABSOLUTE/PATH");
	if (plen > CONFIG_SUN_PATH_MAX)
		return config_fail(err, errlen, "socket path longer than %zu bytes (sun_path)",
				   CONFIG_SUN_PATH_MAX);
	memcpy(u->path, s, plen);
	u->path[plen] = '\0';
	if (s[plen] == '?') {
		const char *q = s + plen + 1;

		if (strncmp(q, "db=", 3) != 0 ||
		    config_parse_uint(q + 3, strlen(q + 3), INT_MAX, &db))
			return config_fail(err, errlen, "bad query \"%.32s\", expected ?db=N", q);
	}
	u->db = (int)db;
	return 0;
}

int config_parse_redis_url(const char *url, struct pg_redis_url *out, char *err, size_t errlen)
{
	struct pg_redis_url u = { .port = 6379 };
	int ret;

	if (!url)
		url = "";
	for (const char *s = url; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return config_fail(err, errlen, "blank, control or non-ASCII byte in URL");
	if (strncmp(url, "redis://", 8) == 0) {
		ret = config_parse_redis_tcp(url + 8, &u, err, errlen);
	} else if (strncmp(url, "unix://", 7) == 0) {
		u.is_unix = true;
		u.port = 0;
		ret = config_parse_redis_unix(url + 7, &u, err, errlen);
	} else if (strncmp(url, "rediss://", 9) == 0) {
		ret = config_fail(err, errlen, "rediss:// (TLS) is not supported");
	} else {
		ret = config_fail(err, errlen,
				  "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]");
	}
	if (ret)
		return ret;
	*out = u;
	return 0;
}

static int config_set_path(char *dst, size_t size, const char *v, char *why, size_t whylen)
{
	if (v[0] != '/')
		return config_fail(why, whylen, "expected an absolute path");
	return config_copy(dst, size, v, why, whylen);
}

/* A numeric setting: a decimal number within its bounds, stored as uint64_t. */
static int config_set_number(struct pg_config *c, enum config_key k, const char *v, char *why,
			     size_t whylen)
{
	for (size_t i = 0; i < sizeof(config_numbers) / sizeof(config_numbers[0]); i++) {
		const struct config_number *n = &config_numbers[i];
		unsigned long long x;
		char *end;

		if (n->key != k)
			continue;
		errno = 0;
		x = strtoull(v, &end, 10);
		if (!*v || *v == '-' || *v == '+' || *end || errno || x < n->min || x > n->max)
			return config_fail(why, whylen, "expected a number %llu-%llu",
					   (unsigned long long)n->min, (unsigned long long)n->max);
		*(uint64_t *)((char *)c + n->offset) = x;
		return 0;
	}
	return -EINVAL;
}

/* Applies one [portgated] setting from any layer; the reason goes to why, unprefixed. */
static int config_apply(struct config_ctx *x, enum config_key k, const char *v, char *why,
			size_t whylen)
{
	struct pg_config *c = &x->c;
	struct pg_redis_url url;
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
	bool on;

	for (const char *s = v; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return config_fail(why, whylen, "control character in value");
	switch (k) {
	case CK_STATE_DIR:
		return config_set_path(c->state_dir, sizeof(c->state_dir), v, why, whylen);
	case CK_SOCKET:
		if (strlen(v) > CONFIG_SUN_PATH_MAX)
			return config_fail(why, whylen, "longer than %zu bytes (sun_path)",
					   CONFIG_SUN_PATH_MAX);
		return config_set_path(c->socket_path, sizeof(c->socket_path), v, why, whylen);
	case CK_SOCKET_GROUP:
		if (!*v || v[0] == '-' || !config_name_chars(v, "._-"))
			return config_fail(why, whylen, "expected a group name of [A-Za-z0-9._-]");
		return config_copy(c->socket_group, sizeof(c->socket_group), v, why, whylen);
	case CK_REDIS:
		if (*v && config_parse_redis_url(v, &url, why, whylen))
			return -EINVAL;
		return config_copy(c->redis_url, sizeof(c->redis_url), v, why, whylen);
	case CK_HOST:
		if (!*v || !config_name_chars(v, "._-"))
			return config_fail(why, whylen, "expected a name of [A-Za-z0-9._-]");
		x->host_set = true;
		return config_copy(c->host, sizeof(c->host), v, why, whylen);
	case CK_METRICS:
		if (config_parse_listen(v, &on, addr, sizeof(addr), &port))
			return config_fail(why, whylen, "expected ADDR:PORT or off");
		return config_copy(c->metrics, sizeof(c->metrics), v, why, whylen);
	case CK_ENFORCE:
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return config_fail(why, whylen, "expected on or off");
		c->enforce = strcmp(v, "on") == 0;
		return 0;
	case CK_REDIS_SERVER:
		if (!*v)
			return config_fail(why, whylen, "empty");
		return config_copy(c->redis_server, sizeof(c->redis_server), v, why, whylen);
	case CK_APPENDFSYNC:
		if (strcmp(v, "always") != 0 && strcmp(v, "everysec") != 0)
			return config_fail(why, whylen, "expected always or everysec");
		return config_copy(c->appendfsync, sizeof(c->appendfsync), v, why, whylen);
	case CK_LOG_LEVEL:
		for (int i = 0; i < 4; i++) {
			if (strcmp(v, config_log_levels[i]) == 0) {
				c->log_level = i;
				return 0;
			}
		}
		return config_fail(why, whylen, "expected error, warn, info or debug");
	case CK_CGROUP:
		if (*v && v[0] != '/')
			return config_fail(why, whylen, "expected an absolute path");
		return config_copy(c->cgroup, sizeof(c->cgroup), v, why, whylen);
	case CK_BPF_PIN_DIR:
		return config_set_path(c->bpf_pin_dir, sizeof(c->bpf_pin_dir), v, why, whylen);
	case CK_NETNS:
		if (*v && (!config_name_chars(v, "._-") || v[0] == '.'))
			return config_fail(why, whylen, "expected an ip netns name");
		return config_copy(c->netns, sizeof(c->netns), v, why, whylen);
	case CK_MODE:
		for (int i = 0; i < 4; i++) {
			if (strcmp(v, config_modes[i]) == 0) {
				c->mode = i;
				return 0;
			}
		}
		return config_fail(why, whylen, "expected enforce, rewrite, audit-only or strict");
	case CK_CLOSED_BY_DEFAULT:
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return config_fail(why, whylen, "expected on or off");
		c->closed_by_default = strcmp(v, "on") == 0;
		return 0;
	case CK_NFLOG_GROUP:
		if (policy_parse_port(v, &port) < 0)
			return config_fail(why, whylen, "expected a number 1-65535");
		c->nflog_group = port;
		return 0;
	case CK_PROXY:
		if (*v && strcmp(v, "off") != 0 && v[0] != '/')
			return config_fail(why, whylen, "expected an absolute path or off");
		return config_copy(c->proxy, sizeof(c->proxy), v, why, whylen);
	case CK_PROXY_USER:
		if (!*v || v[0] == '-' || !config_name_chars(v, "._-"))
			return config_fail(why, whylen,
					   "expected a user name of [A-Za-z0-9._-] or a uid");
		return config_copy(c->proxy_user, sizeof(c->proxy_user), v, why, whylen);
	case CK_PROXY_CONGESTION:
		/* The kernel's names: lower case, digits, '_'; "" is the host's default. */
		if (strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v))
			return config_fail(why, whylen,
					   "expected an algorithm's name of [a-z0-9_], e.g. cubic");
		return config_copy(c->proxy_congestion, sizeof(c->proxy_congestion), v, why,
				   whylen);
	case CK_AUDIT_FILE:
		if (*v && strcmp(v, "off") != 0 && v[0] != '/')
			return config_fail(why, whylen, "expected an absolute path or off");
		return config_copy(c->audit_file, sizeof(c->audit_file), v, why, whylen);
	default:
		return config_set_number(c, k, v, why, whylen);
	}
}

static struct config_origin *config_origin_of(struct config_ctx *x, const char *purpose)
{
	for (size_t i = 0; i < x->n_origins; i++)
		if (strcmp(x->origins[i].purpose, purpose) == 0)
			return &x->origins[i];
	return NULL;
}

/* Sets (or, for an empty spec, removes) a range and remembers where; reason in why. */
static int config_range(struct config_ctx *x, const char *purpose, const char *spec, int rank,
			const char *where, char *why, size_t whylen)
{
	struct config_origin *o;
	int ret;

	if (!*spec) {
		ret = policy_check_purpose(purpose, why, whylen);
		if (ret)
			return ret;
		if (policy_remove_range(&x->c.policy, purpose))
			return config_fail(why, whylen,
					   "empty value removes a purpose, but %s has no range",
					   purpose);
		o = config_origin_of(x, purpose);
		if (o)
			*o = x->origins[--x->n_origins];
		return 0;
	}
	ret = policy_set_range(&x->c.policy, purpose, spec, why, whylen);
	if (ret)
		return -EINVAL;
	o = config_origin_of(x, purpose);
	if (!o) /* every origin belongs to a range in the policy, so there is room */
		o = &x->origins[x->n_origins++];
	snprintf(o->purpose, sizeof(o->purpose), "%s", purpose);
	o->rank = rank;
	snprintf(o->where, sizeof(o->where), "%s", where ? where : "");
	return 0;
}

/* Records the first error of the file, at the current line. */
static int __attribute__((format(printf, 2, 3)))
config_file_fail(struct config_ctx *x, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (x->err_line)
		return 0;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	x->err_line = x->lineno;
	config_fail(x->err, x->errlen, "%s:%d: %s", x->path, x->lineno, why);
	return 0;
}

static bool config_known_section(const char *s)
{
	return !strcmp(s, "portgated") || !strcmp(s, "ranges") || !strcmp(s, "restricted");
}

/*
 * inih's line reader, so that we know each line's number, see every section header (even an
 * empty one), refuse over-long lines instead of letting inih split them, and drop indentation
 * (inih would take an indented line for the continuation of the previous value).
 */
static char *config_ini_reader(char *str, int num, void *stream)
{
	struct config_ctx *x = stream;
	ssize_t n = getline(&x->buf, &x->cap, x->f);
	char *s;
	size_t len;
	bool nul;

	if (n < 0) {
		if (ferror(x->f))
			x->read_errno = errno ? errno : EIO;
		return NULL;
	}
	x->lineno++;
	nul = memchr(x->buf, '\0', (size_t)n) != NULL;
	s = x->buf;
	if (x->lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (nul) {
		config_file_fail(x, "NUL byte in line");
		s = "";
		len = 0;
	} else if (len + 2 > (size_t)num) {
		config_file_fail(x, "line longer than %d characters", num - 2);
		s = "";
		len = 0;
	} else if (s[0] == '[') {
		char *close = strchr(s, ']');

		if (close) {
			*close = '\0';
			if (!config_known_section(s + 1))
				config_file_fail(
				    x,
				    "unknown section [%.64s] (expected [portgated], [ranges] "
				    "or [restricted])",
				    s + 1);
			*close = ']';
		}
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *x = user;
	char why[512], key[48];
	int k = 0;

	if (x->err_line)
		return 1; /* only the first error is reported */
	if (!*section)
		return config_file_fail(x,
					"%.64s: key outside a section (expected [portgated], "
					"[ranges] or [restricted])",
					name);
	if (!strcmp(section, "portgated")) {
		for (k = 0; k < CK_COUNT; k++)
			if (!strcmp(name, config_settings[k].key))
				break;
		if (k == CK_COUNT)
			return config_file_fail(x, "[portgated] %.64s: unknown key", name);
	} else if (!strcmp(section, "ranges")) {
		if (policy_check_purpose(name, why, sizeof(why)))
			return config_file_fail(x, "[ranges] %.64s: %s", name, why);
	} else if (!strcmp(section, "restricted")) {
		if (strcmp(name, "ports") != 0)
			return config_file_fail(
			    x, "[restricted] %.64s: unknown key (expected ports)", name);
	} else {
		return config_file_fail(x, "unknown section [%.64s]", section);
	}

	/* A key set twice in one file is most likely a mistake: say so rather than pick one. */
	snprintf(key, sizeof(key), "%s/%s", section, name);
	for (size_t i = 0; i < x->n_seen; i++)
		if (!strcmp(x->seen[i].key, key))
			return config_file_fail(x, "[%s] %s: set twice (first on line %d)", section,
						name, x->seen[i].line);
	if (x->n_seen == CONFIG_MAX_FILE_KEYS)
		return config_file_fail(x, "more than %d keys", CONFIG_MAX_FILE_KEYS);
	snprintf(x->seen[x->n_seen].key, sizeof(x->seen[0].key), "%s", key);
	x->seen[x->n_seen++].line = x->lineno;

	if (!strcmp(section, "portgated")) {
		if (config_apply(x, (enum config_key)k, value, why, sizeof(why)))
			return config_file_fail(x, "[portgated] %s: %s", name, why);
	} else if (!strcmp(section, "ranges")) {
		if (config_range(x, name, value, x->lineno, NULL, why, sizeof(why)))
			return config_file_fail(x, "[ranges] %s: %s", name, why);
	} else {
		if (policy_set_restricted(&x->c.policy, value, why, sizeof(why)))
			return config_file_fail(x, "[restricted] ports: %s", why);
	}
	return 1;
}

/* Reads the INI file; source names where the path came from, NULL for the default. */
static int config_load_file(struct config_ctx *x, const char *source)
{
	int ret;

	x->path = x->c.config_path;
	x->f = fopen(x->path, "re");
	if (!x->f) {
		if (errno == ENOENT && !source)
			return 0; /* the default file is optional */
		if (source)
			return config_fail(x->err, x->errlen, "%s: cannot open %s: %s", source,
					   x->path, strerror(errno));
		return config_fail(x->err, x->errlen, "%s: cannot open: %s", x->path,
				   strerror(errno));
	}
	ret = ini_parse_stream(config_ini_reader, x, config_ini_handler, x);
	fclose(x->f);
	x->f = NULL;
	free(x->buf);
	x->buf = NULL;
	if (x->read_errno)
		return config_fail(x->err, x->errlen, "%s: read error: %s", x->path,
				   strerror(x->read_errno));
	if (ret > 0 && (!x->err_line || ret < x->err_line))
		return config_fail(x->err, x->errlen,
				   "%s:%d: syntax error, expected [section] or key = value",
				   x->path, ret);
	if (x->err_line)
		return -EINVAL;
	if (ret)
		return config_fail(x->err, x->errlen, "%s: cannot parse (%d)", x->path, ret);
	return 0;
}

static int config_load_env(struct config_ctx *x)
{
	extern char **environ;
	char why[512];
	const char *v;

	for (int k = 0; k < CK_COUNT; k++) {
		v = getenv(config_settings[k].env);
		if (v && config_apply(x, (enum config_key)k, v, why, sizeof(why)))
			return config_fail(x->err, x->errlen, "%s: %s", config_settings[k].env,
					   why);
	}
	v = getenv("PORTGATE_RESTRICTED");
	if (v && policy_set_restricted(&x->c.policy, v, why, sizeof(why)))
		return config_fail(x->err, x->errlen, "PORTGATE_RESTRICTED: %s", why);

	for (char **e = environ; e && *e; e++) {
		const char *name = *e + strlen(CONFIG_RANGE_ENV), *eq;
		char purpose[PG_PURPOSE_MAX], var[sizeof(CONFIG_RANGE_ENV) + PG_PURPOSE_MAX];
		size_t len;

		if (strncmp(*e, CONFIG_RANGE_ENV, strlen(CONFIG_RANGE_ENV)) != 0)
			continue;
		eq = strchr(name, '=');
		if (!eq)
			continue;
		len = (size_t)(eq - name);
		if (len == 0 || len >= sizeof(purpose))
			return config_fail(x->err, x->errlen,
					   "%.*s: expected %s<PURPOSE>, PURPOSE of 1-%d characters",
					   (int)(eq - *e > 80 ? 80 : eq - *e), *e, CONFIG_RANGE_ENV,
					   PG_PURPOSE_MAX - 1);
		snprintf(var, sizeof(var), "%.*s", (int)(eq - *e), *e);
		for (size_t i = 0; i < len; i++)
			purpose[i] = (name[i] >= 'A' && name[i] <= 'Z')
					 ? (char)(name[i] - 'A' + 'a')
					 : name[i];
		purpose[len] = '\0';
		if (config_range(x, purpose, eq + 1, CONFIG_RANK_ENV, var, why, sizeof(why)))
			return config_fail(x->err, x->errlen, "%s: %s", var, why);
	}
	return 0;
}

/* Reports an overlap among the final ranges, blamed on the latest setting that takes part. */
static int config_check_ranges(struct config_ctx *x)
{
	const struct pg_policy *p = &x->c.policy;
	const struct pg_range *blame = NULL, *other;
	const struct config_origin *o, *bo = NULL;

	for (size_t i = 0; i < p->n_ranges; i++) {
		if (!policy_find_overlap(p, &p->ranges[i]))
			continue;
		o = config_origin_of(x, p->ranges[i].purpose);
		if (!blame || (o && (!bo || o->rank > bo->rank))) {
			blame = &p->ranges[i];
			bo = o;
		}
	}
	if (!blame)
		return 0;
	other = policy_find_overlap(p, blame);
	if (bo && bo->rank == CONFIG_RANK_ENV)
		return config_fail(x->err, x->errlen, "%s: %u-%u overlaps %s (%u-%u)", bo->where,
				   blame->first, blame->last, other->purpose, other->first,
				   other->last);
	if (bo)
		return config_fail(x->err, x->errlen,
				   "%s:%d: [ranges] %s: %u-%u overlaps %s (%u-%u)",
				   x->c.config_path, bo->rank, blame->purpose, blame->first,
				   blame->last, other->purpose, other->first, other->last);
	return config_fail(x->err, x->errlen, "built-in ranges: %s: %u-%u overlaps %s (%u-%u)",
			   blame->purpose, blame->first, blame->last, other->purpose, other->first,
			   other->last);
}

static void config_defaults(struct pg_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->config_path, sizeof(c->config_path), "%s", CONFIG_DEFAULT_PATH);
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/portgate");
	snprintf(c->socket_path, sizeof(c->socket_path), "/run/portgate/portgate.sock");
	snprintf(c->socket_group, sizeof(c->socket_group), "portgate");
	snprintf(c->metrics, sizeof(c->metrics), "127.0.0.1:9464");
	c->enforce = true;
	snprintf(c->redis_server, sizeof(c->redis_server), "redis-server");
	snprintf(c->appendfsync, sizeof(c->appendfsync), "everysec");
	c->log_level = 2;
	snprintf(c->bpf_pin_dir, sizeof(c->bpf_pin_dir), "/sys/fs/bpf/portgate");
	c->nflog_group = 4242;
	c->proxy_head_timeout_ms = 10000;
	c->proxy_head_max = 16384;
	c->proxy_fail_limit = 20;
	c->proxy_fail_window = 60;
	c->proxy_block_seconds = 600;
	c->proxy_backend_reuse = 1;
	c->proxy_defer_accept = 1;
	c->proxy_answer_timeout_ms = 60000;
	c->proxy_tunnel_idle = 3600;
	c->audit_max_bytes = 100ull << 20;
	c->audit_stream_maxlen = 100000;
	c->audit_window = 10;
	c->audit_threshold = 20;
	c->scan_ports = 20;
	if (gethostname(c->host, sizeof(c->host)) != 0)
		c->host[0] = '\0';
	c->host[sizeof(c->host) - 1] = '\0';
	policy_init_defaults(&c->policy);
}

enum { OPT_KEY = 256, OPT_CONFIG = OPT_KEY + CK_COUNT, OPT_DEBUG, OPT_HELP, OPT_VERSION };

static const char *config_flag_name(int val)
{
	if (val >= OPT_KEY && val < OPT_KEY + CK_COUNT)
		return config_settings[val - OPT_KEY].flag;
	return val == OPT_CONFIG ? "config" : "?";
}

/* Parses argv into flags[] (last one wins), *config, *verbose, *debug; 1 after --help etc. */
static int config_parse_args(struct config_ctx *x, int argc, char **argv, const char **flags,
			     const char **config, int *verbose, bool *debug)
{
	struct option opts[CK_COUNT + 5] = { { 0 } };
	int n = 0, ch;

	for (int k = 0; k < CK_COUNT; k++)
		opts[n++] = (struct option){ config_settings[k].flag, required_argument, NULL,
					     OPT_KEY + k };
	opts[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	opts[n++] = (struct option){ "debug", no_argument, NULL, OPT_DEBUG };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };

	if (argc < 1 || !argv)
		return 0; /* no argv[0], no flags */
	optind = 0;	  /* full reset, so config_load can run again */
	opterr = 0;	  /* errors go to err, not stderr */
	while ((ch = getopt_long(argc, argv, ":v", opts, NULL)) != -1) {
		const char *bad = argv[optind - 1];

		switch (ch) {
		case 'v':
			(*verbose)++;
			break;
		case OPT_DEBUG:
			*debug = true;
			break;
		case OPT_HELP:
			config_usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("portgated %s\n", PORTGATE_VERSION);
			return 1;
		case OPT_CONFIG:
			*config = optarg;
			break;
		case ':':
			return config_fail(x->err, x->errlen, "--%s: missing value",
					   config_flag_name(optopt));
		case '?':
			if (optopt >= OPT_DEBUG)
				return config_fail(x->err, x->errlen, "%.64s: takes no value", bad);
			if (optopt > 0 && optopt < 256)
				return config_fail(x->err, x->errlen, "-%c: unknown option",
						   optopt);
			return config_fail(x->err, x->errlen, "%.64s: unknown or ambiguous option",
					   bad);
		default:
			flags[ch - OPT_KEY] = optarg;
			break;
		}
	}
	if (optind < argc)
		return config_fail(x->err, x->errlen, "unexpected argument \"%.64s\"",
				   argv[optind]);
	return 0;
}

int config_load(struct pg_config *c, int argc, char **argv, char *err, size_t errlen)
{
	const char *flags[CK_COUNT] = { 0 }, *config = NULL, *source = NULL;
	char why[512], dummy[1];
	struct config_ctx *x;
	int verbose = 0, ret, saved_opterr = opterr;
	bool debug = false;

	x = calloc(1, sizeof(*x));
	if (!x)
		return config_fail(err, errlen, "out of memory");
	x->err = err ? err : dummy;
	x->errlen = err ? errlen : sizeof(dummy);
	config_defaults(&x->c);

	ret = config_parse_args(x, argc, argv, flags, &config, &verbose, &debug);
	opterr = saved_opterr;
	if (ret)
		goto out;

	/* The file to read: --config, else PORTGATE_CONFIG, else the (optional) default. */
	if (config) {
		source = "--config";
	} else if (getenv("PORTGATE_CONFIG")) {
		config = getenv("PORTGATE_CONFIG");
		source = "PORTGATE_CONFIG";
	}
	if (source) {
		if (!*config) {
			ret = config_fail(x->err, x->errlen, "%s: empty path", source);
			goto out;
		}
		ret = config_copy(x->c.config_path, sizeof(x->c.config_path), config, why,
				  sizeof(why));
		if (ret) {
			config_fail(x->err, x->errlen, "%s: %s", source, why);
			goto out;
		}
	}
	ret = config_load_file(x, source);
	if (ret)
		goto out;

	ret = config_load_env(x);
	if (ret)
		goto out;

	for (int k = 0; k < CK_COUNT; k++) {
		if (flags[k] && config_apply(x, (enum config_key)k, flags[k], why, sizeof(why))) {
			ret = config_fail(x->err, x->errlen, "--%s: %s", config_settings[k].flag,
					  why);
			goto out;
		}
	}
	x->c.log_level = debug ? 3 : (x->c.log_level + verbose > 3 ? 3 : x->c.log_level + verbose);

	if (!x->host_set && (!x->c.host[0] || !config_name_chars(x->c.host, "._-"))) {
		ret =
		    config_fail(x->err, x->errlen,
				"host: gethostname() gave \"%.64s\", not a name of [A-Za-z0-9._-]; "
				"set --host",
				x->c.host);
		goto out;
	}
	ret = config_check_ranges(x);
	if (ret)
		goto out;
	*c = x->c;
out:
	free(x->buf);
	free(x);
	return ret;
}

void config_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: portgated [OPTION]...\n"
	    "Runs the portgate daemon. Each setting is taken from the first of: an option\n"
	    "below, its PORTGATE_* environment variable, its key in the [portgated] section of\n"
	    "the INI file, the built-in default.\n\n"
	    "  --config PATH\n"
	    "        INI file; a missing default file is fine, a missing given file is not\n"
	    "        env PORTGATE_CONFIG; default %s\n",
	    CONFIG_DEFAULT_PATH);
	for (int k = 0; k < CK_COUNT; k++) {
		const struct config_setting *s = &config_settings[k];

		fprintf(out, "  --%s %s\n        %s\n        env %s, key %s; default %s\n", s->flag,
			s->arg, s->help, s->env, s->key, s->def);
	}
	fprintf(out,
		"  -v\n        one log level more verbose (repeatable, up to debug)\n"
		"  --debug\n        log level debug\n"
		"  --help\n        print this help and exit\n"
		"  --version\n        print the version and exit\n\n"
		"Ranges: [ranges] PURPOSE = FIRST-LAST in the file, "
		"PORTGATE_RANGE_<PURPOSE>=FIRST-LAST\n"
		"in the environment; an empty value removes the purpose. Built in: internal_http\n"
		"9000-9999, internal_https 10000-10999, proxy_http 12000-12999, proxy_https\n"
		"13000-13999, exposed 14000-65535. Ranges may not overlap.\n"
		"Restricted ports: [restricted] ports = 22 25 ..., PORTGATE_RESTRICTED=\"22 25\";\n"
		"built in: 22 25 53 80 443 3306 5432 6379 27017.\n");
}
