/* SPDX-License-Identifier: MIT */
/* cli_args: the portgate command line parsed into a struct cli_cmd, without I/O. */
#ifndef PORTGATE_CLI_ARGS_H
#define PORTGATE_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_DEFAULT_SOCKET   "/run/portgate/portgate.sock"
#define CLI_DEFAULT_BIND     "127.0.0.1"
#define CLI_DEFAULT_PROTOCOL "tcp"
/* Where portgated pins its BPF objects unless told otherwise (portgated --bpf-pin-dir). */
#define CLI_DEFAULT_BPF_PIN_DIR "/sys/fs/bpf/portgate"
/* Limits checked before anything is sent; the daemon checks them again. */
#define CLI_MAX_ALLOW 64
#define CLI_MAX_TOKEN 256
#define CLI_MAX_NAME  64
#define CLI_MAX_TEXT  1024
#define CLI_MAX_PATH  4095 /* --cgroup, --bpf-pin-dir: PATH_MAX with its NUL */
#define CLI_MAX_NETNS 63   /* --netns: as portgated takes it */

enum cli_command {
	CLI_CMD_NONE,
	CLI_CMD_HELP,	      /* portgate --help | help */
	CLI_CMD_SERVICE_HELP, /* portgate service --help | help service */
	CLI_CMD_VERSION,
	CLI_CMD_SERVICE_CREATE,
	CLI_CMD_SERVICE_DELETE,
	CLI_CMD_SERVICE_LIST,
	CLI_CMD_PORT_ADD,
	CLI_CMD_PORT_REMOVE,
	CLI_CMD_PORT_LIST,
	CLI_CMD_PORT_CHECK,
	CLI_CMD_PORTS_GLOBAL,
	CLI_CMD_CLEANUP,
	CLI_CMD_EXEC,	   /* portgate exec SERVICE -- CMD [ARG...] */
	CLI_CMD_STATUS,	   /* portgate status */
	CLI_CMD_UNINSTALL, /* portgate uninstall */
	CLI_CMD_AUDIT,	   /* portgate audit */
};

/* portgate audit's filters, checked by cli_audit_check_option; NULL when not given. */
struct cli_audit_args {
	const char *service, *port, *action, *result, *since, *limit;
	bool follow;
};

/*
 * One parsed command line. Strings point into argv (or the environment after
 * cli_args_apply_env) and are never copied; NULL means "not given".
 */
struct cli_cmd {
	enum cli_command command;
	const char *socket_path;     /* --socket */
	bool json;		     /* --json */
	const char *owner_token;     /* OWNER_TOKEN, --owner-token or PORTGATE_OWNER_TOKEN */
	const char *name;	     /* NAME (service) */
	const char *port_name;	     /* PORT_NAME (port-remove) or --name (port-add) */
	unsigned int port;	     /* PORT, 1-65535; 0 when a purpose was given */
	const char *purpose;	     /* PURPOSE (port-add), [a-z][a-z0-9_]* */
	const char *bind_address;    /* port-add, port-check; CLI_DEFAULT_BIND when not given */
	const char *source_token;    /* port-add; NULL when not given or "" */
	const char *protocol;	     /* "tcp" or "udp"; CLI_DEFAULT_PROTOCOL when not given */
	unsigned int container_port; /* 0 = not given (daemon default: host port) */
	unsigned int backend_port;   /* --backend: where the service listens behind the token
					proxy; 0 = not given (daemon default: from internal_http) */
	unsigned long allowed_for;   /* --for: seconds the --allow grants last; 0 = for good */
	const char *allow[CLI_MAX_ALLOW]; /* --allow CIDR, in order */
	size_t n_allow;
	const char *description; /* --description */
	bool allow_restricted;	 /* --allow-restricted */
	bool require_token;	 /* --require-token */
	bool available_only;	 /* ports-global available-only | true */
	const char *cgroup;	 /* service create --cgroup PATH (absolute) */
	const char *bpf_pin_dir; /* uninstall --bpf-pin-dir DIR (absolute) */
	const char *netns;	 /* uninstall --netns NAME */
	/*
	 * exec: CMD and its arguments, everything after the first "--", options included.
	 * Points into argv, so exec_argv[exec_argc] is argv[argc] (NULL for main's argv).
	 */
	char *const *exec_argv;
	size_t exec_argc;
	struct cli_audit_args audit; /* audit: --service --port --action --result --since ... */
};

/* Why parsing failed: a message naming the argument, and the command reached (for usage). */
struct cli_args_error {
	char msg[256];
	enum cli_command command;
};

/*
 * Parses argv[1..argc) into *cmd. Never reads the environment and never prints.
 * Returns 0, or -EINVAL with err->msg such as "PORT: 70000 is out of range 1-65535"
 * (no "portgate: error:" prefix); token values are never quoted in messages.
 * *cmd is written only on success; its strings point into argv.
 */
int cli_args_parse(int argc, char *const argv[], struct cli_cmd *cmd, struct cli_args_error *err);

/*
 * Fills what the command line left unset from the environment values given (either may
 * be NULL): socket_env (PORTGATE_SOCKET) else CLI_DEFAULT_SOCKET; token_env
 * (PORTGATE_OWNER_TOKEN) when no owner token was given. Returns 0, or -EINVAL with
 * err->msg when the environment token is not 1-256 visible ASCII characters.
 */
int cli_args_apply_env(struct cli_cmd *cmd, const char *socket_env, const char *token_env,
		       struct cli_args_error *err);

/* The usage line of a command ("portgate service create NAME [--description TEXT]"). */
const char *cli_args_usage(enum cli_command command);

/* Command name for messages, e.g. "service port-add". */
const char *cli_args_command_name(enum cli_command command);

#endif
