// SPDX-License-Identifier: MIT
/* cli_output: daemon answers shown as aligned tables, one-line summaries or raw JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_output.h"
#include "http_head.h"
#include "cli_table.h"

/* Free ranges listed per purpose by "ports-global available-only" before "+N more". */
#define CLI_OUTPUT_MAX_RANGES 10

enum cli_exit cli_output_exit_code(int status)
{
	if (status >= 200 && status < 300)
		return CLI_EXIT_OK;
	switch (status) {
	case 400:
		return CLI_EXIT_USAGE;
	case 401:
	case 403:
		return CLI_EXIT_DENIED;
	case 404:
		return CLI_EXIT_NOT_FOUND;
	case 409:
		return CLI_EXIT_CONFLICT;
	case 503:
		return CLI_EXIT_UNAVAILABLE;
	default:
		return CLI_EXIT_INTERNAL;
	}
}

const char *cli_output_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An integer field (JSON integer, or a real with an integral value) into *v. */
bool cli_output_int(const json_t *o, const char *key, json_int_t *v)
{
	const json_t *j = json_object_get(o, key);

	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return true;
	}
	if (json_is_real(j) && json_real_value(j) == (double)(json_int_t)json_real_value(j)) {
		*v = (json_int_t)json_real_value(j);
		return true;
	}
	return false;
}

/* The field as decimal text in buf, or NULL (printed "-") when absent. */
static const char *cli_output_int_text(const json_t *o, const char *key, char *buf, size_t n)
{
	json_int_t v;

	if (!cli_output_int(o, key, &v))
		return NULL;
	snprintf(buf, n, "%" JSON_INTEGER_FORMAT, v);
	return buf;
}

static const char *cli_output_time(const json_t *o, const char *key, char *buf, size_t n)
{
	json_int_t v;
	time_t t;
	struct tm tm;

	if (!cli_output_int(o, key, &v))
		return NULL;
	t = (time_t)v;
	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm))
		return NULL;
	return buf;
}

static const char *const cli_port_head[] = {
	"SERVICE", "PORT NAME", "HOST PORT", "CONTAINER", "BIND",
	"PROTO",   "PURPOSE",	"TOKEN",     "ALLOWED",	  "DESCRIPTION",
};
#define CLI_PORT_COLS  (sizeof(cli_port_head) / sizeof(cli_port_head[0]))
#define CLI_PORT_RIGHT ((1u << 2) | (1u << 3))

/*
 * One port object as a table row. Only the fields named here are read, so a token or hash
 * that a daemon might add to the object can never reach the screen.
 */
static void cli_output_port_row(struct cli_table *t, const json_t *p)
{
	char host[24], cont[24], purpose[128], allowed[1024] = "", token[48];
	json_int_t backend = 0, front = 0;
	const char *cells[CLI_PORT_COLS];
	const json_t *src = json_object_get(p, "allowed_sources");
	const char *pur = cli_output_str(p, "purpose");
	const json_t *v;
	size_t i, o = 0;

	if (!json_is_object(p)) {
		t->err = -EBADMSG;
		return;
	}
	if (pur && json_is_true(json_object_get(p, "restricted_grant")))
		snprintf(purpose, sizeof(purpose), "%s (restricted)", pur);
	else
		snprintf(purpose, sizeof(purpose), "%s", pur ? pur : "-");
	json_array_foreach(src, i, v)
	{
		const char *s = json_string_value(v);
		int n;

		if (!s)
			continue;
		n = snprintf(allowed + o, sizeof(allowed) - o, "%s%s", o ? ", " : "", s);
		if (n < 0 || (size_t)n >= sizeof(allowed) - o) {
			snprintf(allowed + sizeof(allowed) - 5, 5, "...");
			break;
		}
		o += (size_t)n;
	}
	cells[0] = cli_output_str(p, "service_name");
	cells[1] = cli_output_str(p, "port_name");
	cells[2] = cli_output_int_text(p, "host_port", host, sizeof(host));
	cells[3] = cli_output_int_text(p, "container_port", cont, sizeof(cont));
	cells[4] = cli_output_str(p, "bind_address");
	cells[5] = cli_output_str(p, "protocol");
	cells[6] = purpose;
	/* A token-protected port says where its service listens; the backend, whom it serves. */
	cells[7] = json_is_true(json_object_get(p, "require_token")) ? "required" : "no";
	if (cells[7][0] == 'r' && cli_output_int(p, "backend_port", &backend)) {
		snprintf(token, sizeof(token), "required, backend %" JSON_INTEGER_FORMAT, backend);
		cells[7] = token;
	} else if (cli_output_int(p, "backend_of", &front)) {
		snprintf(token, sizeof(token), "backend of %" JSON_INTEGER_FORMAT, front);
		cells[7] = token;
	}
	cells[8] = allowed[0] ? allowed : "any";
	cells[9] = cli_output_str(p, "description");
	if (!cells[9])
		cells[9] = "";
	cli_table_row(t, cells);
}

