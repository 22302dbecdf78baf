// SPDX-License-Identifier: MIT
/* http_head: strict, zero-copy HTTP/1.x head parser; one pass, no allocation. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include "http_head.h"

/* Character classes, one bit each, looked up by byte value. */
#define HTTP_HEAD_T 0x1 /* tchar (RFC 9110 5.6.2): methods and field names */
#define HTTP_HEAD_V 0x2 /* field-value and reason-phrase byte: VCHAR, obs-text, SP, HTAB */
#define HTTP_HEAD_U 0x4 /* request-target byte: VCHAR except '#' (a fragment is never sent) */

/* Combinations, named by their letters, so the table reads as a grid. */
#define T   HTTP_HEAD_T
#define V   HTTP_HEAD_V
#define VU  (HTTP_HEAD_V | HTTP_HEAD_U)
#define TV  (HTTP_HEAD_T | HTTP_HEAD_V)
#define TVU (HTTP_HEAD_T | HTTP_HEAD_V | HTTP_HEAD_U)
/* clang-format off */
static const unsigned char http_head_class[256] = {
	/* 0x00 */ 0,   0,   0,   0,   0,   0,   0,   0,
	/* 0x08 */ 0,   V,   0,   0,   0,   0,   0,   0,
	/* 0x10 */ 0,   0,   0,   0,   0,   0,   0,   0,
	/* 0x18 */ 0,   0,   0,   0,   0,   0,   0,   0,
	/* 0x20 */ V,   TVU, VU,  TV,  TVU, TVU, TVU, TVU,
	/* 0x28 */ VU,  VU,  TVU, TVU, VU,  TVU, TVU, VU,
	/* 0x30 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x38 */ TVU, TVU, VU,  VU,  VU,  VU,  VU,  VU,
	/* 0x40 */ VU,  TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x48 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x50 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x58 */ TVU, TVU, TVU, VU,  VU,  VU,  TVU, TVU,
	/* 0x60 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x68 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x70 */ TVU, TVU, TVU, TVU, TVU, TVU, TVU, TVU,
	/* 0x78 */ TVU, TVU, TVU, VU,  TVU, VU,  TVU, 0,
	[0x80 ... 0xff] = V,
};
/* clang-format on */
#undef T
#undef V
#undef VU
#undef TV
#undef TVU

static inline bool http_head_is(char c, unsigned char cls)
{
	return http_head_class[(unsigned char)c] & cls;
}

/* First position in [p, end) whose byte is not in cls, or end. */
static inline size_t http_head_scan(const char *buf, size_t p, size_t end, unsigned char cls)
{
	/* Unrolled: header values are the bulk of a head and this loop is the whole cost. */
	while (end - p >= 4) {
		if (!http_head_is(buf[p], cls))
			return p;
		if (!http_head_is(buf[p + 1], cls))
			return p + 1;
		if (!http_head_is(buf[p + 2], cls))
			return p + 2;
		if (!http_head_is(buf[p + 3], cls))
			return p + 3;
		p += 4;
	}
	while (p < end && http_head_is(buf[p], cls))
		p++;
	return p;
}

static inline char http_head_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n), whatever the locale. */
static bool http_head_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (http_head_lower(a[i]) != http_head_lower(b[i]))
			return false;
	return true;
}

/*
 * The internal steps below share one convention: they take a position p and the scan limit
 * end, and return the position after what they parsed (always > 0), 0 when end was reached
 * before the item was complete, or -errno. Positions fit in ssize_t because the public entry
 * points clamp end to INT_MAX.
 */

/* CRLF at p. */
static ssize_t http_head_crlf(const char *buf, size_t p, size_t end)
{
	if (p >= end)
		return 0;
	if (buf[p] != '\r')
		return -EBADMSG;
	if (p + 1 >= end)
		return 0;
	if (buf[p + 1] != '\n')
		return -EBADMSG;
	return (ssize_t)(p + 2);
}

/* "HTTP/1.0" or "HTTP/1.1" at p; any other version is refused. */
static ssize_t http_head_version(const char *buf, size_t p, size_t end, int *minor)
{
	static const char prefix[] = "HTTP/1.";

	for (size_t i = 0; i < sizeof(prefix) - 1; i++, p++) {
		if (p >= end)
			return 0;
		if (buf[p] != prefix[i])
			return -EBADMSG;
	}
	if (p >= end)
		return 0;
	if (buf[p] != '0' && buf[p] != '1')
		return -EBADMSG;
	*minor = buf[p] - '0';
	return (ssize_t)(p + 1);
}

static bool http_head_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.';
}

/*
 * Checks the form of target t[0..n) (bytes already known to be target bytes). When !complete,
 * t is a prefix and only an impossible prefix is refused, so garbage fails early.
 */
