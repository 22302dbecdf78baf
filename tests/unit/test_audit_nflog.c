// SPDX-License-Identifier: MIT
/* audit_nflog_packet: NFLOG messages as the kernel sends them, into audit events. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include "../../userspace/portgated/audit_nflog.h"

static char buf[8192];

/* A packet message with prefix (NULL: none), sequence number and payload. */
static struct nlmsghdr *msg(const char *prefix, const uint32_t *seq, const void *pkt, size_t len)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	if (seq)
		mnl_attr_put_u32(nlh, NFULA_SEQ, htonl(*seq));
	if (pkt)
		mnl_attr_put(nlh, NFULA_PAYLOAD, len, pkt);
	return nlh;
}

static void test_nflog_ipv4_tcp(void **state)
{
	uint8_t ip[24] = {
		0x45, 0,  0, 40, 0,  1,	 0x40, 0, 64,	6,    0,    0,
		10,   79, 0, 2,	 10, 79, 0,    1, 0xc7, 0x38, 0x46, 0xa0
	}; /* 51000 -> 18080 */
	struct audit_event ev;
	uint32_t seq = 7, got = 0;
	bool has;

	(void)state;
	assert_int_equal(
	    audit_nflog_packet(msg("pg:localonly ", &seq, ip, sizeof(ip)), &ev, &got, &has), 0);
	assert_true(has);
	assert_int_equal(got, 7);
	assert_int_equal(ev.action, AUDIT_PACKET);
	assert_int_equal(ev.result, AUDIT_DENIED);
	assert_string_equal(ev.reason, "localhost only");
	assert_int_equal(ev.family, AF_INET);
	assert_int_equal(ev.protocol, IPPROTO_TCP);
	assert_memory_equal(ev.src, ip + 12, 4);
	assert_memory_equal(ev.dst, ip + 16, 4);
	assert_int_equal(ev.src_port, 51000);
	assert_int_equal(ev.dst_port, 18080);
	assert_int_equal(ev.scan, AUDIT_SCAN_YES);
}

static void test_nflog_ipv6_udp_and_prefixes(void **state)
{
	uint8_t ip[44] = { 0x60, 0, 0, 0, 0, 12, IPPROTO_UDP, 64 };
	struct audit_event ev;
	uint32_t seq;
	bool has;

	(void)state;
	ip[23] = 2, ip[39] = 1;
	ip[40] = 0x9c, ip[41] = 0x40, ip[42] = 0x4e, ip[43] = 0x21; /* 40000 -> 20001 */
	assert_int_equal(
	    audit_nflog_packet(msg("pg:closed ", NULL, ip, sizeof(ip)), &ev, &seq, &has), 0);
	assert_false(has);
	assert_int_equal(ev.family, AF_INET6);
	assert_int_equal(ev.protocol, IPPROTO_UDP);
	assert_int_equal(ev.dst_port, 20001);
	assert_string_equal(ev.reason, "closed port");
	assert_int_equal(audit_nflog_packet(msg("pg:blocked ", NULL, NULL, 0), &ev, &seq, &has), 0);
	assert_int_equal(ev.result, AUDIT_BLOCKED);
	assert_int_equal(ev.family, 0); /* no payload: no addresses */
	assert_int_equal(audit_nflog_packet(msg("pg:notallowed ", NULL, NULL, 0), &ev, &seq, &has),
			 0);
	assert_string_equal(ev.reason, "source not allowed");
	assert_int_equal(audit_nflog_packet(msg("somebody else ", NULL, NULL, 0), &ev, &seq, &has),
			 0);
	assert_string_equal(ev.reason, "dropped");
}

/* Short and odd payloads: no addresses rather than a read past the packet. */
static void test_nflog_truncated(void **state)
{
	uint8_t ip[20] = { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6 };
	struct audit_event ev;
	uint32_t seq;
	bool has;

	(void)state;
	assert_int_equal(audit_nflog_packet(msg("pg:closed ", NULL, ip, 19), &ev, &seq, &has), 0);
	assert_int_equal(ev.family, 0);
	assert_int_equal(audit_nflog_packet(msg("pg:closed ", NULL, ip, 20), &ev, &seq, &has), 0);
	assert_int_equal(ev.family, AF_INET);
	assert_int_equal(ev.dst_port, 0); /* no transport header copied */
	ip[0] = 0x4f;			  /* ihl 60 > 20 copied */
	assert_int_equal(audit_nflog_packet(msg("pg:closed ", NULL, ip, 20), &ev, &seq, &has), 0);
	assert_int_equal(ev.dst_port, 0);
	/* Not a packet message at all. */
	struct nlmsghdr *nlh = msg("pg:closed ", NULL, NULL, 0);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	assert_int_equal(audit_nflog_packet(nlh, &ev, &seq, &has), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nflog_ipv4_tcp),
		cmocka_unit_test(test_nflog_ipv6_udp_and_prefixes),
		cmocka_unit_test(test_nflog_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
