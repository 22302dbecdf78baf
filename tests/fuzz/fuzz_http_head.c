// SPDX-License-Identifier: MIT
/* fuzz_http_head: both head parsers and the helpers on their results, with invariants. */
// fuzz-sources: userspace/lib/http_head.c
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_head.h"
#include "fuzz_check.h"

#define FUZZ_MAX_HEAD 16384

/* p[0..n) lies within buf[0..len). */
static void check_inside(const char *buf, size_t len, const char *p, size_t n)
{
	check(p >= buf && p <= buf + len && n <= (size_t)(buf + len - p));
}

static void check_rc(int rc, size_t len, size_t max_head)
{
	check(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc > 0);
	if (rc > 0)
		check((size_t)rc <= len && (size_t)rc <= max_head);
	if (rc == 0)
		check(len < max_head);
}

static void check_headers(const char *buf, size_t head_len, const struct http_header *h, size_t n)
{
	static const char tchar_extra[] = "!#$%&'*+-.^_`|~";
	uint64_t cl = 0;

	check(n <= HTTP_MAX_HEADERS);
	for (size_t i = 0; i < n; i++) {
		check(h[i].name_len > 0);
		check_inside(buf, head_len, h[i].name, h[i].name_len);
		check_inside(buf, head_len, h[i].value, h[i].value_len);
		for (size_t k = 0; k < h[i].name_len; k++) {
			unsigned char c = (unsigned char)h[i].name[k];

			check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') || (c && strchr(tchar_extra, c)));
		}
		check(h[i].name[h[i].name_len] == ':');
		for (size_t k = 0; k < h[i].value_len; k++) {
			unsigned char c = (unsigned char)h[i].value[k];

			check(c == '\t' || (c >= 0x20 && c != 0x7f));
		}
		if (h[i].value_len) {
			check(h[i].value[0] != ' ' && h[i].value[0] != '\t');
			check(h[i].value[h[i].value_len - 1] != ' ' &&
			      h[i].value[h[i].value_len - 1] != '\t');
		}
		/* the lookup finds this name, at this index or an earlier one */
		char name[256];
		if (h[i].name_len < sizeof(name)) {
			memcpy(name, h[i].name, h[i].name_len);
			name[h[i].name_len] = '\0';
			const struct http_header *f = http_find_header(h, n, name);
			check(f && f <= &h[i]);
		}
	}
	int rc = http_content_length(h, n, &cl);
	check(rc == 0 || rc == -EBADMSG);
	if (rc == 0)
		check(cl <= HTTP_MAX_CONTENT_LENGTH);
}

/* Decoding never grows, and the result is a C string of exactly the returned length. */
static void check_decoded(int rc, const char *out, size_t in_len, size_t outlen)
{
	check(rc >= 0 || rc == -EBADMSG || rc == -ENOSPC || rc == -ENOENT);
	if (rc >= 0) {
		check((size_t)rc <= in_len && (size_t)rc < outlen);
		check(strlen(out) == (size_t)rc);
	}
}

static void fuzz_target(const char *t, size_t len)
{
	const char *query;
	size_t path_len, query_len;
	char out[64];
	int rc;

	http_target_split(t, len, &path_len, &query, &query_len);
	check(path_len <= len);
	if (query) {
		check(query == t + path_len + 1 && t[path_len] == '?');
		check(path_len + 1 + query_len == len);
	} else {
		check(path_len == len && query_len == 0);
	}
	rc = http_pct_decode(t, path_len, out, sizeof(out));
	check_decoded(rc, out, path_len, sizeof(out));

	/* look up the first key of the query, and a few fixed names */
	if (query_len) {
		const char *eq = memchr(query, '=', query_len);
		size_t key_len = eq ? (size_t)(eq - query) : 0;
		char key[32];

		/* a NUL would end the C-string key early, so the lookup could miss */
		if (eq && key_len < sizeof(key) && !memchr(query, '&', key_len) &&
		    !memchr(query, '\0', key_len)) {
			memcpy(key, query, key_len);
			key[key_len] = '\0';
			rc = http_query_param(query, query_len, key, out, sizeof(out));
			check(rc != -ENOENT);
			check_decoded(rc, out, query_len, sizeof(out));
		}
	}
	rc = http_query_param(query, query_len, "protocol", out, sizeof(out));
	check_decoded(rc, out, query_len, sizeof(out));
	rc = http_query_param(query, query_len, "", out, 4);
	check_decoded(rc, out, query_len, 4);
}

static void fuzz_request(const char *buf, size_t len)
{
	static struct http_request req, again;
	int rc = http_parse_request(buf, len, FUZZ_MAX_HEAD, &req);

	check_rc(rc, len, FUZZ_MAX_HEAD);
	if (rc <= 0) {
		/* a head that is incomplete or refused stays so on any shorter prefix... */
		if (len) {
			int r2 = http_parse_request(buf, len / 2, FUZZ_MAX_HEAD, &again);

			check(r2 == 0 || r2 == rc);
		}
		return;
	}

	size_t head = (size_t)rc;

	check(req.head_len == head && head >= 16);
	check(memcmp(buf + head - 4, "\r\n\r\n", 4) == 0);
	check(req.version_minor == 0 || req.version_minor == 1);
	check(req.method_len > 0 && req.target_len > 0);
	check_inside(buf, head, req.method, req.method_len);
	check_inside(buf, head, req.target, req.target_len);
	check(req.method[req.method_len] == ' ' && req.target[-1] == ' ');
	check(req.target[req.target_len] == ' ');
	check_headers(buf, head, req.headers, req.n_headers);
	if (req.version_minor == 1)
		check(http_find_header(req.headers, req.n_headers, "host"));
	fuzz_target(req.target, req.target_len);

	/* the same head, whatever follows it and however tight the limit */
	check(http_parse_request(buf, head, head, &again) == rc);
	check(http_parse_request(buf, len, head - 1, &again) == -EMSGSIZE);
	check(http_parse_request(buf, head - 1, FUZZ_MAX_HEAD, &again) == 0);
	check(http_parse_request(buf, head / 2, FUZZ_MAX_HEAD, &again) == 0);
}

static void fuzz_response(const char *buf, size_t len)
{
	static struct http_response resp, again;
	int rc = http_parse_response(buf, len, FUZZ_MAX_HEAD, &resp);

	check_rc(rc, len, FUZZ_MAX_HEAD);
	if (rc <= 0)
		return;

	size_t head = (size_t)rc;

	check(resp.head_len == head && head >= 17);
	check(memcmp(buf + head - 4, "\r\n\r\n", 4) == 0);
	check(resp.version_minor == 0 || resp.version_minor == 1);
	check(resp.status >= 100 && resp.status <= 599);
	check_inside(buf, head, resp.reason, resp.reason_len);
	check(resp.reason[resp.reason_len] == '\r');
	check_headers(buf, head, resp.headers, resp.n_headers);

	check(http_parse_response(buf, head, head, &again) == rc);
	check(http_parse_response(buf, len, head - 1, &again) == -EMSGSIZE);
	check(http_parse_response(buf, head - 1, FUZZ_MAX_HEAD, &again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char out[32];
	int rc;

	fuzz_request(buf, size);
	fuzz_response(buf, size);

	/* the helpers on raw bytes too, as they may see more than parsed targets */
	rc = http_pct_decode(buf, size, out, sizeof(out));
	check_decoded(rc, out, size, sizeof(out));
	rc = http_query_param(buf, size, "a", out, sizeof(out));
	check_decoded(rc, out, size, sizeof(out));
	if (size >= 2)
		fuzz_target(buf, size);
	return 0;
}