static int http_head_target_form(const char *method, size_t method_len, const char *t, size_t n,
				 bool complete)
{
	static const char sep[] = "://";
	size_t i;

	if (n == 0)
		return complete ? -EBADMSG : 0;
	if (t[0] == '/')
		return 0; /* origin-form */
	if (t[0] == '*') {
		/* asterisk-form: exactly "*", and only for OPTIONS */
		if (n > 1 || method_len != 7 || memcmp(method, "OPTIONS", 7) != 0)
			return -EBADMSG;
		return 0;
	}
	/* absolute-form, limited to URIs with an authority: scheme "://" ... */
	if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
		return -EBADMSG;
	for (i = 1; i < n && http_head_scheme_char(t[i]); i++)
		;
	for (size_t k = 0; k < sizeof(sep) - 1; k++, i++) {
		if (i >= n)
			return complete ? -EBADMSG : 0;
		if (t[i] != sep[k])
			return -EBADMSG;
	}
	return 0;
}

/*
 * Header fields from p up to and including the empty line ending the head. Fills hdr[] and
 * *n_out. When n_host is not NULL, counts Host fields into it and fails on the second.
 */
static ssize_t http_head_fields(const char *buf, size_t p, size_t end, struct http_header *hdr,
				size_t *n_out, int *n_host)
{
	size_t n = 0;

	for (;;) {
		size_t name, name_end, val, vend;
		ssize_t r;

		if (p >= end)
			return 0;
		if (buf[p] == '\r') {
			r = http_head_crlf(buf, p, end);
			if (r > 0)
				*n_out = n;
			return r;
		}
		/* A 65th field: the head is too big, whatever follows (-> 431). */
		if (n == HTTP_MAX_HEADERS)
			return -EMSGSIZE;

		/*
		 * field-name ":"; a space before the colon or a leading SP/HTAB (obs-fold)
		 * fails here since neither is a tchar.
		 */
		name = p;
		p = http_head_scan(buf, p, end, HTTP_HEAD_T);
		if (p >= end)
			return 0;
		if (buf[p] != ':' || p == name)
			return -EBADMSG;
		name_end = p;
		if (n_host && p - name == 4 && http_head_ieq(buf + name, "host", 4) &&
		    ++*n_host > 1)
			return -EBADMSG;
		p++;

		/* OWS field-value OWS CRLF; a CTL (NUL, bare CR or LF, DEL...) stops the scan. */
		while (p < end && (buf[p] == ' ' || buf[p] == '\t'))
			p++;
		val = p;
		p = http_head_scan(buf, p, end, HTTP_HEAD_V);
		vend = p;
		r = http_head_crlf(buf, p, end);
		if (r <= 0)
			return r;
		while (vend > val && (buf[vend - 1] == ' ' || buf[vend - 1] == '\t'))
			vend--;

		hdr[n].name = buf + name;
		hdr[n].name_len = name_end - name;
		hdr[n].value = buf + val;
		hdr[n].value_len = vend - val;
		n++;
		p = (size_t)r;
	}
}

/* Effective scan limit: the head must lie in the first max_head bytes of what is present. */
static size_t http_head_limit(size_t len, size_t *max_head)
{
	if (*max_head > INT_MAX)
		*max_head = INT_MAX; /* the head length is returned as an int */
	return len < *max_head ? len : *max_head;
}

/* Maps an internal result to the public convention (see http_head.h). */
static int http_head_result(ssize_t r, size_t len, size_t max_head)
{
	if (r == 0)
		return len >= max_head ? -EMSGSIZE : 0;
	return (int)r;
}

static ssize_t http_head_request(const char *buf, size_t end, struct http_request *req)
{
	size_t p = 0, method, target;
	int n_host = 0, rc;
	ssize_t r;

	/* Empty lines before the request line, a few only. */
	for (int i = 0;; i++) {
		if (p >= end)
			return 0;
		if (buf[p] != '\r')
			break;
		if (i == HTTP_MAX_LEADING_CRLF)
			return -EBADMSG;
		r = http_head_crlf(buf, p, end);
		if (r <= 0)
			return r;
		p = (size_t)r;
	}

	/* method SP */
	method = p;
	p = http_head_scan(buf, p, end, HTTP_HEAD_T);
	if (p >= end)
		return 0;
	if (buf[p] != ' ' || p == method)
		return -EBADMSG;
	req->method = buf + method;
	req->method_len = p - method;
	p++;

	/* request-target SP */
	target = p;
	p = http_head_scan(buf, p, end, HTTP_HEAD_U);
	if (p < end && buf[p] != ' ')
		return -EBADMSG;
	rc = http_head_target_form(req->method, req->method_len, buf + target, p - target, p < end);
	if (rc < 0)
		return rc;
	if (p >= end)
		return 0;
	req->target = buf + target;
	req->target_len = p - target;
	p++;

	/* HTTP-version CRLF */
	r = http_head_version(buf, p, end, &req->version_minor);
	if (r <= 0)
		return r;
	r = http_head_crlf(buf, (size_t)r, end);
	if (r <= 0)
		return r;

	r = http_head_fields(buf, (size_t)r, end, req->headers, &req->n_headers, &n_host);
	if (r <= 0)
		return r;
	/* RFC 9112 3.2: HTTP/1.1 requires exactly one Host; duplicates failed above. */
	if (req->version_minor == 1 && n_host != 1)
		return -EBADMSG;
	req->head_len = (size_t)r;
	return r;
}

