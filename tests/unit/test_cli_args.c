// SPDX-License-Identifier: MIT
/* test_cli_args: the portgate command line, parsed and refused without a daemon. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../userspace/portgate/cli_args.h"

static int parse_argv(struct cli_cmd *cmd, struct cli_args_error *err, const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(cmd, 0xa5, sizeof(*cmd)); /* written only on success: poison to notice */
	return cli_args_parse(argc, (char *const *)argv, cmd, err);
}

#define PARSE(cmd, err, ...) parse_argv(cmd, err, (const char *[]){ "portgate", __VA_ARGS__, NULL })

/* Parses and expects success. */
#define OK(cmd, ...)                                                                               \
	do {                                                                                       \
		struct cli_args_error e_;                                                          \
		int r_ = PARSE(cmd, &e_, __VA_ARGS__);                                             \
		if (r_ != 0)                                                                       \
			fail_msg("parse failed: %s", e_.msg);                                      \
	} while (0)

/* Parses, expects -EINVAL and a message containing want. */
static void expect_fail(const char *want, const char **argv)
{
	struct cli_args_error err;
	struct cli_cmd cmd;
	int ret = parse_argv(&cmd, &err, argv);

	assert_int_equal(ret, -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

#define FAIL(want, ...) expect_fail(want, (const char *[]){ "portgate", __VA_ARGS__, NULL })

static void test_cli_args_service_create(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "create", "my-app");
	assert_int_equal(c.command, CLI_CMD_SERVICE_CREATE);
	assert_string_equal(c.name, "my-app");
	assert_null(c.description);
	assert_false(c.json);
	assert_null(c.socket_path);
	assert_null(c.owner_token);

	OK(&c, "service", "create", "My.App_2", "--description", "Main app");
	assert_string_equal(c.name, "My.App_2");
	assert_string_equal(c.description, "Main app");

	OK(&c, "service", "create", "x", "--description=with = sign");
	assert_string_equal(c.description, "with = sign");
}

static void test_cli_args_service_create_cgroup(void **state)
{
	struct cli_args_error err;
	struct cli_cmd c;
	char long_path[CLI_MAX_PATH + 2];

	OK(&c, "service", "create", "my-app");
	assert_null(c.cgroup);
	OK(&c, "service", "create", "my-app", "--cgroup", "/sys/fs/cgroup/my-app");
	assert_string_equal(c.cgroup, "/sys/fs/cgroup/my-app");
	OK(&c, "--cgroup=/sys/fs/cgroup/x", "service", "create", "x", "--description", "d");
	assert_string_equal(c.cgroup, "/sys/fs/cgroup/x");
	assert_string_equal(c.description, "d");

	FAIL("--cgroup: 'sys/fs/cgroup/a' is not an absolute path", "service", "create", "a",
	     "--cgroup", "sys/fs/cgroup/a");
	FAIL("--cgroup: '' is not an absolute path", "service", "create", "a", "--cgroup=");
	FAIL("--cgroup: missing value", "service", "create", "a", "--cgroup");
	long_path[0] = '/';
	memset(long_path + 1, 'a', sizeof(long_path) - 2);
	long_path[sizeof(long_path) - 1] = '\0';
	FAIL("--cgroup: path is longer than 4095 bytes", "service", "create", "a", "--cgroup",
	     long_path);
	long_path[CLI_MAX_PATH] = '\0';
	OK(&c, "service", "create", "a", "--cgroup", long_path);
	FAIL("--cgroup: not an option of 'service port-add'", "service", "port-add", "a", "80",
	     "--cgroup", "/x");
	PARSE(&c, &err, "service", "create", "a", "--cgroup", "rel");
	assert_int_equal(err.command, CLI_CMD_SERVICE_CREATE);
	assert_non_null(strstr(cli_args_usage(err.command), "[--cgroup PATH]"));
}

static void test_cli_args_exec(void **state)
{
	/* exec_argv points into argv: these must outlive the checks (OK's argv does not). */
	const char *simple[] = { "portgate", "exec",	    "api",  "--", "python3",
				 "-m",	     "http.server", "8080", NULL };
	const char *theirs[] = { "portgate",  "--socket", "/tmp/pg.sock", "exec",   "api",
				 "--",	      "cmd",	  "--json",	  "--help", "-h",
				 "--version", "--",	  "--socket",	  "x",	    NULL };
	struct cli_args_error err;
	struct cli_cmd c;

	assert_int_equal(parse_argv(&c, &err, simple), 0);
	assert_int_equal(c.command, CLI_CMD_EXEC);
	assert_string_equal(c.name, "api");
	assert_int_equal(c.exec_argc, 4);
	assert_string_equal(c.exec_argv[0], "python3");
	assert_string_equal(c.exec_argv[1], "-m");
	assert_string_equal(c.exec_argv[3], "8080");
	assert_null(c.exec_argv[4]); /* argv's own NULL: ready for execvp */

	/* After "--" everything is CMD's, options that portgate knows and a second "--" too. */
	assert_int_equal(parse_argv(&c, &err, theirs), 0);
	assert_int_equal(c.command, CLI_CMD_EXEC);
	assert_false(c.json);
	assert_string_equal(c.socket_path, "/tmp/pg.sock");
	assert_int_equal(c.exec_argc, 8);
	assert_string_equal(c.exec_argv[1], "--json");
	assert_string_equal(c.exec_argv[5], "--");
	assert_string_equal(c.exec_argv[7], "x");

	/* portgate's options before "--" are still portgate's; CMD may take many arguments. */
	OK(&c, "exec", "--json", "api", "--", "a", "1", "2", "3", "4", "5", "6", "7", "8", "9");
	assert_true(c.json);
	assert_int_equal(c.exec_argc, 10); /* (argv gone: only the count is looked at) */

	FAIL("CMD: missing (give it after '--')", "exec", "api");
	FAIL("CMD: missing (give it after '--')", "exec", "api", "--");
	FAIL("CMD: empty", "exec", "api", "--", "");
	FAIL("SERVICE: missing before '--'", "exec");
	FAIL("SERVICE: missing before '--'", "exec", "--", "ls");
	FAIL("exec: only SERVICE goes before '--' (2 arguments given)", "exec", "api", "ls", "--",
	     "x");
	FAIL("exec: only SERVICE goes before '--'", "exec", "api", "ls");
	FAIL("SERVICE: 'a/b' must be 1-64 characters", "exec", "a/b", "--", "ls");
	FAIL("unknown option '-l'", "exec", "api", "ls", "-l");
	FAIL("--cgroup: not an option of 'exec'", "exec", "api", "--cgroup", "/x", "--", "ls");
	PARSE(&c, &err, "exec", "api");
	assert_int_equal(err.command, CLI_CMD_EXEC);
	assert_string_equal(cli_args_usage(err.command), "portgate exec SERVICE -- CMD [ARG...]");

	/* Help before "--" is portgate's. */
	OK(&c, "exec", "api", "--help", "--", "ls");
	assert_int_equal(c.command, CLI_CMD_HELP);
}

static void test_cli_args_status_uninstall(void **state)
{
	struct cli_cmd c;
	char long_ns[CLI_MAX_NETNS + 2];

	OK(&c, "status");
	assert_int_equal(c.command, CLI_CMD_STATUS);
	assert_false(c.json);
	OK(&c, "status", "--json");
	assert_true(c.json);
	FAIL("status: takes no arguments", "status", "now");
	FAIL("--netns: not an option of 'status'", "status", "--netns", "x");

	OK(&c, "uninstall");
	assert_int_equal(c.command, CLI_CMD_UNINSTALL);
	assert_null(c.bpf_pin_dir);
	assert_null(c.netns);
	OK(&c, "uninstall", "--bpf-pin-dir", "/sys/fs/bpf/pg-test-1", "--netns=pg_test.1-a");
	assert_string_equal(c.bpf_pin_dir, "/sys/fs/bpf/pg-test-1");
	assert_string_equal(c.netns, "pg_test.1-a");
	/* "" is portgated's own namespace, as for portgated --netns "". */
	OK(&c, "uninstall", "--netns", "");
	assert_null(c.netns);

	FAIL("uninstall: takes no arguments", "uninstall", "all");
	FAIL("--bpf-pin-dir: 'bpf/portgate' is not an absolute path (e.g. /sys/fs/bpf/portgate)",
	     "uninstall", "--bpf-pin-dir", "bpf/portgate");
	FAIL("--netns: 'a/b' is not an ip netns name", "uninstall", "--netns", "a/b");
	FAIL("--netns: '.hidden' is not an ip netns name", "uninstall", "--netns", ".hidden");
	FAIL("--netns: '..' is not an ip netns name", "uninstall", "--netns", "..");
	memset(long_ns, 'n', sizeof(long_ns) - 1);
	long_ns[sizeof(long_ns) - 1] = '\0';
	FAIL("--netns: 'nnn", "uninstall", "--netns", long_ns);
	long_ns[CLI_MAX_NETNS] = '\0';
	OK(&c, "uninstall", "--netns", long_ns);
	FAIL("--bpf-pin-dir: not an option of 'service create'", "service", "create", "a",
	     "--bpf-pin-dir", "/x");
}

static void test_cli_args_service_delete(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "delete", "my-app");
	assert_int_equal(c.command, CLI_CMD_SERVICE_DELETE);
	assert_string_equal(c.name, "my-app");
	assert_null(c.owner_token);

	OK(&c, "service", "delete", "my-app", "tok_abc");
	assert_string_equal(c.owner_token, "tok_abc");

	OK(&c, "--owner-token", "opt_tok", "service", "delete", "my-app");
	assert_string_equal(c.owner_token, "opt_tok");

	/* "" as OWNER_TOKEN means not given here: the environment may supply it. */
	OK(&c, "service", "delete", "my-app", "");
	assert_null(c.owner_token);
}

