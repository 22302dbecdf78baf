// SPDX-License-Identifier: MIT
/* test_sockdiag: request builders parsed back, then real loopback listeners seen by sock_diag. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <libmnl/libmnl.h>
#include <cmocka.h>
#include "sockdiag.h"

static struct sockdiag *sd;

static int group_setup(void **state)
{
	(void)state;
	return sockdiag_open(&sd) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sockdiag_close(sd);
	sd = NULL;
	return 0;
}

/*
 * Opens a socket of type on addr:port (port 0: ephemeral), listening when TCP. Returns the fd with
 * *bound set, or -errno. v6only applies to AF_INET6 only.
 */
static int open_bound(int family, int type, const char *addr, uint16_t port, bool v6only,
		      uint16_t *bound)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, v6 = v6only, ret;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6));
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	}
	/* TCP only: on UDP it would let us share a port someone else holds. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*bound = ntohs(family == AF_INET6 ? sin6->sin6_port : sin->sin_port);
	return fd;
}

/* As open_bound, skipping the test when the host has no IPv6 on loopback. */
static int open_bound_or_skip(int family, int type, const char *addr, bool v6only, uint16_t *bound)
{
	int fd = open_bound(family, type, addr, 0, v6only, bound);

	if (family == AF_INET6 &&
	    (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL || fd == -EPROTONOSUPPORT)) {
		print_message("no IPv6 on this host (%s), skipping\n", strerror(-fd));
		skip();
	}
	assert_true(fd >= 0);
	return fd;
}

/* Checks that (protocol, port) is reported held by this process through socket fd. */
static void assert_held_by_me(int fd, int protocol, uint16_t port, const char *address)
{
	struct sockdiag_holder h;
	char comm[17] = "";
	struct stat st;

	memset(&h, 0xa5, sizeof(h));
	assert_int_equal(sockdiag_port_in_use(sd, protocol, port, &h), 1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(prctl(PR_GET_NAME, comm), 0);
	assert_int_equal(h.inode, st.st_ino);
	assert_int_equal(h.pid, getpid());
	assert_string_equal(h.comm, comm);
	assert_string_equal(h.address, address);
	assert_int_equal(h.protocol, protocol);
	assert_int_equal(h.uid, geteuid());
}

/* Checks a listener end to end: held by us while open, free once closed. */
static void check_listener(int family, int type, const char *addr, bool v6only, const char *shown)
{
	int protocol = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	uint16_t port;
	int fd;

	fd = open_bound_or_skip(family, type, addr, v6only, &port);
	assert_held_by_me(fd, protocol, port, shown);
	/* Holder may be NULL. */
	assert_int_equal(sockdiag_port_in_use(sd, protocol, port, NULL), 1);
	close(fd);
	assert_int_equal(sockdiag_port_in_use(sd, protocol, port, NULL), 0);
}

static void test_sockdiag_tcp4(void **state)
{
	(void)state;
	check_listener(AF_INET, SOCK_STREAM, "127.0.0.1", false, "127.0.0.1");
}

static void test_sockdiag_tcp6(void **state)
{
	(void)state;
	check_listener(AF_INET6, SOCK_STREAM, "::1", true, "::1");
}

static void test_sockdiag_udp4(void **state)
{
	(void)state;
	check_listener(AF_INET, SOCK_DGRAM, "127.0.0.1", false, "127.0.0.1");
}

static void test_sockdiag_udp6(void **state)
{
	(void)state;
	check_listener(AF_INET6, SOCK_DGRAM, "::1", true, "::1");
}

/* A dual-stack :: listener takes the port for IPv4 too; it is found in the IPv6 dump. */
static void test_sockdiag_dual_stack(void **state)
{
	(void)state;
	check_listener(AF_INET6, SOCK_STREAM, "::", false, "::");
}

static void test_sockdiag_wildcard4(void **state)
{
	(void)state;
	check_listener(AF_INET, SOCK_STREAM, "0.0.0.0", false, "0.0.0.0");
}

/* A port that was just free (bound then closed) is reported free, and holder left alone. */
static void test_sockdiag_unused_port(void **state)
{
	struct sockdiag_holder h = { .pid = 4242 };
	uint16_t port;
	int fd;

	(void)state;
	fd = open_bound(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false, &port);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, port, &h), 0);
	assert_int_equal(h.pid, 4242);
}

/* TCP counts listeners only: bound but not listening is free for a listener. */
static void test_sockdiag_tcp_bound_not_listening(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, ntohs(sin.sin_port), NULL), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, ntohs(sin.sin_port), NULL), 1);
	close(fd);
}

