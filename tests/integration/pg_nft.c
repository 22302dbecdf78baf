// SPDX-License-Identifier: MIT
/* pg_nft: the nft library on the command line, for tests and inspection (see usage()). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <libmnl/libmnl.h>
#include "nflog_msg.h"
#include "nft.h"

static const char usage_text[] =
    "usage: pg_nft [--netns NS] [--group N] [--closed] COMMAND ...\n"
    "  resync [STATE]          replace the table with STATE, one batch\n"
    "  check [STATE]           1 line per fact; exit 0 healthy, 1 damaged, 2 error\n"
    "                          (with STATE: also compare set contents with it)\n"
    "  build [STATE]           build the resync batch without a kernel, print its size\n"
    "  port localonly|open|restrict add|del PROTO/PORT\n"
    "  allow add|del PROTO/PORT=ADDR[/PREFIX][@MS]\n"
    "  block ADDR [MS]\n"
    "  batch CHANGE...         one batch: +|-localonly:P +|-open:P +|-restrict:P\n"
    "                          +|-allow:P=ADDR[/PREFIX][@MS] +|-block:ADDR[@MS]\n"
    "  uninstall\n"
    "  monitor [--count N] [--seconds S] [--own-resync]\n"
    "                          a line per event touching the table\n"
    "  nflog GROUP [--seconds S]  a line per NFLOG message (in the current netns:\n"
    "                          run it under ip netns exec)\n"
    "STATE: --localonly P --open P --restrict P --allow P=ADDR[/PREFIX][@MS]\n"
    "       --managed PROTO/FIRST-LAST (each repeatable; --allow implies --restrict)\n";

static void usage(void)
{
	fputs(usage_text, stderr);
}

static int parse_proto(const char *s, size_t len, uint8_t *proto)
{
	if (len == 3 && !strncmp(s, "tcp", 3))
		*proto = IPPROTO_TCP;
	else if (len == 3 && !strncmp(s, "udp", 3))
		*proto = IPPROTO_UDP;
	else
		return -1;
	return 0;
}

static int parse_u32(const char *s, char **end, unsigned long max, unsigned long *v)
{
	errno = 0;
	*v = strtoul(s, end, 10);
	return errno || *end == s || *v > max ? -1 : 0;
}

/* "tcp/8080" (end may be NULL: then nothing may follow). */
static int parse_port(const char *s, struct nft_port *p, const char **rest)
{
	const char *slash = strchr(s, '/');
	unsigned long v;
	char *end;

	if (!slash || parse_proto(s, (size_t)(slash - s), &p->proto) ||
	    parse_u32(slash + 1, &end, 65535, &v) || !v)
		return -1;
	p->port = (uint16_t)v;
	if (rest)
		*rest = end;
	else if (*end)
		return -1;
	return 0;
}

/* "10.9.0.0/24", "fd09::2", with "@MS" allowed when timeout is not NULL. */
static int parse_addr(const char *s, int *family, uint8_t *addr, uint8_t *prefix, uint32_t *timeout)
{
	char buf[INET6_ADDRSTRLEN + 16], *at, *slash, *end;
	unsigned long v;

	snprintf(buf, sizeof(buf), "%s", s);
	at = strchr(buf, '@');
	if (at) {
		if (!timeout || parse_u32(at + 1, &end, UINT32_MAX, &v) || *end)
			return -1;
		*timeout = (uint32_t)v;
		*at = '\0';
	}
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	*family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(*family, buf, addr) != 1)
		return -1;
	v = *family == AF_INET ? 32 : 128;
	if (slash && (parse_u32(slash + 1, &end, v, &v) || *end))
		return -1;
	if (!prefix && v != (*family == AF_INET ? 32u : 128u))
		return -1;
	if (prefix)
		*prefix = (uint8_t)v;
	return 0;
}

/* "tcp/8082=10.9.0.0/24@2000" */
static int parse_source(const char *s, struct nft_source *src)
{
	struct nft_port p;
	const char *rest;

	memset(src, 0, sizeof(*src));
	if (parse_port(s, &p, &rest) || *rest != '=')
		return -1;
	src->proto = p.proto;
	src->port = p.port;
	return parse_addr(rest + 1, &src->family, src->addr, &src->prefix, &src->timeout_ms);
}

/* "tcp/14000-14100" */
static int parse_range(const char *s, struct nft_range *r)
{
	struct nft_port p;
	const char *rest;
	unsigned long v;
	char *end;

	if (parse_port(s, &p, &rest))
		return -1;
	r->proto = p.proto;
	r->first = r->last = p.port;
	if (*rest == '-') {
		if (parse_u32(rest + 1, &end, 65535, &v) || *end || v < p.port)
			return -1;
		r->last = (uint16_t)v;
	} else if (*rest) {
		return -1;
	}
	return 0;
}

