// SPDX-License-Identifier: MIT
/* portgate: command line client of portgated's control API (docs/cli.md, docs/api.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_args.h"
#include "cli_audit.h"
#include "cli_client.h"
#include "cli_help.h"
#include "cli_output.h"
#include "cli_request.h"
#include "cli_uninstall.h"

/* The exit code for a request that got no answer (-errno of cli_client_request). */
static int client_error_code(int err)
{
	switch (-err) {
	case ENOENT:
	case ENOTDIR:
	case ECONNREFUSED:
	case ENOTSOCK:
	case ETIMEDOUT:
	case ECONNRESET:
		return CLI_EXIT_UNAVAILABLE;
	case EACCES:
	case EPERM:
		return CLI_EXIT_DENIED;
	case ENAMETOOLONG:
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_INTERNAL;
	}
}

/* Says why the daemon could not be asked, as an "error", or a "note" when we carry on. */
static void report_client_error(int err, const char *path, const char *kind)
{
	switch (-err) {
	case ENOENT:
	case ENOTDIR:
		fprintf(stderr,
			"portgate: %s: cannot reach portgated: %s does not exist (is portgated "
			"running? --socket or PORTGATE_SOCKET name another socket)\n",
			kind, path);
		break;
	case ECONNREFUSED:
	case ENOTSOCK:
		fprintf(stderr,
			"portgate: %s: cannot reach portgated: %s: %s (is portgated running?)\n",
			kind, path, strerror(-err));
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr,
			"portgate: %s: cannot open %s: permission denied (join the portgate "
			"group or run as root)\n",
			kind, path);
		break;
	case ETIMEDOUT:
		fprintf(stderr, "portgate: %s: portgated at %s did not answer within %d s\n", kind,
			path, CLI_CLIENT_TIMEOUT_MS / 1000);
		break;
	case ECONNRESET:
		fprintf(stderr,
			"portgate: %s: portgated at %s closed the connection before answering\n",
			kind, path);
		break;
	case ENAMETOOLONG:
		fprintf(stderr, "portgate: %s: socket path or request too long: %s\n", kind, path);
		break;
	case EBADMSG:
	case EMSGSIZE:
		fprintf(stderr,
			"portgate: %s: portgated at %s sent a malformed or oversized answer\n",
			kind, path);
		break;
	default:
		fprintf(stderr, "portgate: %s: talking to portgated at %s: %s\n", kind, path,
			strerror(-err));
		break;
	}
}

/*
 * exec: moves this process into the service's cgroup (writing "0" to cgroup.procs moves
 * the writer), then becomes CMD, so CMD and its children bind as the service. Returns only
 * on failure, with the exit code: 2 when the service has no cgroup, 5 when the move is
 * refused, 127 when CMD cannot be run.
 */
static int exec_in_service(const struct cli_cmd *cmd, const struct cli_response *resp)
{
	char cgroup[PATH_MAX], procs[PATH_MAX + sizeof("/cgroup.procs")];
	int ret, fd, saved;
	ssize_t n;

	ret = cli_output_service_cgroup(resp->body, resp->body_len, cgroup, sizeof(cgroup));
	if (ret < 0) {
		fprintf(stderr, "portgate: error: unexpected answer from portgated (%s)\n",
			ret == -EBADMSG ? "not the service object the API describes"
					: strerror(-ret));
		return CLI_EXIT_INTERNAL;
	}
	if (ret == 0) {
		fprintf(stderr,
			"portgate: error: SERVICE: service %s has no cgroup (create it with "
			"--cgroup PATH)\n",
			cmd->name);
		return CLI_EXIT_USAGE;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		goto refused;
	}
	n = write(fd, "0\n", 2);
	saved = n < 0 ? errno : EIO;
	if (close(fd) < 0 && n == 2) {
		n = -1;
		saved = errno;
	}
	if (n != 2)
		goto refused;

	fflush(stdout);
	execvp(cmd->exec_argv[0], cmd->exec_argv);
	saved = errno;
	fprintf(stderr, "portgate: error: %s: %s\n", cmd->exec_argv[0], strerror(saved));
	return CLI_EXIT_EXEC;
refused:
	fprintf(stderr, "portgate: error: cannot move into the cgroup of %s: %s: %s%s\n", cmd->name,
		procs, strerror(saved),
		saved == EACCES || saved == EPERM
		    ? " (moving a process needs write access there and in the common ancestor "
		      "cgroup: run as root or delegate the cgroup)"
		    : "");
	return CLI_EXIT_DENIED;
}

static int report_usage_error(const struct cli_args_error *err)
{
	fprintf(stderr, "portgate: error: %s\n", err->msg);
	if (err->command != CLI_CMD_NONE)
		fprintf(stderr, "usage: %s\n", cli_args_usage(err->command));
	else
		fputs("Try 'portgate --help'.\n", stderr);
	return CLI_EXIT_USAGE;
}

/* An offline removal that failed: root only (5), or anything else (1). */
static int uninstall_error_code(int err)
{
	return err == -EPERM || err == -EACCES ? CLI_EXIT_DENIED : CLI_EXIT_INTERNAL;
}

/*
 * uninstall with portgated not running: removes the BPF pins and the nftables table here and
 * says, for each, what went or that nothing was there (with --json: {"offline": true,
 * "removed": [...]}); failures go to stderr. Returns the exit code.
 */