/* Protocols are separate: a UDP socket does not make the TCP port busy. */
static void test_sockdiag_protocols_apart(void **state)
{
	uint16_t port;
	int fd;

	(void)state;
	fd = open_bound(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, false, &port);
	assert_true(fd >= 0);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_UDP, port, NULL), 1);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, port, NULL), 0);
	close(fd);
}

static void test_sockdiag_bad_arguments(void **state)
{
	uint8_t busy[2] = { 0 };

	(void)state;
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, 0, NULL), -EINVAL);
	assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_SCTP, 80, NULL), -EINVAL);
	assert_int_equal(sockdiag_busy_in_range(sd, IPPROTO_TCP, 10, 9, busy), -EINVAL);
	/* Port 0 is never busy: sockets there hold nothing. */
	assert_int_equal(sockdiag_busy_in_range(sd, IPPROTO_UDP, 0, 0, busy), 0);
	assert_int_equal(busy[0], 0);
}

static bool bit_is_set(const uint8_t *busy, unsigned int bit)
{
	return busy[bit / 8] & (1U << (bit % 8));
}

/*
 * Range [p-4, p+7] around an ephemeral listener p, with listeners also on both edges where they
 * can be opened (12 ports: the last one lands in the second byte). The range must agree with
 * sockdiag_port_in_use port by port.
 */
static void range_case(int type)
{
	int protocol = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	uint16_t p, first, last, got;
	int fd, fd_first, fd_last, n, busy_count = 0;
	uint8_t busy[2] = { 0 };
	unsigned int i;

	fd = open_bound(AF_INET, type, "127.0.0.1", 0, false, &p);
	assert_true(fd >= 0);
	if (p < 5 || p > 65535 - 7) {
		close(fd);
		skip();
	}
	first = p - 4;
	last = p + 7;
	fd_first = open_bound(AF_INET6, type, "::1", first, true, &got);
	fd_last = open_bound(AF_INET, type, "127.0.0.1", last, false, &got);

	n = sockdiag_busy_in_range(sd, protocol, first, last, busy);
	assert_true(n >= 1);
	assert_true(bit_is_set(busy, 4));
	if (fd_first >= 0)
		assert_true(bit_is_set(busy, 0));
	if (fd_last >= 0)
		assert_true(bit_is_set(busy, 11));
	assert_int_equal(busy[1] & 0xf0, 0); /* nothing past the range */
	for (i = 0; i <= (unsigned int)(last - first); i++) {
		assert_int_equal(bit_is_set(busy, i),
				 sockdiag_port_in_use(sd, protocol, first + i, NULL) == 1);
		busy_count += bit_is_set(busy, i);
	}
	assert_int_equal(n, busy_count);

	close(fd);
	memset(busy, 0, sizeof(busy));
	assert_true(sockdiag_busy_in_range(sd, protocol, first, last, busy) >= 0);
	assert_false(bit_is_set(busy, 4));
	if (fd_first >= 0)
		close(fd_first);
	if (fd_last >= 0)
		close(fd_last);
}

static void test_sockdiag_range_tcp(void **state)
{
	(void)state;
	range_case(SOCK_STREAM);
}

static void test_sockdiag_range_udp(void **state)
{
	(void)state;
	range_case(SOCK_DGRAM);
}

