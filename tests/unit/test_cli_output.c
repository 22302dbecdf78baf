// SPDX-License-Identifier: MIT
/* test_cli_output: portgate tables and lines from canned daemon answers; no token leaks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../userspace/portgate/cli_args.h"
#include "../../userspace/portgate/cli_output.h"

#define PORT_WEB                                                                                   \
	"{\"service_name\":\"my-app\",\"port_name\":\"web\",\"host_port\":8080,"                   \
	"\"container_port\":80,\"bind_address\":\"127.0.0.1\",\"protocol\":\"tcp\","               \
	"\"purpose\":\"custom\",\"require_token\":false,\"allowed_sources\":[],"                   \
	"\"description\":\"Main HTTP port\",\"restricted_grant\":false,\"created_at\":1763900000}"
#define PORT_API                                                                                   \
	"{\"service_name\":\"my-app\",\"port_name\":\"api\",\"host_port\":9001,"                   \
	"\"container_port\":9001,\"bind_address\":\"0.0.0.0\",\"protocol\":\"udp\","               \
	"\"purpose\":\"internal_http\",\"require_token\":true,"                                    \
	"\"allowed_sources\":[\"10.0.0.0/8\",\"fd00::/8\"],"                                       \
	"\"description\":\"API\",\"restricted_grant\":false,\"created_at\":1763900000}"
/* A port object carrying what must never be shown, should a daemon ever send it. */
#define PORT_LEAKY                                                                                 \
	"{\"service_name\":\"svc\",\"port_name\":\"x\",\"host_port\":14000,"                       \
	"\"container_port\":14000,\"bind_address\":\"::1\",\"protocol\":\"tcp\","                  \
	"\"purpose\":\"exposed\",\"require_token\":true,\"allowed_sources\":[],"                   \
	"\"source_token\":\"LEAK-source\",\"source_token_hash\":\"sha256:LEAK-hash\","             \
	"\"owner_token\":\"LEAK-owner\",\"owner_token_hash\":\"sha256:LEAK-ohash\","               \
	"\"description\":\"\",\"restricted_grant\":false,\"created_at\":1}"

struct rendered {
	int ret;
	char *text;
};

static struct rendered render(const struct cli_cmd *cmd, const char *json)
{
	struct rendered r;
	size_t len;
	FILE *f = open_memstream(&r.text, &len);

	assert_non_null(f);
	r.ret = cli_output_render(f, cmd, json, strlen(json));
	fclose(f);
	return r;
}

static struct cli_cmd cmd_of(enum cli_command c)
{
	struct cli_cmd cmd = { .command = c, .name = "my-app", .protocol = "tcp", .port = 8080 };

	return cmd;
}

/* Display columns of a UTF-8 line (code points). */
static size_t columns(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Columns (code points from the line start) of the unescaped '|' separators of a line. */
static size_t separators(const char *line, const char *end, size_t *pos, size_t max)
{
	size_t col = 0, k = 0;

	for (const char *p = line; p < end; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (*p == '|' && (p == line || p[-1] != '\\') && k < max)
			pos[k++] = col;
		col++;
	}
	return k;
}

/*
 * Every line of the table starting at text has the same width and its '|' separators in the
 * same columns ("\|" inside cells not counted). Returns the number of table lines.
 */
static size_t check_table(const char *text)
{
	size_t first[32], pos[32], nfirst = 0, width = 0, lines = 0;
	const char *line = text;

	while (*line == '|') {
		const char *end = strchr(line, '\n');
		size_t k;

		assert_non_null(end);
		k = separators(line, end, pos, 32);
		if (lines == 0) {
			memcpy(first, pos, k * sizeof(pos[0]));
			nfirst = k;
			width = columns(line, (size_t)(end - line));
			assert_true(k >= 2);
		} else {
			assert_int_equal(columns(line, (size_t)(end - line)), width);
			assert_int_equal(k, nfirst);
			assert_memory_equal(first, pos, k * sizeof(pos[0]));
		}
		/* No trailing blanks: every line ends with the closing " |". */
		assert_true(end[-1] == '|' && end[-2] == ' ');
		lines++;
		line = end + 1;
	}
	return lines;
}

static void test_cli_output_port_list_table(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORT_LIST);
	struct rendered r =
	    render(&cmd, "{\"service_name\":\"my-app\",\"ports\":[" PORT_WEB "," PORT_API "]}");
	const char *want =
	    "| SERVICE | PORT NAME | HOST PORT | CONTAINER | BIND      | PROTO | PURPOSE       "
	    "| TOKEN    | ALLOWED              | DESCRIPTION    |\n"
	    "| ------- | --------- | --------: | --------: | --------- | ----- | ------------- "
	    "| -------- | -------------------- | -------------- |\n"
	    "| my-app  | web       |      8080 |        80 | 127.0.0.1 | tcp   | custom        "
	    "| no       | any                  | Main HTTP port |\n"
	    "| my-app  | api       |      9001 |      9001 | 0.0.0.0   | udp   | internal_http "
	    "| required | 10.0.0.0/8, fd00::/8 | API            |\n";

	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, want);
	assert_int_equal(check_table(r.text), 4);
	free(r.text);
}

