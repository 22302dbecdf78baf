// SPDX-License-Identifier: MIT
/* cli_args: the portgate command line parsed and checked into a struct cli_cmd, without I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "cli_args.h"
#include "cli_audit.h"

/* More positionals than any command takes: 2 command words + 5 arguments. */
#define CLI_MAX_POS 8

enum cli_opt_id {
	OPT_SOCKET,
	OPT_JSON,
	OPT_OWNER_TOKEN,
	OPT_HELP,
	OPT_VERSION,
	OPT_DESCRIPTION,
	OPT_NAME,
	OPT_PROTO,
	OPT_CONTAINER_PORT,
	OPT_ALLOW,
	OPT_ALLOW_RESTRICTED,
	OPT_REQUIRE_TOKEN,
	OPT_CGROUP,
	OPT_BPF_PIN_DIR,
	OPT_NETNS,
	OPT_FOR,
	OPT_BACKEND,
	OPT_SERVICE,
	OPT_PORT,
	OPT_ACTION,
	OPT_RESULT,
	OPT_SINCE,
	OPT_LIMIT,
	OPT_FOLLOW,
	OPT_COUNT,
};

#define OPT_BIT(id) (1u << (id))
#define OPT_GLOBAL                                                                                 \
	(OPT_BIT(OPT_SOCKET) | OPT_BIT(OPT_JSON) | OPT_BIT(OPT_OWNER_TOKEN) | OPT_BIT(OPT_HELP) |  \
	 OPT_BIT(OPT_VERSION))

static const struct cli_opt {
	const char *name;
	bool has_arg;
} cli_opts[OPT_COUNT] = {
	[OPT_SOCKET] = { "socket", true },
	[OPT_JSON] = { "json", false },
	[OPT_OWNER_TOKEN] = { "owner-token", true },
	[OPT_HELP] = { "help", false },
	[OPT_VERSION] = { "version", false },
	[OPT_DESCRIPTION] = { "description", true },
	[OPT_NAME] = { "name", true },
	[OPT_PROTO] = { "proto", true },
	[OPT_CONTAINER_PORT] = { "container-port", true },
	[OPT_ALLOW] = { "allow", true },
	[OPT_ALLOW_RESTRICTED] = { "allow-restricted", false },
	[OPT_REQUIRE_TOKEN] = { "require-token", false },
	[OPT_CGROUP] = { "cgroup", true },
	[OPT_BPF_PIN_DIR] = { "bpf-pin-dir", true },
	[OPT_NETNS] = { "netns", true },
	[OPT_FOR] = { "for", true },
	[OPT_BACKEND] = { "backend", true },
	[OPT_SERVICE] = { "service", true },
	[OPT_PORT] = { "port", true },
	[OPT_ACTION] = { "action", true },
	[OPT_RESULT] = { "result", true },
	[OPT_SINCE] = { "since", true },
	[OPT_LIMIT] = { "limit", true },
	[OPT_FOLLOW] = { "follow", false },
};