struct state {
	struct nft_desired d;
	struct nft_port *lo, *op, *rs;
	struct nft_source *al;
	struct nft_range *mg;
	size_t n_lo, n_op, n_rs, n_al, n_mg;
};

static int state_alloc(struct state *st, int argc)
{
	memset(st, 0, sizeof(*st));
	st->lo = calloc((size_t)argc + 1, sizeof(*st->lo));
	st->op = calloc((size_t)argc + 1, sizeof(*st->op));
	st->rs = calloc((size_t)argc + 1, sizeof(*st->rs));
	st->al = calloc((size_t)argc + 1, sizeof(*st->al));
	st->mg = calloc((size_t)argc + 1, sizeof(*st->mg));
	return st->lo && st->op && st->rs && st->al && st->mg ? 0 : -1;
}

static void state_free(struct state *st)
{
	free(st->lo);
	free(st->op);
	free(st->rs);
	free(st->al);
	free(st->mg);
}

static void state_restrict(struct state *st, const struct nft_port *p)
{
	for (size_t i = 0; i < st->n_rs; i++)
		if (st->rs[i].proto == p->proto && st->rs[i].port == p->port)
			return;
	st->rs[st->n_rs++] = *p;
}

/* Parses STATE options from argv[i..argc); returns 0 or -1 (message printed). */
static int state_parse(struct state *st, int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad;

		if (!v) {
			fprintf(stderr, "pg_nft: %s needs a value\n", o);
			return -1;
		}
		if (!strcmp(o, "--localonly"))
			bad = parse_port(v, &st->lo[st->n_lo++], NULL);
		else if (!strcmp(o, "--open"))
			bad = parse_port(v, &st->op[st->n_op++], NULL);
		else if (!strcmp(o, "--restrict")) {
			struct nft_port p;

			bad = parse_port(v, &p, NULL);
			if (!bad)
				state_restrict(st, &p);
		} else if (!strcmp(o, "--allow")) {
			struct nft_source *s = &st->al[st->n_al++];

			bad = parse_source(v, s);
			if (!bad)
				state_restrict(st, &(struct nft_port){ s->proto, s->port });
		} else if (!strcmp(o, "--managed"))
			bad = parse_range(v, &st->mg[st->n_mg++]);
		else {
			fprintf(stderr, "pg_nft: unknown option %s\n", o);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "pg_nft: bad value for %s: %s\n", o, v);
			return -1;
		}
		i++;
	}
	st->d = (struct nft_desired){
		.localonly = st->lo,
		.n_localonly = st->n_lo,
		.open = st->op,
		.n_open = st->n_op,
		.restricted_src = st->rs,
		.n_restricted_src = st->n_rs,
		.allowed = st->al,
		.n_allowed = st->n_al,
		.managed = st->mg,
		.n_managed = st->n_mg,
	};
	return 0;
}

static int fail(struct nft_ctx *n, const char *what, int ret)
{
	fprintf(stderr, "pg_nft: %s: %s (%s)\n", what, strerror(-ret), nft_strerror(n));
	return 1;
}

static int cmd_check(struct nft_ctx *n, const struct state *st, bool expect)
{
	struct nft_status s;
	int ret, i;

	if (expect && (ret = nft_expect(n, &st->d)) < 0) {
		fail(n, "expectations", ret);
		return 2;
	}
	ret = nft_check(n, &s);
	if (ret < 0) {
		fail(n, "check", ret);
		return 2;
	}
	printf("table: %s\n", s.table ? "yes" : "no");
	printf("chains: %u/2\n", s.chains);
	printf("rules: %u/%u\n", s.rules, s.rules_want);
	printf("sets: %u/%d\n", s.sets, NFT_NSETS);
	for (i = 0; i < NFT_NSETS; i++) {
		printf("set %s: %ld", nft_set_name((enum nft_setname)i), s.elems[i]);
		if (s.elems_want[i] >= 0)
			printf(" (want %ld)", s.elems_want[i]);
		printf("\n");
	}
	for (i = 0; i < NFT_NDROPS; i++)
		printf("drops %s: %llu packets %llu bytes\n", nft_reason_name((enum nft_reason)i),
		       (unsigned long long)s.drops[i], (unsigned long long)s.drop_bytes[i]);
	if (ret == 1)
		printf("status: healthy\n");
	else
		printf("status: damaged: %s\n", s.problem);
	return ret == 1 ? 0 : 1;
}

static int cmd_build(const struct nft_opts *o, const struct state *st)
{
	size_t len = 64u << 20;
	void *buf = malloc(len);
	long ret;

	if (!buf)
		return 2;
	ret = nft_build_resync(o, &st->d, 1, buf, len);
	free(buf);
	if (ret < 0) {
		fprintf(stderr, "pg_nft: build: %s\n", strerror((int)-ret));
		return 1;
	}
	printf("%ld bytes\n", ret);
	return 0;
}