/* A token-protected port and its backend: each says what the other is. */
static void test_cli_output_backend(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORT_LIST);
	struct rendered r = render(
	    &cmd,
	    "{\"service_name\":\"a\",\"ports\":[{\"service_name\":\"a\",\"port_name\":\"api."
	    "backend\","
	    "\"host_port\":9000,\"bind_address\":\"127.0.0.1\",\"protocol\":\"tcp\","
	    "\"require_token\":false,\"backend_of\":8081},{\"service_name\":\"a\",\"port_name\":"
	    "\"api\",\"host_port\":8081,\"bind_address\":\"0.0.0.0\",\"protocol\":\"tcp\","
	    "\"require_token\":true,\"backend_port\":9000}]}");

	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "| backend of 8081        |"));
	assert_non_null(strstr(r.text, "| required, backend 9000 |"));
	free(r.text);

	cmd = cmd_of(CLI_CMD_PORT_ADD);
	r = render(&cmd, "{\"service_name\":\"a\",\"port_name\":\"api\",\"host_port\":8081,"
			 "\"bind_address\":\"0.0.0.0\",\"protocol\":\"tcp\",\"require_token\":true,"
			 "\"backend_port\":9000}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "portgate-proxy serves 0.0.0.0:8081/tcp and checks the "
				       "token; the service listens on 127.0.0.1:9000"));
	free(r.text);
}

static void test_cli_output_alignment_utf8_and_escapes(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_SERVICE_LIST);
	struct rendered r = render(
	    &cmd, "{\"services\":["
		  "{\"service_name\":\"caf\\u00e9-app\",\"description\":\"d\\u00e9j\\u00e0 vu\","
		  "\"created_at\":0,\"port_count\":12},"
		  "{\"service_name\":\"b\",\"description\":\"a|b \\u001b[31mred\\u0007\","
		  "\"created_at\":1763900000,\"port_count\":3},"
		  "{\"service_name\":\"c\",\"description\":\"c1 \\u009b2J\"}]}");

	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_int_equal(check_table(r.text), 5);
	/* Terminal control characters from the daemon never reach the terminal. */
	assert_null(strchr(r.text, '\x1b'));
	assert_null(strchr(r.text, '\a'));
	assert_null(strstr(r.text, "\xc2\x9b"));
	assert_non_null(strstr(r.text, "a\\|b ?[31mred?"));
	assert_non_null(strstr(r.text, "1970-01-01 00:00 UTC"));
	assert_non_null(strstr(r.text, "2025-11-23 12:13 UTC"));
	/* A service without count or time shows "-". */
	assert_non_null(
	    strstr(r.text, "| c        |     - | -                    | c1 ?2J         |"));
	free(r.text);
}

static void test_cli_output_no_token_leaks(void **state)
{
	static const struct {
		enum cli_command command;
		const char *json;
	} cases[] = {
		{ CLI_CMD_PORT_LIST, "{\"service_name\":\"svc\",\"ports\":[" PORT_LEAKY "]}" },
		{ CLI_CMD_SERVICE_DELETE,
		  "{\"service_name\":\"svc\",\"released\":[" PORT_LEAKY "]}" },
		{ CLI_CMD_PORT_REMOVE, PORT_LEAKY },
		{ CLI_CMD_PORTS_GLOBAL, "{\"allocations\":[" PORT_LEAKY "],\"ranges\":[],"
					"\"restricted\":[22]}" },
		{ CLI_CMD_PORT_CHECK, "{\"host_port\":14000,\"protocol\":\"tcp\",\"free\":false,"
				      "\"reason\":\"allocated to svc/x\",\"purpose\":\"exposed\","
				      "\"allocation\":" PORT_LEAKY ",\"listener\":null}" },
		{ CLI_CMD_SERVICE_LIST, "{\"services\":[{\"service_name\":\"svc\",\"owner_token\":"
					"\"LEAK-owner\",\"owner_token_hash\":\"LEAK\"}]}" },
		{ CLI_CMD_CLEANUP, "{\"released\":[{\"protocol\":\"tcp\",\"host_port\":1,"
				   "\"why\":\"x\",\"owner_token\":\"LEAK\"}],\"count\":1}" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_cmd cmd = cmd_of(cases[i].command);
		struct rendered r = render(&cmd, cases[i].json);

		assert_true(r.ret >= 0);
		if (strstr(r.text, "LEAK"))
			fail_msg("command %d printed a token: %s", cases[i].command, r.text);
		assert_null(strstr(r.text, "sha256"));
		free(r.text);
	}
}

static void test_cli_output_create_shows_owner_token_once(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_SERVICE_CREATE);
	struct rendered r = render(&cmd, "{\"service_name\":\"my-app\",\"description\":\"\","
					 "\"owner_token\":\"OWNER-TOKEN-43\",\"created_at\":1}");
	const char *first;

	assert_int_equal(r.ret, CLI_EXIT_OK);
	first = strstr(r.text, "OWNER-TOKEN-43");
	assert_non_null(first);
	assert_null(strstr(first + 1, "OWNER-TOKEN-43"));
	assert_non_null(strstr(r.text, "Created service my-app."));
	assert_non_null(strstr(r.text, "shown once"));
	free(r.text);

	/* An answer without the token is not what the API promises. */
	r = render(&cmd, "{\"service_name\":\"my-app\"}");
	assert_int_equal(r.ret, -EBADMSG);
	free(r.text);
}

