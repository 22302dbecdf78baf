// SPDX-License-Identifier: MIT
/* test_config: layered portgated settings (defaults, INI, environment, flags), bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char tmpdir[64];
static char conf[256]; /* the last file written by write_conf() */

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Every test starts with no PORTGATE_* variable set. */
static int clear_env(void **state)
{
	extern char **environ;
	char names[64][128];
	size_t n = 0;

	(void)state;
	for (char **e = environ; *e && n < 64; e++)
		if (!strncmp(*e, "PORTGATE_", 9))
			snprintf(names[n++], sizeof(names[0]), "%.*s", (int)strcspn(*e, "="), *e);
	for (size_t i = 0; i < n; i++)
		unsetenv(names[i]);
	return 0;
}

static const char *write_file(const char *name, const char *text, size_t len)
{
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/%s", tmpdir, name);
	f = fopen(conf, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return conf;
}

static const char *write_conf(const char *text)
{
	return write_file("portgate.conf", text, strlen(text));
}

static int do_load(struct pg_config *c, char *err, size_t errlen, const char **args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc]) {
		assert_true(argc < 31);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	return config_load(c, argc, argv, err, errlen);
}

/* LOAD(&c, err, "--flag", "value", ...) runs config_load with argv[0] "portgated". */
#define LOAD(c, err, ...)                                                                          \
	do_load(c, err, sizeof(err), (const char *[]){ "portgated", ##__VA_ARGS__, NULL })

/* Loads text as the config file and expects failure with "<file>:<reason>". */
static void expect_file_error(const char *text, const char *reason)
{
	struct pg_config c;
	char err[1024], want[1024];

	write_conf(text);
	if (LOAD(&c, err, "--config", conf) != -EINVAL)
		fail_msg("accepted: %s", text);
	snprintf(want, sizeof(want), "%s:%s", conf, reason);
	assert_string_equal(err, want);
}

static void assert_defaults(const struct pg_config *c)
{
	struct pg_policy p;
	char host[256] = "";

	gethostname(host, sizeof(host));
	policy_init_defaults(&p);
	assert_string_equal(c->state_dir, "/var/lib/portgate");
	assert_string_equal(c->socket_path, "/run/portgate/portgate.sock");
	assert_string_equal(c->socket_group, "portgate");
	assert_string_equal(c->redis_url, "");
	assert_string_equal(c->host, host);
	assert_string_equal(c->metrics, "127.0.0.1:9464");
	assert_true(c->enforce);
	assert_string_equal(c->redis_server, "redis-server");
	assert_string_equal(c->appendfsync, "everysec");
	assert_int_equal(c->log_level, 2);
	assert_memory_equal(&c->policy, &p, sizeof(p));
}

static void test_config_defaults(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("; nothing but comments\n# here\n\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.config_path, conf);
	assert_defaults(&c);
	/* an empty file too, and empty sections */
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_defaults(&c);
	write_conf("[portgated]\n[ranges]\n[restricted]\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_defaults(&c);
}

static void test_config_default_file_optional(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		skip(); /* this host has one; its contents are not ours to test */
	assert_int_equal(LOAD(&c, err), 0);
	assert_string_equal(c.config_path, CONFIG_DEFAULT_PATH);
	assert_defaults(&c);
	/* no argv at all */
	assert_int_equal(config_load(&c, 0, NULL, err, sizeof(err)), 0);
	assert_defaults(&c);
}

static void test_config_file_overrides(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("\xEF\xBB\xBF; portgated test configuration\n"
		   "[portgated]\n"
		   "state_dir = /srv/portgate\n"
		   "  socket = /tmp/pg.sock   ; indented, inline comment\n"
		   "socket_group=wheel\n"
		   "redis = redis://10.0.0.5:6380/2\n"
		   "host = node-1.example\n"
		   "metrics = [::1]:9465\n"
		   "enforce = off\n"
		   "redis_server = /usr/local/bin/redis-server\n"
		   "appendfsync = always\n"
		   "log_level = warn\n"
		   "\n"
		   "[ranges]\n"
		   "internal_http = 8000-8999\n"
		   "[restricted]\n"
		   "ports = 22, 2222\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.state_dir, "/srv/portgate");
	assert_string_equal(c.socket_path, "/tmp/pg.sock");
	assert_string_equal(c.socket_group, "wheel");
	assert_string_equal(c.redis_url, "redis://10.0.0.5:6380/2");
	assert_string_equal(c.host, "node-1.example");
	assert_string_equal(c.metrics, "[::1]:9465");
	assert_false(c.enforce);
	assert_string_equal(c.redis_server, "/usr/local/bin/redis-server");
	assert_string_equal(c.appendfsync, "always");
	assert_int_equal(c.log_level, 1);
	assert_non_null(policy_find_purpose(&c.policy, "internal_http"));
	assert_int_equal(policy_find_purpose(&c.policy, "internal_http")->first, 8000);
	assert_int_equal(policy_find_purpose(&c.policy, "exposed")->first, 14000);
	assert_int_equal(c.policy.n_restricted, 2);
	assert_int_equal(c.policy.restricted[1], 2222);
	assert_false(policy_is_restricted(&c.policy, 443));
	/* sections may repeat; keys merge */
	write_conf("[portgated]\nhost = a\n[ranges]\nexposed = 20000-30000\n[portgated]\nenforce = "
		   "off\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.host, "a");
	assert_false(c.enforce);
	/* PORTGATE_CONFIG names the file too */
	setenv("PORTGATE_CONFIG", conf, 1);
	assert_int_equal(LOAD(&c, err), 0);
	assert_string_equal(c.config_path, conf);
	assert_string_equal(c.host, "a");
}

static void test_config_env_overrides_file(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("[portgated]\nhost = from-file\nenforce = off\nmetrics = off\n"
		   "log_level = error\n[restricted]\nports = 1 2 3\n[ranges]\nexposed = 20000\n");
	setenv("PORTGATE_HOST", "from-env", 1);
	setenv("PORTGATE_ENFORCE", "on", 1);
	setenv("PORTGATE_REDIS", "unix:///run/redis/redis.sock?db=3", 1);
	setenv("PORTGATE_SOCKET_GROUP", "ops", 1);
	setenv("PORTGATE_LOG_LEVEL", "debug", 1);
	setenv("PORTGATE_RESTRICTED", "", 1);
	setenv("PORTGATE_RANGE_EXPOSED", "30000-40000", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.host, "from-env");
	assert_true(c.enforce);
	assert_string_equal(c.metrics, "off"); /* from the file, not overridden */
	assert_string_equal(c.redis_url, "unix:///run/redis/redis.sock?db=3");
	assert_string_equal(c.socket_group, "ops");
	assert_int_equal(c.log_level, 3);
	assert_int_equal(c.policy.n_restricted, 0);
	assert_int_equal(policy_find_purpose(&c.policy, "exposed")->first, 30000);
	assert_int_equal(policy_find_purpose(&c.policy, "exposed")->last, 40000);
}

static void test_config_flag_overrides_env(void **state)
{
	struct pg_config c;
	char err[512], other[256];

	(void)state;
	write_file("other.conf", "[portgated]\nhost = other-file\n",
		   strlen("[portgated]\nhost = other-file\n"));
	snprintf(other, sizeof(other), "%s", conf);
	write_conf("[portgated]\nhost = from-file\n");
	setenv("PORTGATE_CONFIG", other, 1);
	setenv("PORTGATE_HOST", "from-env", 1);
	setenv("PORTGATE_METRICS", "0.0.0.0:9000", 1);
	setenv("PORTGATE_ENFORCE", "off", 1);
	setenv("PORTGATE_APPENDFSYNC", "always", 1);
	/* PORTGATE_CONFIG is used without --config */
	assert_int_equal(LOAD(&c, err, "--host", "from-flag"), 0);
	assert_string_equal(c.config_path, other);
	assert_string_equal(c.host, "from-flag");
	assert_string_equal(c.metrics, "0.0.0.0:9000");
	assert_false(c.enforce);
	/* --config beats PORTGATE_CONFIG; each flag beats its variable; the last flag wins */
	assert_int_equal(LOAD(&c, err, "--config", conf, "--metrics", "off", "--enforce=on",
			      "--appendfsync", "everysec", "--state-dir", "/a", "--state-dir", "/b",
			      "--socket", "/run/x.sock", "--socket-group", "g", "--redis",
			      "redis://cache", "--redis-server", "/opt/redis", "--log-level",
			      "error"),
			 0);
	assert_string_equal(c.config_path, conf);
	assert_string_equal(c.host, "from-env");
	assert_string_equal(c.metrics, "off");
	assert_true(c.enforce);
	assert_string_equal(c.appendfsync, "everysec");
	assert_string_equal(c.state_dir, "/b");
	assert_string_equal(c.socket_path, "/run/x.sock");
	assert_string_equal(c.socket_group, "g");
	assert_string_equal(c.redis_url, "redis://cache");
	assert_string_equal(c.redis_server, "/opt/redis");
	assert_int_equal(c.log_level, 0);
	/* an empty --redis goes back to the embedded server */
	setenv("PORTGATE_REDIS", "redis://elsewhere", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--redis", ""), 0);
	assert_string_equal(c.redis_url, "");
}

static void test_config_verbosity(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf, "-v"), 0);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(LOAD(&c, err, "--config", conf, "-vvvvv"), 0);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--debug"), 0);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--log-level", "error", "-v"), 0);
	assert_int_equal(c.log_level, 1);
	setenv("PORTGATE_LOG_LEVEL", "error", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf, "-v", "-v"), 0);
	assert_int_equal(c.log_level, 2);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--debug", "--log-level", "error"), 0);
	assert_int_equal(c.log_level, 3);
}

static void test_config_custom_purpose(void **state)
{
	struct pg_config c;
	char err[512];
	const struct pg_range *r;

	(void)state;
	/* moving exposed out of the way works before or after adding monitoring */
	write_conf("[ranges]\nexposed = 16000-65535\nmonitoring = 15000-15999\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	r = policy_range_of(&c.policy, 15500);
	assert_non_null(r);
	assert_string_equal(r->purpose, "monitoring");
	assert_int_equal(c.policy.n_ranges, 6);
	write_conf("[ranges]\nmonitoring = 15000-15999\nexposed = 16000-65535\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(policy_range_of(&c.policy, 15000)->purpose, "monitoring");
	/* a single port, and removing a built-in purpose with an empty value */
	write_conf("[ranges]\nmetrics = 9464\ninternal_http =\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_null(policy_find_purpose(&c.policy, "internal_http"));
	assert_int_equal(policy_find_purpose(&c.policy, "metrics")->last, 9464);
	assert_int_equal(c.policy.n_ranges, 5);
	/* from the environment, lower-cased */
	write_conf("");
	setenv("PORTGATE_RANGE_MONITORING", "15000-15999", 1);
	setenv("PORTGATE_RANGE_EXPOSED", "16000-65535", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(policy_range_of(&c.policy, 15999)->purpose, "monitoring");
	/* the environment can also settle an overlap of the file */
	unsetenv("PORTGATE_RANGE_MONITORING");
	write_conf("[ranges]\nmonitoring = 15000-15999\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(policy_find_purpose(&c.policy, "exposed")->first, 16000);
	/* and remove a purpose */
	setenv("PORTGATE_RANGE_EXPOSED", "", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_null(policy_find_purpose(&c.policy, "exposed"));
}

static void test_config_overlap_line(void **state)
{
	struct pg_config c;
	char err[512], want[512];

	(void)state;
	expect_file_error("[ranges]\n"
			  "; monitoring next to the exposed range\n"
			  "monitoring = 15000-15999\n",
			  "3: [ranges] monitoring: 15000-15999 overlaps exposed (14000-65535)");
	/* the later line is blamed, whichever range starts first */
	expect_file_error("[ranges]\nexposed = 16000-65535\nmonitoring = 15000-15999\n"
			  "exposed = 14000-65535\n",
			  "4: [ranges] exposed: set twice (first on line 2)");
	expect_file_error("[ranges]\nmonitoring = 15000-15999\nexposed = 15500-65535\n",
			  "3: [ranges] exposed: 15500-65535 overlaps monitoring (15000-15999)");
	expect_file_error("[ranges]\nexposed = 15500-65535\nmonitoring = 15000-15999\n",
			  "3: [ranges] monitoring: 15000-15999 overlaps exposed (15500-65535)");
	expect_file_error("[portgated]\nhost = x\n[ranges]\nlow = 1-9000\n",
			  "4: [ranges] low: 1-9000 overlaps internal_http (9000-9999)");
	/* a variable that brings the overlap is named */
	write_conf("[ranges]\nexposed = 16000-65535\nmonitoring = 15000-15999\n");
	setenv("PORTGATE_RANGE_EXPOSED", "14000-65535", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
	assert_string_equal(
	    err, "PORTGATE_RANGE_EXPOSED: 14000-65535 overlaps monitoring (15000-15999)");
	unsetenv("PORTGATE_RANGE_EXPOSED");
	setenv("PORTGATE_RANGE_WEB", "15999-16000", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
	assert_string_equal(err,
			    "PORTGATE_RANGE_WEB: 15999-16000 overlaps monitoring (15000-15999)");
	/* a file line overlapping a variable's range is blamed on the variable */
	unsetenv("PORTGATE_RANGE_WEB");
	setenv("PORTGATE_RANGE_MONITORING", "16500", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
	snprintf(want, sizeof(want),
		 "PORTGATE_RANGE_MONITORING: 16500-16500 overlaps exposed "
		 "(16000-65535)");
	assert_string_equal(err, want);
}

static void test_config_bad_ranges(void **state)
{
	static const struct {
		const char *line, *reason;
	} cases[] = {
		{ "monitoring = 9000-", "[ranges] monitoring: expected FIRST-LAST, got \"9000-\"" },
		{ "monitoring = abc", "[ranges] monitoring: expected FIRST-LAST, got \"abc\"" },
		{ "monitoring = 9000-8000",
		  "[ranges] monitoring: inverted range 9000-8000 (first > last)" },
		{ "monitoring = 0-10", "[ranges] monitoring: first port 0 out of 1-65535" },
		{ "monitoring = 70000", "[ranges] monitoring: port 70000 out of 1-65535" },
		{ "monitoring = 1-70000", "[ranges] monitoring: last port 70000 out of 1-65535" },
		{ "monitoring = -5", "[ranges] monitoring: expected FIRST-LAST, got \"-5\"" },
		{ "monitoring = 15000-15999x",
		  "[ranges] monitoring: expected FIRST-LAST, got \"15000-15999x\"" },
		{ "Monitoring = 15000",
		  "[ranges] Monitoring: purpose name \"Monitoring\" must start with a letter a-z" },
		{ "mon-itor = 15000",
		  "[ranges] mon-itor: purpose name \"mon-itor\": only a-z, 0-9 and _ allowed" },
		{ "custom = 15000",
		  "[ranges] custom: purpose name \"custom\" is reserved for ports outside every "
		  "range" },
		{ "monitoring =", "[ranges] monitoring: empty value removes a purpose, but "
				  "monitoring has no range" },
	};
	char text[256], reason[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[portgated]\nhost = h\n[ranges]\n%s\n",
			 cases[i].line);
		snprintf(reason, sizeof(reason), "4: %s", cases[i].reason);
		expect_file_error(text, reason);
	}
	expect_file_error("[restricted]\nports = 22,,25\n",
			  "2: [restricted] ports: empty entry in port list \"22,,25\"");
	expect_file_error("[restricted]\nports = 22 0\n",
			  "2: [restricted] ports: port 0 out of 1-65535");
}

static void test_config_env_range_bad(void **state)
{
	static const struct {
		const char *name, *value, *reason;
	} cases[] = {
		{ "PORTGATE_RANGE_MONITORING", "abc",
		  "PORTGATE_RANGE_MONITORING: expected FIRST-LAST, got \"abc\"" },
		{ "PORTGATE_RANGE_MONITORING", "0-10",
		  "PORTGATE_RANGE_MONITORING: first port 0 out of 1-65535" },
		{ "PORTGATE_RANGE_CUSTOM", "1-2",
		  "PORTGATE_RANGE_CUSTOM: purpose name \"custom\" is reserved for ports outside "
		  "every range" },
		{ "PORTGATE_RANGE_MON-X", "1-2",
		  "PORTGATE_RANGE_MON-X: purpose name \"mon-x\": only a-z, 0-9 and _ allowed" },
		{ "PORTGATE_RANGE_", "1-2",
		  "PORTGATE_RANGE_: expected PORTGATE_RANGE_<PURPOSE>, PURPOSE of 1-31 "
		  "characters" },
		{ "PORTGATE_RANGE_NOPE", "",
		  "PORTGATE_RANGE_NOPE: empty value removes a purpose, "
		  "but nope has no range" },
		{ "PORTGATE_RESTRICTED", "22 x",
		  "PORTGATE_RESTRICTED: expected a port 1-65535, got \"x\"" },
	};
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clear_env(state);
		setenv(cases[i].name, cases[i].value, 1);
		assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
		assert_string_equal(err, cases[i].reason);
	}
}

static void test_config_file_syntax(void **state)
{
	char longline[512], reason[128];

	(void)state;
	expect_file_error("[portgated]\nhost = h\ncolour = blue\n",
			  "3: [portgated] colour: unknown key");
	expect_file_error("[portgated]\nconfig = /etc/x\n", "2: [portgated] config: unknown key");
	expect_file_error("[portgated]\nHost = h\n", "2: [portgated] Host: unknown key");
	expect_file_error("[portgated]\nhost = h\n[rnages]\n",
			  "3: unknown section [rnages] (expected [portgated], [ranges] or "
			  "[restricted])");
	expect_file_error("[ranges]\n[Portgated]\nhost = h\n",
			  "2: unknown section [Portgated] (expected [portgated], [ranges] or "
			  "[restricted])");
	expect_file_error("host = h\n[portgated]\n",
			  "1: host: key outside a section (expected [portgated], [ranges] or "
			  "[restricted])");
	expect_file_error("[restricted]\nport = 22\n",
			  "2: [restricted] port: unknown key (expected ports)");
	expect_file_error("[portgated]\nhost = a\n\nhost = b\n",
			  "4: [portgated] host: set twice (first on line 2)");
	expect_file_error("[restricted]\nports = 22\n[restricted]\nports = 25\n",
			  "4: [restricted] ports: set twice (first on line 2)");
	expect_file_error("[portgated]\nhost h\n",
			  "2: syntax error, expected [section] or key = value");
	expect_file_error("[portgated\nhost = h\n",
			  "1: syntax error, expected [section] or key = value");
	/* the first error wins, whichever kind */
	expect_file_error("[portgated]\nenforce = maybe\nhost h\n",
			  "2: [portgated] enforce: expected on or off");
	expect_file_error("[portgated]\nhost h\nenforce = maybe\n",
			  "2: syntax error, expected [section] or key = value");
	/* inih cannot hold long lines; refuse them instead of splitting them */
	snprintf(longline, sizeof(longline), "[portgated]\nstate_dir = /%0300d\nhost = h\n", 0);
	snprintf(reason, sizeof(reason), "2: line longer than %d characters", 198);
	expect_file_error(longline, reason);
	/* a NUL byte in a line */
	{
		struct pg_config c;
		char err[512], want[512];
		static const char text[] = "[portgated]\nhost = a\0b\n";

		write_file("portgate.conf", text, sizeof(text) - 1);
		assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
		snprintf(want, sizeof(want), "%s:2: NUL byte in line", conf);
		assert_string_equal(err, want);
	}
}

static void test_config_bad_values(void **state)
{
	static const struct {
		const char *key, *value, *reason;
	} cases[] = {
		{ "enforce", "yes", "expected on or off" },
		{ "enforce", "ON", "expected on or off" },
		{ "enforce", "", "expected on or off" },
		{ "metrics", "9464", "expected ADDR:PORT or off" },
		{ "metrics", "localhost:9464", "expected ADDR:PORT or off" },
		{ "metrics", "::1:9464", "expected ADDR:PORT or off" },
		{ "metrics", "[::1]", "expected ADDR:PORT or off" },
		{ "metrics", "127.0.0.1:0", "expected ADDR:PORT or off" },
		{ "metrics", "127.0.0.1:65536", "expected ADDR:PORT or off" },
		{ "metrics", "300.0.0.1:9464", "expected ADDR:PORT or off" },
		{ "metrics", "OFF", "expected ADDR:PORT or off" },
		{ "redis", "http://cache:6379",
		  "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]" },
		{ "redis", "redis://", "missing host" },
		{ "redis", "redis://cache:0", "bad port \"0\", expected 1-65535" },
		{ "redis", "redis://cache/x", "bad database \"x\", expected a number" },
		{ "redis", "redis://:pw@cache", "user:password@ in the URL is not supported" },
		{ "redis", "unix://run/redis.sock", "expected unix:///ABSOLUTE/PATH" },
		{ "socket", "run/portgate.sock", "expected an absolute path" },
		{ "socket",
		  "/run/portgate/"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaa.sock",
		  "longer than 107 bytes (sun_path)" },
		{ "state_dir", "var/lib/portgate", "expected an absolute path" },
		{ "host", "my host", "expected a name of [A-Za-z0-9._-]" },
		{ "host", "pg:{x}", "expected a name of [A-Za-z0-9._-]" },
		{ "host", "", "expected a name of [A-Za-z0-9._-]" },
		{ "socket_group", "-g", "expected a group name of [A-Za-z0-9._-]" },
		{ "socket_group", "", "expected a group name of [A-Za-z0-9._-]" },
		{ "appendfsync", "no", "expected always or everysec" },
		{ "log_level", "verbose", "expected error, warn, info or debug" },
		{ "redis_server", "", "empty" },
	};
	struct pg_config c;
	char err[512], text[512], want[512], env[64], flag[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* in the file */
		snprintf(text, sizeof(text), "[portgated]\n%s = %s\n", cases[i].key,
			 cases[i].value);
		snprintf(want, sizeof(want), "2: [portgated] %s: %s", cases[i].key,
			 cases[i].reason);
		expect_file_error(text, want);
		/* in the environment */
		write_conf("");
		snprintf(env, sizeof(env), "PORTGATE_%s", cases[i].key);
		for (char *s = env; *s; s++)
			*s = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
		setenv(env, cases[i].value, 1);
		assert_int_equal(LOAD(&c, err, "--config", conf), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", env, cases[i].reason);
		assert_string_equal(err, want);
		unsetenv(env);
		/* as a flag */
		snprintf(flag, sizeof(flag), "--%s", cases[i].key);
		for (char *s = flag; *s; s++)
			*s = *s == '_' ? '-' : *s;
		assert_int_equal(LOAD(&c, err, "--config", conf, flag, cases[i].value), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", flag, cases[i].reason);
		assert_string_equal(err, want);
	}
	/* control characters never pass, whatever the key */
	assert_int_equal(LOAD(&c, err, "--config", conf, "--state-dir", "/var/lib/\x1b[2J"),
			 -EINVAL);
	assert_string_equal(err, "--state-dir: control character in value");
}

static void test_config_missing_file(void **state)
{
	struct pg_config c;
	char err[512], want[512], missing[256];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope.conf", tmpdir);
	assert_int_equal(LOAD(&c, err, "--config", missing), -EINVAL);
	snprintf(want, sizeof(want), "--config: cannot open %s: No such file or directory",
		 missing);
	assert_string_equal(err, want);
	setenv("PORTGATE_CONFIG", missing, 1);
	assert_int_equal(LOAD(&c, err), -EINVAL);
	snprintf(want, sizeof(want), "PORTGATE_CONFIG: cannot open %s: No such file or directory",
		 missing);
	assert_string_equal(err, want);
	unsetenv("PORTGATE_CONFIG");
	assert_int_equal(LOAD(&c, err, "--config", ""), -EINVAL);
	assert_string_equal(err, "--config: empty path");
	/* a directory opens but cannot be read */
	assert_int_equal(LOAD(&c, err, "--config", tmpdir), -EINVAL);
	snprintf(want, sizeof(want), "%s: read error: Is a directory", tmpdir);
	assert_string_equal(err, want);
}

static void test_config_bad_flags(void **state)
{
	static const struct {
		const char *arg, *reason;
	} cases[] = {
		{ "--bogus", "--bogus: unknown or ambiguous option" },
		{ "--re", "--re: unknown or ambiguous option" },
		{ "-x", "-x: unknown option" },
		{ "--help=yes", "--help=yes: takes no value" },
		{ "--debug=1", "--debug=1: takes no value" },
		{ "extra", "unexpected argument \"extra\"" },
		{ "--metrics", "--metrics: missing value" },
		{ "--config", "--config: missing value" },
	};
	struct pg_config c, before;
	char err[512];

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	before = c;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(LOAD(&c, err, cases[i].arg), -EINVAL);
		assert_string_equal(err, cases[i].reason);
	}
	assert_memory_equal(&c, &before, sizeof(c)); /* written only on success */
	/* an unambiguous prefix is fine (getopt_long) */
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf, "--redis-s", "/bin/true"), 0);
	assert_string_equal(c.redis_server, "/bin/true");
	/* a NULL err is allowed */
	assert_int_equal(config_load(&c, 2, (char *[]){ "portgated", "--bogus", NULL }, NULL, 0),
			 -EINVAL);
}

/* Runs config_load with stdout sent to a file; returns its result and the output. */
static int load_capture(const char *arg, char *out, size_t outlen)
{
	struct pg_config c;
	char err[256], path[256];
	int fd, saved, ret;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stdout", tmpdir);
	fflush(stdout);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	ret = LOAD(&c, err, arg, "--bogus-after-help");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, outlen - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return ret;
}

static void test_config_help_version(void **state)
{
	static const char *const words[] = {
		"--config",
		"PORTGATE_CONFIG",
		"--state-dir",
		"PORTGATE_STATE_DIR",
		"--socket",
		"PORTGATE_SOCKET",
		"--socket-group",
		"PORTGATE_SOCKET_GROUP",
		"--redis",
		"PORTGATE_REDIS",
		"--host",
		"PORTGATE_HOST",
		"--metrics",
		"PORTGATE_METRICS",
		"--enforce",
		"PORTGATE_ENFORCE",
		"--redis-server",
		"--appendfsync",
		"-v",
		"--debug",
		"--help",
		"--version",
		"127.0.0.1:9464",
		"/var/lib/portgate",
		"PORTGATE_RANGE_",
		"everysec",
	};
	char out[8192];

	(void)state;
	assert_int_equal(load_capture("--help", out, sizeof(out)), 1);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(out, words[i]))
			fail_msg("--help does not mention %s", words[i]);
	assert_int_equal(load_capture("--version", out, sizeof(out)), 1);
	assert_string_equal(out, "portgated " PORTGATE_VERSION "\n");
}

static void test_config_repeat(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	/* optind is reset each time */
	write_conf("");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(LOAD(&c, err, "--config", conf, "--host", "h1"), 0);
		assert_string_equal(c.host, "h1");
		assert_int_equal(LOAD(&c, err, "--bogus"), -EINVAL);
		assert_int_equal(LOAD(&c, err, "--config", conf, "-v", "--enforce", "off"), 0);
		assert_false(c.enforce);
		assert_int_equal(c.log_level, 3);
	}
}

static void test_config_redis_url_good(void **state)
{
	static const struct {
		const char *url;
		bool is_unix;
		const char *host_or_path;
		unsigned port;
		int db;
	} cases[] = {
		{ "redis://cache", false, "cache", 6379, 0 },
		{ "redis://cache:6380", false, "cache", 6380, 0 },
		{ "redis://cache:6380/5", false, "cache", 6380, 5 },
		{ "redis://cache/7", false, "cache", 6379, 7 },
		{ "redis://cache/", false, "cache", 6379, 0 },
		{ "redis://10.0.0.5:6379/0", false, "10.0.0.5", 6379, 0 },
		{ "redis://[::1]:6390/1", false, "::1", 6390, 1 },
		{ "redis://[fe80::1]", false, "fe80::1", 6379, 0 },
		{ "redis://redis_1.internal-net", false, "redis_1.internal-net", 6379, 0 },
		{ "unix:///run/redis/redis.sock", true, "/run/redis/redis.sock", 0, 0 },
		{ "unix:///run/redis/redis.sock?db=12", true, "/run/redis/redis.sock", 0, 12 },
	};
	struct pg_redis_url u;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&u, 0x5a, sizeof(u));
		if (config_parse_redis_url(cases[i].url, &u, err, sizeof(err)))
			fail_msg("%s: %s", cases[i].url, err);
		assert_int_equal(u.is_unix, cases[i].is_unix);
		assert_string_equal(cases[i].is_unix ? u.path : u.host, cases[i].host_or_path);
		assert_int_equal(u.port, cases[i].port);
		assert_int_equal(u.db, cases[i].db);
	}
}

static void test_config_redis_url_bad(void **state)
{
	static const struct {
		const char *url, *reason;
	} cases[] = {
		{ "", "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]" },
		{ "cache:6379", "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]" },
		{ "REDIS://cache", "expected redis://HOST[:PORT][/DB] or unix:///PATH[?db=N]" },
		{ "rediss://cache", "rediss:// (TLS) is not supported" },
		{ "redis://", "missing host" },
		{ "redis://:6379", "missing host" },
		{ "redis:///0", "missing host" },
		{ "redis://cache:", "bad port \"\", expected 1-65535" },
		{ "redis://cache:70000", "bad port \"70000\", expected 1-65535" },
		{ "redis://cache:-1", "bad port \"-1\", expected 1-65535" },
		{ "redis://cache:63 79", "blank, control or non-ASCII byte in URL" },
		{ "redis://cache:6379:1", "bad port \"6379:1\", expected 1-65535" },
		{ "redis://cache/-1", "bad database \"-1\", expected a number" },
		{ "redis://cache/01", "bad database \"01\", expected a number" },
		{ "redis://cache/1/2", "bad database \"1/2\", expected a number" },
		{ "redis://cache/99999999999", "bad database \"99999999999\", expected a number" },
		{ "redis://cache?db=1", "query or fragment in a redis:// URL" },
		{ "redis://user:pw@cache", "user:password@ in the URL is not supported" },
		{ "redis://ca$he", "bad host \"ca$he\"" },
		{ "redis://[::1", "bad IPv6 address, expected [ADDR]" },
		{ "redis://[nope]:1", "bad IPv6 address [nope]" },
		{ "redis://[::1]6379", "expected :PORT after [::1]" },
		{ "redis://cache\n", "blank, control or non-ASCII byte in URL" },
		{ "unix://", "expected unix:///ABSOLUTE/PATH" },
		{ "unix://relative.sock", "expected unix:///ABSOLUTE/PATH" },
		{ "unix:///r.sock?db=", "bad query \"db=\", expected ?db=N" },
		{ "unix:///r.sock?db=x", "bad query \"db=x\", expected ?db=N" },
		{ "unix:///r.sock?password=x", "bad query \"password=x\", expected ?db=N" },
		{ "unix:///r.sock?db=1&db=2", "bad query \"db=1&db=2\", expected ?db=N" },
		{ "unix:///run/"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
		  "socket path longer than 107 bytes (sun_path)" },
	};
	struct pg_redis_url u, before;
	char err[256];

	(void)state;
	memset(&u, 0x5a, sizeof(u));
	before = u;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (config_parse_redis_url(cases[i].url, &u, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s", cases[i].url);
		assert_string_equal(err, cases[i].reason);
	}
	assert_int_equal(config_parse_redis_url(NULL, &u, NULL, 0), -EINVAL);
	assert_memory_equal(&u, &before, sizeof(u));
}

static void test_config_parse_listen(void **state)
{
	static const char *const bad[] = {
		"",
		"9464",
		":9464",
		"127.0.0.1",
		"127.0.0.1:",
		"::1:9464",
		"[::1]",
		"[::1]:",
		"[::1]9464",
		"[127.0.0.1]:9464",
		"host:9464",
		"1.2.3:9464",
		"127.0.0.1:0",
		"127.0.0.1:+80",
		"127.0.0.1:80 ",
		" off",
		"Off",
		"[fe80::1%eth0]:1",
		"127.0.0.1:80:80",
	};
	char addr[INET6_ADDRSTRLEN] = "x", small[4];
	bool on = false;
	uint16_t port = 0;

	(void)state;
	assert_int_equal(config_parse_listen("127.0.0.1:9464", &on, addr, sizeof(addr), &port), 0);
	assert_true(on);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 9464);
	assert_int_equal(config_parse_listen("[::1]:9465", &on, addr, sizeof(addr), &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 9465);
	assert_int_equal(config_parse_listen("0.0.0.0:65535", &on, addr, sizeof(addr), &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(config_parse_listen("off", &on, addr, sizeof(addr), &port), 0);
	assert_false(on);
	assert_string_equal(addr, "");
	assert_int_equal(port, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		on = true;
		port = 7;
		if (config_parse_listen(bad[i], &on, addr, sizeof(addr), &port) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(on);
		assert_int_equal(port, 7);
	}
	assert_int_equal(config_parse_listen(NULL, &on, addr, sizeof(addr), &port), -EINVAL);
	assert_int_equal(config_parse_listen("127.0.0.1:1", &on, small, sizeof(small), &port),
			 -ENAMETOOLONG);
}

static void test_config_enforcement(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("[portgated]\nmode = rewrite\nclosed_by_default = on\nnflog_group = 7\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.mode, 1);
	assert_true(c.closed_by_default);
	assert_int_equal(c.nflog_group, 7);
	assert_string_equal(c.bpf_pin_dir, "/sys/fs/bpf/portgate");
	assert_string_equal(c.cgroup, "");
	assert_string_equal(c.netns, "");
	setenv("PORTGATE_MODE", "audit-only", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--netns", "pg-test", "--cgroup",
			      "/sys/fs/cgroup/x", "--bpf-pin-dir", "/sys/fs/bpf/t"),
			 0);
	assert_int_equal(c.mode, 2);
	assert_string_equal(c.netns, "pg-test");
	assert_string_equal(c.cgroup, "/sys/fs/cgroup/x");
	assert_string_equal(c.bpf_pin_dir, "/sys/fs/bpf/t");
	assert_int_equal(LOAD(&c, err, "--config", conf, "--mode", "strict"), 0);
	assert_int_equal(c.mode, 3);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--mode", "block"), 0);
	assert_non_null(strstr(err, "--mode"));
	assert_non_null(strstr(err, "strict"));
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--netns", "a/b"), 0);
	assert_non_null(strstr(err, "--netns"));
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--cgroup", "relative"), 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--nflog-group", "0"), 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--closed-by-default", "yes"), 0);
	assert_non_null(strstr(err, "on or off"));
}

/* The numeric settings: bounds checked, the flag named, the last layer winning. */
static void test_config_numbers(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("[portgated]\nproxy_fail_limit = 5\naudit_window = 30\nscan_ports = 50\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.proxy_fail_limit, 5);
	assert_int_equal(c.audit_window, 30);
	assert_int_equal(c.scan_ports, 50);
	assert_int_equal(c.proxy_head_timeout_ms, 10000);
	assert_int_equal(c.proxy_head_max, 16384);
	assert_int_equal(c.audit_max_bytes, 100u << 20);
	assert_int_equal(c.scan_block_seconds, 0);
	setenv("PORTGATE_SCAN_BLOCK_SECONDS", "600", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--proxy-head-max", "65536"), 0);
	assert_int_equal(c.scan_block_seconds, 600);
	assert_int_equal(c.proxy_head_max, 65536);
	unsetenv("PORTGATE_SCAN_BLOCK_SECONDS");
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-head-max", "100"), 0);
	assert_non_null(strstr(err, "--proxy-head-max"));
	assert_non_null(strstr(err, "1024-1048576"));
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--audit-window", "-1"), 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--audit-window", "10s"), 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--scan-ports", ""), 0);
	assert_int_not_equal(
	    LOAD(&c, err, "--config", conf, "--audit-max-bytes", "99999999999999999999999"), 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--audit-file", "rel/x"), 0);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--audit-file", "off"), 0);
	assert_string_equal(c.audit_file, "off");
}

static void test_config_proxy(void **state)
{
	struct pg_config c;
	char err[512];

	(void)state;
	write_conf("[portgated]\nproxy = /usr/lib/portgate/portgate-proxy\nproxy_user = pgproxy\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.proxy, "/usr/lib/portgate/portgate-proxy");
	assert_string_equal(c.proxy_user, "pgproxy");
	setenv("PORTGATE_PROXY", "off", 1);
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.proxy, "off");
	assert_int_equal(
	    LOAD(&c, err, "--config", conf, "--proxy", "/opt/pp", "--proxy-user", "65534"), 0);
	assert_string_equal(c.proxy, "/opt/pp");
	assert_string_equal(c.proxy_user, "65534");
	unsetenv("PORTGATE_PROXY");
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.proxy, "");
	assert_string_equal(c.proxy_user, "");
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy", "portgate-proxy"), 0);
	assert_non_null(strstr(err, "--proxy"));
	assert_non_null(strstr(err, "absolute path or off"));
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-user", "-x"), 0);
	assert_non_null(strstr(err, "--proxy-user"));
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-user", "a b"), 0);
	write_conf("[portgated]\nproxy_user =\n");
	assert_int_not_equal(LOAD(&c, err, "--config", conf), 0);
	assert_non_null(strstr(err, ":2: [portgated] proxy_user"));

	/* backend connection reuse: on by default, 0 or 1 only */
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.proxy_backend_reuse, 1);
	write_conf("[portgated]\nproxy_backend_reuse = 0\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.proxy_backend_reuse, 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-backend-reuse", "2"), 0);
	assert_non_null(strstr(err, "--proxy-backend-reuse"));

	/* deferred accept: 1 s by default, 0 (off) to 60 */
	write_conf("");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.proxy_defer_accept, 1);
	write_conf("[portgated]\nproxy_defer_accept = 0\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_int_equal(c.proxy_defer_accept, 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-defer-accept", "61"), 0);
	assert_non_null(strstr(err, "--proxy-defer-accept"));

	/* the one-exchange answer deadline: 60 s by default, 100 ms to 1 h */
	assert_int_equal(c.proxy_answer_timeout_ms, 60000);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-answer-timeout-ms", "99"), 0);
	assert_non_null(strstr(err, "--proxy-answer-timeout-ms"));

	/* idle tunnels: closed after an hour by default, 0 never, at most a week */
	assert_int_equal(c.proxy_tunnel_idle, 3600);
	assert_int_equal(LOAD(&c, err, "--config", conf, "--proxy-tunnel-idle", "0"), 0);
	assert_int_equal(c.proxy_tunnel_idle, 0);
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-tunnel-idle", "604801"), 0);
	assert_non_null(strstr(err, "--proxy-tunnel-idle"));

	/* the proxy's congestion control: the host's by default; a kernel name, or "" again */
	assert_string_equal(c.proxy_congestion, "");
	write_conf("[portgated]\nproxy_congestion = cubic\n");
	assert_int_equal(LOAD(&c, err, "--config", conf), 0);
	assert_string_equal(c.proxy_congestion, "cubic");
	assert_int_equal(LOAD(&c, err, "--config", conf, "--proxy-congestion", ""), 0);
	assert_string_equal(c.proxy_congestion, "");
	assert_int_not_equal(LOAD(&c, err, "--config", conf, "--proxy-congestion", "Cubic"), 0);
	assert_non_null(strstr(err, "--proxy-congestion"));
	assert_int_not_equal(
	    LOAD(&c, err, "--config", conf, "--proxy-congestion", "a_name_of_16_chr"), 0);
	assert_non_null(strstr(err, "--proxy-congestion"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_config_defaults, clear_env),
		cmocka_unit_test_setup(test_config_default_file_optional, clear_env),
		cmocka_unit_test_setup(test_config_file_overrides, clear_env),
		cmocka_unit_test_setup(test_config_env_overrides_file, clear_env),
		cmocka_unit_test_setup(test_config_flag_overrides_env, clear_env),
		cmocka_unit_test_setup(test_config_verbosity, clear_env),
		cmocka_unit_test_setup(test_config_custom_purpose, clear_env),
		cmocka_unit_test_setup(test_config_overlap_line, clear_env),
		cmocka_unit_test_setup(test_config_bad_ranges, clear_env),
		cmocka_unit_test_setup(test_config_env_range_bad, clear_env),
		cmocka_unit_test_setup(test_config_file_syntax, clear_env),
		cmocka_unit_test_setup(test_config_bad_values, clear_env),
		cmocka_unit_test_setup(test_config_missing_file, clear_env),
		cmocka_unit_test_setup(test_config_bad_flags, clear_env),
		cmocka_unit_test_setup(test_config_help_version, clear_env),
		cmocka_unit_test_setup(test_config_repeat, clear_env),
		cmocka_unit_test_setup(test_config_enforcement, clear_env),
		cmocka_unit_test_setup(test_config_numbers, clear_env),
		cmocka_unit_test_setup(test_config_proxy, clear_env),
		cmocka_unit_test(test_config_redis_url_good),
		cmocka_unit_test(test_config_redis_url_bad),
		cmocka_unit_test(test_config_parse_listen),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