static int cli_output_port_table(FILE *out, const json_t *ports)
{
	struct cli_table t;
	size_t i;
	const json_t *p;
	int ret;

	if (!json_is_array(ports))
		return -EBADMSG;
	cli_table_init(&t, cli_port_head, CLI_PORT_COLS, CLI_PORT_RIGHT);
	json_array_foreach(ports, i, p) cli_output_port_row(&t, p);
	ret = cli_table_print(out, &t);
	cli_table_free(&t);
	return ret;
}

/* Prints before, daemon text s (cleaned of control characters, NULL as "-"), then after. */
static int cli_output_text(FILE *out, const char *before, const char *s, const char *after)
{
	char *c = cli_table_clean(s ? s : "-", false);

	if (!c)
		return -ENOMEM;
	fputs(before, out);
	fputs(c, out);
	fputs(after, out);
	free(c);
	return 0;
}

/* "127.0.0.1:8080/tcp" or "[::1]:8080/tcp" for a port object. */
static void cli_output_endpoint(const json_t *p, char *buf, size_t n)
{
	const char *bind = cli_output_str(p, "bind_address");
	const char *proto = cli_output_str(p, "protocol");
	json_int_t port = 0;

	cli_output_int(p, "host_port", &port);
	if (!bind)
		bind = "?";
	snprintf(buf, n,
		 strchr(bind, ':') ? "[%s]:%" JSON_INTEGER_FORMAT "/%s"
				   : "%s:%" JSON_INTEGER_FORMAT "/%s",
		 bind, port, proto ? proto : "?");
}

static int cli_output_create(FILE *out, const struct cli_cmd *cmd, const json_t *doc)
{
	const char *token = cli_output_str(doc, "owner_token");
	const char *name = cli_output_str(doc, "service_name");
	const char *cgroup = cli_output_str(doc, "cgroup");
	int ret;

	if (!token)
		return -EBADMSG;
	ret = cli_output_text(out, "Created service ", name ? name : cmd->name, ".\n");
	if (ret < 0)
		return ret;
	if (cgroup && *cgroup) {
		ret = cli_output_text(out, "Its ports can be bound only from cgroup ", cgroup,
				      " (portgate exec runs a command there).\n");
		if (ret < 0)
			return ret;
	}
	/* The one place an owner token is printed: the daemon hands it out only here. */
	ret = cli_output_text(out, "Owner token: ", token, "\n");
	if (ret < 0)
		return ret;
	fputs("This owner token is shown once and cannot be recovered: store it now.\n"
	      "Changes to the service need it (OWNER_TOKEN argument, --owner-token or "
	      "PORTGATE_OWNER_TOKEN).\n",
	      out);
	return 0;
}

static int cli_output_delete(FILE *out, const struct cli_cmd *cmd, const json_t *doc)
{
	const json_t *rel = json_object_get(doc, "released");
	size_t n = json_array_size(rel);
	int ret;

	if (!json_is_array(rel))
		return -EBADMSG;
	ret = cli_output_text(out, "Deleted service ", cmd->name, "");
	if (ret < 0)
		return ret;
	if (n == 0) {
		fputs("; it held no ports.\n", out);
		return 0;
	}
	fprintf(out, "; released %zu port%s:\n", n, n == 1 ? "" : "s");
	return cli_output_port_table(out, rel);
}

static int cli_output_list(FILE *out, const json_t *doc)
{
	static const char *const head[] = { "SERVICE", "PORTS", "CREATED", "DESCRIPTION" };
	const json_t *svcs = json_object_get(doc, "services");
	struct cli_table t;
	const json_t *s;
	size_t i;
	int ret;

	if (!json_is_array(svcs))
		return -EBADMSG;
	if (json_array_size(svcs) == 0) {
		fputs("No services.\n", out);
		return 0;
	}
	cli_table_init(&t, head, 4, 1u << 1);
	json_array_foreach(svcs, i, s)
	{
		char count[24], created[40];
		const char *cells[4] = {
			cli_output_str(s, "service_name"),
			cli_output_int_text(s, "port_count", count, sizeof(count)),
			cli_output_time(s, "created_at", created, sizeof(created)),
			cli_output_str(s, "description"),
		};

		if (!cells[3])
			cells[3] = "";
		cli_table_row(&t, cells);
	}
	ret = cli_table_print(out, &t);
	cli_table_free(&t);
	return ret;
}