static void test_cli_output_port_add_source_token(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORT_ADD);
	struct rendered r;
	char *json;

	/* A daemon-made source token is shown once, with a line saying so. */
	assert_true(asprintf(&json, "%.*s,\"source_token\":\"GEN-SRC-TOKEN\"}",
			     (int)strlen(PORT_API) - 1, PORT_API) > 0);
	r = render(&cmd, json);
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "Added port api to my-app: 0.0.0.0:9001/udp.\n"));
	assert_non_null(strstr(r.text, "Source token: GEN-SRC-TOKEN\n"));
	assert_non_null(strstr(r.text, "shown once"));
	assert_non_null(strstr(r.text, "X-Source-Token"));
	free(r.text);
	free(json);

	/* Without one, no token line at all. */
	r = render(&cmd, PORT_WEB);
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_null(strstr(r.text, "oken:"));
	assert_int_equal(check_table(strchr(r.text, '\n') + 1), 3);
	free(r.text);

	/* IPv6 endpoints in brackets. */
	r = render(&cmd, PORT_LEAKY);
	assert_non_null(strstr(r.text, "[::1]:14000/tcp"));
	free(r.text);
}

static void test_cli_output_port_check(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORT_CHECK);
	struct rendered r;

	r = render(&cmd, "{\"host_port\":8080,\"protocol\":\"tcp\",\"free\":false,"
			 "\"reason\":\"allocated to my-app/web\",\"purpose\":\"custom\","
			 "\"restricted\":false,\"allocation\":" PORT_WEB ",\"listener\":null}");
	assert_int_equal(r.ret, CLI_EXIT_CONFLICT);
	assert_string_equal(r.text, "8080/tcp is taken: allocated to my-app/web (127.0.0.1)\n");
	free(r.text);

	r = render(&cmd, "{\"host_port\":8080,\"protocol\":\"tcp\",\"free\":true,"
			 "\"reason\":\"free\",\"purpose\":\"custom\",\"restricted\":false,"
			 "\"allocation\":null,\"listener\":null}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "8080/tcp is free (purpose: custom)\n");
	free(r.text);

	r = render(&cmd, "{\"host_port\":80,\"protocol\":\"tcp\",\"free\":false,"
			 "\"reason\":\"in use by nginx (pid 812)\",\"purpose\":\"custom\","
			 "\"allocation\":null,"
			 "\"listener\":{\"pid\":812,\"comm\":\"nginx\",\"address\":\"0.0.0.0\"}}");
	assert_int_equal(r.ret, CLI_EXIT_CONFLICT);
	assert_string_equal(r.text, "80/tcp is taken: in use by nginx (pid 812) on 0.0.0.0\n");
	free(r.text);

	/* A reason that already names the address is not repeated. */
	r = render(&cmd,
		   "{\"host_port\":8080,\"protocol\":\"tcp\",\"free\":false,"
		   "\"reason\":\"allocated to my-app/web (127.0.0.1)\",\"allocation\":" PORT_WEB
		   ",\"listener\":null}");
	assert_string_equal(r.text, "8080/tcp is taken: allocated to my-app/web (127.0.0.1)\n");
	free(r.text);
	r = render(&cmd, "{\"host_port\":80,\"protocol\":\"tcp\",\"free\":false,"
			 "\"reason\":\"in use by nginx (pid 812) on 0.0.0.0\",\"allocation\":null,"
			 "\"listener\":{\"pid\":812,\"comm\":\"nginx\",\"address\":\"0.0.0.0\"}}");
	assert_string_equal(r.text, "80/tcp is taken: in use by nginx (pid 812) on 0.0.0.0\n");
	free(r.text);

	r = render(&cmd, "{\"host_port\":22,\"protocol\":\"udp\",\"free\":false,"
			 "\"reason\":\"restricted\",\"restricted\":true,\"allocation\":null,"
			 "\"listener\":null}");
	assert_int_equal(r.ret, CLI_EXIT_CONFLICT);
	assert_string_equal(r.text, "22/udp is taken: restricted\n");
	free(r.text);

	r = render(&cmd, "{\"host_port\":22}");
	assert_int_equal(r.ret, -EBADMSG);
	free(r.text);
}

