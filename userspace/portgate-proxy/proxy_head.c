// SPDX-License-Identifier: MIT
/* proxy_head: the gate's verdict on a request head, and the head rewritten without the token. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "proxy_framing.h"
#include "proxy_head.h"

/* A range of the head to drop: [start, end). */
struct proxy_cut {
	size_t start, end;
};

bool proxy_head_is_token_param(const char *n, size_t len)
{
	char dec[sizeof(PROXY_TOKEN_PARAM)];

	if (len == sizeof(PROXY_TOKEN_PARAM) - 1)
		return memcmp(n, PROXY_TOKEN_PARAM, len) == 0;
	/* Shorter than the name cannot decode to it; an escape costs 2 more bytes each. */
	if (len < sizeof(PROXY_TOKEN_PARAM) - 1 || !memchr(n, '%', len))
		return false;
	return http_pct_decode(n, len, dec, sizeof(dec)) == (int)sizeof(PROXY_TOKEN_PARAM) - 1 &&
	       memcmp(dec, PROXY_TOKEN_PARAM, sizeof(PROXY_TOKEN_PARAM) - 1) == 0;
}

/* Length of the parameter name of the segment s[0..len) ("a=1" -> 1, "flag" -> 4). */
static size_t proxy_head_param_name_len(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);

	return eq ? (size_t)(eq - s) : len;
}

int proxy_head_token(const struct http_request *req, const char *header, struct proxy_token *tok)
{
	const struct http_header *found = NULL;
	const char *query, *p, *end, *val = NULL;
	size_t path_len, qlen, hlen = strlen(header), vlen = 0;
	int n_param = 0, rc;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];

		if (h->name_len != hlen || !http_find_header(h, 1, header))
			continue;
		if (found)
			return -EBADMSG;
		found = h;
	}

	http_target_split(req->target, req->target_len, &path_len, &query, &qlen);
	end = query ? query + qlen : NULL;
	for (p = query; query && p <= end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *seg_end = amp ? amp : end;
		size_t nlen = proxy_head_param_name_len(p, (size_t)(seg_end - p));

		if (proxy_head_is_token_param(p, nlen)) {
			if (++n_param > 1)
				return -EBADMSG;
			val = p + nlen < seg_end ? p + nlen + 1 : seg_end;
			vlen = (size_t)(seg_end - val);
		}
		p = seg_end + 1;
	}

	tok->src = PROXY_TOKEN_NONE;
	tok->value = NULL;
	tok->len = 0;
	if (found) {
		tok->src = PROXY_TOKEN_HEADER;
		tok->value = found->value;
		tok->len = found->value_len;
		return 1;
	}
	if (!n_param)
		return 0;
	tok->src = PROXY_TOKEN_QUERY;
	tok->value = tok->dec;
	rc = http_pct_decode(val, vlen, tok->dec, sizeof(tok->dec));
	if (rc == -ENOSPC)
		return 1; /* longer than any token: len 0, refused as wrong */
	if (rc < 0)
		return -EBADMSG;
	tok->len = (size_t)rc;
	return 1;
}

/*
 * Rewrites the query of the target at buf[t..t+tlen) in place without source_token
 * parameters; returns the new target length (<= tlen).
 */
static size_t proxy_head_strip_query(char *buf, size_t t, size_t tlen)
{
	size_t path_len, qlen, w, r, kept = 0;
	const char *query;
	bool dropped = false;

	http_target_split(buf + t, tlen, &path_len, &query, &qlen);
	if (!query)
		return tlen;
	/* w: where the next kept segment goes; r: the segment being read. */
	w = r = t + path_len + 1;
	for (;;) {
		size_t end = t + tlen;
		char *amp = memchr(buf + r, '&', end - r);
		size_t seg_end = amp ? (size_t)(amp - buf) : end;
		size_t nlen = proxy_head_param_name_len(buf + r, seg_end - r);

		if (proxy_head_is_token_param(buf + r, nlen)) {
			dropped = true;
		} else {
			if (kept++)
				buf[w++] = '&';
			memmove(buf + w, buf + r, seg_end - r);
			w += seg_end - r;
		}
		if (!amp)
			break;
		r = seg_end + 1;
	}
	if (!dropped)
		return tlen;
	if (!kept)
		w = t + path_len; /* "/p?source_token=x" -> "/p" */
	return w - t;
}