static void test_cli_args_service_list(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "list");
	assert_int_equal(c.command, CLI_CMD_SERVICE_LIST);
	OK(&c, "--json", "service", "list");
	assert_true(c.json);
	/* Global options after the command are taken too. */
	OK(&c, "service", "list", "--json", "--socket", "/tmp/x.sock");
	assert_true(c.json);
	assert_string_equal(c.socket_path, "/tmp/x.sock");
	OK(&c, "--socket=/tmp/y.sock", "service", "list");
	assert_string_equal(c.socket_path, "/tmp/y.sock");
}

static void test_cli_args_port_add_defaults(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-add", "my-app", "8080");
	assert_int_equal(c.command, CLI_CMD_PORT_ADD);
	assert_string_equal(c.name, "my-app");
	assert_int_equal(c.port, 8080);
	assert_null(c.purpose);
	assert_string_equal(c.bind_address, "127.0.0.1");
	assert_string_equal(c.protocol, "tcp");
	assert_null(c.source_token);
	assert_null(c.owner_token);
	assert_null(c.port_name);
	assert_int_equal(c.container_port, 0);
	assert_int_equal(c.n_allow, 0);
	assert_false(c.allow_restricted);
	assert_false(c.require_token);
}

static void test_cli_args_port_add_full(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-add", "my-app", "8081", "0.0.0.0", "api_token", "owner_tok",
	   "--name", "api", "--proto", "udp", "--container-port", "81", "--allow", "10.0.0.0/8",
	   "--allow", "fd00::/8", "--description", "API", "--allow-restricted", "--require-token");
	assert_int_equal(c.port, 8081);
	assert_string_equal(c.bind_address, "0.0.0.0");
	assert_string_equal(c.source_token, "api_token");
	assert_string_equal(c.owner_token, "owner_tok");
	assert_string_equal(c.port_name, "api");
	assert_string_equal(c.protocol, "udp");
	assert_int_equal(c.container_port, 81);
	assert_int_equal(c.n_allow, 2);
	assert_string_equal(c.allow[0], "10.0.0.0/8");
	assert_string_equal(c.allow[1], "fd00::/8");
	assert_string_equal(c.description, "API");
	assert_true(c.allow_restricted);
	assert_true(c.require_token);
}