static int set_of(const char *s, enum nft_setname *set)
{
	if (!strcmp(s, "localonly"))
		*set = NFT_LOCALONLY;
	else if (!strcmp(s, "open"))
		*set = NFT_OPEN;
	else if (!strcmp(s, "restrict"))
		*set = NFT_RESTRICTED_SRC;
	else
		return -1;
	return 0;
}

/* One "+open:tcp/8081"-style change into b. */
static int batch_change(struct nft_batch *b, const char *c)
{
	const char *colon = strchr(c, ':');
	char kind[16];
	bool add = c[0] == '+';
	enum nft_setname set;

	if ((c[0] != '+' && c[0] != '-') || !colon || (size_t)(colon - c) >= sizeof(kind))
		return -EINVAL;
	snprintf(kind, sizeof(kind), "%.*s", (int)(colon - c - 1), c + 1);
	if (!set_of(kind, &set)) {
		struct nft_port p;

		if (parse_port(colon + 1, &p, NULL))
			return -EINVAL;
		return nft_batch_add_port(b, set, &p, add);
	}
	if (!strcmp(kind, "allow")) {
		struct nft_source s;

		if (parse_source(colon + 1, &s))
			return -EINVAL;
		return nft_batch_add_source(b, &s, add);
	}
	if (!strcmp(kind, "block")) {
		uint8_t addr[16];
		uint32_t ms = 0;
		int family;

		if (parse_addr(colon + 1, &family, addr, NULL, &ms))
			return -EINVAL;
		return nft_batch_add_block(b, family, addr, ms, add);
	}
	return -EINVAL;
}

static int cmd_batch(struct nft_ctx *n, int argc, char **argv, int i)
{
	struct nft_batch *b = NULL;
	int ret = nft_batch_begin(n, &b);

	for (; !ret && i < argc; i++) {
		ret = batch_change(b, argv[i]);
		if (ret)
			fprintf(stderr, "pg_nft: bad change %s\n", argv[i]);
	}
	if (!ret) {
		ret = nft_batch_commit(b);
		if (ret)
			fail(n, "batch", ret);
	}
	nft_batch_free(b);
	return ret ? 1 : 0;
}

static void print_event(const struct nft_event *ev, void *data)
{
	long *count = data;

	printf("event %s %s%s%s portid %u\n", ev->what, NFT_TABLE, ev->object[0] ? " " : "",
	       ev->object, ev->portid);
	fflush(stdout);
	(*count)++;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_monitor(struct nft_ctx *n, int argc, char **argv, int i)
{
	long max = -1, count = 0;
	double seconds = -1, t0;
	bool own = false;
	struct pollfd pfd;
	int ret;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			max = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--own-resync"))
			own = true;
		else {
			usage();
			return 2;
		}
	}
	pfd.fd = nft_monitor_open(n);
	if (pfd.fd < 0)
		return fail(n, "monitor", pfd.fd);
	pfd.events = POLLIN;
	if (own) {
		/* Our own changes are not drift: a resync through this context reports nothing. */
		struct nft_desired d = { 0 };

		ret = nft_resync(n, &d);
		if (ret < 0)
			return fail(n, "resync", ret);
		ret = nft_monitor_read(n);
		printf("own resync touched: %d\n", ret);
	}
	printf("monitoring\n");
	fflush(stdout);
	t0 = now_s();
	while (max < 0 || count < max) {
		int wait = 1000;

		if (seconds >= 0) {
			double left = seconds - (now_s() - t0);

			if (left <= 0)
				break;
			wait = (int)(left * 1000) + 1;
		}
		ret = poll(&pfd, 1, wait);
		if (ret < 0 && errno != EINTR)
			return fail(n, "poll", -errno);
		if (ret <= 0)
			continue;
		ret = nft_monitor_read_cb(n, print_event, &count);
		if (ret < 0)
			return fail(n, "monitor read", ret);
	}
	return 0;
}

/* One NFULNL_MSG_CONFIG request for group with one attribute, acknowledged. */
static int nflog_config(struct mnl_socket *nl, uint16_t group, uint16_t attr, const void *data,
			size_t len, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nflog_config_msg(buf, group, attr, data, len, seq);
	ssize_t n;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -errno
											  : 0;
}

static int nflog_print(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFULA_PREFIX &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			printf("nflog prefix=\"%s\"\n", mnl_attr_get_str(a));
	}
	fflush(stdout);
	return MNL_CB_OK;
}

