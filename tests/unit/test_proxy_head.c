// SPDX-License-Identifier: MIT
/* test_proxy_head: the proxy's head rewrite and verdict, routes, failure windows and the pump. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* The proxy is a program, not a library: its pure modules are compiled into this test. */
#include "../../userspace/portgate-proxy/proxy_framing.c"
#include "../../userspace/portgate-proxy/proxy_head.c"
#include "../../userspace/portgate-proxy/proxy_limits.c"
#include "../../userspace/portgate-proxy/proxy_routes.c"
#include "../../userspace/portgate-proxy/proxy_splice.c"

#define TOKEN "api_token"
/* sha256("api_token") */
#define TOKEN_HASH "sha256:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0"
#define HDR	   PROXY_TOKEN_HEADER_DEFAULT

/* Strips the token from req_text (a complete head, maybe with body) and returns the result. */
static const char *strip(const char *req_text, const char *header)
{
	static char buf[8192];
	struct http_request req;
	size_t len = strlen(req_text), n;
	int rc;

	assert_true(len < sizeof(buf));
	memcpy(buf, req_text, len + 1);
	rc = http_parse_request(buf, len, sizeof(buf), &req);
	assert_true(rc > 0);
	n = proxy_head_strip(buf, len, &req, header);
	for (size_t i = n; i < len; i++)
		assert_int_equal(buf[i], 0); /* the freed tail is wiped */
	buf[n] = '\0';
	return buf;
}

/* The target after stripping, from a GET with target t. */
static const char *strip_target(const char *t)
{
	static char out[1024];
	char req[1200];
	const char *r, *sp;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
	r = strip(req, HDR);
	sp = strchr(r + 4, ' ');
	assert_non_null(sp);
	snprintf(out, sizeof(out), "%.*s", (int)(sp - (r + 4)), r + 4);
	return out;
}

static int judge(const char *text, size_t max, const char *header, size_t *fwd, const char **reason,
		 char *out)
{
	size_t len = strlen(text);

	memcpy(out, text, len + 1);
	return proxy_head_judge(out, len, max, header, TOKEN_HASH, fwd, reason);
}