/* What each command takes: its words, its positional arguments and its own options. */
static const struct cli_spec {
	enum cli_command command;
	const char *word; /* after "service", or top level (cleanup, exec, status, uninstall) */
	bool under_service;
	size_t min_args, max_args;
	const char *args[5];
	unsigned int opts;
	const char *usage;
} cli_specs[] = {
	{
	    .command = CLI_CMD_SERVICE_CREATE,
	    .word = "create",
	    .under_service = true,
	    .min_args = 1,
	    .max_args = 1,
	    .args = { "NAME" },
	    .opts = OPT_BIT(OPT_DESCRIPTION) | OPT_BIT(OPT_CGROUP),
	    .usage = "portgate service create NAME [--description TEXT] [--cgroup PATH]",
	},
	{
	    .command = CLI_CMD_SERVICE_DELETE,
	    .word = "delete",
	    .under_service = true,
	    .min_args = 1,
	    .max_args = 2,
	    .args = { "NAME", "OWNER_TOKEN" },
	    .usage = "portgate service delete NAME [OWNER_TOKEN]",
	},
	{
	    .command = CLI_CMD_SERVICE_LIST,
	    .word = "list",
	    .under_service = true,
	    .usage = "portgate service list",
	},
	{
	    .command = CLI_CMD_PORT_ADD,
	    .word = "port-add",
	    .under_service = true,
	    .min_args = 2,
	    .max_args = 5,
	    .args = { "NAME", "PORT|PURPOSE", "BIND_ADDRESS", "SOURCE_TOKEN", "OWNER_TOKEN" },
	    .opts = OPT_BIT(OPT_DESCRIPTION) | OPT_BIT(OPT_NAME) | OPT_BIT(OPT_PROTO) |
		    OPT_BIT(OPT_CONTAINER_PORT) | OPT_BIT(OPT_ALLOW) |
		    OPT_BIT(OPT_ALLOW_RESTRICTED) | OPT_BIT(OPT_REQUIRE_TOKEN) | OPT_BIT(OPT_FOR) |
		    OPT_BIT(OPT_BACKEND),
	    .usage = "portgate service port-add NAME PORT|PURPOSE [BIND_ADDRESS] [SOURCE_TOKEN] "
		     "[OWNER_TOKEN]\n"
		     "         [--name PORT_NAME] [--proto tcp|udp] [--container-port N] "
		     "[--allow CIDR]... [--for DURATION]\n"
		     "         [--description TEXT] [--allow-restricted] [--require-token] "
		     "[--backend PORT]",
	},
	{
	    .command = CLI_CMD_PORT_REMOVE,
	    .word = "port-remove",
	    .under_service = true,
	    .min_args = 2,
	    .max_args = 3,
	    .args = { "NAME", "PORT_NAME", "OWNER_TOKEN" },
	    .usage = "portgate service port-remove NAME PORT_NAME [OWNER_TOKEN]",
	},
	{
	    .command = CLI_CMD_PORT_LIST,
	    .word = "port-list",
	    .under_service = true,
	    .min_args = 1,
	    .max_args = 1,
	    .args = { "NAME" },
	    .usage = "portgate service port-list NAME",
	},
	{
	    .command = CLI_CMD_PORT_CHECK,
	    .word = "port-check",
	    .under_service = true,
	    .min_args = 1,
	    .max_args = 2,
	    .args = { "PORT", "BIND_ADDRESS" },
	    .opts = OPT_BIT(OPT_PROTO),
	    .usage = "portgate service port-check PORT [BIND_ADDRESS] [--proto tcp|udp]",
	},
	{
	    .command = CLI_CMD_PORTS_GLOBAL,
	    .word = "ports-global",
	    .under_service = true,
	    .max_args = 1,
	    .args = { "available-only" },
	    .usage = "portgate service ports-global [available-only]",
	},
	{
	    .command = CLI_CMD_CLEANUP,
	    .word = "cleanup",
	    .usage = "portgate cleanup",
	},
	{
	    .command = CLI_CMD_EXEC,
	    .word = "exec",
	    .min_args = 1,
	    .max_args = 1,
	    .args = { "SERVICE" },
	    .usage = "portgate exec SERVICE -- CMD [ARG...]",
	},
	{
	    .command = CLI_CMD_STATUS,
	    .word = "status",
	    .usage = "portgate status [--json]",
	},
	{
	    .command = CLI_CMD_UNINSTALL,
	    .word = "uninstall",
	    .opts = OPT_BIT(OPT_BPF_PIN_DIR) | OPT_BIT(OPT_NETNS),
	    .usage = "portgate uninstall [--bpf-pin-dir DIR] [--netns NAME]",
	},
	{
	    .command = CLI_CMD_AUDIT,
	    .word = "audit",
	    .opts = OPT_BIT(OPT_SERVICE) | OPT_BIT(OPT_PORT) | OPT_BIT(OPT_ACTION) |
		    OPT_BIT(OPT_RESULT) | OPT_BIT(OPT_SINCE) | OPT_BIT(OPT_LIMIT) |
		    OPT_BIT(OPT_FOLLOW),
	    .usage = "portgate audit [--service S] [--port P] [--action A] [--result R] "
		     "[--since 10m|TIME|ID]\n"
		     "         [--limit N] [--follow] [--json]",
	},
};

#define N_SPECS (sizeof(cli_specs) / sizeof(cli_specs[0]))

/* What the scan of argv collected, before the command is known. */
struct cli_scan {
	const char *pos[CLI_MAX_POS];
	size_t n_pos; /* all positionals seen, may exceed CLI_MAX_POS */
	unsigned int seen;
	const char *val[OPT_COUNT];
	unsigned int container_port;
	unsigned int backend_port;
	unsigned long allowed_for;
	int dash;	    /* argv index just past the first "--", 0 when there is none */
	size_t pos_at_dash; /* positionals seen before it */
};