/* proxy_head_strip, also cutting the field line at [extra[0], extra[1]) when extra is set. */
static size_t proxy_head_strip_more(char *buf, size_t len, const struct http_request *req,
				    const char *header, const size_t *extra)
{
	struct proxy_cut cuts[HTTP_MAX_HEADERS + 2];
	size_t n = 0, t = (size_t)(req->target - buf), tlen, w, hlen = strlen(header);

	/* The target first (it comes first in the head): its own bytes compacted in place. */
	tlen = proxy_head_strip_query(buf, t, req->target_len);
	if (tlen < req->target_len)
		cuts[n++] = (struct proxy_cut){ t + tlen, t + req->target_len };

	/* Then whole field lines, in order; each ends with the CRLF after its value. */
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		const char *nl;

		if (extra && (size_t)(h->name - buf) == extra[0]) {
			cuts[n++] = (struct proxy_cut){ extra[0], extra[1] };
			continue;
		}
		if (h->name_len != hlen || !http_find_header(h, 1, header))
			continue;
		nl = memchr(h->value + h->value_len, '\n',
			    req->head_len - (size_t)(h->value + h->value_len - buf));
		if (!nl)
			continue; /* cannot happen in a parsed head */
		cuts[n++] = (struct proxy_cut){ (size_t)(h->name - buf), (size_t)(nl + 1 - buf) };
	}
	if (!n)
		return len;

	/* Close the gaps left to right; what follows a cut moves down to w. */
	w = cuts[0].start;
	for (size_t i = 0; i < n; i++) {
		size_t from = cuts[i].end, to = i + 1 < n ? cuts[i + 1].start : len;

		memmove(buf + w, buf + from, to - from);
		w += to - from;
	}
	explicit_bzero(buf + w, len - w);
	return w;
}

size_t proxy_head_strip(char *buf, size_t len, const struct http_request *req, const char *header)
{
	return proxy_head_strip_more(buf, len, req, header, NULL);
}

/* A valid request: the token (and, for one exchange, the Connection line) cut out. */
static void proxy_head_forward(char *buf, size_t len, const struct http_request *req,
			       const char *header, size_t *fwd_len, struct proxy_reuse_info *reuse)
{
	size_t drop[2], head_len;

	if (!reuse) {
		*fwd_len = proxy_head_strip(buf, len, req, header);
		return;
	}
	reuse->ok = proxy_framing_request(req, buf, drop, &reuse->body);
	reuse->head_request = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	*fwd_len = proxy_head_strip_more(buf, len, req, header, reuse->ok ? drop : NULL);
	/* Every cut lies in the head: what it lost is what the whole lost. */
	head_len = req->head_len - (len - *fwd_len);
	reuse->head_len = (uint32_t)head_len;
	/* Bytes after this request's body (a client that asked for one exchange and sent more)
	 * are not forwarded. */
	if (reuse->ok && *fwd_len - head_len > reuse->body)
		*fwd_len = head_len + (size_t)reuse->body;
}

int proxy_head_judge(char *buf, size_t len, size_t max_head, const char *header,
		     const char *token_hash, size_t *fwd_len, const char **reason)
{
	return proxy_head_judge_reuse(buf, len, max_head, header, token_hash, fwd_len, reason,
				      NULL);
}

int proxy_head_judge_reuse(char *buf, size_t len, size_t max_head, const char *header,
			   const char *token_hash, size_t *fwd_len, const char **reason,
			   struct proxy_reuse_info *reuse)
{
	struct http_request req;
	struct proxy_token tok;
	uint64_t clen;
	bool valid;
	int rc;

	rc = http_parse_request(buf, len, max_head, &req);
	if (rc == 0)
		return 0;
	if (rc == -EMSGSIZE) {
		*reason = "head too large";
		return 431;
	}
	*reason = "malformed request";
	if (rc < 0 || http_content_length(req.headers, req.n_headers, &clen) < 0)
		return 400;
	rc = proxy_head_token(&req, header, &tok);
	if (rc < 0)
		return 400;
	if (rc == 0) {
		*reason = "missing token";
		return 401;
	}
	valid = token_matches(tok.value, tok.len, token_hash);
	explicit_bzero(tok.dec, sizeof(tok.dec));
	if (!valid) {
		*reason = "wrong token";
		return 403;
	}
	*reason = "valid token";
	proxy_head_forward(buf, len, &req, header, fwd_len, reuse);
	return 200;
}
