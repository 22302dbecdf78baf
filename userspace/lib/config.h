/* SPDX-License-Identifier: MIT */
/* config: portgated settings from defaults, INI file, PORTGATE_* environment and flags. */
#ifndef PORTGATE_CONFIG_H
#define PORTGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "policy.h"

#ifndef PORTGATE_VERSION
#define PORTGATE_VERSION "0.1.0"
#endif

#define CONFIG_DEFAULT_PATH "/etc/portgate/portgate.conf"

/* Each field: flag / environment variable / key in [portgated]; default. */
struct pg_config {
	char config_path[4096]; /* --config / PORTGATE_CONFIG; /etc/portgate/portgate.conf */
	char state_dir[4096]; /* --state-dir / PORTGATE_STATE_DIR / state_dir; /var/lib/portgate */
	char
	    socket_path[108]; /* --socket / PORTGATE_SOCKET / socket; /run/portgate/portgate.sock */
	char socket_group[64]; /* --socket-group / PORTGATE_SOCKET_GROUP / socket_group; portgate */
	char redis_url[1024];  /* --redis / PORTGATE_REDIS / redis; "" = embedded redis-server */
	char host[256];	       /* --host / PORTGATE_HOST / host; gethostname(); [A-Za-z0-9._-] */
	char metrics[64];      /* --metrics / PORTGATE_METRICS / metrics; 127.0.0.1:9464, or off */
	bool enforce;	       /* --enforce / PORTGATE_ENFORCE / enforce (on|off); on */
	char redis_server[4096]; /* --redis-server / PORTGATE_REDIS_SERVER / redis_server */
	char appendfsync[16];	 /* --appendfsync / PORTGATE_APPENDFSYNC / appendfsync; everysec */
	int log_level;		 /* --log-level / PORTGATE_LOG_LEVEL / log_level, then each -v adds
				    one, --debug: 3; 0 error, 1 warn, 2 info (default), 3 debug */
	char cgroup[4096];	 /* --cgroup / PORTGATE_CGROUP / cgroup; "" = cgroup2 mount root */
	char bpf_pin_dir[4096];	 /* --bpf-pin-dir / PORTGATE_BPF_PIN_DIR; /sys/fs/bpf/portgate */
	char netns[64];		 /* --netns / PORTGATE_NETNS / netns; "" = the daemon's own */
	unsigned mode;		 /* --mode / PORTGATE_MODE; 0 enforce, 1 rewrite, 2 audit-only,
				    3 strict (PG_MODE_* in include/portgate/port_policy.h) */
	bool closed_by_default;	 /* --closed-by-default on|off; off */
	unsigned nflog_group;	 /* --nflog-group / PORTGATE_NFLOG_GROUP; 4242 */
	char proxy[4096];	 /* --proxy / PORTGATE_PROXY / proxy; "" = portgate-proxy beside
				    portgated's binary; "off": no proxy; else an absolute path */
	char proxy_user[64];	 /* --proxy-user / PORTGATE_PROXY_USER / proxy_user; "" =
				    portgate-proxy if it exists, else nobody (65534) */
	char proxy_congestion[16]; /* --proxy-congestion / proxy_congestion; "" = the host's
				      TCP congestion control (TCP_CA_NAME_MAX is 16) */
	/* The token proxy's limits (sent to portgate-proxy in its settings message). */
	uint64_t proxy_head_timeout_ms;	  /* proxy_head_timeout_ms; 10000 */
	uint64_t proxy_head_max;	  /* proxy_head_max; 16384 */
	uint64_t proxy_fail_limit;	  /* proxy_fail_limit; 20 (0: never block) */
	uint64_t proxy_fail_window;	  /* proxy_fail_window; 60 s */
	uint64_t proxy_block_seconds;	  /* proxy_block_seconds; 600 */
	uint64_t proxy_backend_reuse;	  /* proxy_backend_reuse; 1 */
	uint64_t proxy_defer_accept;	  /* proxy_defer_accept, seconds; 1 */
	uint64_t proxy_answer_timeout_ms; /* proxy_answer_timeout_ms; 60000 */
	uint64_t proxy_tunnel_idle;	  /* proxy_tunnel_idle, seconds; 3600 (0: never) */
	/* The audit trail. */
	char audit_file[4096];	      /* audit_file; "" = STATE_DIR/audit.jsonl; "off" */
	uint64_t audit_max_bytes;     /* audit_max_bytes; 100 MiB (0: no cap) */
	uint64_t audit_stream_maxlen; /* audit_stream_maxlen; 100000 (0: no stream) */
	uint64_t audit_window;	      /* audit_window; 10 s */
	uint64_t audit_threshold;     /* audit_threshold; 20 events per source and window */
	uint64_t scan_ports;	      /* scan_ports; 20 ports per window */
	uint64_t scan_block_seconds;  /* scan_block_seconds; 0 (report only) */
	struct pg_policy policy;      /* [ranges] purpose = FIRST-LAST, PORTGATE_RANGE_<PURPOSE>;
					 [restricted] ports = ..., PORTGATE_RESTRICTED */
};

struct pg_redis_url {
	bool is_unix;
	char host[256];	 /* TCP: a host name or address ([] stripped from IPv6) */
	uint16_t port;	 /* TCP: 6379 unless given */
	char path[4096]; /* unix: absolute socket path, fits sun_path */
	int db;		 /* 0 unless given */
};

/*
 * Loads the configuration into c: built-in defaults, then the INI file (--config,
 * PORTGATE_CONFIG, or /etc/portgate/portgate.conf, which may be missing), then PORTGATE_*
 * variables, then the flags in argv (getopt_long: resets optind, so it may be called again,
 * but not from two threads at once; argc may be 0).
 * Overlap of ranges is checked once all layers are applied, and blamed on the latest setting
 * taking part (a flag or variable over a file line, a later line over an earlier one).
 * Unknown PORTGATE_* variables are ignored (other portgate programs share the prefix);
 * unknown flags, sections and keys are errors.
 * Returns 0; 1 when --help or --version was printed to stdout (c is then incomplete); or
 * -EINVAL with one line in err naming where and why, e.g.
 * "/etc/portgate/portgate.conf:12: [ranges] monitoring: 15000-15999 overlaps exposed
 * (14000-65535)", "--metrics: expected ADDR:PORT or off", "PORTGATE_ENFORCE: expected on or
 * off". Prints nothing else.
 */
int config_load(struct pg_config *c, int argc, char **argv, char *err, size_t errlen);

/* Parses redis://HOST[:PORT][/DB] (HOST may be [IPv6]) or unix:///PATH[?db=N] into out
 * (written only on success). 0, or -EINVAL with the reason in err. Credentials, TLS
 * (rediss://) and other query parameters are refused. */
int config_parse_redis_url(const char *url, struct pg_redis_url *out, char *err, size_t errlen);

/* Parses a listen address: "IPV4:PORT", "[IPV6]:PORT" (numeric addresses only) or "off".
 * On success sets *enabled, addr (without brackets; "" when off) and *port (0 when off) and
 * returns 0; -EINVAL on bad syntax or address, -ENAMETOOLONG if addr is too small. */
int config_parse_listen(const char *s, bool *enabled, char *addr, size_t addrlen, uint16_t *port);

/* Writes the --help text: every flag with its environment variable, INI key and default. */
void config_usage(FILE *out);

#endif
