// SPDX-License-Identifier: MIT
/* cli_help: the portgate help and version texts (kept in step with docs/cli.md). */
#include "cli_help.h"

static const char cli_help_head[] =
    "usage: portgate [--socket PATH] [--json] [--owner-token TOKEN] COMMAND [ARGS...]\n"
    "\n"
    "Reserve, check and release host ports through the portgated daemon.\n"
    "\n";

static const char cli_help_service[] =
    "Service commands:\n"
    "  portgate service create NAME [--description TEXT] [--cgroup PATH]\n"
    "      Create a service; prints its owner token once (store it).\n"
    "      --cgroup (root only): a cgroup v2 directory; only processes in it may bind\n"
    "      the service's ports (see portgate exec).\n"
    "  portgate service delete NAME [OWNER_TOKEN]\n"
    "      Delete a service and release all its ports.\n"
    "  portgate service list\n"
    "      List services.\n"
    "  portgate service port-add NAME PORT|PURPOSE [BIND_ADDRESS] [SOURCE_TOKEN] [OWNER_TOKEN]\n"
    "           [--name PORT_NAME] [--proto tcp|udp] [--container-port N] [--allow CIDR]...\n"
    "           [--description TEXT] [--allow-restricted] [--require-token] [--backend PORT]\n"
    "      Reserve PORT (1-65535), or the lowest free port of PURPOSE (e.g. internal_http).\n"
    "      BIND_ADDRESS defaults to 127.0.0.1; SOURCE_TOKEN \"\" means none.\n"
    "      --require-token without SOURCE_TOKEN: the daemon makes one, shown once.\n"
    "      With a token, portgate-proxy serves PORT and the service listens on\n"
    "      127.0.0.1:BACKEND (--backend PORT, default the lowest free internal_http port).\n"
    "      --allow-restricted (root only) grants a restricted port such as 22 or 443.\n"
    "  portgate service port-remove NAME PORT_NAME [OWNER_TOKEN]\n"
    "      Release one port of a service.\n"
    "  portgate service port-list NAME\n"
    "      List the ports of a service.\n"
    "  portgate service port-check PORT [BIND_ADDRESS] [--proto tcp|udp]\n"
    "      Say whether a port is free (exit 0) or taken (exit 4), and by whom.\n"
    "  portgate service ports-global [available-only]\n"
    "      Every allocation and the usage of each range; available-only (or true):\n"
    "      the free ranges of each purpose.\n";

static const char cli_help_rest[] =
    "\n"
    "Other commands:\n"
    "  portgate exec SERVICE -- CMD [ARG...]\n"
    "      Run CMD in the service's cgroup, so it may bind the service's ports.\n"
    "      Everything after \"--\" is CMD's, options included.\n"
    "  portgate status [--json]\n"
    "      The registry beside the kernel's enforcement (BPF programs, nftables sets,\n"
    "      last resync, drift repairs); exit 7 when they differ.\n"
    "  portgate uninstall [--bpf-pin-dir DIR] [--netns NAME]\n"
    "      Remove every kernel object portgate made (root only); portgated carries on\n"
    "      registry-only. With portgated not running, removes them directly: BPF pins\n"
    "      under DIR (default /sys/fs/bpf/portgate), the nftables table in netns NAME.\n"
    "  portgate audit [--service S] [--port P] [--action A] [--result R]\n"
    "                 [--since 10m|TIME|ID] [--limit N] [--follow] [--json]\n"
    "      Who tried to bind or reach what, and what happened (the newest N events,\n"
    "      default 1000; times in UTC). --follow: print events as they come, until\n"
    "      Ctrl-C. --json: one event per line, as stored.\n"
    "  portgate cleanup          Release what no service owns (root only).\n"
    "  portgate help [service]   This help.\n"
    "  portgate --version        Print the version.\n"
    "\n"
    "Options (anywhere on the line; \"--\" ends options):\n"
    "  --socket PATH        daemon socket (env PORTGATE_SOCKET, default\n"
    "                       /run/portgate/portgate.sock)\n"
    "  --json               print the daemon's JSON answer instead of tables\n"
    "  --owner-token TOKEN  owner token for changes (env PORTGATE_OWNER_TOKEN);\n"
    "                       an OWNER_TOKEN argument takes precedence\n"
    "\n"
    "Exit codes:\n"
    "  0  success (port-check: the port is free)\n"
    "  1  internal or unexpected error\n"
    "  2  usage error (bad argument or option)\n"
    "  3  not found (no such service or port)\n"
    "  4  conflict: name exists, port taken (port-check: the port is taken)\n"
    "  5  permission denied (owner token missing or wrong, root only, socket access,\n"
    "     exec: cannot move into the service's cgroup)\n"
    "  6  daemon unreachable, timed out, or registry unavailable\n"
    "  7  status: the registry and the kernel differ\n"
    "  127  exec: CMD could not be run\n";

void cli_help_print(FILE *out, bool service_only)
{
	fputs(cli_help_head, out);
	fputs(cli_help_service, out);
	if (!service_only)
		fputs(cli_help_rest, out);
	else
		fputs("\nSee portgate --help for options and exit codes.\n", out);
}

void cli_help_version(FILE *out)
{
	fputs("portgate " CLI_VERSION "\n", out);
}