static void test_cli_args_port_add_purpose(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-add", "my-app", "internal_http");
	assert_int_equal(c.port, 0);
	assert_string_equal(c.purpose, "internal_http");

	/* SOURCE_TOKEN "" means none, so OWNER_TOKEN can follow it. */
	OK(&c, "service", "port-add", "my-app", "exposed", "::1", "", "owner_tok");
	assert_string_equal(c.bind_address, "::1");
	assert_null(c.source_token);
	assert_string_equal(c.owner_token, "owner_tok");

	/* Limits of the port range are ports. */
	OK(&c, "service", "port-add", "a", "1");
	assert_int_equal(c.port, 1);
	OK(&c, "service", "port-add", "a", "65535");
	assert_int_equal(c.port, 65535);
}

static void test_cli_args_port_remove_list(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-remove", "my-app", "web");
	assert_int_equal(c.command, CLI_CMD_PORT_REMOVE);
	assert_string_equal(c.name, "my-app");
	assert_string_equal(c.port_name, "web");
	assert_null(c.owner_token);
	OK(&c, "service", "port-remove", "my-app", "web", "tok");
	assert_string_equal(c.owner_token, "tok");

	OK(&c, "service", "port-list", "my-app");
	assert_int_equal(c.command, CLI_CMD_PORT_LIST);
	assert_string_equal(c.name, "my-app");
}