/* Repeated queries on one handle keep their sequence numbers and replies in step. */
static void test_sockdiag_many_queries(void **state)
{
	uint16_t port;
	int fd, i;

	(void)state;
	fd = open_bound(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false, &port);
	assert_true(fd >= 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(sockdiag_port_in_use(sd, IPPROTO_TCP, port, NULL), 1);
	close(fd);
}

/* Without a kernel: the request parsed back. */
static void test_sockdiag_build_request(void **state)
{
	char buf[256] __attribute__((aligned(8)));
	const struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;

	(void)state;
	nlh = sockdiag_build_request(buf, sizeof(buf), AF_INET6, IPPROTO_TCP, 77);
	assert_ptr_equal(nlh, buf);
	assert_int_equal(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	assert_int_equal(nlh->nlmsg_seq, 77);
	assert_int_equal(nlh->nlmsg_len, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*req)));
	req = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(req->sdiag_family, AF_INET6);
	assert_int_equal(req->sdiag_protocol, IPPROTO_TCP);
	assert_int_equal(req->idiag_states, 1U << TCP_LISTEN);
	assert_int_equal(req->idiag_ext, 0);
	assert_int_equal(req->id.idiag_sport, 0);

	nlh = sockdiag_build_request(buf, sizeof(buf), AF_INET, IPPROTO_UDP, 78);
	req = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(req->sdiag_family, AF_INET);
	assert_int_equal(req->sdiag_protocol, IPPROTO_UDP);
	assert_int_equal(req->idiag_states, ~0U);
	assert_int_equal(nlh->nlmsg_seq, 78);

	assert_null(sockdiag_build_request(buf, MNL_NLMSG_HDRLEN, AF_INET, IPPROTO_TCP, 1));
	assert_null(sockdiag_build_request(buf, sizeof(buf), AF_UNIX, IPPROTO_TCP, 1));
	assert_null(sockdiag_build_request(buf, sizeof(buf), AF_INET, IPPROTO_SCTP, 1));
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, INET_DIAG_REQ_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/*
 * Runs bytecode on a local port as the kernel's inet_diag_bc_run does, after the checks of its
 * inet_diag_bc_audit for port conditions.
 */
static bool bc_accepts(const uint8_t *bc, int len, uint16_t port)
{
	while (len > 0) {
		const struct inet_diag_bc_op *op = (const void *)bc;
		bool yes = false;

		assert_true(op->yes >= 8 && op->yes <= len + 4 && !(op->yes & 3));
		assert_true(op->no >= 8 && op->no <= len + 4 && !(op->no & 3));
		if (op->code == INET_DIAG_BC_S_GE)
			yes = port >= op[1].no;
		else if (op->code == INET_DIAG_BC_S_LE)
			yes = port <= op[1].no;
		else
			fail_msg("unexpected op %u", op->code);
		len -= yes ? op->yes : op->no;
		bc += yes ? op->yes : op->no;
	}
	return len == 0;
}

static void test_sockdiag_build_port_filter(void **state)
{
	const struct nlattr *tb[INET_DIAG_REQ_MAX + 1] = { NULL };
	char buf[256] __attribute__((aligned(8)));
	const uint8_t *bc;
	struct nlmsghdr *nlh;
	int len;

	(void)state;
	nlh = sockdiag_build_request(buf, sizeof(buf), AF_INET, IPPROTO_UDP, 5);
	assert_int_equal(sockdiag_add_port_filter(nlh, sizeof(buf), 9000, 9999), 0);
	assert_int_equal(mnl_attr_parse(nlh, sizeof(struct inet_diag_req_v2), attr_cb, tb),
			 MNL_CB_OK);
	assert_non_null(tb[INET_DIAG_REQ_BYTECODE]);
	len = mnl_attr_get_payload_len(tb[INET_DIAG_REQ_BYTECODE]);
	assert_int_equal(len, 4 * sizeof(struct inet_diag_bc_op));
	assert_int_equal(nlh->nlmsg_len, MNL_NLMSG_HDRLEN +
					     MNL_ALIGN(sizeof(struct inet_diag_req_v2)) +
					     MNL_ATTR_HDRLEN + len);
	bc = mnl_attr_get_payload(tb[INET_DIAG_REQ_BYTECODE]);
	assert_false(bc_accepts(bc, len, 0));
	assert_false(bc_accepts(bc, len, 8999));
	assert_true(bc_accepts(bc, len, 9000));
	assert_true(bc_accepts(bc, len, 9500));
	assert_true(bc_accepts(bc, len, 9999));
	assert_false(bc_accepts(bc, len, 10000));
	assert_false(bc_accepts(bc, len, 65535));

	/* One port: first == last. */
	nlh = sockdiag_build_request(buf, sizeof(buf), AF_INET, IPPROTO_TCP, 6);
	assert_int_equal(sockdiag_add_port_filter(nlh, sizeof(buf), 443, 443), 0);
	memset(tb, 0, sizeof(tb));
	mnl_attr_parse(nlh, sizeof(struct inet_diag_req_v2), attr_cb, tb);
	bc = mnl_attr_get_payload(tb[INET_DIAG_REQ_BYTECODE]);
	assert_true(bc_accepts(bc, len, 443));
	assert_false(bc_accepts(bc, len, 442));
	assert_false(bc_accepts(bc, len, 444));

	/* No room for the filter. */
	nlh = sockdiag_build_request(buf, 80, AF_INET, IPPROTO_TCP, 7);
	assert_non_null(nlh);
	assert_int_equal(sockdiag_add_port_filter(nlh, 80, 1, 2), -ENOBUFS);
}

/* The /proc/net fallback's line parser, on lines laid out as the kernel prints them. */
static void test_sockdiag_parse_proc_line(void **state)
{
	struct sockdiag_holder h;
	struct in6_addr a6;
	struct in_addr a4;
	char line[256];
	uint16_t port;
	int st;

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &a4);
	snprintf(line, sizeof(line),
		 "   3: %08X:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000"
		 "        0 123456 1 0000000000000000 100 0 0 10 0\n",
		 a4.s_addr);
	assert_int_equal(sockdiag_parse_proc_line(line, AF_INET, &port, &st, &h), 0);
	assert_int_equal(port, 8080);
	assert_int_equal(st, TCP_LISTEN);
	assert_string_equal(h.address, "127.0.0.1");
	assert_int_equal(h.uid, 1000);
	assert_int_equal(h.inode, 123456);
	assert_int_equal(h.pid, 0);

	inet_pton(AF_INET6, "2001:db8::1", &a6);
	snprintf(
	    line, sizeof(line),
	    "  12: %08X%08X%08X%08X:0035 00000000000000000000000000000000:0000 07 "
	    "00000000:00000000 00:00000000 00000000   101        0 98765 2 0000000000000000 0\n",
	    a6.s6_addr32[0], a6.s6_addr32[1], a6.s6_addr32[2], a6.s6_addr32[3]);
	assert_int_equal(sockdiag_parse_proc_line(line, AF_INET6, &port, &st, &h), 0);
	assert_int_equal(port, 53);
	assert_int_equal(st, 7);
	assert_string_equal(h.address, "2001:db8::1");
	assert_int_equal(h.uid, 101);
	assert_int_equal(h.inode, 98765);

	assert_int_equal(sockdiag_parse_proc_line("  sl  local_address rem_address   st tx_queue "
						  "rx_queue tr tm->when retrnsmt   uid  timeout "
						  "inode\n",
						  AF_INET, &port, &st, &h),
			 -EINVAL);
	assert_int_equal(sockdiag_parse_proc_line("   0: 0100007F:1F90 00000000:0000 0A\n", AF_INET,
						  &port, &st, &h),
			 -EINVAL);
	/* An IPv4 line read as IPv6. */
	snprintf(line, sizeof(line),
		 "   3: %08X:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 1\n",
		 a4.s_addr);
	assert_int_equal(sockdiag_parse_proc_line(line, AF_INET6, &port, &st, &h), -EINVAL);
}