static void test_cli_output_ports_global(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORTS_GLOBAL);
	struct rendered r =
	    render(&cmd, "{\"allocations\":[" PORT_WEB "," PORT_API "],"
			 "\"ranges\":[{\"purpose\":\"internal_http\",\"first\":9000,\"last\":9999,"
			 "\"protocol\":\"tcp\",\"used\":3,\"free\":997,\"percent\":0.3},"
			 "{\"purpose\":\"exposed\",\"first\":14000,\"last\":65535,"
			 "\"protocol\":\"tcp\",\"used\":0,\"free\":51536,\"percent\":0}],"
			 "\"restricted\":[22,25,53]}");
	const char *usage;

	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_int_equal(check_table(r.text), 4);
	usage = strstr(r.text, "\n\n| PURPOSE");
	assert_non_null(usage);
	assert_int_equal(check_table(usage + 2), 4);
	assert_non_null(strstr(usage,
			       "| PURPOSE       | RANGE       | USED |  FREE | PERCENT |\n"
			       "| ------------- | ----------- | ---: | ----: | ------: |\n"
			       "| internal_http | 9000-9999   |    3 |   997 |    0.3% |\n"
			       "| exposed       | 14000-65535 |    0 | 51536 |    0.0% |\n"));
	assert_non_null(strstr(r.text, "\nRestricted (root grants only): 22, 25, 53\n"));
	free(r.text);

	r = render(&cmd, "{\"allocations\":[],\"ranges\":[]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "No ports allocated."));
	free(r.text);
}

static void test_cli_output_available_only(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORTS_GLOBAL);
	struct rendered r;

	cmd.available_only = true;
	r = render(&cmd, "{\"allocations\":[],\"ranges\":["
			 "{\"purpose\":\"internal_http\",\"first\":9000,\"last\":9999,"
			 "\"protocol\":\"tcp\",\"used\":3,\"free\":997,\"percent\":0.3,"
			 "\"free_ranges\":[[9003,9999]]},"
			 "{\"purpose\":\"proxy_http\",\"first\":12000,\"last\":12999,"
			 "\"protocol\":\"tcp\",\"used\":2,\"free\":998,\"percent\":0.2,"
			 "\"free_ranges\":[[12000,12000],[12002,12002],[12004,12999]]},"
			 "{\"purpose\":\"full\",\"first\":1,\"last\":1,\"protocol\":\"tcp\","
			 "\"used\":1,\"free\":0,\"percent\":100,\"free_ranges\":[]}]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "internal_http  9003-9999 (997 free)\n"
				    "proxy_http     12000, 12002, 12004-12999 (998 free)\n"
				    "full           none (0 free)\n");
	free(r.text);

	/* Long lists are cut short; both protocols listed get labelled. */
	r = render(&cmd, "{\"ranges\":[{\"purpose\":\"exposed\",\"protocol\":\"tcp\",\"free\":12,"
			 "\"free_ranges\":[[1,1],[3,3],[5,5],[7,7],[9,9],[11,11],[13,13],"
			 "[15,15],[17,17],[19,19],[21,21],[23,23]]},"
			 "{\"purpose\":\"exposed\",\"protocol\":\"udp\",\"free\":1,"
			 "\"free_ranges\":[[5,5]]}]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "exposed/tcp  1, 3, 5, 7, 9, 11, 13, 15, 17, 19, ... "
				    "(+2 more ranges) (12 free)\n"
				    "exposed/udp  5 (1 free)\n");
	free(r.text);
}

static void test_cli_output_delete_remove_cleanup(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_SERVICE_DELETE);
	struct rendered r;

	r = render(&cmd, "{\"service_name\":\"my-app\",\"released\":[" PORT_WEB "," PORT_API "]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "Deleted service my-app; released 2 ports:\n| SERVICE"));
	assert_int_equal(check_table(strchr(r.text, '\n') + 1), 4);
	free(r.text);

	r = render(&cmd, "{\"service_name\":\"my-app\",\"released\":[]}");
	assert_string_equal(r.text, "Deleted service my-app; it held no ports.\n");
	free(r.text);

	cmd = cmd_of(CLI_CMD_PORT_REMOVE);
	r = render(&cmd, PORT_WEB);
	assert_string_equal(r.text, "Removed port web from my-app; released 127.0.0.1:8080/tcp.\n");
	free(r.text);

	cmd = cmd_of(CLI_CMD_CLEANUP);
	r = render(&cmd, "{\"released\":[{\"protocol\":\"tcp\",\"host_port\":9003,"
			 "\"why\":\"service gone\"},{\"protocol\":\"udp\",\"host_port\":14001,"
			 "\"why\":\"no record\"}],\"count\":2}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "Released 2 items that no service owned:\n"
				    "|  PORT | PROTO | WHY          |\n"
				    "| ----: | ----- | ------------ |\n"
				    "|  9003 | tcp   | service gone |\n"
				    "| 14001 | udp   | no record    |\n");
	free(r.text);

	r = render(&cmd, "{\"released\":[],\"count\":0}");
	assert_non_null(strstr(r.text, "Nothing to clean up"));
	free(r.text);

	cmd = cmd_of(CLI_CMD_PORT_LIST);
	r = render(&cmd, "{\"service_name\":\"my-app\",\"ports\":[]}");
	assert_string_equal(r.text, "Service my-app has no ports.\n");
	free(r.text);

	cmd = cmd_of(CLI_CMD_SERVICE_LIST);
	r = render(&cmd, "{\"services\":[]}");
	assert_string_equal(r.text, "No services.\n");
	free(r.text);
}