static int cli_args_fail(struct cli_args_error *err, enum cli_command command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cli_args_fail(struct cli_args_error *err, enum cli_command command, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->command = command;
	return -EINVAL;
}

static const struct cli_spec *cli_args_spec(enum cli_command command)
{
	for (size_t i = 0; i < N_SPECS; i++)
		if (cli_specs[i].command == command)
			return &cli_specs[i];
	return NULL;
}

const char *cli_args_usage(enum cli_command command)
{
	const struct cli_spec *s = cli_args_spec(command);

	return s ? s->usage : "portgate [--socket PATH] [--json] COMMAND ... (see portgate --help)";
}

const char *cli_args_command_name(enum cli_command command)
{
	static const char *const names[] = {
		[CLI_CMD_NONE] = "portgate",
		[CLI_CMD_HELP] = "help",
		[CLI_CMD_SERVICE_HELP] = "service help",
		[CLI_CMD_VERSION] = "version",
		[CLI_CMD_SERVICE_CREATE] = "service create",
		[CLI_CMD_SERVICE_DELETE] = "service delete",
		[CLI_CMD_SERVICE_LIST] = "service list",
		[CLI_CMD_PORT_ADD] = "service port-add",
		[CLI_CMD_PORT_REMOVE] = "service port-remove",
		[CLI_CMD_PORT_LIST] = "service port-list",
		[CLI_CMD_PORT_CHECK] = "service port-check",
		[CLI_CMD_PORTS_GLOBAL] = "service ports-global",
		[CLI_CMD_CLEANUP] = "cleanup",
		[CLI_CMD_EXEC] = "exec",
		[CLI_CMD_STATUS] = "status",
		[CLI_CMD_UNINSTALL] = "uninstall",
		[CLI_CMD_AUDIT] = "audit",
	};

	if ((size_t)command >= sizeof(names) / sizeof(names[0]) || !names[command])
		return "portgate";
	return names[command];
}

/* Decimal 1-65535. -EINVAL when not all digits, -ERANGE when digits but out of range. */
static int cli_args_port(const char *s, unsigned int *out)
{
	unsigned long v = 0;
	size_t n = strspn(s, "0123456789");

	if (n == 0 || s[n] != '\0')
		return -EINVAL;
	if (n > 6)
		return -ERANGE;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

/* 1-256 visible ASCII characters: safe in an HTTP header, no CR/LF injection. */
static bool cli_args_token_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CLI_MAX_TOKEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* Service names as the daemon takes them: 1-64 of [A-Za-z0-9._-], starting alphanumeric. */
static bool cli_args_service_name_ok(const char *s)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(s);

	if (n < 1 || n > CLI_MAX_NAME || strspn(s, set) != n)
		return false;
	return (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	       (s[0] >= '0' && s[0] <= '9');
}

static bool cli_args_purpose_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CLI_MAX_NAME || s[0] < 'a' || s[0] > 'z')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool cli_args_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned int c = *p, need, min;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		p++;
		for (unsigned int i = 0; i < need; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/*
 * Port names: printable text, the daemon applies its own rule. "." and ".." are refused: as
 * a path segment a normalising proxy could turn .../ports/.. into the service itself.
 */
static bool cli_args_port_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CLI_MAX_NAME || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* An ip netns name as portgated takes it: 1-63 of [A-Za-z0-9._-], not starting with '.'. */
static bool cli_args_netns_ok(const char *s)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(s);

	return n >= 1 && n <= CLI_MAX_NETNS && strspn(s, set) == n && s[0] != '.';
}

static bool cli_args_ip_ok(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * Only quote a rejected bind address when it looks like an attempt at one: a value in the
 * BIND_ADDRESS slot may be a token typed one place too early, and tokens are never printed.
 */
static bool cli_args_quotable_address(const char *s)
{
	return strlen(s) <= 64 && (strchr(s, '.') || strchr(s, ':') || !strcmp(s, "localhost"));
}

static int cli_args_check_cidr(const char *s, enum cli_command command, struct cli_args_error *err)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash = strchr(s, '/');
	const char *pfx;
	unsigned int max, len = 0;
	size_t alen, plen;

	if (strlen(s) > 64)
		return cli_args_fail(err, command, "--allow: CIDR is too long");
	if (!slash)
		return cli_args_fail(
		    err, command, "--allow: '%s' is not a CIDR (ADDRESS/PREFIX, e.g. 10.0.0.0/8)",
		    s);
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return cli_args_fail(
		    err, command, "--allow: '%s' is not a CIDR (ADDRESS/PREFIX, e.g. 10.0.0.0/8)",
		    s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		return cli_args_fail(err, command, "--allow: '%s' is not an IPv4 or IPv6 address",
				     addr);
	pfx = slash + 1;
	plen = strspn(pfx, "0123456789");
	if (plen == 0 || plen > 3 || pfx[plen] != '\0')
		return cli_args_fail(err, command,
				     "--allow: '%s' needs a prefix length 0-%u after '/'", s, max);
	for (size_t i = 0; i < plen; i++)
		len = len * 10 + (unsigned int)(pfx[i] - '0');
	if (len > max)
		return cli_args_fail(err, command, "--allow: '%s' prefix length must be 0-%u", s,
				     max);
	return 0;
}

/* Checks an option's value (once the command is known, for its usage line). */
/* "90s", "10m", "1h", "7d" (or plain seconds) into seconds, 1 s to 30 days. */
static int cli_args_duration(const char *v, unsigned long *out)
{
	static const struct {
		char unit;
		unsigned long secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	unsigned long n = 0, mul = 1;
	const char *p = v;

	if (!*p || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > 30UL * 86400)
			return -ERANGE;
	}
	if (*p) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *p; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || p[1])
			return -EINVAL;
		mul = units[i].secs;
	}
	if (n == 0 || n * mul > 30UL * 86400)
		return -ERANGE;
	*out = n * mul;
	return 0;
}