static int uninstall_offline(const struct cli_cmd *cmd)
{
	const char *pin_dir = cmd->bpf_pin_dir ? cmd->bpf_pin_dir : CLI_DEFAULT_BPF_PIN_DIR;
	struct cli_uninstall_result res;
	char removed[2][CLI_MAX_PATH + 128], none[2][CLI_MAX_PATH + 128], ns[96];
	size_t n = 0, n_none = 0;
	int code = CLI_EXIT_OK;
	json_t *doc;

	fputs("portgate: note: removing portgate's kernel objects directly\n", stderr);
	cli_uninstall_offline(pin_dir, cmd->netns, &res);
	snprintf(ns, sizeof(ns), "%s%s", cmd->netns ? "netns " : "this network namespace",
		 cmd->netns ? cmd->netns : "");

	if (res.bpf > 0)
		snprintf(removed[n++], sizeof(removed[0]),
			 "%d BPF pins under %s (programs detached)", res.bpf, pin_dir);
	else if (res.bpf == 0)
		snprintf(none[n_none++], sizeof(none[0]), "No BPF pins under %s.", pin_dir);
	else
		fprintf(stderr, "portgate: error: removing the BPF pins under %s: %s\n", pin_dir,
			strerror(-res.bpf));
	if (res.nft >= 0 && res.nft_table)
		snprintf(removed[n++], sizeof(removed[0]), "nftables table inet portgate (%s)", ns);
	else if (res.nft >= 0)
		snprintf(none[n_none++], sizeof(none[0]), "No nftables table inet portgate (%s).",
			 ns);
	else if (res.nft_err[0]) /* nft_open's sentence names the namespace */
		fprintf(stderr, "portgate: error: removing the nftables table inet portgate: %s\n",
			res.nft_err);
	else
		fprintf(stderr,
			"portgate: error: removing the nftables table inet portgate (%s): %s\n", ns,
			strerror(-res.nft));
	if (res.bpf < 0)
		code = uninstall_error_code(res.bpf);
	else if (res.nft < 0)
		code = uninstall_error_code(res.nft);

	if (!cmd->json) {
		for (size_t i = 0; i < n; i++)
			printf("Removed %s.\n", removed[i]);
		for (size_t i = 0; i < n_none; i++)
			puts(none[i]);
		return code;
	}
	doc = json_pack("{s:b,s:[]}", "offline", 1, "removed");
	for (size_t i = 0; doc && i < n; i++)
		if (json_array_append_new(json_object_get(doc, "removed"),
					  json_string(removed[i])) < 0)
			code = CLI_EXIT_INTERNAL;
	if (!doc || json_dumpf(doc, stdout, JSON_COMPACT) < 0)
		code = CLI_EXIT_INTERNAL;
	else
		fputc('\n', stdout);
	json_decref(doc);
	return code;
}

int main(int argc, char **argv)
{
	struct cli_args_error aerr;
	struct cli_request req = { 0 };
	struct cli_response resp = { 0 };
	struct cli_cmd cmd;
	int ret, code;

	/* Parse and check every argument; nothing is sent on a usage error. */
	if (cli_args_parse(argc, argv, &cmd, &aerr) < 0)
		return report_usage_error(&aerr);

	/* Help and version need no daemon. */
	switch (cmd.command) {
	case CLI_CMD_HELP:
	case CLI_CMD_SERVICE_HELP:
		cli_help_print(stdout, cmd.command == CLI_CMD_SERVICE_HELP);
		return CLI_EXIT_OK;
	case CLI_CMD_VERSION:
		cli_help_version(stdout);
		return CLI_EXIT_OK;
	default:
		break;
	}

	/* What the command line left out comes from the environment. */
	if (cli_args_apply_env(&cmd, getenv("PORTGATE_SOCKET"), getenv("PORTGATE_OWNER_TOKEN"),
			       &aerr) < 0)
		return report_usage_error(&aerr);

	/* audit reads page by page (and --follow keeps reading): its own loop. */
	if (cmd.command == CLI_CMD_AUDIT) {
		ret = cli_audit_run(&cmd);
		if (ret < 0)
			report_client_error(ret, cmd.socket_path, "error");
		return ret < 0 ? client_error_code(ret) : ret;
	}

	/* One request, one answer. */
	ret = cli_request_build(&cmd, &req);
	if (ret < 0) {
		fprintf(stderr, "portgate: error: building the request: %s\n", strerror(-ret));
		return CLI_EXIT_INTERNAL;
	}
	ret = cli_client_request(cmd.socket_path, &req, CLI_CLIENT_TIMEOUT_MS, &resp);
	cli_request_free(&req);
	code = ret < 0 ? client_error_code(ret) : (int)cli_output_exit_code(resp.status);
	if (ret < 0 && cmd.command == CLI_CMD_UNINSTALL && code == CLI_EXIT_UNAVAILABLE) {
		/* With no daemon to ask, uninstall removes the kernel objects itself. */
		report_client_error(ret, cmd.socket_path, "note");
		code = uninstall_offline(&cmd);
	} else if (ret < 0) {
		report_client_error(ret, cmd.socket_path, "error");
		return code;
	} else if (code != CLI_EXIT_OK) {
		/* A refusal is printed from the daemon's error object; an answer as table or JSON.
		 */
		cli_output_error(stderr, resp.status, resp.body, resp.body_len);
	} else if (cmd.command == CLI_CMD_EXEC) {
		/* Returns only when CMD could not be started in the service's cgroup. */
		code = exec_in_service(&cmd, &resp);
	} else {
		ret = cli_output_render(stdout, &cmd, resp.body, resp.body_len);
		if (ret < 0) {
			fprintf(stderr, "portgate: error: unexpected answer from portgated (%s)\n",
				ret == -EBADMSG ? "not the JSON the API describes"
						: strerror(-ret));
			code = CLI_EXIT_INTERNAL;
		} else {
			code = ret;
		}
	}
	cli_client_response_free(&resp);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "portgate: error: writing output: %s\n", strerror(errno));
		code = CLI_EXIT_INTERNAL;
	}
	return code;
}