/* Binds NFLOG group (metadata only) and prints the prefix of each message for seconds. */
static int cmd_nflog(int argc, char **argv, int i)
{
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = htonl(0),
					       .copy_mode = NFULNL_COPY_META };
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	double seconds = 10, t0;
	struct mnl_socket *nl;
	uint16_t group;
	int ret;

	if (i >= argc) {
		usage();
		return 2;
	}
	group = (uint16_t)atoi(argv[i++]);
	if (i + 1 < argc && !strcmp(argv[i], "--seconds"))
		seconds = atof(argv[i + 1]);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("pg_nft: nflog socket");
		return 1;
	}
	ret = nflog_config(nl, group, NFULA_CFG_CMD, &cmd, sizeof(cmd), 1);
	if (!ret)
		ret = nflog_config(nl, group, NFULA_CFG_MODE, &mode, sizeof(mode), 2);
	if (ret) {
		fprintf(stderr, "pg_nft: nflog bind group %u: %s\n", group, strerror(-ret));
		mnl_socket_close(nl);
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	t0 = now_s();
	while (now_s() - t0 < seconds) {
		struct pollfd pfd = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n > 0)
			mnl_cb_run(buf, (size_t)n, 0, 0, nflog_print, NULL);
	}
	mnl_socket_close(nl);
	return 0;
}

int main(int argc, char **argv)
{
	struct nft_opts o = { 0 };
	struct nft_ctx *n = NULL;
	struct state st;
	char err[256];
	const char *cmd;
	int i = 1, ret = 2;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--netns") && i + 1 < argc)
			o.netns = argv[++i];
		else if (!strcmp(argv[i], "--group") && i + 1 < argc)
			o.nflog_group = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--closed"))
			o.closed_by_default = true;
		else {
			usage();
			return 2;
		}
	}
	if (i >= argc) {
		usage();
		return 2;
	}
	cmd = argv[i++];
	if (state_alloc(&st, argc) < 0)
		return 2;
	if (!strcmp(cmd, "nflog")) {
		ret = cmd_nflog(argc, argv, i);
		goto out;
	}
	if (!strcmp(cmd, "build")) {
		ret = state_parse(&st, argc, argv, i) ? 2 : cmd_build(&o, &st);
		goto out;
	}
	if (nft_open(&o, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "pg_nft: %s\n", err);
		goto out;
	}
	if (!strcmp(cmd, "resync") || !strcmp(cmd, "check")) {
		if (state_parse(&st, argc, argv, i))
			goto out;
		if (cmd[0] == 'c') {
			ret = cmd_check(n, &st, i < argc);
		} else {
			ret = nft_resync(n, &st.d);
			ret = ret < 0 ? fail(n, "resync", ret) : 0;
		}
	} else if (!strcmp(cmd, "port") && argc - i == 3) {
		enum nft_setname set;
		struct nft_port p;

		if (set_of(argv[i], &set) || parse_port(argv[i + 2], &p, NULL) ||
		    (strcmp(argv[i + 1], "add") && strcmp(argv[i + 1], "del"))) {
			usage();
			goto out;
		}
		bool add = !strcmp(argv[i + 1], "add");

		ret = set == NFT_LOCALONLY ? nft_port_localonly(n, &p, add)
		      : set == NFT_OPEN	   ? nft_port_open(n, &p, add)
					   : nft_port_restrict_src(n, &p, add);
		ret = ret < 0 ? fail(n, "port", ret) : 0;
	} else if (!strcmp(cmd, "allow") && argc - i == 2) {
		struct nft_source s;

		if (parse_source(argv[i + 1], &s) ||
		    (strcmp(argv[i], "add") && strcmp(argv[i], "del"))) {
			usage();
			goto out;
		}
		ret = nft_source_allow(n, &s, !strcmp(argv[i], "add"));
		ret = ret < 0 ? fail(n, "allow", ret) : 0;
	} else if (!strcmp(cmd, "block") && (argc - i == 1 || argc - i == 2)) {
		unsigned long ms = 0;
		uint8_t addr[16];
		char *end;
		int family;

		if (parse_addr(argv[i], &family, addr, NULL, NULL) ||
		    (argc - i == 2 && (parse_u32(argv[i + 1], &end, UINT32_MAX, &ms) || *end))) {
			usage();
			goto out;
		}
		ret = nft_source_block(n, family, addr, (uint32_t)ms);
		ret = ret < 0 ? fail(n, "block", ret) : 0;
	} else if (!strcmp(cmd, "batch")) {
		ret = cmd_batch(n, argc, argv, i);
	} else if (!strcmp(cmd, "uninstall") && argc == i) {
		ret = nft_uninstall(n);
		ret = ret < 0 ? fail(n, "uninstall", ret) : 0;
	} else if (!strcmp(cmd, "monitor")) {
		ret = cmd_monitor(n, argc, argv, i);
	} else {
		usage();
	}
out:
	nft_close(n);
	state_free(&st);
	return ret;
}
