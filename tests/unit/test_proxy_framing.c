// SPDX-License-Identifier: MIT
/* test_proxy_framing: which requests may reuse a backend connection, and where responses end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* The proxy is a program, not a library: its pure modules are compiled into this test. */
#include "../../userspace/portgate-proxy/proxy_framing.c"

/* proxy_framing_request on a complete head; -1 when it does not parse. */
static int req(const char *text, size_t drop[2], uint64_t *body)
{
	struct http_request r;

	if (http_parse_request(text, strlen(text), 16384, &r) <= 0)
		return -1;
	return proxy_framing_request(&r, text, drop, body);
}

static void test_request_close_reusable(void **state)
{
	const char *t = "GET /a HTTP/1.1\r\nHost: x\r\nConnection: Close\r\nAccept: */*\r\n\r\n";
	size_t drop[2];
	uint64_t body = 99;

	(void)state;
	assert_int_equal(req(t, drop, &body), 1);
	assert_int_equal(body, 0);
	assert_memory_equal(t + drop[0], "Connection: Close\r\n", drop[1] - drop[0]);
	assert_int_equal(drop[1] - drop[0], strlen("Connection: Close\r\n"));

	t = "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nconnection:close\r\n\r\n";
	assert_int_equal(req(t, drop, &body), 1);
	assert_int_equal(body, 12);
}

static void test_request_not_reusable(void **state)
{
	size_t drop[2];
	uint64_t body;

	(void)state;
	/* keep-alive clients keep their own backend connection (the tunnel) */
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: x\r\n\r\n", drop, &body), 0);
	assert_int_equal(
	    req("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", drop, &body), 0);
	/* other options beside close, two Connection lines, HTTP/1.0 */
	assert_int_equal(
	    req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close, te\r\n\r\n", drop, &body), 0);
	assert_int_equal(req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nConnection: close"
			     "\r\n\r\n",
			     drop, &body),
			 0);
	assert_int_equal(req("GET / HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n", drop, &body),
			 0);
	/* upgrades, CONNECT, chunked uploads */
	assert_int_equal(req("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUpgrade: "
			     "websocket\r\n\r\n",
			     drop, &body),
			 0);
	/* (the gate refuses its authority-form target before this is asked) */
	assert_int_not_equal(
	    req("CONNECT x:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", drop, &body), 1);
	assert_int_equal(
	    req("POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: "
		"chunked\r\n\r\n",
		drop, &body),
	    0);
	/* a body on a method that should not carry one: smuggling bait, kept apart */
	assert_int_equal(
	    req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n"
		"\r\n",
		drop, &body),
	    0);
	assert_int_equal(
	    req("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n"
		"\r\n",
		drop, &body),
	    1);
	assert_int_equal(
	    req("PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n"
		"\r\n",
		drop, &body),
	    1);
}

/* proxy_framing_response on a complete head. */
static int resp(const char *text, bool head_req, enum proxy_body *body, uint64_t *len, bool *keep)
{
	struct http_response r;

	if (http_parse_response(text, strlen(text), 16384, &r) <= 0)
		return -100;
	return proxy_framing_response(&r, head_req, body, len, keep);
}

static void test_response_framing(void **state)
{
	enum proxy_body b;
	uint64_t len;
	bool keep;

	(void)state;
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_LENGTH);
	assert_int_equal(len, 5);
	assert_true(keep);

	assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", false,
			      &b, &len, &keep),
			 0);
	assert_int_equal(b, PROXY_BODY_CHUNKED);
	assert_true(keep);

	/* no body: HEAD, 204, 304, 1xx, whatever Content-Length says */
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_NONE);
	assert_int_equal(resp("HTTP/1.1 204 No Content\r\n\r\n", false, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_NONE);
	assert_int_equal(
	    resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, &b, &len, &keep),
	    0);
	assert_int_equal(b, PROXY_BODY_NONE);
	assert_int_equal(resp("HTTP/1.1 100 Continue\r\n\r\n", false, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_NONE);

	/* until close: not reusable */
	assert_int_equal(resp("HTTP/1.1 200 OK\r\n\r\n", false, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_CLOSE);
	assert_false(keep);
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, &b, &len, &keep), 0);
	assert_int_equal(b, PROXY_BODY_CLOSE);
	assert_false(keep);
	/* the backend closes, or speaks 1.0 */
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: foo, CLOSE\r\n\r\n", false,
		 &b, &len, &keep),
	    0);
	assert_false(keep);
	assert_int_equal(
	    resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, &b, &len, &keep), 0);
	assert_false(keep);

	/* invalid framings */
	assert_int_equal(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
		 "\r\n",
		 false, &b, &len, &keep),
	    -EBADMSG);
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
			      false, &b, &len, &keep),
			 -EBADMSG);
	assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
			      "chunked\r\n\r\n",
			      false, &b, &len, &keep),
			 -EBADMSG);
}

/* Feeds s whole and byte by byte; both must agree. Returns what the whole feed returned. */
static ssize_t chunked(const char *s, size_t n, bool *done)
{
	struct proxy_chunked a = { 0 }, b = { 0 };
	ssize_t whole = proxy_chunked_feed(&a, s, n, done), sum = 0;
	bool d = false;

	for (size_t i = 0; i < n && !d; i++) {
		ssize_t r = proxy_chunked_feed(&b, s + i, 1, &d);

		if (r < 0) {
			sum = r;
			break;
		}
		sum += r;
	}
	assert_int_equal(whole, sum);
	assert_int_equal(*done, d);
	return whole;
}

static void test_chunked_ok(void **state)
{
	const char *s = "5\r\nhello\r\n1A;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
	const char *t = "4\r\nwiki\r\n0\r\nTrailer: a\r\nX: y\r\n\r\n";
	bool done;

	(void)state;
	assert_int_equal(chunked(s, strlen(s), &done), strlen(s) - 4);
	assert_true(done);
	assert_int_equal(chunked(t, strlen(t), &done), strlen(t));
	assert_true(done);
	/* not finished yet: everything consumed, not done */
	assert_int_equal(chunked("5\r\nhel", 6, &done), 6);
	assert_false(done);
}

static void test_chunked_bad(void **state)
{
	static const char *bad[] = {
		"\r\n",				   /* no size */
		"g\r\n",			   /* not hex */
		"5x\r\nhello\r\n",		   /* junk after the size */
		"5\nhello\r\n",			   /* bare LF */
		"5\r\nhelloXX",			   /* data not followed by CRLF */
		"5\r\nhello\r\n0\r\nA\rB\r\n\r\n", /* bare CR in a trailer */
		"1000000000000000\r\n",		   /* 16 hex digits */
		"5;a\x01\r\n",			   /* control byte in an extension */
	};
	char big[PROXY_CHUNK_LINE_MAX + 16];
	bool done;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(chunked(bad[i], strlen(bad[i]), &done), -EBADMSG);
	memset(big, 'a', sizeof(big));
	memcpy(big, "1;", 2);
	assert_int_equal(chunked(big, sizeof(big), &done), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_close_reusable),
		cmocka_unit_test(test_request_not_reusable),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_chunked_ok),
		cmocka_unit_test(test_chunked_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
