// SPDX-License-Identifier: MIT
/* test_http_head: the strict HTTP/1.x head parser and its helpers, with plenty of bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "http_head.h"

#define MAX_HEAD 8192

/* A byte string with its length, so cases may hold NUL bytes. */
struct bytes {
	const char *s;
	size_t len;
};
#define B(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

static struct http_request req;
static struct http_response resp;

static int parse_req(const char *s, size_t len)
{
	return http_parse_request(s, len, MAX_HEAD, &req);
}

static int parse_req_str(const char *s)
{
	return parse_req(s, strlen(s));
}

static int parse_resp(const char *s, size_t len)
{
	return http_parse_response(s, len, MAX_HEAD, &resp);
}

static int parse_resp_str(const char *s)
{
	return parse_resp(s, strlen(s));
}

static void assert_span(const char *p, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void assert_header(const struct http_header *h, const char *name, const char *value)
{
	assert_span(h->name, h->name_len, name);
	assert_span(h->value, h->value_len, value);
}

/* Every strict prefix of a valid head needs more bytes: none may be refused early. */
static void assert_prefixes_incomplete(const char *s, size_t head_len, bool response)
{
	for (size_t i = 0; i < head_len; i++) {
		int rc = response ? parse_resp(s, i) : parse_req(s, i);

		if (rc != 0)
			fail_msg("prefix of %zu bytes of %.*s: rc %d", i, (int)head_len, s, rc);
	}
}

/* ---- requests: valid ---- */

static void test_http_head_request_get(void **state)
{
	static const char s[] = "GET /v1/ports/8080?protocol=tcp HTTP/1.1\r\n"
				"Host: localhost\r\n"
				"User-Agent: portgate/1.0\r\n"
				"\r\n";
	int rc = parse_req_str(s);

	(void)state;
	assert_int_equal(rc, strlen(s));
	assert_int_equal(req.head_len, strlen(s));
	assert_span(req.method, req.method_len, "GET");
	assert_span(req.target, req.target_len, "/v1/ports/8080?protocol=tcp");
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.n_headers, 2);
	assert_header(&req.headers[0], "Host", "localhost");
	assert_header(&req.headers[1], "User-Agent", "portgate/1.0");
	/* zero-copy: everything points into the caller's buffer */
	assert_ptr_equal(req.method, s);
	assert_ptr_equal(req.headers[0].name, s + 42);
}

static void test_http_head_request_post_with_body(void **state)
{
	static const char s[] = "POST /v1/ports HTTP/1.1\r\n"
				"Host: x\r\n"
				"Content-Type: application/json\r\n"
				"Content-Length: 13\r\n"
				"\r\n"
				"{\"port\":8080}";
	uint64_t cl = 99;
	int rc = parse_req_str(s);

	(void)state;
	assert_int_equal(rc, strlen(s) - 13);
	assert_span(req.method, req.method_len, "POST");
	assert_int_equal(http_content_length(req.headers, req.n_headers, &cl), 0);
	assert_int_equal(cl, 13);
	assert_memory_equal(s + rc, "{\"port\":8080}", 13);
}

static void test_http_head_request_http10_without_host(void **state)
{
	(void)state;
	assert_int_equal(parse_req_str("GET / HTTP/1.0\r\n\r\n"), 18);
	assert_int_equal(req.version_minor, 0);
	assert_int_equal(req.n_headers, 0);
}

