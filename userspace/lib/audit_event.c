// SPDX-License-Identifier: MIT
/* audit_event: names of actions and results, and one event as one JSON line. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "audit_event.h"

static const char *const audit_actions[AUDIT_NACTIONS] = {
	[AUDIT_BIND] = "bind",	 [AUDIT_CONNECT] = "connect", [AUDIT_PACKET] = "packet",
	[AUDIT_TOKEN] = "token", [AUDIT_CONTROL] = "control", [AUDIT_REPAIR] = "repair",
	[AUDIT_SCAN] = "scan",	 [AUDIT_LOSS] = "loss",
};

static const char *const audit_results[AUDIT_NRESULTS] = {
	[AUDIT_ALLOWED] = "allowed", [AUDIT_DENIED] = "denied",	    [AUDIT_REWRITTEN] = "rewritten",
	[AUDIT_BLOCKED] = "blocked", [AUDIT_REPAIRED] = "repaired", [AUDIT_LOST] = "lost",
};

const char *audit_action_name(unsigned action)
{
	return action < AUDIT_NACTIONS ? audit_actions[action] : "?";
}

const char *audit_result_name(unsigned result)
{
	return result < AUDIT_NRESULTS ? audit_results[result] : "?";
}

static int audit_lookup(const char *const *names, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -EINVAL;
}

int audit_action_parse(const char *name)
{
	return audit_lookup(audit_actions, AUDIT_NACTIONS, name);
}

int audit_result_parse(const char *name)
{
	return audit_lookup(audit_results, AUDIT_NRESULTS, name);
}

uint64_t audit_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool audit_event_scan_candidate(const struct audit_event *ev)
{
	if (ev->scan == AUDIT_SCAN_YES || ev->scan == AUDIT_SCAN_NO)
		return ev->scan == AUDIT_SCAN_YES;
	return ev->action == AUDIT_PACKET &&
	       (ev->result == AUDIT_DENIED || ev->result == AUDIT_BLOCKED);
}

/* The output so far; `fail` sticks once the buffer is too small. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool fail;
};

static void jb_putn(struct jbuf *b, const char *s, size_t n)
{
	if (b->fail || b->cap - b->len <= n) {
		b->fail = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->fail)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->fail = true;
	else
		b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of at most max bytes of s (fields may fill their array without a NUL). */
static void jb_string(struct jbuf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	jb_putn(b, "\"", 1);
	for (size_t i = 0; i < n && !b->fail;) {
		size_t run = 0;

		/* Copy plain runs at once; escape the rest one character at a time. */
		while (i + run < n && u[i + run] >= 0x20 && u[i + run] < 0x7f &&
		       u[i + run] != '"' && u[i + run] != '\\')
			run++;
		if (run) {
			jb_putn(b, s + i, run);
			i += run;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\') {
			char esc[2] = { '\\', (char)u[i] };

			jb_putn(b, esc, 2);
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			jb_printf(b, "\\u%04x", u[i]);
			i++;
		} else {
			size_t len = utf8_seq(u + i, n - i);

			if (len)
				jb_putn(b, s + i, len);
			else
				jb_putn(b, "\\ufffd", 6);
			i += len ? len : 1;
		}
	}
	jb_putn(b, "\"", 1);
}

/* ,"key":"value" for a non-empty string field. */
static void jb_field_str(struct jbuf *b, const char *key, const char *s, size_t max)
{
	if (!s[0])
		return;
	jb_printf(b, ",\"%s\":", key);
	jb_string(b, s, max);
}

/* "key":"2026-11-23T14:05:01.123456Z" after `sep` ("" first, "," after). */
static void jb_time(struct jbuf *b, const char *sep, const char *key, uint64_t us)
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		b->fail = true;
		return;
	}
	jb_printf(b, "%s\"%s\":\"%s.%06uZ\"", sep, key, date, (unsigned)(us % 1000000u));
}

static void jb_addr(struct jbuf *b, const char *key, int family, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (family != AF_INET && family != AF_INET6)
		return;
	if (!inet_ntop(family, addr, text, sizeof(text)))
		return;
	jb_printf(b, ",\"%s\":\"%s\"", key, text);
}

static void jb_endpoints(struct jbuf *b, const struct audit_event *ev)
{
	if (ev->has_src)
		jb_addr(b, "src_ip", ev->family, ev->src);
	if (ev->has_src || ev->src_port)
		jb_printf(b, ",\"src_port\":%u", ev->src_port);
	if (ev->has_dst)
		jb_addr(b, "dst_ip", ev->family, ev->dst);
	if (ev->has_dst || ev->dst_port)
		jb_printf(b, ",\"dst_port\":%u", ev->dst_port);
	if (ev->protocol == IPPROTO_TCP)
		jb_printf(b, ",\"protocol\":\"tcp\"");
	else if (ev->protocol == IPPROTO_UDP)
		jb_printf(b, ",\"protocol\":\"udp\"");
	else if (ev->protocol)
		jb_printf(b, ",\"protocol\":\"%u\"", ev->protocol);
}

int audit_event_json(const struct audit_event *ev, const char *host, char *buf, size_t len)
{
	struct jbuf b = { .p = buf, .cap = len, .fail = len == 0 };

	jb_putn(&b, "{", 1);
	jb_time(&b, "", "time", ev->time_us);
	jb_field_str(&b, "host", host ? host : "", 256);
	jb_printf(&b, ",\"action\":\"%s\",\"result\":\"%s\"", audit_action_name(ev->action),
		  audit_result_name(ev->result));
	jb_field_str(&b, "reason", ev->reason, sizeof(ev->reason));
	jb_endpoints(&b, ev);
	jb_field_str(&b, "service", ev->service, sizeof(ev->service));
	jb_field_str(&b, "port_name", ev->port_name, sizeof(ev->port_name));
	if (ev->pid >= 0)
		jb_printf(&b, ",\"pid\":%" PRId32, ev->pid);
	if (ev->uid >= 0)
		jb_printf(&b, ",\"uid\":%" PRId64, ev->uid);
	if (ev->cgroup_id)
		jb_printf(&b, ",\"cgroup\":%" PRIu64, ev->cgroup_id);
	jb_field_str(&b, "comm", ev->comm, sizeof(ev->comm));
	jb_field_str(&b, "who", ev->who, sizeof(ev->who));
	jb_field_str(&b, "what", ev->what, sizeof(ev->what));
	jb_printf(&b, ",\"count\":%" PRIu64, ev->count ? ev->count : 1);
	if (ev->first_us)
		jb_time(&b, ",", "first_time", ev->first_us);
	if (ev->action == AUDIT_SCAN)
		jb_printf(&b, ",\"ports\":%" PRIu32, ev->ports);
	jb_putn(&b, "}", 1);
	if (b.fail) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)b.len;
}