static void test_cli_args_port_check(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-check", "8080");
	assert_int_equal(c.command, CLI_CMD_PORT_CHECK);
	assert_int_equal(c.port, 8080);
	assert_string_equal(c.bind_address, "127.0.0.1");
	assert_string_equal(c.protocol, "tcp");

	OK(&c, "service", "port-check", "53", "0.0.0.0", "--proto", "udp");
	assert_string_equal(c.bind_address, "0.0.0.0");
	assert_string_equal(c.protocol, "udp");
}

static void test_cli_args_ports_global_cleanup(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "ports-global");
	assert_int_equal(c.command, CLI_CMD_PORTS_GLOBAL);
	assert_false(c.available_only);
	OK(&c, "service", "ports-global", "available-only");
	assert_true(c.available_only);
	OK(&c, "service", "ports-global", "true");
	assert_true(c.available_only);
	OK(&c, "service", "ports-global", "false");
	assert_false(c.available_only);

	OK(&c, "cleanup");
	assert_int_equal(c.command, CLI_CMD_CLEANUP);
}

static void test_cli_args_help_version(void **state)
{
	struct cli_cmd c;

	OK(&c, "--help");
	assert_int_equal(c.command, CLI_CMD_HELP);
	OK(&c, "-h");
	assert_int_equal(c.command, CLI_CMD_HELP);
	OK(&c, "help");
	assert_int_equal(c.command, CLI_CMD_HELP);
	OK(&c, "help", "service");
	assert_int_equal(c.command, CLI_CMD_SERVICE_HELP);
	OK(&c, "service", "--help");
	assert_int_equal(c.command, CLI_CMD_SERVICE_HELP);
	OK(&c, "service", "help");
	assert_int_equal(c.command, CLI_CMD_SERVICE_HELP);
	/* Help wins over a command line that would otherwise be incomplete. */
	OK(&c, "service", "port-add", "--help");
	assert_int_equal(c.command, CLI_CMD_SERVICE_HELP);
	OK(&c, "--version");
	assert_int_equal(c.command, CLI_CMD_VERSION);
	OK(&c, "version");
	assert_int_equal(c.command, CLI_CMD_VERSION);
}

static void test_cli_args_double_dash(void **state)
{
	struct cli_cmd c;

	/* After "--" a token starting with '-' is an argument, not an option. */
	OK(&c, "service", "port-add", "my-app", "8080", "127.0.0.1", "--", "-dash-token");
	assert_string_equal(c.source_token, "-dash-token");
}

static void test_cli_args_env(void **state)
{
	struct cli_args_error err;
	struct cli_cmd c;

	OK(&c, "service", "delete", "my-app");
	assert_int_equal(cli_args_apply_env(&c, NULL, NULL, &err), 0);
	assert_string_equal(c.socket_path, CLI_DEFAULT_SOCKET);
	assert_null(c.owner_token);

	OK(&c, "service", "delete", "my-app");
	assert_int_equal(cli_args_apply_env(&c, "/run/x.sock", "env_tok", &err), 0);
	assert_string_equal(c.socket_path, "/run/x.sock");
	assert_string_equal(c.owner_token, "env_tok");

	/* The command line wins over the environment. */
	OK(&c, "--socket", "/a.sock", "service", "delete", "my-app", "arg_tok");
	assert_int_equal(cli_args_apply_env(&c, "/run/x.sock", "env_tok", &err), 0);
	assert_string_equal(c.socket_path, "/a.sock");
	assert_string_equal(c.owner_token, "arg_tok");

	OK(&c, "service", "delete", "my-app");
	assert_int_equal(cli_args_apply_env(&c, NULL, "bad tok\r\nX: y", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "PORTGATE_OWNER_TOKEN"));
	assert_null(strstr(err.msg, "bad tok"));
}