static int cli_output_port_add(FILE *out, const json_t *doc)
{
	const char *token = cli_output_str(doc, "source_token");
	char ep[128], line[512];
	json_int_t backend;
	json_t *one;
	int ret;

	if (!json_is_object(doc))
		return -EBADMSG;
	cli_output_endpoint(doc, ep, sizeof(ep));
	snprintf(line, sizeof(line), "Added port %s to %s: %s.",
		 cli_output_str(doc, "port_name") ?: "?",
		 cli_output_str(doc, "service_name") ?: "?", ep);
	ret = cli_output_text(out, "", line, "\n");
	if (ret < 0)
		return ret;
	one = json_pack("[O]", doc);
	if (!one)
		return -ENOMEM;
	ret = cli_output_port_table(out, one);
	json_decref(one);
	if (ret == 0 && cli_output_int(doc, "backend_port", &backend)) {
		snprintf(line, sizeof(line),
			 "portgate-proxy serves %s and checks the token; the service listens on "
			 "127.0.0.1:%" JSON_INTEGER_FORMAT " (reachable only through the proxy).",
			 ep, backend);
		ret = cli_output_text(out, "", line, "\n");
	}
	if (ret < 0 || !token)
		return ret;
	/* Printed only when the daemon generated it (it is never shown again). */
	ret = cli_output_text(out, "Source token: ", token, "\n");
	if (ret < 0)
		return ret;
	fputs("This source token is shown once and cannot be recovered: store it now.\n"
	      "Clients send it as the X-Source-Token header.\n",
	      out);
	return 0;
}

static int cli_output_port_remove(FILE *out, const json_t *doc)
{
	char ep[128], line[512];

	if (!json_is_object(doc))
		return -EBADMSG;
	cli_output_endpoint(doc, ep, sizeof(ep));
	snprintf(line, sizeof(line), "Removed port %s from %s; released %s.",
		 cli_output_str(doc, "port_name") ?: "?",
		 cli_output_str(doc, "service_name") ?: "?", ep);
	return cli_output_text(out, "", line, "\n");
}

static int cli_output_port_list(FILE *out, const struct cli_cmd *cmd, const json_t *doc)
{
	const json_t *ports = json_object_get(doc, "ports");

	if (!json_is_array(ports))
		return -EBADMSG;
	if (json_array_size(ports) == 0)
		return cli_output_text(out, "Service ", cmd->name, " has no ports.\n");
	return cli_output_port_table(out, ports);
}

/* "8080/tcp is taken: allocated to my-app/web (127.0.0.1)" or "... is free (purpose: x)". */
static int cli_output_port_check(FILE *out, const struct cli_cmd *cmd, const json_t *doc)
{
	const json_t *free_j = json_object_get(doc, "free");
	const json_t *alloc = json_object_get(doc, "allocation");
	const json_t *lst = json_object_get(doc, "listener");
	const char *proto = cli_output_str(doc, "protocol") ?: cmd->protocol;
	const char *reason = cli_output_str(doc, "reason");
	const char *addr = NULL, *listener = NULL;
	json_int_t port = cmd->port;
	char line[512];
	int ret;

	if (!json_is_boolean(free_j))
		return -EBADMSG;
	cli_output_int(doc, "host_port", &port);
	if (json_is_true(free_j)) {
		snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT "/%s is free (purpose: %s)",
			 port, proto, cli_output_str(doc, "purpose") ?: "-");
		ret = cli_output_text(out, "", line, "\n");
		return ret < 0 ? ret : CLI_EXIT_OK;
	}
	if (json_is_object(alloc))
		addr = cli_output_str(alloc, "bind_address");
	else if (json_is_object(lst))
		listener = cli_output_str(lst, "address");
	/* Name the address holding the port unless the daemon's reason already does. */
	if (addr && (!reason || !strstr(reason, addr)))
		snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT "/%s is taken: %s (%s)", port,
			 proto, reason ?: "allocated", addr);
	else if (listener && (!reason || !strstr(reason, listener)))
		snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT "/%s is taken: %s on %s", port,
			 proto, reason ?: "in use", listener);
	else
		snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT "/%s is taken: %s", port,
			 proto, reason ?: "not free");
	ret = cli_output_text(out, "", line, "\n");
	return ret < 0 ? ret : CLI_EXIT_CONFLICT;
}

/* Label of a range: its purpose, plus "/udp" when ranges of both protocols are listed. */
static void cli_output_range_label(const json_t *r, bool mixed, char *buf, size_t n)
{
	const char *purpose = cli_output_str(r, "purpose") ?: "-";

	if (mixed)
		snprintf(buf, n, "%s/%s", purpose, cli_output_str(r, "protocol") ?: "?");
	else
		snprintf(buf, n, "%s", purpose);
}

static bool cli_output_ranges_mixed(const json_t *ranges)
{
	const char *first = NULL;
	const json_t *r;
	size_t i;

	json_array_foreach(ranges, i, r)
	{
		const char *p = cli_output_str(r, "protocol");

		if (!p)
			continue;
		if (first && strcmp(first, p))
			return true;
		first = p;
	}
	return false;
}

