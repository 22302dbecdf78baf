// SPDX-License-Identifier: MIT
/* test_cli_request: portgate commands turned into control API requests (docs/api.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../userspace/portgate/cli_args.h"
#include "../../userspace/portgate/cli_request.h"

static void build(struct cli_request *req, const char **argv)
{
	struct cli_args_error err;
	struct cli_cmd cmd;
	int argc = 0;

	while (argv[argc])
		argc++;
	if (cli_args_parse(argc, (char *const *)argv, &cmd, &err) < 0)
		fail_msg("parse: %s", err.msg);
	assert_int_equal(cli_args_apply_env(&cmd, NULL, "env_tok", &err), 0);
	assert_int_equal(cli_request_build(&cmd, req), 0);
}

#define BUILD(req, ...) build(req, (const char *[]){ "portgate", __VA_ARGS__, NULL })

static void test_cli_request_encode(void **state)
{
	char out[16];

	assert_int_equal(cli_request_encode("my-app_1.x~", out, sizeof(out)), 11);
	assert_string_equal(out, "my-app_1.x~");
	assert_int_equal(cli_request_encode("a/b c", out, sizeof(out)), 9);
	assert_string_equal(out, "a%2Fb%20c");
	assert_int_equal(cli_request_encode("::1", out, sizeof(out)), 7);
	assert_string_equal(out, "%3A%3A1");
	assert_int_equal(cli_request_encode("?#%\xff", out, sizeof(out)), 12);
	assert_string_equal(out, "%3F%23%25%FF");
	assert_int_equal(cli_request_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(cli_request_encode("abcd", out, 4), -ENOSPC);
	assert_int_equal(cli_request_encode("a/", out, 4), -ENOSPC);
	assert_int_equal(cli_request_encode("abc", out, 4), 3);
}

static void test_cli_request_services(void **state)
{
	struct cli_request r;

	BUILD(&r, "service", "create", "my-app", "--description", "Main \"app\"");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/services");
	assert_null(r.owner_token);
	assert_string_equal(r.body,
			    "{\"service_name\":\"my-app\",\"description\":\"Main \\\"app\\\"\"}");
	assert_int_equal(r.body_len, strlen(r.body));
	cli_request_free(&r);

	BUILD(&r, "service", "list");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/v1/services");
	assert_null(r.body);
	assert_null(r.owner_token); /* reads never carry the token, even from the environment */
	cli_request_free(&r);

	BUILD(&r, "service", "delete", "my-app", "arg_tok");
	assert_string_equal(r.method, "DELETE");
	assert_string_equal(r.path, "/v1/services/my-app");
	assert_string_equal(r.owner_token, "arg_tok");
	assert_null(r.body);
	cli_request_free(&r);

	BUILD(&r, "service", "delete", "my-app");
	assert_string_equal(r.owner_token, "env_tok");
	cli_request_free(&r);
}

static void test_cli_request_port_add(void **state)
{
	struct cli_request r;
	json_t *doc;

	BUILD(&r, "service", "port-add", "my-app", "8081", "0.0.0.0", "api_token", "--name", "api",
	      "--proto", "udp", "--container-port", "81", "--allow", "10.0.0.0/8", "--allow",
	      "fd00::/8", "--description", "API", "--allow-restricted", "--require-token");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/services/my-app/ports");
	assert_string_equal(r.owner_token, "env_tok");
	doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "port")), 8081);
	assert_null(json_object_get(doc, "purpose"));
	assert_string_equal(json_string_value(json_object_get(doc, "bind_address")), "0.0.0.0");
	assert_string_equal(json_string_value(json_object_get(doc, "source_token")), "api_token");
	assert_true(json_is_true(json_object_get(doc, "require_token")));
	assert_string_equal(json_string_value(json_object_get(doc, "port_name")), "api");
	assert_string_equal(json_string_value(json_object_get(doc, "protocol")), "udp");
	assert_int_equal(json_integer_value(json_object_get(doc, "container_port")), 81);
	assert_int_equal(json_array_size(json_object_get(doc, "allowed_sources")), 2);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(doc, "allowed_sources"), 1)),
	    "fd00::/8");
	assert_string_equal(json_string_value(json_object_get(doc, "description")), "API");
	assert_true(json_is_true(json_object_get(doc, "allow_restricted")));
	assert_null(json_object_get(doc, "backend_port"));
	json_decref(doc);
	cli_request_free(&r);

	BUILD(&r, "service", "port-add", "my-app", "8082", "0.0.0.0", "api_token", "--backend",
	      "9500");
	doc = json_loads(r.body, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "backend_port")), 9500);
	json_decref(doc);
	cli_request_free(&r);

	/* Defaults: only what the API needs, the bind address and protocol spelt out. */
	BUILD(&r, "service", "port-add", "my-app", "internal_http");
	assert_string_equal(r.body, "{\"purpose\":\"internal_http\",\"bind_address\":\"127.0.0.1\","
				    "\"protocol\":\"tcp\"}");
	cli_request_free(&r);
}

