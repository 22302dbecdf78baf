/* SPDX-License-Identifier: MIT */
/* proxy_head: the gate's verdict on a request head, and the head rewritten without the token. */
#ifndef PORTGATE_PROXY_HEAD_H
#define PORTGATE_PROXY_HEAD_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include "http_head.h"
#include "token.h"

#define PROXY_TOKEN_PARAM	   "source_token"
#define PROXY_TOKEN_HEADER_DEFAULT "X-Source-Token"

/* Where the token was found. */
enum proxy_token_src {
	PROXY_TOKEN_NONE,
	PROXY_TOKEN_HEADER,
	PROXY_TOKEN_QUERY,
};

/* The token of a request: points into the head (header) or into dec[] (query, decoded). */
struct proxy_token {
	enum proxy_token_src src;
	const char *value;
	size_t len;
	char dec[TOKEN_USER_MAX + 1];
};

/*
 * True if the query parameter name n[0..len) is "source_token" once percent-decoded
 * ("source%5Ftoken" is the same name to a backend that decodes, so it is the same to the gate).
 */
bool proxy_head_is_token_param(const char *n, size_t len);

/*
 * Finds the token of the parsed request req: the header `header` (any case) first, else the
 * query parameter source_token. Returns 1 when found (*tok filled; an over-long query value is
 * reported with len 0, which never matches), 0 when absent, -EBADMSG when the header or the
 * parameter appears more than once (ambiguous) or the parameter's value is badly %-encoded.
 */
int proxy_head_token(const struct http_request *req, const char *header, struct proxy_token *tok);

/*
 * Removes, in place, every `header` field line and every source_token query parameter (the
 * other parameters kept byte for byte, the '?' dropped when none is left) from the head that
 * req describes, which starts at buf and was parsed from buf[0..len). Bytes after the head
 * (already received body) move with it. Returns the new length of buf; the freed tail is
 * zeroed so no copy of the token lingers.
 */
size_t proxy_head_strip(char *buf, size_t len, const struct http_request *req, const char *header);

/* What the gate learnt about a valid request for reusing backend connections. */
struct proxy_reuse_info {
	bool ok;	   /* one exchange (Connection: close, framed body): the forwarded head
			    * has no Connection line, the backend keeps its connection */
	bool head_request; /* method HEAD: the response has no body */
	uint32_t head_len; /* bytes of forwarded head; fwd_len - head_len is body already read */
	uint64_t body;	   /* request body bytes in all (Content-Length) */
};

/*
 * The gate on buf[0..len) (the bytes received so far): parses strictly with at most max_head
 * bytes of head, checks the token against token_hash ("sha256:<hex>") and, when valid, strips
 * it (proxy_head_strip). Returns 0 when more bytes are needed, else an HTTP status: 200 (valid;
 * *fwd_len = bytes of buf to forward, head and body so far), 400 (malformed, ambiguous token,
 * bad Content-Length), 401 (no token), 403 (wrong or empty token), 431 (head too large).
 * *reason is set to a short text for the audit event whenever the return is not 0.
 */
int proxy_head_judge(char *buf, size_t len, size_t max_head, const char *header,
		     const char *token_hash, size_t *fwd_len, const char **reason);
/* The same, and when reuse is not NULL, whether the request can go over a reused backend
 * connection (proxy_framing_request): then *fwd_len stops at the end of the request body. */
int proxy_head_judge_reuse(char *buf, size_t len, size_t max_head, const char *header,
			   const char *token_hash, size_t *fwd_len, const char **reason,
			   struct proxy_reuse_info *reuse);

#endif