int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req)
{
	size_t end = http_head_limit(len, &max_head);

	return http_head_result(http_head_request(buf, end, req), len, max_head);
}

static ssize_t http_head_response(const char *buf, size_t end, struct http_response *resp)
{
	size_t p, reason;
	ssize_t r;
	int status = 0;

	r = http_head_version(buf, 0, end, &resp->version_minor);
	if (r <= 0)
		return r;
	p = (size_t)r;
	if (p >= end)
		return 0;
	if (buf[p++] != ' ')
		return -EBADMSG;

	/* 3DIGIT in 100..599 (RFC 9110 15: other values are invalid) */
	for (int i = 0; i < 3; i++, p++) {
		if (p >= end)
			return 0;
		if (buf[p] < '0' || buf[p] > '9' || (i == 0 && (buf[p] < '1' || buf[p] > '5')))
			return -EBADMSG;
		status = status * 10 + (buf[p] - '0');
	}
	if (p >= end)
		return 0;
	if (buf[p++] != ' ')
		return -EBADMSG;

	/* reason-phrase CRLF, possibly empty, kept as sent */
	reason = p;
	p = http_head_scan(buf, p, end, HTTP_HEAD_V);
	r = http_head_crlf(buf, p, end);
	if (r <= 0)
		return r;
	resp->status = status;
	resp->reason = buf + reason;
	resp->reason_len = p - reason;

	r = http_head_fields(buf, (size_t)r, end, resp->headers, &resp->n_headers, NULL);
	if (r <= 0)
		return r;
	resp->head_len = (size_t)r;
	return r;
}

int http_parse_response(const char *buf, size_t len, size_t max_head, struct http_response *resp)
{
	size_t end = http_head_limit(len, &max_head);

	return http_head_result(http_head_response(buf, end, resp), len, max_head);
}

const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name)
{
	size_t name_len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (h[i].name_len == name_len && http_head_ieq(h[i].name, name, name_len))
			return &h[i];
	return NULL;
}

int http_content_length(const struct http_header *h, size_t n, uint64_t *out)
{
	bool seen = false, te = false;
	uint64_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;

		if (h[i].name_len == 17 && http_head_ieq(h[i].name, "transfer-encoding", 17)) {
			te = true;
			continue;
		}
		if (h[i].name_len != 14 || !http_head_ieq(h[i].name, "content-length", 14))
			continue;
		if (h[i].value_len == 0)
			return -EBADMSG;
		for (size_t k = 0; k < h[i].value_len; k++) {
			char c = h[i].value[k];

			if (c < '0' || c > '9')
				return -EBADMSG;
			/* v <= 2^40 here, so v * 10 + 9 cannot overflow */
			v = v * 10 + (uint64_t)(c - '0');
			if (v > HTTP_MAX_CONTENT_LENGTH)
				return -EBADMSG;
		}
		if (seen && v != len)
			return -EBADMSG;
		len = v;
		seen = true;
	}
	/* RFC 9112 6.3: both present is a smuggling vector; refuse rather than pick one. */
	if (seen && te)
		return -EBADMSG;
	*out = len;
	return 0;
}

void http_target_split(const char *target, size_t len, size_t *path_len, const char **query,
		       size_t *query_len)
{
	const char *q = len ? memchr(target, '?', len) : NULL;

	if (!q) {
		*path_len = len;
		*query = NULL;
		*query_len = 0;
		return;
	}
	*path_len = (size_t)(q - target);
	*query = q + 1;
	*query_len = len - *path_len - 1;
}

static int http_head_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_pct_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0, i;

	/* First pass validates and measures, so out is written only on success. */
	for (i = 0; i < len; i++, n++) {
		if (in[i] == '\0')
			return -EBADMSG;
		if (in[i] != '%')
			continue;
		if (len - i < 3)
			return -EBADMSG;
		int hi = http_head_hex(in[i + 1]), lo = http_head_hex(in[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -EBADMSG;
		i += 2;
	}
	if (n > INT_MAX)
		return -EOVERFLOW;
	if (outlen <= n)
		return -ENOSPC;
	for (i = 0, n = 0; i < len; i++, n++) {
		if (in[i] == '%') {
			out[n] = (char)(http_head_hex(in[i + 1]) << 4 | http_head_hex(in[i + 2]));
			i += 2;
		} else {
			out[n] = in[i];
		}
	}
	out[n] = '\0';
	return (int)n;
}

int http_query_param(const char *query, size_t qlen, const char *name, char *out, size_t outlen)
{
	size_t name_len = strlen(name);
	const char *p = query, *end;

	if (qlen == 0)
		return -ENOENT; /* and query may be NULL, from http_target_split */
	end = query + qlen;
	for (;;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *seg_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(seg_end - p));
		const char *key_end = eq ? eq : seg_end;

		if ((size_t)(key_end - p) == name_len && memcmp(p, name, name_len) == 0) {
			const char *val = eq ? eq + 1 : seg_end;

			return http_pct_decode(val, (size_t)(seg_end - val), out, outlen);
		}
		if (!amp)
			return -ENOENT;
		p = amp + 1;
	}
}

const char *http_status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}
