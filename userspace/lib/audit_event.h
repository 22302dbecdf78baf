/* SPDX-License-Identifier: MIT */
/* audit_event: the one shape of every audit event (docs/audit.md), and its JSON line. */
#ifndef PORTGATE_AUDIT_EVENT_H
#define PORTGATE_AUDIT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum audit_action {
	AUDIT_BIND,    /* a bind() the cgroup hook refused, rewrote or audited */
	AUDIT_CONNECT, /* a connect() refused (proxy backend), or established (sockops) */
	AUDIT_PACKET,  /* a packet the nftables table dropped (NFLOG) */
	AUDIT_TOKEN,   /* portgate-proxy's decision on a connection */
	AUDIT_CONTROL, /* a mutation through the control API, a mode change, a grant */
	AUDIT_REPAIR,  /* kernel drift noticed and repaired */
	AUDIT_SCAN,    /* one source touched too many closed or localhost-only ports */
	AUDIT_LOSS,    /* events the kernel could not deliver (ring buffer full, NFLOG overrun) */
	AUDIT_NACTIONS,
};

enum audit_result {
	AUDIT_ALLOWED,
	AUDIT_DENIED,
	AUDIT_REWRITTEN,
	AUDIT_BLOCKED,
	AUDIT_REPAIRED,
	AUDIT_LOST,
	AUDIT_NRESULTS,
};

struct audit_event {
	uint64_t time_us; /* CLOCK_REALTIME in µs; 0: audit_emit() stamps it */
	uint8_t action;	  /* enum audit_action */
	uint8_t result;	  /* enum audit_result */
	uint8_t protocol; /* IPPROTO_TCP / IPPROTO_UDP, 0 unknown */
	uint8_t family;	  /* AF_INET / AF_INET6 of src and dst; 0: no addresses */
	bool has_src, has_dst;
	uint8_t src[16], dst[16];    /* network order; IPv4 in the first 4 bytes */
	uint16_t src_port, dst_port; /* host order; dst_port is the local port (a bind's port):
				       audit_emit() names service/port_name from it */
	char reason[64];	     /* short, fixed vocabulary where possible ("localhost only") */
	char service[64];	     /* "" unknown */
	char port_name[64];	     /* "" unknown */
	int32_t pid;		     /* -1 unknown */
	int64_t uid;		     /* -1 unknown */
	uint64_t cgroup_id;	     /* 0 unknown */
	char comm[16];		     /* "" unknown */
	char who[80];		     /* control: "uid:1000" or "owner:my-app"; "" otherwise */
	char what[160];		     /* control: "port-add my-app 8081"; repair: what was fixed */
	uint64_t count;		     /* events this one stands for; 0 is read as 1 */
	uint64_t first_us;	     /* aggregated: the window's first event (0: not aggregated) */
	uint32_t ports;		     /* scan: distinct ports touched in the window */
	uint8_t scan; /* enum audit_scan_mark: does it count toward scan detection? */
};

/*
 * Scan detection counts, per source address, the distinct dst_port of "candidate" events: a
 * drop at a closed or localhost-only port. By default (AUDIT_SCAN_AUTO) a packet denied or
 * blocked is one; a source marks other events in (a refused connect) or out (a drop because the
 * source is already blocked, if it should not prolong the report) explicitly.
 */
enum audit_scan_mark {
	AUDIT_SCAN_AUTO, /* packet + denied/blocked: yes; anything else: no */
	AUDIT_SCAN_YES,
	AUDIT_SCAN_NO,
};
bool audit_event_scan_candidate(const struct audit_event *ev);

const char *audit_action_name(unsigned action); /* "bind", ...; "?" out of range */
const char *audit_result_name(unsigned result); /* "allowed", ... */
int audit_action_parse(const char *name);	/* enum value or -EINVAL */
int audit_result_parse(const char *name);

/* Now, CLOCK_REALTIME, in µs. */
uint64_t audit_now_us(void);

/*
 * Writes ev as one JSON object (no newline) for host into buf: RFC 3339 UTC time with µs, every
 * field of docs/audit.md, unknown ones left out. Returns the length, or -ENOSPC.
 *
 * The shape is flat, in this order:
 *   {"time":"2026-11-23T14:05:01.123456Z","host":"h","action":"packet","result":"denied",
 *    "reason":"localhost only","src_ip":"192.0.2.7","src_port":40001,"dst_ip":"10.0.0.1",
 *    "dst_port":8080,"protocol":"tcp","service":"my-app","port_name":"http","pid":42,
 *    "uid":1000,"cgroup":1234,"comm":"nc","who":"uid:1000","what":"port-add my-app 8081",
 *    "count":1,"first_time":"...","ports":200}
 * src_ip/dst_ip when has_src/has_dst; a port when its address is known or it is not 0 (a bind
 * has the port it asked for in dst_port and no address); protocol "tcp"/"udp" (or the number);
 * pid/uid when >= 0, cgroup when != 0, strings when not empty; "count" always (>= 1);
 * "first_time" only on aggregated events, "ports" only on scans. Strings are escaped for JSON,
 * control characters as \u00XX and bytes that are not UTF-8 as U+FFFD.
 */
int audit_event_json(const struct audit_event *ev, const char *host, char *buf, size_t len);

#endif