static void test_proxy_head_strip_header_positions(void **state)
{
	(void)state;
	assert_string_equal(strip("GET / HTTP/1.1\r\nX-Source-Token: " TOKEN "\r\nHost: h\r\n"
				  "Accept: */*\r\n\r\n",
				  HDR),
			    "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n");
	assert_string_equal(strip("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token: " TOKEN "\r\n"
				  "Accept: */*\r\n\r\n",
				  HDR),
			    "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n");
	assert_string_equal(strip("GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n"
				  "X-Source-Token: " TOKEN "\r\n\r\n",
				  HDR),
			    "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n");
	/* the only field besides Host, with odd spacing and an empty value */
	assert_string_equal(strip("GET / HTTP/1.0\r\nX-Source-Token:\t  " TOKEN "  \r\n\r\n", HDR),
			    "GET / HTTP/1.0\r\n\r\n");
	assert_string_equal(strip("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token:\r\n\r\n", HDR),
			    "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

static void test_proxy_head_strip_header_case(void **state)
{
	static const char *const names[] = { "x-source-token", "X-SOURCE-TOKEN", "x-SoUrCe-ToKeN" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char req[256];

		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\n%s: t\r\nA: b\r\n\r\n",
			 names[i]);
		assert_string_equal(strip(req, HDR), "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n");
	}
	/* a configured name; the default one is then an ordinary field */
	assert_string_equal(strip("GET / HTTP/1.1\r\nHost: h\r\nX-Gate: t\r\nX-Source-Token: k\r\n"
				  "\r\n",
				  "x-gate"),
			    "GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token: k\r\n\r\n");
	/* a longer or shorter name is another field */
	assert_string_equal(
	    strip("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Tokens: 1\r\n"
		  "X-Source-Toke: 2\r\n\r\n",
		  HDR),
	    "GET / HTTP/1.1\r\nHost: h\r\nX-Source-Tokens: 1\r\nX-Source-Toke: 2\r\n\r\n");
}

static void test_proxy_head_strip_query(void **state)
{
	(void)state;
	assert_string_equal(strip_target("/p?source_token=x"), "/p");
	assert_string_equal(strip_target("/p?source_token=x&a=1"), "/p?a=1");
	assert_string_equal(strip_target("/p?a=1&source_token=x"), "/p?a=1");
	assert_string_equal(strip_target("/p?a=1&source_token=x&b=%2F"), "/p?a=1&b=%2F");
	assert_string_equal(strip_target("/p?source_token"), "/p");
	assert_string_equal(strip_target("/p?source_token="), "/p");
	/* others kept byte for byte, including empty segments and '+' */
	assert_string_equal(strip_target("/p?a=1&&source_token=x&b=c+d&"), "/p?a=1&&b=c+d&");
	assert_string_equal(strip_target("/p?a=%41&b"), "/p?a=%41&b");
	assert_string_equal(strip_target("/p?"), "/p?");
	assert_string_equal(strip_target("/"), "/");
	/* names that merely look alike stay */
	assert_string_equal(strip_target("/p?source_tokenx=1&xsource_token=2&Source_Token=3"),
			    "/p?source_tokenx=1&xsource_token=2&Source_Token=3");
	/* absolute-form */
	assert_string_equal(strip_target("http://h:8/p?a=1&source_token=x"), "http://h:8/p?a=1");
	/* a '?' inside a value is data */
	assert_string_equal(strip_target("/p?a=?&source_token=x?y"), "/p?a=?");
}

static void test_proxy_head_strip_query_encoded_names(void **state)
{
	(void)state;
	assert_true(proxy_head_is_token_param("source_token", 12));
	assert_true(proxy_head_is_token_param("source%5Ftoken", 14));
	assert_true(proxy_head_is_token_param("source%5ftoken", 14));
	assert_true(proxy_head_is_token_param("%73%6F%75%72%63%65%5F%74%6F%6B%65%6E", 36));
	assert_false(proxy_head_is_token_param("source%5Gtoken", 14)); /* bad escape */
	assert_false(proxy_head_is_token_param("source%00token", 14));
	assert_false(proxy_head_is_token_param("source_toke", 11));
	assert_false(proxy_head_is_token_param("source+token", 12));
	assert_string_equal(strip_target("/p?a=1&source%5Ftoken=x&b=2"), "/p?a=1&b=2");
	assert_string_equal(strip_target("/p?%73ource_token=x"), "/p");
}

static void test_proxy_head_strip_both_and_body(void **state)
{
	(void)state;
	assert_string_equal(strip("POST /u?source_token=x&k=v HTTP/1.1\r\nHost: h\r\n"
				  "X-Source-Token: y\r\nContent-Length: 4\r\n\r\nBODY",
				  HDR),
			    "POST /u?k=v HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nBODY");
	/* nothing to strip: untouched */
	assert_string_equal(strip("GET /a?b=c HTTP/1.1\r\nHost: h\r\n\r\nNEXT", HDR),
			    "GET /a?b=c HTTP/1.1\r\nHost: h\r\n\r\nNEXT");
}

static void test_proxy_head_judge_verdicts(void **state)
{
	char buf[70000];
	const char *reason = NULL;
	size_t fwd = 0;

	(void)state;
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token: " TOKEN "\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 200);
	assert_string_equal(reason, "valid token");
	assert_int_equal(fwd, strlen("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
	assert_memory_equal(buf, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", fwd);

	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 16384, HDR, &fwd, &reason, buf),
			 401);
	assert_string_equal(reason, "missing token");
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token: nope\r\n\r\n", 16384,
			       HDR, &fwd, &reason, buf),
			 403);
	assert_string_equal(reason, "wrong token");
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token:\r\n\r\n", 16384, HDR,
			       &fwd, &reason, buf),
			 403);
	assert_int_equal(judge("GET /?source_token= HTTP/1.1\r\nHost: h\r\n\r\n", 16384, HDR, &fwd,
			       &reason, buf),
			 403);
	/* the token in the query, %-encoded */
	assert_int_equal(judge("GET /w?source_token=api%5Ftoken&x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 200);
	assert_memory_equal(buf, "GET /w?x=1 HTTP/1.1\r\n", 21);
	/* the header wins over the query, and both are stripped */
	assert_int_equal(judge("GET /?source_token=bad HTTP/1.1\r\nHost: h\r\n"
			       "x-source-token: " TOKEN "\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 200);
	assert_memory_equal(buf, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", fwd);
	/* over-long query token: wrong, not a crash */
	memset(buf, 0, sizeof(buf));
	{
		char req[2000];

		snprintf(req, sizeof(req), "GET /?source_token=%0600d HTTP/1.1\r\nHost: h\r\n\r\n",
			 7);
		assert_int_equal(judge(req, 16384, HDR, &fwd, &reason, buf), 403);
	}
}

static void test_proxy_head_judge_errors(void **state)
{
	char buf[70000], big[70000];
	const char *reason = NULL;
	size_t fwd = 0;
	int n;

	(void)state;
	/* incomplete: need more */
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\n", 16384, HDR, &fwd, &reason, buf), 0);
	/* garbage, bare LF, two Host */
	assert_int_equal(judge("\x01\x02garbage\r\n\r\n", 16384, HDR, &fwd, &reason, buf), 400);
	assert_string_equal(reason, "malformed request");
	assert_int_equal(judge("GET / HTTP/1.1\nHost: h\n\n", 16384, HDR, &fwd, &reason, buf), 400);
	assert_int_equal(
	    judge("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 16384, HDR, &fwd, &reason, buf),
	    400);
	/* ambiguous tokens */
	assert_int_equal(judge("GET / HTTP/1.1\r\nHost: h\r\nX-Source-Token: " TOKEN
			       "\r\nx-source-token: " TOKEN "\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 400);
	assert_int_equal(judge("GET /?source_token=a&source%5Ftoken=b HTTP/1.1\r\nHost: h\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 400);
	assert_int_equal(judge("GET /?source_token=%zz HTTP/1.1\r\nHost: h\r\n\r\n", 16384, HDR,
			       &fwd, &reason, buf),
			 400);
	/* smuggling shapes */
	assert_int_equal(judge("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
			       "Content-Length: 2\r\nX-Source-Token: " TOKEN "\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 400);
	assert_int_equal(judge("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
			       "Transfer-Encoding: chunked\r\nX-Source-Token: " TOKEN "\r\n\r\n",
			       16384, HDR, &fwd, &reason, buf),
			 400);
	/* too large: 64 KiB of header, and exactly at the limit without an end */
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(big + n, 'a', 65536);
	strcpy(big + n + 65536, "\r\n\r\n");
	assert_int_equal(judge(big, 16384, HDR, &fwd, &reason, buf), 431);
	assert_string_equal(reason, "head too large");
	big[16384] = '\0';
	assert_int_equal(judge(big, 16384, HDR, &fwd, &reason, buf), 431);
	big[16383] = '\0';
	assert_int_equal(judge(big, 16384, HDR, &fwd, &reason, buf), 0);
}

static void test_proxy_routes_parse(void **state)
{
	char addr[PROXY_BIND_MAX];
	uint16_t p = 0, b = 0;

	(void)state;
	assert_int_equal(proxy_route_parse("127.0.0.1:18081=18080", addr, &p, &b), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(p, 18081);
	assert_int_equal(b, 18080);
	assert_int_equal(proxy_route_parse("[::1]:8443=9001", addr, &p, &b), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(proxy_route_parse("80=8080", addr, &p, &b), 0);
	assert_string_equal(addr, "0.0.0.0");
	assert_int_equal(p, 80);
	static const char *const bad[] = { "",	    "80",      "=80",	   "80=",      "0=1",
					   "1=0",   "65536=1", "1=65536",  "::1:80=1", "[::1:80=1",
					   ":80=1", "a:b=c",   "80=8080x", "-1=2",     "1=+2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (proxy_route_parse(bad[i], addr, &p, &b) != -EINVAL)
			fail_msg("accepted bad route %s", bad[i]);
}

static void test_proxy_routes_validation(void **state)
{
	struct proxy_route_spec s = { .port = 8081,
				      .backend_port = 9001,
				      .token_hash = TOKEN_HASH,
				      .service = "my \"app\"",
				      .port_name = "api\\v1" };
	struct proxy_route *r = NULL;

	(void)state;
	assert_int_equal(proxy_route_new(&s, &r), 0);
	assert_string_equal(r->token_header, PROXY_TOKEN_HEADER_DEFAULT);
	assert_string_equal(r->labels_json,
			    "\"service\":\"my \\\"app\\\"\",\"port_name\":\"api\\\\v1\"");
	proxy_route_put(r);

	s.token_hash = "sha256:4F89C033B5EE1A094B6F16B5F315FE7CE180FD1512D9AB031848472E150095C0";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_hash = "sha512:4f89c033b5ee1a094b6f16b5f315fe7ce180fd1512d9ab031848472e150095c0";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_hash = "sha256:4f89";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_hash = NULL;
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_hash = TOKEN_HASH;
	s.token_header = "X Token";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_header = "";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.token_header = "X-Token";
	s.service = "line\nbreak";
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
	s.service = "ok";
	s.backend_port = 0;
	assert_int_equal(proxy_route_new(&s, &r), -EINVAL);
}

static void test_proxy_routes_table(void **state)
{
	struct proxy_route_spec s = { .port = 8081,
				      .backend_port = 9001,
				      .token_hash = TOKEN_HASH };
	struct proxy_route *a, *b, *got;
	unsigned gen = proxy_routes_generation();

	(void)state;
	assert_null(proxy_routes_lookup(8081));
	assert_int_equal(proxy_route_new(&s, &a), 0);
	proxy_routes_set(a);
	assert_true(proxy_routes_generation() != gen);
	got = proxy_routes_lookup(8081);
	assert_ptr_equal(got, a);
	assert_int_equal(a->refs, 3); /* ours, the table's, got's */

	/* a replacement: the holder of the old one keeps it */
	s.backend_port = 9002;
	assert_int_equal(proxy_route_new(&s, &b), 0);
	proxy_routes_set(b);
	assert_int_equal(a->refs, 2);
	proxy_route_put(got);
	proxy_route_put(a);
	got = proxy_routes_lookup(8081);
	assert_int_equal(got->backend_port, 9002);
	proxy_route_put(got);

	gen = proxy_routes_generation();
	assert_int_equal(proxy_routes_remove(8081), 0);
	assert_true(proxy_routes_generation() != gen);
	assert_int_equal(proxy_routes_remove(8081), -ENOENT);
	assert_null(proxy_routes_lookup(8081));
	assert_int_equal(b->refs, 1);
	proxy_route_put(b);
}

static struct proxy_addr addr4(const char *s)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(1234) };
	struct proxy_addr a;

	inet_pton(AF_INET, s, &in.sin_addr);
	assert_int_equal(proxy_addr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a), 0);
	return a;
}

static void test_proxy_limits_addr(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	struct proxy_addr a, b = addr4("10.0.0.2");
	char txt[PROXY_ADDR_STRLEN];

	(void)state;
	inet_pton(AF_INET6, "::ffff:10.0.0.2", &in6.sin6_addr);
	assert_int_equal(proxy_addr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.addr, b.addr, sizeof(a.addr));
	assert_int_equal(a.port, 80);
	proxy_addr_format(&a, txt);
	assert_string_equal(txt, "10.0.0.2");
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	assert_int_equal(proxy_addr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a), 0);
	proxy_addr_format(&a, txt);
	assert_string_equal(txt, "2001:db8::1");
	in6.sin6_family = AF_UNIX;
	assert_int_equal(proxy_addr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a),
			 -EAFNOSUPPORT);
}

static void test_proxy_limits_window(void **state)
{
	struct proxy_limits_cfg cfg = { .fail_limit = 3, .fail_window_s = 10, .block_s = 60 };
	struct proxy_addr a = addr4("10.0.0.2"), b = addr4("10.0.0.3");
	struct proxy_limits *l;
	unsigned f = 0;

	(void)state;
	assert_int_equal(proxy_limits_new(16, &l), 0);
	/* spread wider than the window: never blocked */
	assert_int_equal(proxy_limits_fail(l, &a, 1000, &cfg, &f), 0);
	assert_int_equal(f, 1);
	assert_int_equal(proxy_limits_fail(l, &a, 11000, &cfg, &f), 0);
	assert_int_equal(f, 1); /* the first left the window exactly at 10 s */
	assert_int_equal(proxy_limits_fail(l, &a, 20000, &cfg, &f), 0);
	assert_int_equal(f, 2);
	/* the third within 10 s (11000, 20000, 20500) blocks */
	assert_int_equal(proxy_limits_fail(l, &a, 20500, &cfg, &f), 1);
	assert_int_equal(f, 3);
	assert_true(proxy_limits_blocked(l, &a, 20500));
	assert_true(proxy_limits_blocked(l, &a, 80499));
	assert_false(proxy_limits_blocked(l, &b, 20500)); /* others are not */
	assert_false(proxy_limits_blocked(l, &a, 80500)); /* block over */
	/* the window starts empty after a block */
	assert_int_equal(proxy_limits_fail(l, &a, 81001, &cfg, &f), 0);
	assert_int_equal(f, 1);
	/* b counts on its own */
	assert_int_equal(proxy_limits_fail(l, &b, 100, &cfg, &f), 0);
	assert_int_equal(proxy_limits_fail(l, &b, 200, &cfg, &f), 0);
	assert_int_equal(proxy_limits_fail(l, &b, 300, &cfg, &f), 1);
	proxy_limits_free(l);
}

static void test_proxy_limits_changes(void **state)
{
	struct proxy_limits_cfg cfg = { .fail_limit = 5, .fail_window_s = 60, .block_s = 0 };
	struct proxy_addr a = addr4("192.0.2.1");
	struct proxy_limits *l;
	unsigned f = 0;
	size_t blocked = 9;

	(void)state;
	assert_int_equal(proxy_limits_new(16, &l), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(proxy_limits_fail(l, &a, 1000 + i, &cfg, &f), 0);
	/* lowering the limit keeps the newest failures: the next one trips it */
	cfg.fail_limit = 3;
	assert_int_equal(proxy_limits_fail(l, &a, 2000, &cfg, &f), 1);
	/* block_s 0: reported, but nothing is refused */
	assert_false(proxy_limits_blocked(l, &a, 2000));
	assert_int_equal(proxy_limits_count(l, &blocked), 1);
	assert_int_equal(blocked, 0);
	/* raising it again grows the window */
	cfg.fail_limit = 6;
	for (int i = 0; i < 5; i++)
		assert_int_equal(proxy_limits_fail(l, &a, 3000 + i, &cfg, &f), 0);
	assert_int_equal(f, 5);
	assert_int_equal(proxy_limits_fail(l, &a, 3100, &cfg, &f), 1);
	proxy_limits_free(l);
}

static void test_proxy_limits_capacity(void **state)
{
	struct proxy_limits_cfg cfg = { .fail_limit = 2, .fail_window_s = 1, .block_s = 5 };
	struct proxy_addr a = addr4("10.1.0.1"), b = addr4("10.1.0.2"), c = addr4("10.1.0.3");
	struct proxy_limits *l;
	unsigned f = 0;
	size_t blocked = 0;

	(void)state;
	assert_int_equal(proxy_limits_new(2, &l), 0);
	assert_int_equal(proxy_limits_fail(l, &a, 0, &cfg, &f), 0);
	assert_int_equal(proxy_limits_fail(l, &b, 0, &cfg, &f), 0);
	assert_int_equal(proxy_limits_fail(l, &b, 10, &cfg, &f), 1);
	assert_int_equal(proxy_limits_fail(l, &c, 10, &cfg, &f), -ENOSPC);
	assert_int_equal(proxy_limits_count(l, &blocked), 2);
	assert_int_equal(blocked, 1);
	/* a's failure has left the window: swept; b is still blocked: kept */
	assert_int_equal(proxy_limits_sweep(l, 2000, &cfg), 1);
	assert_int_equal(proxy_limits_fail(l, &c, 2000, &cfg, &f), 0);
	assert_true(proxy_limits_blocked(l, &b, 2000));
	/* after the block both go */
	assert_int_equal(proxy_limits_sweep(l, 10000, &cfg), 2);
	assert_int_equal(proxy_limits_count(l, &blocked), 0);
	proxy_limits_free(l);
}

/* A connected pair of stream sockets, non-blocking. */
static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

/* Pumps src -> dst until the direction is done, draining the far end into out. */
static size_t pump_all(struct proxy_pool *pool, struct proxy_dir *d, int src, int dst, int far,
		       char *out, size_t cap)
{
	size_t got = 0;

	for (int i = 0; i < 100000; i++) {
		int rc = proxy_pump(pool, d, src, dst, 4096);
		ssize_t n;

		assert_true(rc > 0);
		while ((n = read(far, out + got, cap - got)) > 0)
			got += (size_t)n;
		if (rc == PROXY_PUMP_DONE) {
			assert_int_equal(read(far, out, 1), 0); /* the EOF came through */
			return got;
		}
	}
	fail_msg("pump never finished");
	return 0;
}

static void run_pump(bool copy)
{
	static char in[300000], out[400000];
	struct proxy_pool pool;
	struct proxy_dir d = { 0 };
	int a[2], b[2];
	size_t sent = 0;

	proxy_pool_init(&pool, 4, 0);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 + (i >> 9));
	pair(a);
	pair(b);
	if (copy)
		d.flags |= PROXY_DIR_COPY;
	/* a head waiting in user space goes first */
	d.buf = malloc(5);
	memcpy(d.buf, "HEAD:", 5);
	d.len = d.cap = 5;
	/* a[0] is the source end, b[0] the destination end; write to a[1], read from b[1] */
	size_t got = 0;
	while (sent < sizeof(in)) {
		ssize_t n = write(a[1], in + sent, sizeof(in) - sent);

		if (n > 0)
			sent += (size_t)n;
		int rc = proxy_pump(&pool, &d, a[0], b[0], 65536);

		assert_true(rc > 0 && rc != PROXY_PUMP_DONE);
		while ((n = read(b[1], out + got, sizeof(out) - got)) > 0)
			got += (size_t)n;
	}
	shutdown(a[1], SHUT_WR);
	got += pump_all(&pool, &d, a[0], b[0], b[1], out + got, sizeof(out) - got);
	assert_int_equal(got, sizeof(in) + 5);
	assert_memory_equal(out, "HEAD:", 5);
	assert_memory_equal(out + 5, in, sizeof(in));
	assert_int_equal(d.bytes, sizeof(in) + 5);
	assert_null(d.pipe); /* back in the pool */
	assert_int_equal(pool.n_used, 0);
	proxy_dir_release(&pool, &d);
	proxy_pool_destroy(&pool);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

static void test_proxy_splice_pump(void **state)
{
	(void)state;
	run_pump(false);
}

static void test_proxy_splice_pump_copy(void **state)
{
	(void)state;
	run_pump(true);
}

static void test_proxy_splice_fallback(void **state)
{
	struct proxy_pool pool;
	struct proxy_dir d = { 0 };
	char out[64];
	int a[2], b[2];

	(void)state;
	proxy_pool_init(&pool, 4, 0);
	/* an eventfd cannot be spliced from (EINVAL): the direction copies instead */
	pair(b);
	a[0] = eventfd(5, EFD_NONBLOCK);
	a[1] = -1;
	assert_true(a[0] >= 0);
	int rc = proxy_pump(&pool, &d, a[0], b[0], 65536);

	assert_true(rc > 0);
	assert_true(d.flags & PROXY_DIR_COPY);
	assert_int_equal(read(b[1], out, sizeof(out)), 8); /* the counter, copied */
	proxy_pool_destroy(&pool);
	close(a[0]);
	close(b[0]);
	close(b[1]);
}

static void test_proxy_splice_pool(void **state)
{
	struct proxy_pool pool;
	struct proxy_pipe *p[3];

	(void)state;
	proxy_pool_init(&pool, 1, 128 * 1024);
	for (int i = 0; i < 3; i++) {
		p[i] = proxy_pool_get(&pool);
		assert_non_null(p[i]);
		assert_true(p[i]->size >= 65536);
	}
	assert_int_equal(pool.n_used, 3);
	proxy_pool_put(&pool, p[0], 1);
	proxy_pool_put(&pool, p[1], 1); /* over max_free: closed */
	proxy_pool_put(&pool, p[2], 0); /* not empty: closed */
	assert_int_equal(pool.n_free, 1);
	assert_ptr_equal(proxy_pool_get(&pool), p[0]); /* reused */
	proxy_pool_put(&pool, p[0], 1);
	assert_int_equal(pool.n_created, 3);
	proxy_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_head_strip_header_positions),
		cmocka_unit_test(test_proxy_head_strip_header_case),
		cmocka_unit_test(test_proxy_head_strip_query),
		cmocka_unit_test(test_proxy_head_strip_query_encoded_names),
		cmocka_unit_test(test_proxy_head_strip_both_and_body),
		cmocka_unit_test(test_proxy_head_judge_verdicts),
		cmocka_unit_test(test_proxy_head_judge_errors),
		cmocka_unit_test(test_proxy_routes_parse),
		cmocka_unit_test(test_proxy_routes_validation),
		cmocka_unit_test(test_proxy_routes_table),
		cmocka_unit_test(test_proxy_limits_addr),
		cmocka_unit_test(test_proxy_limits_window),
		cmocka_unit_test(test_proxy_limits_changes),
		cmocka_unit_test(test_proxy_limits_capacity),
		cmocka_unit_test(test_proxy_splice_pump),
		cmocka_unit_test(test_proxy_splice_pump_copy),
		cmocka_unit_test(test_proxy_splice_fallback),
		cmocka_unit_test(test_proxy_splice_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