static int cli_output_usage_table(FILE *out, const json_t *ranges, bool mixed)
{
	static const char *const head[] = { "PURPOSE", "RANGE", "USED", "FREE", "PERCENT" };
	struct cli_table t;
	const json_t *r;
	size_t i;
	int ret;

	cli_table_init(&t, head, 5, (1u << 2) | (1u << 3) | (1u << 4));
	json_array_foreach(ranges, i, r)
	{
		char label[128], range[48], used[24], nfree[24], pct[32];
		json_int_t first, last;
		const json_t *pj = json_object_get(r, "percent");
		const char *cells[5];

		cli_output_range_label(r, mixed, label, sizeof(label));
		if (cli_output_int(r, "first", &first) && cli_output_int(r, "last", &last))
			snprintf(range, sizeof(range),
				 "%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT, first, last);
		else
			snprintf(range, sizeof(range), "-");
		if (json_is_number(pj))
			snprintf(pct, sizeof(pct), "%.1f%%", json_number_value(pj));
		else
			snprintf(pct, sizeof(pct), "-");
		cells[0] = label;
		cells[1] = range;
		cells[2] = cli_output_int_text(r, "used", used, sizeof(used));
		cells[3] = cli_output_int_text(r, "free", nfree, sizeof(nfree));
		cells[4] = pct;
		cli_table_row(&t, cells);
	}
	ret = cli_table_print(out, &t);
	cli_table_free(&t);
	return ret;
}

/* "internal_http  9003-9999 (997 free)", purposes aligned, long lists cut short. */
static int cli_output_available(FILE *out, const json_t *ranges, bool mixed)
{
	size_t width = 0, i;
	const json_t *r;
	int ret;

	json_array_foreach(ranges, i, r)
	{
		char label[128];

		cli_output_range_label(r, mixed, label, sizeof(label));
		if (cli_table_width(label) > width)
			width = cli_table_width(label);
	}
	json_array_foreach(ranges, i, r)
	{
		const json_t *fr = json_object_get(r, "free_ranges");
		char label[128], line[1024];
		size_t o, j, n = json_array_size(fr);
		const json_t *pair;
		json_int_t nfree;

		cli_output_range_label(r, mixed, label, sizeof(label));
		o = (size_t)snprintf(line, sizeof(line), "%-*s  ", (int)width, label);
		if (n == 0)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "none");
		json_array_foreach(fr, j, pair)
		{
			json_int_t a, b;

			if (j == CLI_OUTPUT_MAX_RANGES) {
				o += (size_t)snprintf(line + o, sizeof(line) - o,
						      ", ... (+%zu more ranges)", n - j);
				break;
			}
			if (json_array_size(pair) != 2 ||
			    !json_is_integer(json_array_get(pair, 0)) ||
			    !json_is_integer(json_array_get(pair, 1)))
				return -EBADMSG;
			a = json_integer_value(json_array_get(pair, 0));
			b = json_integer_value(json_array_get(pair, 1));
			if (a == b)
				o += (size_t)snprintf(line + o, sizeof(line) - o,
						      "%s%" JSON_INTEGER_FORMAT, j ? ", " : "", a);
			else
				o += (size_t)snprintf(line + o, sizeof(line) - o,
						      "%s%" JSON_INTEGER_FORMAT
						      "-%" JSON_INTEGER_FORMAT,
						      j ? ", " : "", a, b);
			if (o >= sizeof(line))
				return -EBADMSG;
		}
		if (cli_output_int(r, "free", &nfree))
			snprintf(line + o, sizeof(line) - o, " (%" JSON_INTEGER_FORMAT " free)",
				 nfree);
		ret = cli_output_text(out, "", line, "\n");
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int cli_output_ports_global(FILE *out, const struct cli_cmd *cmd, const json_t *doc)
{
	const json_t *allocs = json_object_get(doc, "allocations");
	const json_t *ranges = json_object_get(doc, "ranges");
	const json_t *restricted = json_object_get(doc, "restricted");
	bool mixed;
	int ret;

	if (!json_is_array(ranges) || (!cmd->available_only && !json_is_array(allocs)))
		return -EBADMSG;
	mixed = cli_output_ranges_mixed(ranges);
	if (cmd->available_only)
		return cli_output_available(out, ranges, mixed);
	if (json_array_size(allocs) == 0)
		fputs("No ports allocated.\n", out);
	else if ((ret = cli_output_port_table(out, allocs)) < 0)
		return ret;
	fputs("\n", out);
	ret = cli_output_usage_table(out, ranges, mixed);
	if (ret < 0)
		return ret;
	if (json_array_size(restricted) > 0) {
		const json_t *v;
		size_t i;

		fputs("\nRestricted (root grants only):", out);
		json_array_foreach(restricted, i, v) if (json_is_integer(v))
		    fprintf(out, "%s %" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(v));
		fputs("\n", out);
	}
	return 0;
}

static int cli_output_cleanup(FILE *out, const json_t *doc)
{
	static const char *const head[] = { "PORT", "PROTO", "WHY" };
	const json_t *rel = json_object_get(doc, "released");
	struct cli_table t;
	const json_t *r;
	size_t i, n = json_array_size(rel);
	int ret;

	if (!json_is_array(rel))
		return -EBADMSG;
	if (n == 0) {
		fputs("Nothing to clean up: every port record has its service.\n", out);
		return 0;
	}
	fprintf(out, "Released %zu item%s that no service owned:\n", n, n == 1 ? "" : "s");
	cli_table_init(&t, head, 3, 1u << 0);
	json_array_foreach(rel, i, r)
	{
		char port[24];
		const char *cells[3] = {
			cli_output_int_text(r, "host_port", port, sizeof(port)),
			cli_output_str(r, "protocol"),
			cli_output_str(r, "why"),
		};

		cli_table_row(&t, cells);
	}
	ret = cli_table_print(out, &t);
	cli_table_free(&t);
	return ret;
}

/* Uninstall: what the daemon took out of the kernel, one object a line. */
static int cli_output_uninstall(FILE *out, const json_t *doc)
{
	const json_t *removed = json_object_get(doc, "removed");
	const json_t *v;
	size_t i, n = json_array_size(removed);
	int ret;

	if (!json_is_array(removed))
		return -EBADMSG;
	if (n == 0) {
		fputs("No kernel objects to remove; portgated carries on without kernel "
		      "enforcement.\n",
		      out);
		return 0;
	}
	fprintf(out,
		"Removed %zu kernel object%s; portgated carries on without kernel enforcement:\n",
		n, n == 1 ? "" : "s");
	json_array_foreach(removed, i, v)
	{
		ret = cli_output_text(out, "  ", json_string_value(v), "\n");
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A registry count paired with the nft sets that hold the kernel's side of it. */
static const struct cli_status_pair {
	const char *what;   /* the registry's side */
	const char *key;    /* its count in "registry" */
	const char *kernel; /* the kernel's side, named before the sets */
	const char *sets[2];
	bool same_unit; /* one set element per port: the counts must be equal */
} cli_status_pairs[] = {
	{ "localhost-only ports", "localhost_only", "nft set", { "localonly" }, true },
	{ "public ports", "public", "nft set", { "open" }, true },
	{ "allowlisted ports", "with_allowlist", "nft set", { "restricted_src" }, true },
	/*
	 * Allowed sources against (source . port) elements: overlapping sources of a port are
	 * merged in the kernel and timed grants expire there, so the counts may differ.
	 */
	{ "allowed sources", "allowed_sources", "nft set", { "allowed4", "allowed6" }, false },
};
#define CLI_STATUS_PAIRS (sizeof(cli_status_pairs) / sizeof(cli_status_pairs[0]))

static bool cli_output_status_paired(const char *set)
{
	for (size_t i = 0; i < CLI_STATUS_PAIRS; i++)
		for (size_t j = 0; j < 2; j++)
			if (cli_status_pairs[i].sets[j] &&
			    !strcmp(cli_status_pairs[i].sets[j], set))
				return true;
	return false;
}

/* "yes" when both counts are known and equal, "NO" when they differ, "-" when unknown. */
static const char *cli_output_status_ok(bool have_a, json_int_t a, bool have_b, json_int_t b)
{
	if (!have_a || !have_b)
		return "-";
	return a == b ? "yes" : "NO";
}

/*
 * The side-by-side rows: each registry count against the nft sets or BPF state that
 * enforce it. A set the daemon does not report is skipped; sets it reports that pair with
 * nothing are listed on their own.
 */
static void cli_output_status_rows(struct cli_table *t, const json_t *reg, const json_t *kern)
{
	const json_t *bpf = json_object_get(kern, "bpf");
	const json_t *sets = json_object_get(json_object_get(kern, "nftables"), "sets");
	const char *key;
	const json_t *v;
	json_int_t r = 0, k = 0, k2 = 0;

	for (size_t i = 0; i < CLI_STATUS_PAIRS; i++) {
		const struct cli_status_pair *p = &cli_status_pairs[i];
		char what[128], rtext[24], ktext[24];
		const char *cells[4], *found[2];
		bool have_r = cli_output_int(reg, p->key, &r);
		size_t nfound = 0;

		k = 0;
		for (size_t j = 0; j < 2 && p->sets[j]; j++) {
			if (!cli_output_int(sets, p->sets[j], &k2))
				continue;
			found[nfound++] = p->sets[j];
			k += k2;
		}
		if (nfound == 0)
			continue;
		if (nfound == 1)
			snprintf(what, sizeof(what), "%s / %s %s", p->what, p->kernel, found[0]);
		else
			snprintf(what, sizeof(what), "%s / %ss %s + %s", p->what, p->kernel,
				 found[0], found[1]);
		cells[0] = what;
		cells[1] = have_r ? cli_output_int_text(reg, p->key, rtext, sizeof(rtext)) : NULL;
		snprintf(ktext, sizeof(ktext), "%" JSON_INTEGER_FORMAT, k);
		cells[2] = ktext;
		cells[3] = p->same_unit ? cli_output_status_ok(have_r, r, true, k) : "-";
		cli_table_row(t, cells);
	}
	if (json_is_object(bpf)) {
		char rtext[24], ktext[24], att[48];
		json_int_t n, want;
		bool have_n = cli_output_int(bpf, "programs_attached", &n);
		bool have_want = cli_output_int(bpf, "programs_expected", &want);
		bool have_r = cli_output_int(reg, "allocations", &r);
		bool have_k = cli_output_int(bpf, "port_entries", &k);
		const char *cells[4];

		if (have_k || have_r) {
			cells[0] = "allocations / BPF port entries";
			cells[1] = cli_output_int_text(reg, "allocations", rtext, sizeof(rtext));
			cells[2] = cli_output_int_text(bpf, "port_entries", ktext, sizeof(ktext));
			cells[3] = cli_output_status_ok(have_r, r, have_k, k);
			cli_table_row(t, cells);
		}
		if (have_n || json_is_boolean(json_object_get(bpf, "attached"))) {
			if (have_n && have_want)
				snprintf(att, sizeof(att),
					 "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, n, want);
			else if (have_n)
				snprintf(att, sizeof(att), "%" JSON_INTEGER_FORMAT, n);
			else
				snprintf(att, sizeof(att), "%s",
					 json_is_true(json_object_get(bpf, "attached")) ? "yes"
											: "no");
			cells[0] = "BPF programs attached";
			cells[1] = NULL;
			cells[2] = att;
			if (json_is_false(json_object_get(bpf, "attached")))
				cells[3] = "NO";
			else
				cells[3] = cli_output_status_ok(have_n, n, have_want, want);
			cli_table_row(t, cells);
		}
	}
	json_object_foreach((json_t *)sets, key, v)
	{
		char what[96], ktext[24];
		const char *cells[4] = { what, NULL, ktext, "-" };

		if (cli_output_status_paired(key) || !cli_output_int(sets, key, &k))
			continue;
		snprintf(what, sizeof(what), "nft set %.64s", key);
		snprintf(ktext, sizeof(ktext), "%" JSON_INTEGER_FORMAT, k);
		cli_table_row(t, cells);
	}
}

/* With enforcement off there is no kernel side: the registry's counts alone. */
static int cli_output_status_registry(FILE *out, const json_t *reg)
{
	static const char *const head[] = { "WHAT", "REGISTRY" };
	static const char *const rows[][2] = {
		{ "allocations", "allocations" },
		{ "localhost-only ports", "localhost_only" },
		{ "public ports", "public" },
		{ "allowlisted ports", "with_allowlist" },
		{ "allowed sources", "allowed_sources" },
	};
	struct cli_table t;
	int ret = 0;

	cli_table_init(&t, head, 2, 1u << 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char n[24];
		const char *cells[2] = { rows[i][0], cli_output_int_text(reg, rows[i][1], n, 24) };

		if (cells[1])
			cli_table_row(&t, cells);
	}
	if (t.nrows) {
		fputs("\n", out);
		ret = cli_table_print(out, &t);
	}
	cli_table_free(&t);
	return ret;
}

/*
 * "Label:         value" with daemon text cleaned; nothing when value is NULL. When *gap is
 * set, a blank line goes first (once): the lines under the table are set apart only if any.
 */
static int cli_output_status_line(FILE *out, bool *gap, const char *label, const char *value)
{
	char head[32];

	if (!value)
		return 0;
	if (gap && *gap) {
		fputs("\n", out);
		*gap = false;
	}
	snprintf(head, sizeof(head), "%-15s", label);
	return cli_output_text(out, head, value, "\n");
}

/* "2026-11-23 12:13:14 UTC (12 s ago)", "never" for 0; NULL when absent. */
static const char *cli_output_status_when(const json_t *o, const char *key, char *buf, size_t n)
{
	json_int_t v;
	time_t t, now = time(NULL);
	struct tm tm;
	size_t o_len;

	if (!cli_output_int(o, key, &v))
		return NULL;
	if (v <= 0)
		return "never";
	t = (time_t)v;
	if (!gmtime_r(&t, &tm) || !(o_len = strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm)))
		return NULL;
	if (now >= t)
		snprintf(buf + o_len, n - o_len, " (%lld s ago)", (long long)(now - t));
	else
		snprintf(buf + o_len, n - o_len, " (%lld s from now: clocks differ)",
			 (long long)(t - now));
	return buf;
}

/* The lines under the table: mode, where things are, the reconciler's record. */
static int cli_output_status_lines(FILE *out, const json_t *reg, const json_t *kern)
{
	bool gap = true;
	const json_t *bpf = json_object_get(kern, "bpf");
	const json_t *nft = json_object_get(kern, "nftables");
	const json_t *table = json_object_get(nft, "table");
	const char *netns = cli_output_str(nft, "netns");
	const char *lerr = cli_output_str(kern, "last_error");
	const char *problem = cli_output_str(nft, "problem");
	char when[96], resyncs[24], repairs[24];
	int ret = 0;

	ret |= cli_output_status_line(out, &gap, "Mode:", cli_output_str(kern, "mode"));
	if (json_is_boolean(table))
		ret |= cli_output_status_line(out, &gap, "nft table:",
					      json_is_true(table) ? "inet portgate present"
								  : "inet portgate MISSING");
	if (problem && *problem)
		ret |= cli_output_status_line(out, &gap, "nft problem:", problem);
	if (netns)
		ret |=
		    cli_output_status_line(out, &gap, "Netns:", *netns ? netns : "portgated's own");
	ret |= cli_output_status_line(out, &gap, "BPF pin dir:", cli_output_str(bpf, "pin_dir"));
	ret |= cli_output_status_line(out, &gap, "Cgroup:", cli_output_str(bpf, "cgroup"));
	ret |= cli_output_status_line(
	    out, &gap,
	    "Last resync:", cli_output_status_when(kern, "last_resync", when, sizeof(when)));
	ret |= cli_output_status_line(
	    out, &gap, "Resyncs:", cli_output_int_text(kern, "resyncs", resyncs, sizeof(resyncs)));
	ret |= cli_output_status_line(
	    out, &gap,
	    "Drift repairs:", cli_output_int_text(kern, "drift_repairs", repairs, sizeof(repairs)));
	if (lerr)
		ret |= cli_output_status_line(out, &gap, "Last error:", *lerr ? lerr : "none");
	return ret ? -ENOMEM : 0;
}

/* "Proxy: pid 812, 2 listeners, 0 restarts" (when the daemon says anything about it). */
static int cli_output_status_proxy(FILE *out, const json_t *doc)
{
	const json_t *p = json_object_get(doc, "proxy");
	const char *lerr = cli_output_str(p, "last_error");
	json_int_t pid = 0, listeners = 0, restarts = 0;
	char line[512];

	if (!json_is_object(p))
		return 0;
	cli_output_int(p, "pid", &pid);
	cli_output_int(p, "listeners", &listeners);
	cli_output_int(p, "restarts", &restarts);
	if (!json_is_true(json_object_get(p, "enabled")))
		snprintf(line, sizeof(line), "off (token-protected ports are not served)");
	else if (pid > 0)
		snprintf(line, sizeof(line),
			 "pid %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
			 " listeners, %" JSON_INTEGER_FORMAT " restarts",
			 pid, listeners, restarts);
	else
		snprintf(line, sizeof(line), "NOT running (%s)", lerr && *lerr ? lerr : "starting");
	return cli_output_status_line(out, NULL, "Proxy:", line);
}

/*
 * status: a verdict line, the registry's counts beside the kernel's, then the kernel's
 * settings and the reconciler's record. The verdict is the daemon's "in_sync": the rows
 * only help find where they differ.
 */
static int cli_output_status(FILE *out, const json_t *doc)
{
	static const char *const head[] = { "WHAT", "REGISTRY", "KERNEL", "OK" };
	const json_t *reg = json_object_get(doc, "registry");
	const json_t *kern = json_object_get(doc, "kernel");
	bool in_sync = json_is_true(json_object_get(doc, "in_sync"));
	bool enforce = json_is_true(json_object_get(kern, "enforce"));
	char rev[24], line[512];
	struct cli_table t;
	int ret;

	if (!json_is_object(reg) || !json_is_object(kern))
		return -EBADMSG;
	if (!in_sync)
		fputs("NOT in sync: the registry and the kernel differ.\n", out);
	else if (enforce)
		fputs("In sync: the kernel enforces what the registry holds.\n", out);
	else
		fputs("Kernel enforcement is off (portgated --enforce off): the registry is kept, "
		      "the kernel enforces nothing.\n",
		      out);
	snprintf(line, sizeof(line), "host %s, rev %s, %s", cli_output_str(reg, "host") ?: "-",
		 cli_output_int_text(reg, "rev", rev, sizeof(rev)) ?: "-",
		 json_is_false(json_object_get(reg, "ready")) ? "NOT ready" : "ready");
	ret = cli_output_status_line(out, NULL, "Registry:", line);
	if (ret < 0)
		return ret;
	ret = cli_output_status_proxy(out, doc);
	if (ret < 0)
		return ret;
	if (!enforce)
		return cli_output_status_registry(out, reg);
	cli_table_init(&t, head, 4, (1u << 1) | (1u << 2));
	cli_output_status_rows(&t, reg, kern);
	if (t.nrows) {
		fputs("\n", out);
		ret = cli_table_print(out, &t);
	}
	cli_table_free(&t);
	if (ret < 0)
		return ret;
	return cli_output_status_lines(out, reg, kern);
}

/* The exit code a status answer stands for: 0 in sync, 7 not, -EBADMSG when it does not say. */
static int cli_output_status_code(const json_t *doc)
{
	const json_t *s = json_object_get(doc, "in_sync");

	if (!json_is_boolean(s))
		return -EBADMSG;
	return json_is_true(s) ? CLI_EXIT_OK : CLI_EXIT_DIFFERS;
}

int cli_output_render(FILE *out, const struct cli_cmd *cmd, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *doc;
	int ret;

	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return -EBADMSG;
	if (cmd->json) {
		/* The daemon's document as it sent it, with the same field names. */
		fwrite(body, 1, len, out);
		if (len == 0 || body[len - 1] != '\n')
			fputc('\n', out);
		ret = CLI_EXIT_OK;
		if (cmd->command == CLI_CMD_PORT_CHECK) {
			const json_t *f = json_object_get(doc, "free");

			ret = !json_is_boolean(f) ? -EBADMSG
			      : json_is_true(f)	  ? CLI_EXIT_OK
						  : CLI_EXIT_CONFLICT;
		} else if (cmd->command == CLI_CMD_STATUS) {
			ret = cli_output_status_code(doc);
		}
		json_decref(doc);
		return ret;
	}
	switch (cmd->command) {
	case CLI_CMD_SERVICE_CREATE:
		ret = cli_output_create(out, cmd, doc);
		break;
	case CLI_CMD_SERVICE_DELETE:
		ret = cli_output_delete(out, cmd, doc);
		break;
	case CLI_CMD_SERVICE_LIST:
		ret = cli_output_list(out, doc);
		break;
	case CLI_CMD_PORT_ADD:
		ret = cli_output_port_add(out, doc);
		break;
	case CLI_CMD_PORT_REMOVE:
		ret = cli_output_port_remove(out, doc);
		break;
	case CLI_CMD_PORT_LIST:
		ret = cli_output_port_list(out, cmd, doc);
		break;
	case CLI_CMD_PORT_CHECK:
		ret = cli_output_port_check(out, cmd, doc);
		break;
	case CLI_CMD_PORTS_GLOBAL:
		ret = cli_output_ports_global(out, cmd, doc);
		break;
	case CLI_CMD_CLEANUP:
		ret = cli_output_cleanup(out, doc);
		break;
	case CLI_CMD_STATUS:
		ret = cli_output_status_code(doc);
		if (ret >= 0) {
			int r = cli_output_status(out, doc);

			ret = r < 0 ? r : ret;
		}
		break;
	case CLI_CMD_UNINSTALL:
		ret = cli_output_uninstall(out, doc);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	json_decref(doc);
	return ret;
}

int cli_output_service_cgroup(const char *body, size_t len, char *buf, size_t n)
{
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *cg = json_object_get(doc, "cgroup");
	const char *path = json_string_value(cg);
	size_t plen;
	int ret;

	if (!json_is_object(doc) || (cg && !path) || (path && *path && *path != '/')) {
		ret = -EBADMSG;
		goto out;
	}
	plen = path ? strlen(path) : 0;
	if (plen >= n) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	memcpy(buf, path ? path : "", plen + 1);
	ret = (int)plen;
out:
	json_decref(doc);
	return ret;
}

void cli_output_error(FILE *err, int status, const char *body, size_t len)
{
	json_t *doc = json_loadb(body ? body : "", len, 0, NULL);
	const char *msg = cli_output_str(doc, "error");
	const char *field = cli_output_str(doc, "field");
	char *m = msg ? cli_table_clean(msg, false) : NULL;
	char *f = field ? cli_table_clean(field, false) : NULL;

	if (m && (!field || f))
		fprintf(err, "portgate: error: %s%s%s\n", f ? f : "", f ? ": " : "", m);
	else
		fprintf(err, "portgate: error: portgated answered %d %s\n", status,
			http_status_reason(status));
	if (status == 401)
		fputs("portgate: hint: give the service's owner token as OWNER_TOKEN, with "
		      "--owner-token or in PORTGATE_OWNER_TOKEN\n",
		      err);
	free(m);
	free(f);
	json_decref(doc);
}