static void test_cli_request_ports(void **state)
{
	struct cli_request r;

	BUILD(&r, "service", "port-remove", "my.app", "web", "tok");
	assert_string_equal(r.method, "DELETE");
	assert_string_equal(r.path, "/v1/services/my.app/ports/web");
	assert_string_equal(r.owner_token, "tok");
	cli_request_free(&r);

	/* A port name cannot escape its path segment. */
	BUILD(&r, "service", "port-remove", "a", "../../cleanup");
	assert_string_equal(r.path, "/v1/services/a/ports/..%2F..%2Fcleanup");
	cli_request_free(&r);

	BUILD(&r, "service", "port-list", "my-app");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/v1/services/my-app/ports");
	assert_null(r.owner_token);
	cli_request_free(&r);

	BUILD(&r, "service", "port-check", "8080");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/v1/ports/8080?protocol=tcp&bind_address=127.0.0.1");
	cli_request_free(&r);

	BUILD(&r, "service", "port-check", "53", "fe80::1", "--proto", "udp");
	assert_string_equal(r.path, "/v1/ports/53?protocol=udp&bind_address=fe80%3A%3A1");
	cli_request_free(&r);

	BUILD(&r, "service", "ports-global");
	assert_string_equal(r.path, "/v1/ports");
	cli_request_free(&r);

	BUILD(&r, "service", "ports-global", "true");
	assert_string_equal(r.path, "/v1/ports?available=1");
	cli_request_free(&r);

	BUILD(&r, "cleanup");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/cleanup");
	assert_null(r.body);
	assert_null(r.owner_token);
	cli_request_free(&r);
}

static void test_cli_request_enforcement(void **state)
{
	struct cli_request r;

	BUILD(&r, "service", "create", "api", "--cgroup", "/sys/fs/cgroup/api");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/services");
	assert_string_equal(r.body, "{\"service_name\":\"api\",\"cgroup\":\"/sys/fs/cgroup/api\"}");
	cli_request_free(&r);

	/* exec reads the service's record (for its cgroup); CMD never reaches the daemon. */
	BUILD(&r, "exec", "my.app", "--", "sh", "-c", "secret args");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/v1/services/my.app");
	assert_null(r.body);
	assert_null(r.owner_token);
	cli_request_free(&r);

	BUILD(&r, "status", "--json");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/v1/status");
	assert_null(r.body);
	assert_null(r.owner_token);
	cli_request_free(&r);

	/* The daemon removes what it made: pin dir and netns are for the offline path only. */
	BUILD(&r, "uninstall", "--bpf-pin-dir", "/sys/fs/bpf/x", "--netns", "ns1");
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/v1/uninstall");
	assert_null(r.body);
	assert_null(r.owner_token);
	cli_request_free(&r);
}

static void test_cli_request_not_sendable(void **state)
{
	struct cli_cmd cmd = { .command = CLI_CMD_HELP };
	struct cli_request r = { 0 };

	assert_int_equal(cli_request_build(&cmd, &r), -EINVAL);
	cmd.command = CLI_CMD_VERSION;
	assert_int_equal(cli_request_build(&cmd, &r), -EINVAL);
	cli_request_free(&r);
	cli_request_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_request_encode),
		cmocka_unit_test(test_cli_request_services),
		cmocka_unit_test(test_cli_request_port_add),
		cmocka_unit_test(test_cli_request_ports),
		cmocka_unit_test(test_cli_request_enforcement),
		cmocka_unit_test(test_cli_request_not_sendable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