static void test_cli_args_bad_port(void **state)
{
	FAIL("PORT: 70000 is out of range 1-65535", "service", "port-add", "a", "70000");
	FAIL("PORT: 0 is out of range 1-65535", "service", "port-add", "a", "0");
	FAIL("PORT: 99999999999999999999 is out of range", "service", "port-add", "a",
	     "99999999999999999999");
	FAIL("PORT|PURPOSE: 'Web' is neither a port", "service", "port-add", "a", "Web");
	FAIL("PORT|PURPOSE: '-1' is neither", "service", "port-add", "a", "-1");
	FAIL("PORT|PURPOSE: '80a'", "service", "port-add", "a", "80a");
	FAIL("PORT: 70000 is out of range 1-65535", "service", "port-check", "70000");
	FAIL("PORT: 'http' is not a port number", "service", "port-check", "http");
	FAIL("--container-port: 0 is out of range", "service", "port-add", "a", "80",
	     "--container-port", "0");
	FAIL("--container-port: 'x' is not a port number", "service", "port-add", "a", "80",
	     "--container-port", "x");
	FAIL("--backend: 70000 is out of range", "service", "port-add", "a", "80", "0.0.0.0", "t",
	     "--backend", "70000");
	FAIL("--backend: 'x' is not a port number", "service", "port-add", "a", "80", "0.0.0.0",
	     "t", "--backend", "x");
	FAIL("--backend: only a port with a SOURCE_TOKEN or --require-token", "service", "port-add",
	     "a", "80", "--backend", "9000");
	FAIL("--backend: 80 is the port itself", "service", "port-add", "a", "80", "0.0.0.0", "t",
	     "--backend", "80");
	FAIL("--backend: not an option of 'service port-list'", "service", "port-list", "a",
	     "--backend", "9000");
}

static void test_cli_args_port_add_backend(void **state)
{
	struct cli_cmd c;

	OK(&c, "service", "port-add", "a", "8081", "0.0.0.0", "t", "--backend", "9500");
	assert_int_equal(c.backend_port, 9500);
	OK(&c, "service", "port-add", "a", "8081", "0.0.0.0", "--require-token", "--backend=9501");
	assert_int_equal(c.backend_port, 9501);
	OK(&c, "service", "port-add", "a", "8081", "0.0.0.0", "t");
	assert_int_equal(c.backend_port, 0);
}

static void test_cli_args_bad_proto(void **state)
{
	FAIL("--proto: 'sctp' must be tcp or udp", "service", "port-add", "a", "80", "--proto",
	     "sctp");
	FAIL("--proto: 'TCP' must be tcp or udp", "service", "port-check", "80", "--proto=TCP");
	{
		struct cli_args_error err;
		struct cli_cmd c;

		/* Option values are judged once the command is known, for its usage line. */
		PARSE(&c, &err, "--proto", "x", "service", "port-check", "80");
		assert_int_equal(err.command, CLI_CMD_PORT_CHECK);
		/* An option the command does not take is reported as such, not judged. */
		PARSE(&c, &err, "service", "create", "a", "--allow", "bogus");
		assert_string_equal(err.msg, "--allow: not an option of 'service create'");
	}
}

static void test_cli_args_bad_cidr(void **state)
{
	FAIL("--allow: '10.0.0.0' is not a CIDR", "service", "port-add", "a", "80", "--allow",
	     "10.0.0.0");
	FAIL("--allow: '10.0.0.0/33' prefix length must be 0-32", "service", "port-add", "a", "80",
	     "--allow", "10.0.0.0/33");
	FAIL("--allow: 'fd00::/129' prefix length must be 0-128", "service", "port-add", "a", "80",
	     "--allow", "fd00::/129");
	FAIL("--allow: '10.0.0.256' is not an IPv4 or IPv6 address", "service", "port-add", "a",
	     "80", "--allow", "10.0.0.256/8");
	FAIL("--allow: '10.0.0.0/' needs a prefix length", "service", "port-add", "a", "80",
	     "--allow", "10.0.0.0/");
	FAIL("--allow: '10.0.0.0/8x' needs a prefix length", "service", "port-add", "a", "80",
	     "--allow", "10.0.0.0/8x");
	FAIL("--allow: '/8' is not a CIDR", "service", "port-add", "a", "80", "--allow", "/8");
	FAIL("--allow: missing value", "service", "port-add", "a", "80", "--allow");
}