static void test_http_head_request_options_asterisk(void **state)
{
	(void)state;
	assert_true(parse_req_str("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
	assert_span(req.target, req.target_len, "*");
}

static void test_http_head_request_absolute_form(void **state)
{
	(void)state;
	assert_true(parse_req_str(
			"GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n") > 0);
	assert_span(req.target, req.target_len, "http://example.com/x?y=1");
	assert_true(parse_req_str("GET svn+ssh.x-y://h HTTP/1.1\r\nHost: h\r\n\r\n") > 0);
}

static void test_http_head_request_extension_method(void **state)
{
	(void)state;
	assert_true(parse_req_str("M-SEARCH! / HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
	assert_span(req.method, req.method_len, "M-SEARCH!");
}

static void test_http_head_request_leading_crlf(void **state)
{
	const char *one = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *four = "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *five = "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";

	(void)state;
	assert_int_equal(parse_req_str(one), strlen(one));
	assert_span(req.method, req.method_len, "GET");
	assert_int_equal(parse_req_str(four), strlen(four));
	assert_int_equal(parse_req_str(five), -EBADMSG);
	/* refused as soon as the fifth CR shows up */
	assert_int_equal(parse_req(five, 9), -EBADMSG);
	assert_int_equal(parse_req_str("\r\n\r\n"), 0);
	assert_int_equal(parse_req_str("\n"), -EBADMSG);
	assert_int_equal(parse_req_str("\r\r"), -EBADMSG);
}

static void test_http_head_request_ows_trimmed(void **state)
{
	(void)state;
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost: \t a b \t \r\nX-Empty:\r\n"
				  "X-Blank: \t \r\nX-Tight:v\r\n\r\n") > 0);
	assert_int_equal(req.n_headers, 4);
	assert_header(&req.headers[0], "Host", "a b");
	assert_header(&req.headers[1], "X-Empty", "");
	assert_header(&req.headers[2], "X-Blank", "");
	assert_header(&req.headers[3], "X-Tight", "v");
}

static void test_http_head_request_obs_text_value(void **state)
{
	(void)state;
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \x80\xff\r\n\r\n") >
		    0);
	assert_header(&req.headers[1], "X", "caf\xc3\xa9 \x80\xff");
}

static void test_http_head_request_header_count_limit(void **state)
{
	char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");

	(void)state;
	for (int i = 1; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: %d\r\n", i, i);
	memcpy(buf + n, "\r\n", 3);
	assert_int_equal(parse_req(buf, n + 2), n + 2);
	assert_int_equal(req.n_headers, HTTP_MAX_HEADERS);
	assert_header(&req.headers[HTTP_MAX_HEADERS - 1], "X-63", "63");

	/* a 65th field is refused as soon as its first byte arrives */
	memcpy(buf + n, "Y", 1);
	assert_int_equal(parse_req(buf, n + 1), -EMSGSIZE);
	assert_int_equal(parse_req(buf, n), 0);
}

static void test_http_head_request_max_head(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
	size_t head = sizeof(s) - 1 - 4;

	(void)state;
	assert_int_equal(http_parse_request(s, sizeof(s) - 1, head, &req), head);
	assert_int_equal(http_parse_request(s, sizeof(s) - 1, head - 1, &req), -EMSGSIZE);
	assert_int_equal(http_parse_request(s, head - 1, head - 1, &req), -EMSGSIZE);
	assert_int_equal(http_parse_request(s, head - 1, head, &req), 0);
	assert_int_equal(http_parse_request(s, 0, 0, &req), -EMSGSIZE);
	assert_int_equal(http_parse_request(s, 0, 10, &req), 0);
	assert_int_equal(http_parse_request(s, sizeof(s) - 1, SIZE_MAX, &req), head);
	/* malformed bytes within the limit win over the size limit */
	assert_int_equal(http_parse_request("GET /\x01", 6, 6, &req), -EBADMSG);
}

static void test_http_head_request_prefixes_need_more(void **state)
{
	static const char *const valid[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\n\r\nPOST /x?y=%20 HTTP/1.0\r\nContent-Length: 3\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\nX:\r\nY: \t\r\n\r\n",
		"GET https://h:8443/p HTTP/1.1\r\nhost: h\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t len = strlen(valid[i]);

		assert_int_equal(parse_req(valid[i], len), len);
		assert_prefixes_incomplete(valid[i], len, false);
	}
}

/* ---- requests: malformed ---- */

static void test_http_head_request_bad_request_line(void **state)
{
	static const struct bytes bad[] = {
		B("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), /* two spaces */
		B("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), /* two spaces */
		B(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), /* leading space */
		B("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), /* HTAB separator */
		B("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), /* trailing space */
		B("GET / HTTP/1.1\nHost: a\r\n\r\n"),	 /* bare LF */
		B("GET / HTTP/1.1\rHost: a\r\n\r\n"),	 /* bare CR */
		B("GET /\r\nHost: a\r\n\r\n"),		 /* HTTP/0.9 */
		B("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),	 /* other versions */
		B("GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
		B("GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
		B("GET / HTTP/1\r\nHost: a\r\n\r\n"),
		B("GET / http/1.1\r\nHost: a\r\n\r\n"),
		B("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), /* non-tchar in method */
		B("GET@ / HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n"),	    /* NUL */
		B("\xef\xbb\xbfGET / HTTP/1.1\r\nHost: a\r\n\r\n"), /* BOM */
		B("/ HTTP/1.1\r\nHost: a\r\n\r\n"),		    /* no method */
		B("GET HTTP/1.1\r\nHost: a\r\n\r\n"),		    /* no target */
		B("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),  /* TLS ClientHello */
		B("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),		    /* HTTP/2 preface */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_req(bad[i].s, bad[i].len);

		if (rc != -EBADMSG)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_http_head_request_bad_target(void **state)
{
	static const struct bytes bad[] = {
		B("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* space in target */
		B("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* HTAB */
		B("GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* NUL */
		B("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* DEL */
		B("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), /* raw UTF-8 */
		B("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* fragment */
		B("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n"),	   /* relative */
		B("GET ../etc HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("GET * HTTP/1.1\r\nHost: a\r\n\r\n"),	    /* asterisk needs OPTIONS */
		B("options * HTTP/1.1\r\nHost: a\r\n\r\n"), /* methods are case-sensitive */
		B("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n"), /* absolute-form needs "://" */
		B("GET http HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("GET host:80 HTTP/1.1\r\nHost: a\r\n\r\n"),	 /* authority-form */
		B("GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), /* scheme starts with ALPHA */
		B("GET ht_tp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
		B("GET \\ HTTP/1.1\r\nHost: a\r\n\r\n"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_req(bad[i].s, bad[i].len);

		if (rc != -EBADMSG)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_http_head_request_bad_fields(void **state)
{
	static const struct bytes bad[] = {
		B("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),  /* space before colon */
		B("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), /* HTAB before colon */
		B("GET / HTTP/1.1\r\nHost a\r\n\r\n"),	  /* no colon */
		B("GET / HTTP/1.1\r\nHost\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"),	       /* empty name */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),  /* obs-fold */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"), /* obs-fold */
		B("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),      /* whitespace after start line */
		B("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), /* bare LF */
		B("GET / HTTP/1.1\r\nHost: a\r\n\n"),	      /* bare LF ending */
		B("GET / HTTP/1.1\r\nHost: a\r\n\r\r"),
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),     /* bare CR */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),   /* NUL */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"),    /* DEL */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[0m\r\n\r\n"), /* ESC */
		B("GET / HTTP/1.1\r\nHost: a\r\nX: \x0b\r\n\r\n"),     /* VT */
		B("GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n"),      /* non-tchar name */
		B("GET / HTTP/1.1\r\nHost: a\r\nX\"Y: 1\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHost: a\r\nX/Y: 1\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: 1\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n"),
		B("GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_req(bad[i].s, bad[i].len);

		if (rc != -EBADMSG)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_http_head_request_host_rules(void **state)
{
	(void)state;
	assert_int_equal(parse_req_str("GET / HTTP/1.1\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse_req_str("GET / HTTP/1.1\r\nX-Host: a\r\nHosts: b\r\n\r\n"),
			 -EBADMSG);
	assert_int_equal(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse_req_str("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), -EBADMSG);
	/* the duplicate is refused before the head is complete */
	assert_int_equal(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nHOST:"), -EBADMSG);
	/* an empty Host is allowed (RFC 9110 7.2) */
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost:\r\n\r\n") > 0);
	assert_true(parse_req_str("GET / HTTP/1.0\r\nHost: a\r\n\r\n") > 0);
}

static void test_http_head_request_garbage_rejected_early(void **state)
{
	(void)state;
	/* each is refused without waiting for the rest of a head */
	static const struct bytes bad[] = {
		B("\x16\x03"),
		B("{\"json\":1}"),
		B("GET /\x01"),
		B("GET / HTTP/2"),
		B("GET / HTTP/1.1\r\nHost: a\r\nBad Header"),
		B("GET / HTTP/1.1\r\nX: \x00"),
		B("GET / HTTP/1.1\r\n\t"),
		B("GET / HTTP/1.1\r\nX: y\n"),
		B("GET 1"),
		B("OPTIONS *a"),
		B("GET http:x"),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_req(bad[i].s, bad[i].len);

		if (rc != -EBADMSG)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_http_head_request_all_single_bytes(void **state)
{
	(void)state;
	/* Every byte at every position of a small head: never a crash, and only sane results. */
	char buf[] = "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n\r\n";
	size_t len = sizeof(buf) - 1;

	for (size_t pos = 0; pos < len; pos++) {
		char orig = buf[pos];

		for (int c = 0; c < 256; c++) {
			int rc;

			buf[pos] = (char)c;
			rc = parse_req(buf, len);
			assert_true(rc == (int)len || rc == 0 || rc == -EBADMSG);
			if (rc > 0)
				assert_true(req.head_len == len && req.n_headers <= 2);
		}
		buf[pos] = orig;
	}
}

/* ---- responses ---- */

static void test_http_head_response_ok(void **state)
{
	static const char s[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
	uint64_t cl;
	int rc = parse_resp_str(s);

	(void)state;
	assert_int_equal(rc, strlen(s) - 5);
	assert_int_equal(resp.head_len, rc);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.version_minor, 1);
	assert_span(resp.reason, resp.reason_len, "OK");
	assert_int_equal(resp.n_headers, 2);
	assert_header(&resp.headers[1], "Server", "x");
	assert_int_equal(http_content_length(resp.headers, resp.n_headers, &cl), 0);
	assert_int_equal(cl, 5);
	assert_prefixes_incomplete(s, (size_t)rc, true);
}

static void test_http_head_response_variants(void **state)
{
	(void)state;
	assert_true(parse_resp_str("HTTP/1.0 404 Not Found\r\n\r\n") > 0);
	assert_int_equal(resp.version_minor, 0);
	assert_int_equal(resp.status, 404);
	assert_span(resp.reason, resp.reason_len, "Not Found");
	assert_true(parse_resp_str("HTTP/1.1 204 \r\n\r\n") > 0);
	assert_int_equal(resp.reason_len, 0);
	assert_true(parse_resp_str("HTTP/1.1 100 Continue\r\n\r\n") > 0);
	assert_true(parse_resp_str("HTTP/1.1 599 x\r\n\r\n") > 0);
	assert_true(parse_resp_str("HTTP/1.1 200 \xc3\xa7"
				   "a va\t\r\n\r\n") > 0);
	/* no Host rule for responses, and duplicates are the reader's business */
	assert_true(parse_resp_str("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n\r\n") > 0);
	assert_int_equal(parse_resp_str("HTTP/1.1 200 OK\r\n"), 0);
	assert_int_equal(parse_resp_str(""), 0);
}

static void test_http_head_response_bad(void **state)
{
	static const struct bytes bad[] = {
		B("HTTP/1.1 200\r\n\r\n"), /* the SP before the reason is required */
		B("HTTP/1.1 099 x\r\n\r\n"),
		B("HTTP/1.1 600 x\r\n\r\n"),
		B("HTTP/1.1 000 x\r\n\r\n"),
		B("HTTP/1.1 20 OK\r\n\r\n"),
		B("HTTP/1.1 2000 OK\r\n\r\n"),
		B("HTTP/1.1 2x0 OK\r\n\r\n"),
		B("HTTP/1.1 -20 OK\r\n\r\n"),
		B("HTTP/1.1  200 OK\r\n\r\n"),
		B("HTTP/2 200 OK\r\n\r\n"),
		B("HTTP/1.2 200 OK\r\n\r\n"),
		B("http/1.1 200 OK\r\n\r\n"),
		B("\r\nHTTP/1.1 200 OK\r\n\r\n"),
		B("HTTP/1.1 200 OK\n\r\n"),
		B("HTTP/1.1 200 O\x00K\r\n\r\n"),
		B("HTTP/1.1 200 O\rK\r\n\r\n"),
		B("HTTP/1.1 200 OK\r\nX : y\r\n\r\n"),
		B("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n"),
		B("HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n"),
		B("HTTP/1.1\t200 OK\r\n\r\n"),
		B("HTTP/1.1 200 OK\r\n\r\r"),
		B("ICY 200 OK\r\n\r\n"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_resp(bad[i].s, bad[i].len);

		if (rc != -EBADMSG)
			fail_msg("case %zu: rc %d", i, rc);
	}
}

static void test_http_head_response_limits(void **state)
{
	char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");

	(void)state;
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: %d\r\n", i, i);
	memcpy(buf + n, "\r\n", 3);
	assert_int_equal(parse_resp(buf, n + 2), -EMSGSIZE);
	assert_int_equal(http_parse_response(buf, n + 2, 20, &resp), -EMSGSIZE);
	assert_int_equal(http_parse_response(buf, 19, 20, &resp), 0);
}

/* ---- http_find_header ---- */

static void test_http_head_find_header(void **state)
{
	const struct http_header *h;

	(void)state;
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nX-Token: t1\r\nx-token: t2\r\n"
				  "X-Tok: short\r\n\r\n") > 0);
	h = http_find_header(req.headers, req.n_headers, "x-TOKEN");
	assert_non_null(h);
	assert_span(h->value, h->value_len, "t1"); /* the first wins */
	assert_null(http_find_header(req.headers, req.n_headers, "X-To"));
	assert_null(http_find_header(req.headers, req.n_headers, "X-Token-2"));
	assert_null(http_find_header(req.headers, req.n_headers, ""));
	assert_null(http_find_header(req.headers, 0, "Host"));
	/* '@' (0x40) and '`' (0x60) differ from 'A'/'a' by the case bit: not equal */
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\nA`: 1\r\n\r\n") > 0);
	assert_null(http_find_header(req.headers, req.n_headers, "a@"));
}

/* ---- http_content_length ---- */

static int cl_of(const char *value, uint64_t *out)
{
	struct http_header h = { "Content-Length", 14, value, strlen(value) };

	return http_content_length(&h, 1, out);
}

static void test_http_head_content_length_values(void **state)
{
	static const char *const bad[] = {
		"",
		"abc",
		"-1",
		"+1",
		"1 2",
		"1,1",
		"1, 1",
		"0x10",
		"1.0",
		" 1",
		"1 ",
		"1099511627777",
		"99999999999999999999999999",
		"18446744073709551616",
	};
	uint64_t v = 7;

	(void)state;
	assert_int_equal(cl_of("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cl_of("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cl_of("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cl_of("1099511627776", &v), 0); /* 2^40 */
	assert_int_equal(v, 1099511627776ULL);
	assert_int_equal(cl_of("00000000000000000000000001", &v), 0);
	assert_int_equal(v, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (cl_of(bad[i], &v) != -EBADMSG)
			fail_msg("case %zu (%s) accepted", i, bad[i]);
		assert_int_equal(v, 12345); /* untouched on error */
	}
}

static void test_http_head_content_length_headers(void **state)
{
	uint64_t v = 5;

	(void)state;
	assert_true(parse_req_str("GET / HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(http_content_length(NULL, 0, &v), 0);

	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 3\r\n"
				  "Content-Length: 003\r\n\r\n") > 0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), 0);
	assert_int_equal(v, 3);

	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
				  "Content-Length: 4\r\n\r\n") > 0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), -EBADMSG);

	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n") > 0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), -EBADMSG);
	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n"
				  "Content-Length: 3\r\n\r\n") > 0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), -EBADMSG);

	/* Transfer-Encoding alone is the caller's to judge */
	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n") > 0);
	v = 9;
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), 0);
	assert_int_equal(v, 0);

	/* OWS around the value was trimmed by the parser */
	assert_true(parse_req_str("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \t12 \r\n\r\n") >
		    0);
	assert_int_equal(http_content_length(req.headers, req.n_headers, &v), 0);
	assert_int_equal(v, 12);
}

/* ---- http_target_split ---- */

static void test_http_head_target_split(void **state)
{
	const char *t = "/a/b?x=1&y=%2F", *q;
	size_t path_len, qlen;

	(void)state;
	http_target_split(t, strlen(t), &path_len, &q, &qlen);
	assert_int_equal(path_len, 4);
	assert_ptr_equal(q, t + 5);
	assert_span(q, qlen, "x=1&y=%2F");

	http_target_split("/a", 2, &path_len, &q, &qlen);
	assert_int_equal(path_len, 2);
	assert_null(q);
	assert_int_equal(qlen, 0);

	http_target_split("/a?", 3, &path_len, &q, &qlen);
	assert_int_equal(path_len, 2);
	assert_non_null(q);
	assert_int_equal(qlen, 0);

	http_target_split("/?a?b", 5, &path_len, &q, &qlen);
	assert_int_equal(path_len, 1);
	assert_span(q, qlen, "a?b");

	/* the length bounds the search, not a NUL */
	http_target_split("/a?b", 2, &path_len, &q, &qlen);
	assert_int_equal(path_len, 2);
	assert_null(q);

	http_target_split(NULL, 0, &path_len, &q, &qlen);
	assert_int_equal(path_len, 0);
	assert_null(q);
}

/* ---- http_query_param ---- */

static void test_http_head_query_param_found(void **state)
{
	const char *q = "protocol=tcp&path=%2Fvar%2flib&flag&empty=&x=a+b&dup=1&dup=2";
	char out[64];

	(void)state;
	assert_int_equal(http_query_param(q, strlen(q), "protocol", out, sizeof(out)), 3);
	assert_string_equal(out, "tcp");
	assert_int_equal(http_query_param(q, strlen(q), "path", out, sizeof(out)), 8);
	assert_string_equal(out, "/var/lib");
	assert_int_equal(http_query_param(q, strlen(q), "flag", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_param(q, strlen(q), "empty", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_param(q, strlen(q), "x", out, sizeof(out)), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(http_query_param(q, strlen(q), "dup", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	/* '=' inside a value is part of the value */
	assert_int_equal(http_query_param("a=b=c", 5, "a", out, sizeof(out)), 3);
	assert_string_equal(out, "b=c");
	/* empty segments are skipped */
	assert_int_equal(http_query_param("&&a=1&", 6, "a", out, sizeof(out)), 1);
}

static void test_http_head_query_param_absent(void **state)
{
	const char *q = "xy=1&a=x&=z&X=2";
	char out[8] = "keep";

	(void)state;
	assert_int_equal(http_query_param(q, strlen(q), "x", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_param(q, strlen(q), "xyz", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_param(q, strlen(q), "z", out, sizeof(out)), -ENOENT);
	/* qlen bounds the search: only "a" is visible */
	assert_int_equal(http_query_param("ab=1", 1, "ab", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_param(NULL, 0, "a", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_param("", 0, "", out, sizeof(out)), -ENOENT);
	assert_string_equal(out, "keep");
	/* an empty key is a key like any other */
	assert_int_equal(http_query_param(q, strlen(q), "", out, sizeof(out)), 1);
	assert_string_equal(out, "z");
}

static void test_http_head_query_param_errors(void **state)
{
	static const char *const bad[] = { "v=%",   "v=%2",  "v=%zz", "v=%g0",
					   "v=%0g", "v=%00", "v=a%",  "v=%%41" };
	char out[8] = "keep";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_query_param(bad[i], strlen(bad[i]), "v", out, sizeof(out)) != -EBADMSG)
			fail_msg("case %zu (%s) accepted", i, bad[i]);
	assert_string_equal(out, "keep");
	/* a bad escape elsewhere does not matter */
	assert_int_equal(http_query_param("w=%zz&v=1", 9, "v", out, sizeof(out)), 1);

	/* room for the value and its NUL */
	assert_int_equal(http_query_param("v=abcd", 6, "v", out, 4), -ENOSPC);
	assert_int_equal(http_query_param("v=abcd", 6, "v", out, 5), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(http_query_param("v=%41%42", 8, "v", out, 3), 2);
	assert_string_equal(out, "AB");
	assert_int_equal(http_query_param("v=", 2, "v", out, 0), -ENOSPC);
}

/* ---- http_pct_decode ---- */

static void test_http_head_pct_decode(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(http_pct_decode("abc", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(http_pct_decode("%41%62%7a%7A", 12, out, sizeof(out)), 4);
	assert_string_equal(out, "Abzz");
	assert_int_equal(http_pct_decode("a%2Fb", 5, out, sizeof(out)), 3);
	assert_string_equal(out, "a/b");
	assert_int_equal(http_pct_decode("%FF%80", 6, out, sizeof(out)), 2);
	assert_memory_equal(out, "\xff\x80", 3);
	assert_int_equal(http_pct_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_pct_decode(NULL, 0, out, 1), 0);
	assert_int_equal(http_pct_decode("%41", 1, out, sizeof(out)), -EBADMSG); /* len bounds */
	assert_int_equal(http_pct_decode("%41", 3, out, 2), 1);
	assert_int_equal(http_pct_decode("%41", 3, out, 1), -ENOSPC);
	assert_int_equal(http_pct_decode("", 0, out, 0), -ENOSPC);
}

static void test_http_head_pct_decode_bad(void **state)
{
	static const struct bytes bad[] = {
		B("%"),	  B("%4"),   B("a%"),  B("%%"),	 B("%4g"), B("%g4"), B("% 4"),
		B("%00"), B("a\0b"), B("%-1"), B("%+1"), B("%0x"), B("%x0"), B("%\xff\xff"),
	};
	char out[16] = "keep";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_pct_decode(bad[i].s, bad[i].len, out, sizeof(out)) != -EBADMSG)
			fail_msg("case %zu accepted", i);
	assert_string_equal(out, "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_head_request_get),
		cmocka_unit_test(test_http_head_request_post_with_body),
		cmocka_unit_test(test_http_head_request_http10_without_host),
		cmocka_unit_test(test_http_head_request_options_asterisk),
		cmocka_unit_test(test_http_head_request_absolute_form),
		cmocka_unit_test(test_http_head_request_extension_method),
		cmocka_unit_test(test_http_head_request_leading_crlf),
		cmocka_unit_test(test_http_head_request_ows_trimmed),
		cmocka_unit_test(test_http_head_request_obs_text_value),
		cmocka_unit_test(test_http_head_request_header_count_limit),
		cmocka_unit_test(test_http_head_request_max_head),
		cmocka_unit_test(test_http_head_request_prefixes_need_more),
		cmocka_unit_test(test_http_head_request_bad_request_line),
		cmocka_unit_test(test_http_head_request_bad_target),
		cmocka_unit_test(test_http_head_request_bad_fields),
		cmocka_unit_test(test_http_head_request_host_rules),
		cmocka_unit_test(test_http_head_request_garbage_rejected_early),
		cmocka_unit_test(test_http_head_request_all_single_bytes),
		cmocka_unit_test(test_http_head_response_ok),
		cmocka_unit_test(test_http_head_response_variants),
		cmocka_unit_test(test_http_head_response_bad),
		cmocka_unit_test(test_http_head_response_limits),
		cmocka_unit_test(test_http_head_find_header),
		cmocka_unit_test(test_http_head_content_length_values),
		cmocka_unit_test(test_http_head_content_length_headers),
		cmocka_unit_test(test_http_head_target_split),
		cmocka_unit_test(test_http_head_query_param_found),
		cmocka_unit_test(test_http_head_query_param_absent),
		cmocka_unit_test(test_http_head_query_param_errors),
		cmocka_unit_test(test_http_head_pct_decode),
		cmocka_unit_test(test_http_head_pct_decode_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
