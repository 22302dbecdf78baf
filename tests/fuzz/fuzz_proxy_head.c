// SPDX-License-Identifier: MIT
/* fuzz_proxy_head: the proxy's verdict and token stripping on any bytes, with invariants. */
// fuzz-sources: userspace/portgate-proxy/proxy_head.c userspace/lib/http_head.c
// fuzz-sources: userspace/portgate-proxy/proxy_framing.c
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../userspace/portgate-proxy/proxy_head.h"
#include "fuzz_check.h"

#define FUZZ_MAX_HEAD 16384

/*
 * The digest is not what is fuzzed here (and libcrypto is not linked): a stand-in with the
 * same contract (false for an empty token) that accepts the token "good".
 */
bool token_matches(const char *token, size_t len, const char *stored_hash)
{
	(void)stored_hash;
	return token && len == 4 && memcmp(token, "good", 4) == 0;
}

static const char *const fuzz_headers[] = { PROXY_TOKEN_HEADER_DEFAULT, "x-a", "Accept" };

/* Fields named name in req, counted. */
static size_t count_named(const struct http_request *req, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (size_t i = 0; i < req->n_headers; i++)
		n += req->headers[i].name_len == len && http_find_header(&req->headers[i], 1, name);
	return n;
}

/*
 * Stripping a parsed head: the result is still a complete, valid head with the same
 * method, no token field and no token parameter, the other fields unchanged and in order,
 * and the bytes after the head untouched.
 */
static void fuzz_strip(const char *data, size_t size, const char *header)
{
	static struct http_request req, after;
	static char buf[FUZZ_MAX_HEAD * 2];
	struct proxy_token tok;
	size_t n, len = size < sizeof(buf) ? size : sizeof(buf);
	int rc;

	memcpy(buf, data, len);
	rc = http_parse_request(buf, len, FUZZ_MAX_HEAD, &req);
	if (rc <= 0)
		return;
	size_t head = (size_t)rc, removed = count_named(&req, header);
	size_t fields = req.n_headers;
	int found = proxy_head_token(&req, header, &tok);

	check(found == 0 || found == 1 || found == -EBADMSG);
	n = proxy_head_strip(buf, len, &req, header);
	check(n <= len);
	for (size_t i = n; i < len; i++)
		check(buf[i] == 0);
	rc = http_parse_request(buf, n, FUZZ_MAX_HEAD, &after);
	check(rc > 0);
	size_t new_head = (size_t)rc;

	check(new_head <= head && n - new_head == len - head);
	check(memcmp(buf + new_head, data + head, len - head) == 0);
	check(after.n_headers == fields - removed);
	check(count_named(&after, header) == 0);
	check(proxy_head_token(&after, header, &tok) == 0);
	check(after.method_len == req.method_len);
	check(memcmp(after.method, data, after.method_len) == 0 || data[0] == '\r');
	/* stripping again changes nothing */
	check(proxy_head_strip(buf, n, &after, header) == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[FUZZ_MAX_HEAD * 2];
	const char *header = fuzz_headers[size ? data[size - 1] % 3 : 0];
	const char *reason = NULL;
	size_t len = size < sizeof(buf) ? size : sizeof(buf), fwd = 0;
	int status;

	memcpy(buf, data, len);
	status = proxy_head_judge(buf, len, FUZZ_MAX_HEAD, header, "sha256:x", &fwd, &reason);
	check(status == 0 || status == 200 || status == 400 || status == 401 || status == 403 ||
	      status == 431);
	if (status)
		check(reason != NULL);
	if (status == 200) {
		static struct http_request req;
		struct proxy_token tok;

		check(fwd <= len);
		check(http_parse_request(buf, fwd, FUZZ_MAX_HEAD, &req) > 0);
		check(proxy_head_token(&req, header, &tok) == 0);
	}
	fuzz_strip((const char *)data, size, header);
	return 0;
}