static void test_cli_args_allow_limit(void **state)
{
	const char *argv[5 + 2 * (CLI_MAX_ALLOW + 1) + 1] = { "portgate", "service", "port-add",
							      "a" };
	struct cli_args_error err;
	struct cli_cmd c;
	size_t n = 4;

	argv[n++] = "80";
	for (int i = 0; i < CLI_MAX_ALLOW; i++) {
		argv[n++] = "--allow";
		argv[n++] = "10.0.0.0/8";
	}
	argv[n] = NULL;
	assert_int_equal(parse_argv(&c, &err, argv), 0);
	assert_int_equal(c.n_allow, CLI_MAX_ALLOW);
	argv[n++] = "--allow";
	argv[n++] = "10.0.0.0/8";
	argv[n] = NULL;
	assert_int_equal(parse_argv(&c, &err, argv), -EINVAL);
	assert_non_null(strstr(err.msg, "--allow: at most"));
}

static void test_cli_args_bad_bind(void **state)
{
	FAIL("BIND_ADDRESS: '1.2.3' is not an IPv4 or IPv6 address", "service", "port-add", "a",
	     "80", "1.2.3");
	FAIL("BIND_ADDRESS: '::g' is not an IPv4 or IPv6 address", "service", "port-check", "80",
	     "::g");
	FAIL("BIND_ADDRESS: 'localhost' is a name", "service", "port-add", "a", "80", "localhost");
	/* A token typed where the address goes is refused without being printed. */
	FAIL("BIND_ADDRESS: not an IPv4 or IPv6 address", "service", "port-add", "a", "80",
	     "secret_token");
	{
		struct cli_args_error err;
		struct cli_cmd c;

		PARSE(&c, &err, "service", "port-add", "a", "80", "secret_token");
		assert_null(strstr(err.msg, "secret_token"));
		assert_int_equal(err.command, CLI_CMD_PORT_ADD);
	}
}

static void test_cli_args_bad_tokens(void **state)
{
	struct cli_args_error err;
	struct cli_cmd c;
	char long_tok[CLI_MAX_TOKEN + 2];

	FAIL("SOURCE_TOKEN: must be 1-256 visible ASCII", "service", "port-add", "a", "80",
	     "127.0.0.1", "has space");
	memset(long_tok, 'x', sizeof(long_tok) - 1);
	long_tok[sizeof(long_tok) - 1] = '\0';
	FAIL("SOURCE_TOKEN: must be 1-256", "service", "port-add", "a", "80", "127.0.0.1",
	     long_tok);
	long_tok[CLI_MAX_TOKEN] = '\0';
	OK(&c, "service", "port-add", "a", "80", "127.0.0.1", long_tok);

	FAIL("OWNER_TOKEN: must be 1-256 visible ASCII", "service", "delete", "a", "tok\nX: y");
	FAIL("--owner-token: must be 1-256 visible ASCII", "--owner-token", "a b", "service",
	     "list");
	FAIL("OWNER_TOKEN: given both", "--owner-token", "t1", "service", "delete", "a", "t2");

	/* No token value ever appears in a message. */
	PARSE(&c, &err, "service", "delete", "a", "sekrit tok");
	assert_null(strstr(err.msg, "sekrit"));
	PARSE(&c, &err, "--owner-tokn=sekrit", "service", "list");
	assert_non_null(strstr(err.msg, "unknown option '--owner-tokn'"));
	assert_null(strstr(err.msg, "sekrit"));
	PARSE(&c, &err, "service", "port-list", "a", "sekrit");
	assert_non_null(strstr(err.msg, "too many arguments"));
	assert_null(strstr(err.msg, "sekrit"));
}

static void test_cli_args_bad_names(void **state)
{
	char long_name[CLI_MAX_NAME + 2];

	FAIL("NAME: missing", "service", "create");
	FAIL("NAME: missing", "service", "delete");
	FAIL("NAME: missing", "service", "port-add");
	FAIL("PORT|PURPOSE: missing", "service", "port-add", "a");
	FAIL("PORT_NAME: missing", "service", "port-remove", "a");
	FAIL("NAME: missing", "service", "port-list");
	FAIL("PORT: missing", "service", "port-check");
	FAIL("NAME: 'my app' must be", "service", "create", "my app");
	FAIL("NAME: '-app' must be", "service", "create", "--", "-app");
	FAIL("NAME: '.app' must be", "service", "create", ".app");
	FAIL("NAME: 'a/b' must be", "service", "port-list", "a/b");
	FAIL("NAME: '' must be", "service", "create", "");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	FAIL("must be 1-64 characters", "service", "create", long_name);
	FAIL("PORT_NAME: must be", "service", "port-remove", "a", "");
	FAIL("PORT_NAME: must be", "service", "port-remove", "a", "..");
	FAIL("--name: '.' must be", "service", "port-add", "a", "80", "--name", ".");
	FAIL("--name: 'a b' must be", "service", "port-add", "a", "80", "--name", "a b");
	FAIL("--description: must be UTF-8", "service", "create", "a", "--description", "\xff\xfe");
}