/* The fallback parser against what this kernel really prints for our own listener. */
static void test_sockdiag_parse_proc_real(void **state)
{
	struct sockdiag_holder h;
	char line[256];
	bool seen = false;
	struct stat sb;
	uint16_t port, got;
	int fd, st;
	FILE *f;

	(void)state;
	fd = open_bound(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false, &port);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	f = fopen("/proc/net/tcp", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sockdiag_parse_proc_line(line, AF_INET, &got, &st, &h) < 0 ||
		    h.inode != sb.st_ino)
			continue;
		seen = true;
		assert_int_equal(got, port);
		assert_int_equal(st, TCP_LISTEN);
		assert_string_equal(h.address, "127.0.0.1");
	}
	fclose(f);
	close(fd);
	assert_true(seen);
}

int main(void)
{
	const struct CMUnitTest builders[] = {
		cmocka_unit_test(test_sockdiag_build_request),
		cmocka_unit_test(test_sockdiag_build_port_filter),
		cmocka_unit_test(test_sockdiag_parse_proc_line),
	};
	const struct CMUnitTest kernel[] = {
		cmocka_unit_test(test_sockdiag_tcp4),
		cmocka_unit_test(test_sockdiag_tcp6),
		cmocka_unit_test(test_sockdiag_udp4),
		cmocka_unit_test(test_sockdiag_udp6),
		cmocka_unit_test(test_sockdiag_dual_stack),
		cmocka_unit_test(test_sockdiag_wildcard4),
		cmocka_unit_test(test_sockdiag_unused_port),
		cmocka_unit_test(test_sockdiag_tcp_bound_not_listening),
		cmocka_unit_test(test_sockdiag_protocols_apart),
		cmocka_unit_test(test_sockdiag_bad_arguments),
		cmocka_unit_test(test_sockdiag_range_tcp),
		cmocka_unit_test(test_sockdiag_range_udp),
		cmocka_unit_test(test_sockdiag_many_queries),
		cmocka_unit_test(test_sockdiag_parse_proc_real),
	};
	struct sockdiag *probe;
	int failed, ret;

	failed = cmocka_run_group_tests_name("sockdiag_builders", builders, NULL, NULL);
	ret = sockdiag_open(&probe);
	if (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT) {
		printf("[  SKIPPED ] sockdiag_kernel: no NETLINK_SOCK_DIAG (%s)\n", strerror(-ret));
		return failed ? 1 : 0;
	}
	sockdiag_close(probe);
	failed +=
	    cmocka_run_group_tests_name("sockdiag_kernel", kernel, group_setup, group_teardown);
	return failed ? 1 : 0;
}