static void test_cli_output_json(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_PORT_CHECK);
	const char *taken = "{\"host_port\":8080,\"free\":false,\"reason\":\"restricted\"}";
	struct rendered r;

	cmd.json = true;
	r = render(&cmd, taken);
	assert_int_equal(r.ret, CLI_EXIT_CONFLICT);
	assert_int_equal(strlen(r.text), strlen(taken) + 1);
	assert_memory_equal(r.text, taken, strlen(taken));
	free(r.text);

	cmd = cmd_of(CLI_CMD_SERVICE_CREATE);
	cmd.json = true;
	r = render(&cmd, "{\"service_name\":\"a\",\"owner_token\":\"T\"}\n");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "{\"service_name\":\"a\",\"owner_token\":\"T\"}\n");
	free(r.text);

	/* Not JSON, or two documents: refused, nothing printed. */
	r = render(&cmd, "{\"a\":1} {\"b\":2}");
	assert_int_equal(r.ret, -EBADMSG);
	assert_string_equal(r.text, "");
	free(r.text);
}

static void test_cli_output_malformed(void **state)
{
	static const enum cli_command cmds[] = {
		CLI_CMD_SERVICE_CREATE, CLI_CMD_SERVICE_DELETE, CLI_CMD_SERVICE_LIST,
		CLI_CMD_PORT_ADD,	CLI_CMD_PORT_REMOVE,	CLI_CMD_PORT_LIST,
		CLI_CMD_PORT_CHECK,	CLI_CMD_PORTS_GLOBAL,	CLI_CMD_CLEANUP,
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct cli_cmd cmd = cmd_of(cmds[i]);
		struct rendered r = render(&cmd, "[1,2]");

		assert_int_equal(r.ret, -EBADMSG);
		free(r.text);
		r = render(&cmd, "not json");
		assert_int_equal(r.ret, -EBADMSG);
		free(r.text);
	}
}

/* A GET /v1/status answer; kernel_tail closes the "kernel" object. */
#define STATUS_REGISTRY                                                                            \
	"\"registry\":{\"host\":\"vm\",\"ready\":true,\"rev\":42,\"allocations\":5,"               \
	"\"localhost_only\":3,\"public\":2,\"with_allowlist\":1,\"allowed_sources\":2}"
#define STATUS_BPF                                                                                 \
	"\"bpf\":{\"attached\":true,\"programs_attached\":5,\"programs_expected\":5,"              \
	"\"pin_dir\":\"/sys/fs/bpf/portgate\",\"cgroup\":\"/sys/fs/cgroup\",\"port_entries\":5}"
#define STATUS_NFT                                                                                 \
	"\"nftables\":{\"table\":true,\"netns\":\"\",\"problem\":\"\",\"sets\":{\"localonly\":3,"  \
	"\"open\":2,\"restricted_src\":1,\"allowed4\":1,\"allowed6\":0,\"blocked4\":0,"            \
	"\"blocked6\":0,\"managed\":0}}"

static const char status_table[] =
    "| WHAT                                           | REGISTRY | KERNEL | OK  |\n"
    "| ---------------------------------------------- | -------: | -----: | --- |\n"
    "| localhost-only ports / nft set localonly       |        3 |      3 | yes |\n"
    "| public ports / nft set open                    |        2 |      2 | yes |\n"
    "| allowlisted ports / nft set restricted_src     |        1 |      1 | yes |\n"
    "| allowed sources / nft sets allowed4 + allowed6 |        2 |      1 | -   |\n"
    "| allocations / BPF port entries                 |        5 |      5 | yes |\n"
    "| BPF programs attached                          |        - |    5/5 | yes |\n"
    "| nft set blocked4                               |        - |      0 | -   |\n"
    "| nft set blocked6                               |        - |      0 | -   |\n"
    "| nft set managed                                |        - |      0 | -   |\n";