static void test_cli_args_bad_commands(void **state)
{
	struct cli_args_error err;
	struct cli_cmd c;

	FAIL("missing command", NULL);
	FAIL("unknown command 'serve'", "serve");
	FAIL("service: missing subcommand", "service");
	FAIL("service: unknown subcommand 'port-ad'", "service", "port-ad");
	FAIL("unknown command 'port-add'", "port-add", "a", "80");
	FAIL("help: the only help topic is 'service'", "help", "ports");
	FAIL("version: takes no arguments", "version", "x");
	FAIL("unknown option '--jsn'", "--jsn", "service", "list");
	FAIL("unknown option '-x'", "-x", "service", "list");
	FAIL("--json: takes no value", "--json=yes", "service", "list");
	FAIL("--socket: missing value", "service", "list", "--socket");
	FAIL("--socket: path must be", "--socket", "", "service", "list");
	FAIL("--proto: not an option of 'service create'", "service", "create", "a", "--proto",
	     "tcp");
	FAIL("--description: not an option of 'service port-check'", "service", "port-check", "80",
	     "--description", "x");
	FAIL("--require-token: not an option of 'service delete'", "service", "delete", "a",
	     "--require-token");

	/* The command reached is reported, for its usage line. */
	PARSE(&c, &err, "service", "create");
	assert_int_equal(err.command, CLI_CMD_SERVICE_CREATE);
	assert_non_null(strstr(cli_args_usage(err.command), "service create NAME"));
}

static void test_cli_args_too_many(void **state)
{
	FAIL("service list: takes no arguments", "service", "list", "x");
	FAIL("cleanup: takes no arguments", "cleanup", "tok");
	FAIL("service create: too many arguments (2 given, at most 1)", "service", "create", "a",
	     "b");
	FAIL("service port-add: too many arguments (6 given, at most 5)", "service", "port-add",
	     "a", "80", "127.0.0.1", "s", "o", "extra");
	FAIL("service port-check: too many arguments", "service", "port-check", "80", "::1", "x");
	FAIL("service ports-global: too many arguments", "service", "ports-global", "true", "t");
	FAIL("available-only: 'yes' is not", "service", "ports-global", "yes");
	FAIL("too many arguments", "service", "port-add", "a", "80", "1", "2", "3", "4", "5", "6",
	     "7", "8", "9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_args_service_create),
		cmocka_unit_test(test_cli_args_service_create_cgroup),
		cmocka_unit_test(test_cli_args_exec),
		cmocka_unit_test(test_cli_args_status_uninstall),
		cmocka_unit_test(test_cli_args_service_delete),
		cmocka_unit_test(test_cli_args_service_list),
		cmocka_unit_test(test_cli_args_port_add_defaults),
		cmocka_unit_test(test_cli_args_port_add_full),
		cmocka_unit_test(test_cli_args_port_add_purpose),
		cmocka_unit_test(test_cli_args_port_remove_list),
		cmocka_unit_test(test_cli_args_port_check),
		cmocka_unit_test(test_cli_args_ports_global_cleanup),
		cmocka_unit_test(test_cli_args_help_version),
		cmocka_unit_test(test_cli_args_port_add_backend),
		cmocka_unit_test(test_cli_args_double_dash),
		cmocka_unit_test(test_cli_args_env),
		cmocka_unit_test(test_cli_args_bad_port),
		cmocka_unit_test(test_cli_args_bad_proto),
		cmocka_unit_test(test_cli_args_bad_cidr),
		cmocka_unit_test(test_cli_args_allow_limit),
		cmocka_unit_test(test_cli_args_bad_bind),
		cmocka_unit_test(test_cli_args_bad_tokens),
		cmocka_unit_test(test_cli_args_bad_names),
		cmocka_unit_test(test_cli_args_bad_commands),
		cmocka_unit_test(test_cli_args_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
