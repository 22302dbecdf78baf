/* SPDX-License-Identifier: MIT */
/* http_head: strict, zero-copy HTTP/1.x request and response head parser (RFC 9112). */
#ifndef PORTGATE_HTTP_HEAD_H
#define PORTGATE_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64
/* Empty lines (CRLF) skipped before a request line; RFC 9112 2.2 asks for at least one. */
#define HTTP_MAX_LEADING_CRLF 4
/* Largest Content-Length accepted (2^40). */
#define HTTP_MAX_CONTENT_LENGTH (UINT64_C(1) << 40)

/* All pointers point into the buffer given to the parser; nothing is NUL-terminated. */
struct http_header {
	const char *name;
	size_t name_len;
	const char *value; /* leading and trailing OWS trimmed */
	size_t value_len;
};

struct http_request {
	const char *method;
	size_t method_len;
	const char *target; /* request-target as sent, e.g. "/v1/ports/8080?protocol=tcp" */
	size_t target_len;
	int version_minor; /* HTTP/1.0 -> 0, HTTP/1.1 -> 1 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	size_t head_len; /* bytes of the head including the final CRLFCRLF */
};

struct http_response {
	int status; /* 100..599 */
	const char *reason;
	size_t reason_len;
	int version_minor;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	size_t head_len;
};

/*
 * Parses the head at the start of buf[0..len). Stateless: call again with the whole buffer
 * when more bytes arrive (each call rescans, so cost is O(len) per call).
 * Returns the head length (>0, also in head_len) when a complete head lies in the first
 * max_head bytes; 0 when more bytes are needed (and len < max_head); -EMSGSIZE when the head
 * exceeds max_head bytes or has more than HTTP_MAX_HEADERS headers (-> 431); -EBADMSG when
 * malformed (-> 400), reported as soon as the bytes already present are wrong.
 * Requests: method SP target SP HTTP/1.0|1.1 CRLF, target in origin-form, absolute-form
 * (scheme "://" ...) or "*" (OPTIONS only), visible ASCII without '#'. HTTP/1.1 needs exactly
 * one Host header; no version may have two. Up to HTTP_MAX_LEADING_CRLF empty lines before the
 * request line are skipped. Responses: HTTP/1.0|1.1 SP 3DIGIT SP reason CRLF.
 * *req / *resp is scratch space: its contents are meaningful only when the return is > 0
 * (copying a 2 KB struct out on success would cost more than the parse of a small head).
 */
int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req);
int http_parse_response(const char *buf, size_t len, size_t max_head, struct http_response *resp);

/* Case-insensitive lookup of the first header called name (NUL-terminated); NULL when absent. */
const struct http_header *http_find_header(const struct http_header *h, size_t n, const char *name);

/*
 * Content-Length of a parsed head: 0 and *out = 0 when absent; 0 and the value when present
 * once (or repeated with the same value); -EBADMSG when not 1*DIGIT (lists such as "5, 5" are
 * refused), repeated with different values, above HTTP_MAX_CONTENT_LENGTH, or when
 * Transfer-Encoding is also present. Transfer-Encoding alone is not judged here: the caller
 * must check it. *out is written only on success.
 */
int http_content_length(const struct http_header *h, size_t n, uint64_t *out);

/*
 * Splits a request-target "/a/b?x=1&y=%2F" at the first '?': *path_len is the length before
 * it; *query points after it with *query_len bytes, or is NULL/0 when there is no '?'.
 */
void http_target_split(const char *target, size_t len, size_t *path_len, const char **query,
		       size_t *query_len);

/*
 * Finds the first parameter `name` (compared byte for byte, not decoded) in a query string
 * "a=1&b=2" and percent-decodes its value into out, NUL-terminated. A parameter without '='
 * has an empty value. '+' is kept as '+' (RFC 3986, not form encoding).
 * Returns the decoded length; -ENOENT when absent; -EBADMSG on a bad %-escape or "%00";
 * -ENOSPC when out cannot hold the value and its NUL. out is written only on success.
 */
int http_query_param(const char *query, size_t qlen, const char *name, char *out, size_t outlen);

/*
 * Percent-decodes in[0..len) into out, NUL-terminated. "%2F" yields '/', so decode one path
 * segment at a time. Returns the decoded length; -EBADMSG on a bad %-escape or "%00" (a NUL
 * would truncate the C string); -ENOSPC when out is too small. out is written only on success.
 */
int http_pct_decode(const char *in, size_t len, char *out, size_t outlen);

/* The reason phrase of an HTTP status code ("Not Found"), "Unknown" for others. */
const char *http_status_reason(int status);

#endif