static void test_cli_output_status_in_sync(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
	long long resync = (long long)time(NULL) - 3600, ago;
	char *json, *want, when[64];
	const char *p;
	struct rendered r;
	struct tm tm;
	time_t t = (time_t)resync;

	assert_true(asprintf(&json,
			     "{\"in_sync\":true," STATUS_REGISTRY ",\"kernel\":{\"enforce\":true,"
			     "\"mode\":\"enforce\"," STATUS_BPF "," STATUS_NFT
			     ",\"last_resync\":%lld,\"resyncs\":1,\"drift_repairs\":0,"
			     "\"last_error\":\"\"}}",
			     resync) > 0);
	r = render(&cmd, json);
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_true(asprintf(&want,
			     "In sync: the kernel enforces what the registry holds.\n"
			     "Registry:      host vm, rev 42, ready\n"
			     "\n"
			     "%s"
			     "\n"
			     "Mode:          enforce\n"
			     "nft table:     inet portgate present\n"
			     "Netns:         portgated's own\n"
			     "BPF pin dir:   /sys/fs/bpf/portgate\n"
			     "Cgroup:        /sys/fs/cgroup\n"
			     "Last resync:   ",
			     status_table) > 0);
	assert_memory_equal(r.text, want, strlen(want));
	assert_int_equal(check_table(strstr(r.text, "| WHAT")), 11);
	/* UTC time, then how long ago (a second may pass while the test runs). */
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC (", &tm);
	p = r.text + strlen(want);
	assert_memory_equal(p, when, strlen(when));
	assert_int_equal(sscanf(p + strlen(when), "%lld s ago)\n", &ago), 1);
	assert_true(ago >= 3600 && ago <= 3602);
	assert_non_null(strstr(p, " s ago)\n"
				  "Resyncs:       1\n"
				  "Drift repairs: 0\n"
				  "Last error:    none\n"));
	assert_int_equal(r.text[strlen(r.text) - 1], '\n');
	assert_null(strstr(strstr(p, "Last error:"), "\n\n"));
	free(want);
	free(r.text);

	/* --json: the body as it came, and the same exit code. */
	cmd.json = true;
	r = render(&cmd, json);
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_memory_equal(r.text, json, strlen(json));
	assert_string_equal(r.text + strlen(json), "\n");
	free(r.text);
	free(json);
}

static void test_cli_output_status_differs(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
	const char *json =
	    "{\"in_sync\":false," STATUS_REGISTRY ",\"kernel\":{\"enforce\":true,"
	    "\"mode\":\"strict\",\"bpf\":{\"attached\":false,\"programs_attached\":4,"
	    "\"programs_expected\":5,\"pin_dir\":\"/sys/fs/bpf/pg-t1\",\"cgroup\":\"/sys/fs/cgroup/"
	    "t\","
	    "\"port_entries\":4},\"nftables\":{\"table\":false,\"netns\":\"pgtest\","
	    "\"problem\":\"table inet portgate is missing\","
	    "\"sets\":{\"localonly\":2,\"open\":2}},\"last_resync\":0,\"resyncs\":3,"
	    "\"drift_repairs\":2,\"last_error\":\"nft: table flushed\\u001b[2J by hand\"}}";
	struct rendered r = render(&cmd, json);

	assert_int_equal(r.ret, CLI_EXIT_DIFFERS);
	assert_int_equal(CLI_EXIT_DIFFERS, 7);
	assert_non_null(strstr(r.text, "NOT in sync: the registry and the kernel differ.\n"));
	assert_non_null(strstr(r.text, "| localhost-only ports / nft set localonly |        3 |"
				       "      2 | NO  |\n"));
	assert_non_null(strstr(r.text, "| public ports / nft set open              |        2 |"
				       "      2 | yes |\n"));
	assert_non_null(strstr(r.text, "| allocations / BPF port entries           |        5 |"
				       "      4 | NO  |\n"));
	assert_non_null(strstr(r.text, "| BPF programs attached                    |        - |"
				       "    4/5 | NO  |\n"));
	/* Sets the daemon does not report: no row, no guess. */
	assert_null(strstr(r.text, "allowlisted"));
	assert_null(strstr(r.text, "blocked"));
	assert_non_null(strstr(r.text, "Mode:          strict\n"));
	assert_non_null(strstr(r.text, "nft table:     inet portgate MISSING\n"
				       "nft problem:   table inet portgate is missing\n"));
	assert_non_null(strstr(r.text, "Netns:         pgtest\n"));
	assert_non_null(strstr(r.text, "Last resync:   never\n"));
	assert_non_null(strstr(r.text, "Drift repairs: 2\n"));
	/* Daemon text reaches the terminal without its escapes. */
	assert_non_null(strstr(r.text, "Last error:    nft: table flushed?[2J by hand\n"));
	assert_null(strchr(r.text, '\x1b'));
	assert_int_equal(check_table(strstr(r.text, "| WHAT")), 6);
	free(r.text);

	cmd.json = true;
	r = render(&cmd, json);
	assert_int_equal(r.ret, CLI_EXIT_DIFFERS);
	assert_memory_equal(r.text, json, strlen(json));
	free(r.text);
}

static void test_cli_output_status_kernel_off(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
	const char *json = "{\"in_sync\":true," STATUS_REGISTRY ",\"kernel\":{\"enforce\":false}}";
	struct rendered r = render(&cmd, json);

	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "Kernel enforcement is off (portgated --enforce off): the "
				    "registry is kept, the kernel enforces nothing.\n"
				    "Registry:      host vm, rev 42, ready\n"
				    "\n"
				    "| WHAT                 | REGISTRY |\n"
				    "| -------------------- | -------: |\n"
				    "| allocations          |        5 |\n"
				    "| localhost-only ports |        3 |\n"
				    "| public ports         |        2 |\n"
				    "| allowlisted ports    |        1 |\n"
				    "| allowed sources      |        2 |\n");
	free(r.text);

	cmd.json = true;
	r = render(&cmd, json);
	assert_int_equal(r.ret, CLI_EXIT_OK);
	free(r.text);
}

