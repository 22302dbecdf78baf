// SPDX-License-Identifier: MIT
/* fuzz_proxy_framing: response framing, the close-head rewrite and the chunked parser. */
// fuzz-sources: userspace/portgate-proxy/proxy_framing.c userspace/lib/http_head.c
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../userspace/portgate-proxy/proxy_framing.h"
#include "fuzz_check.h"

#define FUZZ_HEAD_MAX 16384

/*
 * The chunked parser on data, fed whole and then in pieces whose sizes come from the data
 * itself: both must agree on the bytes taken, on the end and on the error; what was taken
 * never exceeds what was given.
 */
static void fuzz_chunked(const uint8_t *data, size_t size)
{
	struct proxy_chunked whole = { 0 }, parts = { 0 };
	bool done_w = false, done_p = false;
	ssize_t w = proxy_chunked_feed(&whole, (const char *)data, size, &done_w), p = 0;
	size_t at = 0, step = size ? (size_t)data[0] % 7 + 1 : 1;

	check(w == -EBADMSG || (w >= 0 && (size_t)w <= size));
	check(!(w >= 0 && (size_t)w < size) || done_w); /* stops early only at the end */
	while (at < size && !done_p) {
		size_t n = size - at < step ? size - at : step;
		ssize_t r = proxy_chunked_feed(&parts, (const char *)data + at, n, &done_p);

		if (r < 0) {
			p = r;
			break;
		}
		check((size_t)r <= n);
		p += r;
		at += n;
		step = step % 5 + 1;
	}
	check(p == w);
	check(done_p == done_w);
}

/* A response head: framing decided or refused; the close rewrite is a valid head whose only
 * Connection field is "close", with every other field kept. */
static void fuzz_response(const uint8_t *data, size_t size, bool head_request)
{
	static struct http_response r, again;
	static char out[FUZZ_HEAD_MAX + 64];
	enum proxy_body body;
	uint64_t len;
	bool keep;
	int hl = http_parse_response((const char *)data, size, FUZZ_HEAD_MAX, &r);
	size_t n, kept = 0;

	if (hl <= 0)
		return;
	if (proxy_framing_response(&r, head_request, &body, &len, &keep) == 0) {
		check(body != PROXY_BODY_CLOSE || !keep);
		check(body == PROXY_BODY_LENGTH || len == 0);
		check(!head_request || body == PROXY_BODY_NONE);
	}
	n = proxy_framing_close_head(&r, (const char *)data, (size_t)hl, out);
	check(n <= (size_t)hl + sizeof(PROXY_CLOSE_LINE));
	for (size_t i = 0; i < r.n_headers; i++)
		kept += !http_find_header(&r.headers[i], 1, "connection") &&
			!http_find_header(&r.headers[i], 1, "keep-alive");
	if (kept + 1 > HTTP_MAX_HEADERS)
		return; /* one field over what this parser reads back (clients take more) */
	check(http_parse_response(out, n, FUZZ_HEAD_MAX + 64, &again) == (int)n);
	check(again.status == r.status);
	check(again.n_headers == kept + 1);
	check(http_find_header(again.headers, again.n_headers, "connection")->value_len == 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_chunked(data, size);
	fuzz_response(data, size, size && (data[size - 1] & 1));
	return 0;
}