static int cli_args_check_option(enum cli_opt_id id, const char *v, struct cli_scan *scan,
				 enum cli_command command, struct cli_args_error *err)
{
	int ret;

	switch (id) {
	case OPT_SOCKET:
		if (!*v || strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return cli_args_fail(err, command, "--socket: path must be 1-%zu bytes",
					     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		break;
	case OPT_OWNER_TOKEN:
		if (!cli_args_token_ok(v))
			return cli_args_fail(err, command,
					     "--owner-token: must be 1-%d visible ASCII characters",
					     CLI_MAX_TOKEN);
		break;
	case OPT_DESCRIPTION:
		if (strlen(v) > CLI_MAX_TEXT || !cli_args_utf8_ok(v))
			return cli_args_fail(
			    err, command, "--description: must be UTF-8 text of at most %d bytes",
			    CLI_MAX_TEXT);
		break;
	case OPT_NAME:
		if (!cli_args_port_name_ok(v))
			return cli_args_fail(err, command,
					     "--name: '%s' must be 1-%d visible ASCII characters, "
					     "not '.' or '..'",
					     v, CLI_MAX_NAME);
		break;
	case OPT_PROTO:
		if (strcmp(v, "tcp") && strcmp(v, "udp"))
			return cli_args_fail(err, command, "--proto: '%s' must be tcp or udp", v);
		break;
	case OPT_CONTAINER_PORT:
		ret = cli_args_port(v, &scan->container_port);
		if (ret == -ERANGE)
			return cli_args_fail(err, command,
					     "--container-port: %s is out of range 1-65535", v);
		if (ret < 0)
			return cli_args_fail(
			    err, command, "--container-port: '%s' is not a port number (1-65535)",
			    v);
		break;
	case OPT_BACKEND:
		ret = cli_args_port(v, &scan->backend_port);
		if (ret == -ERANGE)
			return cli_args_fail(err, command, "--backend: %s is out of range 1-65535",
					     v);
		if (ret < 0)
			return cli_args_fail(err, command,
					     "--backend: '%s' is not a port number (1-65535)", v);
		break;
	case OPT_ALLOW:
		return cli_args_check_cidr(v, command, err);
	case OPT_FOR:
		if (cli_args_duration(v, &scan->allowed_for) < 0)
			return cli_args_fail(
			    err, command,
			    "--for: '%.32s' is not a duration (e.g. 90s, 10m, 1h, 7d; "
			    "at most 30d)",
			    v);
		break;
	case OPT_CGROUP:
	case OPT_BPF_PIN_DIR:
		if (v[0] != '/')
			return cli_args_fail(
			    err, command, "--%s: '%.64s' is not an absolute path (e.g. %s)",
			    cli_opts[id].name, v,
			    id == OPT_CGROUP ? "/sys/fs/cgroup/my-app" : CLI_DEFAULT_BPF_PIN_DIR);
		if (strlen(v) > CLI_MAX_PATH)
			return cli_args_fail(err, command, "--%s: path is longer than %d bytes",
					     cli_opts[id].name, CLI_MAX_PATH);
		break;
	case OPT_NETNS:
		/* "" is portgated's "its own namespace": the same as not giving it. */
		if (*v && !cli_args_netns_ok(v))
			return cli_args_fail(
			    err, command,
			    "--netns: '%.64s' is not an ip netns name (1-%d of A-Z "
			    "a-z 0-9 . _ -, not starting with '.')",
			    v, CLI_MAX_NETNS);
		break;
	case OPT_SERVICE:
		if (!cli_args_service_name_ok(v))
			return cli_args_fail(
			    err, command,
			    "--service: '%.64s' must be 1-%d characters of A-Z a-z "
			    "0-9 . _ -, starting with a letter or digit",
			    v, CLI_MAX_NAME);
		break;
	case OPT_PORT: {
		unsigned int port;

		if (cli_args_port(v, &port) < 0)
			return cli_args_fail(err, command,
					     "--port: '%.20s' is not a port number (1-65535)", v);
		break;
	}
	case OPT_ACTION:
	case OPT_RESULT:
	case OPT_SINCE:
	case OPT_LIMIT: {
		char why[200];

		if (cli_audit_check_option(cli_opts[id].name, v, why, sizeof(why)) < 0)
			return cli_args_fail(err, command, "--%s: %s", cli_opts[id].name, why);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* Every option value given, checked now that the command (for the usage line) is known. */
static int cli_args_check_options(struct cli_scan *scan, const struct cli_cmd *cmd,
				  struct cli_args_error *err)
{
	int ret;

	for (int id = 0; id < OPT_COUNT; id++) {
		if (id == OPT_ALLOW || !scan->val[id])
			continue;
		ret = cli_args_check_option(id, scan->val[id], scan, cmd->command, err);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < cmd->n_allow; i++) {
		ret = cli_args_check_option(OPT_ALLOW, cmd->allow[i], scan, cmd->command, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* First pass: options (anywhere; "--" ends them) and positionals, collected unchecked. */
static int cli_args_scan(int argc, char *const argv[], struct cli_scan *scan, struct cli_cmd *cmd,
			 struct cli_args_error *err)
{
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *name, *eq, *v = NULL;
		size_t nlen;
		int id;

		/* "-" and negative numbers are arguments (refused later, with their name). */
		if (only_pos || a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) {
			if (scan->n_pos < CLI_MAX_POS)
				scan->pos[scan->n_pos] = a;
			scan->n_pos++;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = true;
			scan->dash = i + 1;
			scan->pos_at_dash = scan->n_pos;
			continue;
		}
		if (!strcmp(a, "-h")) {
			scan->seen |= OPT_BIT(OPT_HELP);
			continue;
		}
		if (a[1] != '-')
			return cli_args_fail(err, CLI_CMD_NONE, "unknown option '%.2s'", a);
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		for (id = 0; id < OPT_COUNT; id++)
			if (strlen(cli_opts[id].name) == nlen &&
			    !strncmp(cli_opts[id].name, name, nlen))
				break;
		/* Never echo a value: "--owner-tokn=SECRET" prints only "--owner-tokn". */
		if (id == OPT_COUNT)
			return cli_args_fail(err, CLI_CMD_NONE, "unknown option '--%.*s'",
					     (int)(nlen > 40 ? 40 : nlen), name);
		if (cli_opts[id].has_arg) {
			if (eq)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				return cli_args_fail(err, CLI_CMD_NONE, "--%s: missing value",
						     cli_opts[id].name);
		} else if (eq) {
			return cli_args_fail(err, CLI_CMD_NONE, "--%s: takes no value",
					     cli_opts[id].name);
		}
		scan->seen |= OPT_BIT(id);
		scan->val[id] = v;
		switch (id) {
		case OPT_JSON:
			cmd->json = true;
			break;
		case OPT_ALLOW_RESTRICTED:
			cmd->allow_restricted = true;
			break;
		case OPT_REQUIRE_TOKEN:
			cmd->require_token = true;
			break;
		case OPT_ALLOW:
			if (cmd->n_allow == CLI_MAX_ALLOW)
				return cli_args_fail(err, CLI_CMD_NONE,
						     "--allow: at most %d sources", CLI_MAX_ALLOW);
			cmd->allow[cmd->n_allow++] = v;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Second pass, part one: which command the positionals name; *args is where its own start. */
static int cli_args_command(struct cli_scan *scan, const struct cli_spec **spec, size_t *args,
			    struct cli_cmd *cmd, struct cli_args_error *err)
{
	const char *w0 = scan->n_pos > 0 ? scan->pos[0] : NULL;
	const char *w1 = scan->n_pos > 1 ? scan->pos[1] : NULL;
	bool service = w0 && !strcmp(w0, "service");

	*spec = NULL;
	if (scan->seen & OPT_BIT(OPT_HELP)) {
		cmd->command = service ? CLI_CMD_SERVICE_HELP : CLI_CMD_HELP;
		return 0;
	}
	if (scan->seen & OPT_BIT(OPT_VERSION)) {
		cmd->command = CLI_CMD_VERSION;
		return 0;
	}
	if (!w0)
		return cli_args_fail(err, CLI_CMD_NONE, "missing command");
	if (!strcmp(w0, "help")) {
		if (scan->n_pos > 2 || (w1 && strcmp(w1, "service")))
			return cli_args_fail(err, CLI_CMD_NONE,
					     "help: the only help topic is 'service'");
		cmd->command = w1 ? CLI_CMD_SERVICE_HELP : CLI_CMD_HELP;
		return 0;
	}
	if (!strcmp(w0, "version")) {
		if (scan->n_pos > 1)
			return cli_args_fail(err, CLI_CMD_NONE, "version: takes no arguments");
		cmd->command = CLI_CMD_VERSION;
		return 0;
	}
	if (service && !w1)
		return cli_args_fail(err, CLI_CMD_NONE,
				     "service: missing subcommand (create, delete, list, port-add, "
				     "port-remove, port-list, port-check, ports-global)");
	if (service && !strcmp(w1, "help")) {
		if (scan->n_pos > 2)
			return cli_args_fail(err, CLI_CMD_NONE, "service help: takes no arguments");
		cmd->command = CLI_CMD_SERVICE_HELP;
		return 0;
	}
	for (size_t i = 0; i < N_SPECS; i++) {
		const struct cli_spec *s = &cli_specs[i];

		if (s->under_service != service || strcmp(s->word, service ? w1 : w0))
			continue;
		*spec = s;
		*args = service ? 2 : 1;
		cmd->command = s->command;
		return 0;
	}
	if (service)
		return cli_args_fail(err, CLI_CMD_NONE, "service: unknown subcommand '%.40s'", w1);
	return cli_args_fail(err, CLI_CMD_NONE, "unknown command '%.40s'", w0);
}

/* An OWNER_TOKEN positional: "" means not given here (so later arguments can be reached). */
static int cli_args_owner_token(const char *v, struct cli_scan *scan, struct cli_cmd *cmd,
				struct cli_args_error *err)
{
	if (!*v)
		return 0;
	if (!cli_args_token_ok(v))
		return cli_args_fail(err, cmd->command,
				     "OWNER_TOKEN: must be 1-%d visible ASCII characters",
				     CLI_MAX_TOKEN);
	if (scan->val[OPT_OWNER_TOKEN])
		return cli_args_fail(
		    err, cmd->command,
		    "OWNER_TOKEN: given both as an argument and with --owner-token");
	cmd->owner_token = v;
	return 0;
}

static int cli_args_bind(const char *v, struct cli_cmd *cmd, struct cli_args_error *err)
{
	if (cli_args_ip_ok(v)) {
		cmd->bind_address = v;
		return 0;
	}
	if (!strcmp(v, "localhost"))
		return cli_args_fail(err, cmd->command,
				     "BIND_ADDRESS: 'localhost' is a name; give an address such "
				     "as 127.0.0.1 or ::1");
	if (cli_args_quotable_address(v))
		return cli_args_fail(err, cmd->command,
				     "BIND_ADDRESS: '%s' is not an IPv4 or IPv6 address", v);
	return cli_args_fail(err, cmd->command,
			     "BIND_ADDRESS: not an IPv4 or IPv6 address (give BIND_ADDRESS, e.g. "
			     "127.0.0.1, before SOURCE_TOKEN or OWNER_TOKEN)");
}

/* Second pass, part two: the command's positionals, checked and stored by name. */
static int cli_args_positionals(const struct cli_spec *spec, const char *const *a, size_t n,
				struct cli_scan *scan, struct cli_cmd *cmd,
				struct cli_args_error *err)
{
	int ret;

	if (n < spec->min_args)
		return cli_args_fail(err, cmd->command, "%s: missing", spec->args[n]);
	if (n > spec->max_args) {
		if (spec->max_args == 0)
			return cli_args_fail(err, cmd->command, "%s: takes no arguments",
					     cli_args_command_name(cmd->command));
		return cli_args_fail(err, cmd->command,
				     "%s: too many arguments (%zu given, at most %zu)",
				     cli_args_command_name(cmd->command), n, spec->max_args);
	}
	for (size_t i = 0; i < n; i++) {
		const char *arg = spec->args[i];
		const char *v = a[i];

		if (!strcmp(arg, "NAME") || !strcmp(arg, "SERVICE")) {
			if (!cli_args_service_name_ok(v))
				return cli_args_fail(err, cmd->command,
						     "%s: '%.64s' must be 1-%d characters of "
						     "A-Z a-z 0-9 . _ -, starting with a letter or "
						     "digit",
						     arg, v, CLI_MAX_NAME);
			cmd->name = v;
		} else if (!strcmp(arg, "PORT|PURPOSE")) {
			ret = cli_args_port(v, &cmd->port);
			if (ret == -ERANGE)
				return cli_args_fail(err, cmd->command,
						     "PORT: %.20s is out of range 1-65535", v);
			if (ret < 0 && !cli_args_purpose_ok(v))
				return cli_args_fail(
				    err, cmd->command,
				    "PORT|PURPOSE: '%.64s' is neither a port "
				    "(1-65535) nor a purpose name ([a-z][a-z0-9_]*)",
				    v);
			if (ret < 0)
				cmd->purpose = v;
		} else if (!strcmp(arg, "PORT")) {
			ret = cli_args_port(v, &cmd->port);
			if (ret == -ERANGE)
				return cli_args_fail(err, cmd->command,
						     "PORT: %.20s is out of range 1-65535", v);
			if (ret < 0)
				return cli_args_fail(err, cmd->command,
						     "PORT: '%.64s' is not a port number (1-65535)",
						     v);
		} else if (!strcmp(arg, "BIND_ADDRESS")) {
			ret = cli_args_bind(v, cmd, err);
			if (ret < 0)
				return ret;
		} else if (!strcmp(arg, "SOURCE_TOKEN")) {
			if (*v && !cli_args_token_ok(v))
				return cli_args_fail(err, cmd->command,
						     "SOURCE_TOKEN: must be 1-%d visible ASCII "
						     "characters (\"\" for none)",
						     CLI_MAX_TOKEN);
			cmd->source_token = *v ? v : NULL;
		} else if (!strcmp(arg, "OWNER_TOKEN")) {
			ret = cli_args_owner_token(v, scan, cmd, err);
			if (ret < 0)
				return ret;
		} else if (!strcmp(arg, "PORT_NAME")) {
			if (!cli_args_port_name_ok(v))
				return cli_args_fail(err, cmd->command,
						     "PORT_NAME: must be 1-%d visible ASCII "
						     "characters, not '.' or '..'",
						     CLI_MAX_NAME);
			cmd->port_name = v;
		} else if (!strcmp(arg, "available-only")) {
			if (!strcmp(v, "available-only") || !strcmp(v, "true"))
				cmd->available_only = true;
			else if (strcmp(v, "false"))
				return cli_args_fail(err, cmd->command,
						     "available-only: '%.40s' is not "
						     "'available-only', 'true' or 'false'",
						     v);
		}
	}
	return 0;
}

/*
 * exec: SERVICE before the first "--"; CMD and its arguments after it, as they are (an
 * option there is CMD's, not ours). *n is set to the count of portgate's own positionals.
 */
static int cli_args_exec(int argc, char *const argv[], const struct cli_scan *scan, size_t first,
			 size_t *n, struct cli_cmd *cmd, struct cli_args_error *err)
{
	size_t before = scan->dash ? scan->pos_at_dash : scan->n_pos;

	if (before <= first)
		return cli_args_fail(err, cmd->command, "SERVICE: missing before '--'");
	if (before > first + 1)
		return cli_args_fail(err, cmd->command,
				     "exec: only SERVICE goes before '--' (%zu arguments given); "
				     "CMD and its arguments follow it",
				     before - first);
	if (!scan->dash || scan->dash >= argc)
		return cli_args_fail(err, cmd->command, "CMD: missing (give it after '--')");
	if (!*argv[scan->dash])
		return cli_args_fail(err, cmd->command, "CMD: empty");
	cmd->exec_argv = argv + scan->dash;
	cmd->exec_argc = (size_t)(argc - scan->dash);
	*n = 1;
	return 0;
}

int cli_args_parse(int argc, char *const argv[], struct cli_cmd *cmd, struct cli_args_error *err)
{
	struct cli_scan scan = { 0 };
	struct cli_cmd c = { 0 };
	const struct cli_spec *spec;
	size_t first = 0, n_args;
	unsigned int stray;
	int ret;

	err->msg[0] = '\0';
	err->command = CLI_CMD_NONE;
	ret = cli_args_scan(argc, argv, &scan, &c, err);
	if (ret < 0)
		return ret;
	ret = cli_args_command(&scan, &spec, &first, &c, err);
	if (ret < 0)
		return ret;
	if (spec) {
		/* An option that the command does not take is an error, not silently dropped. */
		stray = scan.seen & ~(OPT_GLOBAL | spec->opts);
		for (int id = 0; id < OPT_COUNT && stray; id++)
			if (stray & OPT_BIT(id))
				return cli_args_fail(err, c.command, "--%s: not an option of '%s'",
						     cli_opts[id].name,
						     cli_args_command_name(c.command));
		ret = cli_args_check_options(&scan, &c, err);
		if (ret < 0)
			return ret;
		n_args = scan.n_pos - first;
		if (c.command == CLI_CMD_EXEC) {
			ret = cli_args_exec(argc, argv, &scan, first, &n_args, &c, err);
			if (ret < 0)
				return ret;
		} else if (scan.n_pos > CLI_MAX_POS) {
			return cli_args_fail(err, c.command, "%s: too many arguments",
					     cli_args_command_name(c.command));
		}
		ret = cli_args_positionals(spec, scan.pos + first, n_args, &scan, &c, err);
		if (ret < 0)
			return ret;
	}
	c.socket_path = scan.val[OPT_SOCKET];
	if (!c.owner_token)
		c.owner_token = scan.val[OPT_OWNER_TOKEN];
	c.description = scan.val[OPT_DESCRIPTION];
	c.container_port = scan.container_port;
	c.backend_port = scan.backend_port;
	if (c.backend_port && !c.source_token && !c.require_token)
		return cli_args_fail(
		    err, spec->command,
		    "--backend: only a port with a SOURCE_TOKEN or --require-token "
		    "has a backend");
	if (c.backend_port && c.port && c.backend_port == c.port)
		return cli_args_fail(
		    err, spec->command,
		    "--backend: %u is the port itself; the backend is another port "
		    "on 127.0.0.1",
		    c.port);
	c.allowed_for = scan.allowed_for;
	if (c.allowed_for && c.n_allow == 0)
		return cli_args_fail(err, spec->command, "--for: needs at least one --allow CIDR");
	c.cgroup = scan.val[OPT_CGROUP];
	c.bpf_pin_dir = scan.val[OPT_BPF_PIN_DIR];
	c.netns = scan.val[OPT_NETNS] && *scan.val[OPT_NETNS] ? scan.val[OPT_NETNS] : NULL;
	if (c.command == CLI_CMD_PORT_ADD) {
		c.port_name = scan.val[OPT_NAME];
		if (!c.bind_address)
			c.bind_address = CLI_DEFAULT_BIND;
	}
	if (c.command == CLI_CMD_PORT_CHECK && !c.bind_address)
		c.bind_address = CLI_DEFAULT_BIND;
	c.audit = (struct cli_audit_args){ scan.val[OPT_SERVICE],
					   scan.val[OPT_PORT],
					   scan.val[OPT_ACTION],
					   scan.val[OPT_RESULT],
					   scan.val[OPT_SINCE],
					   scan.val[OPT_LIMIT],
					   (scan.seen & OPT_BIT(OPT_FOLLOW)) != 0 };
	if (c.command == CLI_CMD_PORT_ADD || c.command == CLI_CMD_PORT_CHECK)
		c.protocol = scan.val[OPT_PROTO] ? scan.val[OPT_PROTO] : CLI_DEFAULT_PROTOCOL;
	*cmd = c;
	return 0;
}

int cli_args_apply_env(struct cli_cmd *cmd, const char *socket_env, const char *token_env,
		       struct cli_args_error *err)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (!cmd->socket_path && socket_env && *socket_env) {
		if (strlen(socket_env) > max)
			return cli_args_fail(err, cmd->command,
					     "PORTGATE_SOCKET: path must be 1-%zu bytes", max);
		cmd->socket_path = socket_env;
	}
	if (!cmd->socket_path)
		cmd->socket_path = CLI_DEFAULT_SOCKET;
	if (!cmd->owner_token && token_env && *token_env) {
		if (!cli_args_token_ok(token_env))
			return cli_args_fail(err, cmd->command,
					     "PORTGATE_OWNER_TOKEN: must be 1-%d visible ASCII "
					     "characters",
					     CLI_MAX_TOKEN);
		cmd->owner_token = token_env;
	}
	return 0;
}