/* The proxy line of status: running, off, or down with why. */
static void test_cli_output_status_proxy(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
	struct rendered r;

	r = render(&cmd,
		   "{\"in_sync\":true," STATUS_REGISTRY ",\"kernel\":{\"enforce\":false},"
		   "\"proxy\":{\"enabled\":true,\"pid\":812,\"listeners\":2,\"restarts\":1}}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "\nProxy:         pid 812, 2 listeners, 1 restarts\n"));
	free(r.text);
	r = render(&cmd, "{\"in_sync\":true," STATUS_REGISTRY ",\"kernel\":{\"enforce\":false},"
			 "\"proxy\":{\"enabled\":false}}");
	assert_non_null(
	    strstr(r.text, "\nProxy:         off (token-protected ports are not served)\n"));
	free(r.text);
	r = render(&cmd,
		   "{\"in_sync\":true," STATUS_REGISTRY ",\"kernel\":{\"enforce\":false},"
		   "\"proxy\":{\"enabled\":true,\"pid\":0,\"last_error\":\"killed\\u001b[2J\"}}");
	assert_non_null(strstr(r.text, "\nProxy:         NOT running (killed"));
	assert_null(strchr(r.text, '\x1b'));
	free(r.text);
}

static void test_cli_output_status_renamed_sets(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
	struct rendered r;

	/* Sets under other names are listed as they are; no BPF object: no BPF rows or lines. */
	r = render(&cmd, "{\"in_sync\":true,\"registry\":{\"host\":\"h\",\"ready\":false,"
			 "\"localhost_only\":1},\"kernel\":{\"enforce\":true,\"nftables\":"
			 "{\"sets\":{\"local_only_v2\":1,\"allowed6\":4,\"odd\":\"x\"}}}}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text,
			    "In sync: the kernel enforces what the registry holds.\n"
			    "Registry:      host h, rev -, NOT ready\n"
			    "\n"
			    "| WHAT                               | REGISTRY | KERNEL | OK |\n"
			    "| ---------------------------------- | -------: | -----: | -- |\n"
			    "| allowed sources / nft set allowed6 |        - |      4 | -  |\n"
			    "| nft set local_only_v2              |        - |      1 | -  |\n");
	free(r.text);

	/* Nothing on the kernel's side at all: the verdict and the registry line only. */
	r = render(&cmd, "{\"in_sync\":false,\"registry\":{},\"kernel\":{\"enforce\":true}}");
	assert_int_equal(r.ret, CLI_EXIT_DIFFERS);
	assert_string_equal(r.text, "NOT in sync: the registry and the kernel differ.\n"
				    "Registry:      host -, rev -, ready\n");
	free(r.text);
}

static void test_cli_output_status_malformed(void **state)
{
	static const char *const bad[] = {
		"{\"registry\":{},\"kernel\":{}}",		       /* no verdict */
		"{\"in_sync\":\"yes\",\"registry\":{},\"kernel\":{}}", /* not a boolean */
		"{\"in_sync\":true,\"registry\":[],\"kernel\":{}}",    /* registry */
		"{\"in_sync\":true,\"registry\":{}}",		       /* no kernel */
		"[true]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli_cmd cmd = cmd_of(CLI_CMD_STATUS);
		struct rendered r = render(&cmd, bad[i]);

		assert_int_equal(r.ret, -EBADMSG);
		assert_string_equal(r.text, "");
		free(r.text);
		if (i < 2) {
			cmd.json = true;
			r = render(&cmd, bad[i]);
			assert_int_equal(r.ret, -EBADMSG);
			free(r.text);
		}
	}
}

static void test_cli_output_uninstall(void **state)
{
	struct cli_cmd cmd = cmd_of(CLI_CMD_UNINSTALL);
	struct rendered r;

	r = render(&cmd, "{\"removed\":[\"bpf link /sys/fs/bpf/portgate/link_bind4\","
			 "\"nft table inet portgate\"]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "Removed 2 kernel objects; portgated carries on without kernel "
				    "enforcement:\n"
				    "  bpf link /sys/fs/bpf/portgate/link_bind4\n"
				    "  nft table inet portgate\n");
	free(r.text);

	r = render(&cmd, "{\"removed\":[]}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_string_equal(r.text, "No kernel objects to remove; portgated carries on without "
				    "kernel enforcement.\n");
	free(r.text);

	r = render(&cmd, "{\"removed\":\"all\"}");
	assert_int_equal(r.ret, -EBADMSG);
	free(r.text);
}

static void test_cli_output_service_cgroup(void **state)
{
	char buf[32];
	struct cli_cmd cmd = cmd_of(CLI_CMD_SERVICE_CREATE);
	struct rendered r;

#define CG(body, n) cli_output_service_cgroup(body, strlen(body), buf, n)
	assert_int_equal(CG("{\"service_name\":\"api\",\"cgroup\":\"/sys/fs/cgroup/api\"}", 32),
			 18);
	assert_string_equal(buf, "/sys/fs/cgroup/api");
	assert_int_equal(CG("{\"service_name\":\"api\",\"cgroup\":\"\"}", 32), 0);
	assert_string_equal(buf, "");
	assert_int_equal(CG("{\"service_name\":\"api\"}", 32), 0);
	assert_int_equal(CG("{\"cgroup\":\"/sys/fs/cgroup/api\"}", 18), -ENAMETOOLONG);
	assert_int_equal(CG("{\"cgroup\":\"sys/fs/cgroup\"}", 32), -EBADMSG);
	assert_int_equal(CG("{\"cgroup\":null}", 32), -EBADMSG);
	assert_int_equal(CG("[\"/x\"]", 32), -EBADMSG);
	assert_int_equal(CG("not json", 32), -EBADMSG);
#undef CG

	/* service create says where the service's ports may be bound from. */
	r = render(&cmd, "{\"service_name\":\"api\",\"cgroup\":\"/sys/fs/cgroup/api\","
			 "\"owner_token\":\"T\"}");
	assert_int_equal(r.ret, CLI_EXIT_OK);
	assert_non_null(strstr(r.text, "Created service api.\nIts ports can be bound only from "
				       "cgroup /sys/fs/cgroup/api (portgate exec runs a command "
				       "there).\n"));
	free(r.text);
}

static void test_cli_output_exit_codes(void **state)
{
	assert_int_equal(cli_output_exit_code(200), CLI_EXIT_OK);
	assert_int_equal(cli_output_exit_code(201), CLI_EXIT_OK);
	assert_int_equal(cli_output_exit_code(400), CLI_EXIT_USAGE);
	assert_int_equal(cli_output_exit_code(401), CLI_EXIT_DENIED);
	assert_int_equal(cli_output_exit_code(403), CLI_EXIT_DENIED);
	assert_int_equal(cli_output_exit_code(404), CLI_EXIT_NOT_FOUND);
	assert_int_equal(cli_output_exit_code(409), CLI_EXIT_CONFLICT);
	assert_int_equal(cli_output_exit_code(503), CLI_EXIT_UNAVAILABLE);
	assert_int_equal(cli_output_exit_code(405), CLI_EXIT_INTERNAL);
	assert_int_equal(cli_output_exit_code(500), CLI_EXIT_INTERNAL);
	assert_int_equal(cli_output_exit_code(302), CLI_EXIT_INTERNAL);
}

static char *error_text(int status, const char *body)
{
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	cli_output_error(f, status, body, body ? strlen(body) : 0);
	fclose(f);
	return text;
}

static void test_cli_output_errors(void **state)
{
	char *t;

	t = error_text(409, "{\"error\":\"port 22 is restricted (grant with --allow-restricted, "
			    "root only)\",\"field\":\"port\"}");
	assert_string_equal(t, "portgate: error: port: port 22 is restricted (grant with "
			       "--allow-restricted, root only)\n");
	free(t);

	t = error_text(503, "{\"error\":\"registry unavailable\"}");
	assert_string_equal(t, "portgate: error: registry unavailable\n");
	free(t);

	t = error_text(500, "<html>oops</html>");
	assert_string_equal(t, "portgate: error: portgated answered 500 Internal Server Error\n");
	free(t);

	t = error_text(404, NULL);
	assert_string_equal(t, "portgate: error: portgated answered 404 Not Found\n");
	free(t);

	t = error_text(401, "{\"error\":\"owner token needed\",\"field\":\"owner_token\"}");
	assert_non_null(strstr(t, "portgate: error: owner_token: owner token needed\n"));
	assert_non_null(strstr(t, "hint:"));
	free(t);

	t = error_text(400, "{\"error\":\"bad\\u001b]0;x\\u0007\",\"field\":\"a\\nb\"}");
	assert_null(strchr(t, '\x1b'));
	assert_string_equal(t, "portgate: error: a?b: bad?]0;x?\n");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_output_port_list_table),
		cmocka_unit_test(test_cli_output_alignment_utf8_and_escapes),
		cmocka_unit_test(test_cli_output_no_token_leaks),
		cmocka_unit_test(test_cli_output_create_shows_owner_token_once),
		cmocka_unit_test(test_cli_output_port_add_source_token),
		cmocka_unit_test(test_cli_output_port_check),
		cmocka_unit_test(test_cli_output_ports_global),
		cmocka_unit_test(test_cli_output_available_only),
		cmocka_unit_test(test_cli_output_delete_remove_cleanup),
		cmocka_unit_test(test_cli_output_json),
		cmocka_unit_test(test_cli_output_malformed),
		cmocka_unit_test(test_cli_output_status_in_sync),
		cmocka_unit_test(test_cli_output_status_differs),
		cmocka_unit_test(test_cli_output_status_kernel_off),
		cmocka_unit_test(test_cli_output_status_renamed_sets),
		cmocka_unit_test(test_cli_output_status_malformed),
		cmocka_unit_test(test_cli_output_uninstall),
		cmocka_unit_test(test_cli_output_service_cgroup),
		cmocka_unit_test(test_cli_output_exit_codes),
		cmocka_unit_test(test_cli_output_errors),
		cmocka_unit_test(test_cli_output_backend),
		cmocka_unit_test(test_cli_output_status_proxy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
