// SPDX-License-Identifier: MIT
/* proxy_framing: where a request and its response end, so a backend connection can be reused. */
#include <errno.h>
#include <string.h>
#include "proxy_framing.h"

static bool proxy_framing_ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static bool proxy_framing_is(const struct http_header *h, const char *name)
{
	return proxy_framing_ieq(h->name, h->name_len, name);
}

bool proxy_framing_request(const struct http_request *req, const char *head, size_t drop[2],
			   uint64_t *body)
{
	const struct http_header *conn = NULL;
	const char *nl;

	if (req->version_minor != 1 || proxy_framing_ieq(req->method, req->method_len, "connect"))
		return false;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];

		if (proxy_framing_is(h, "upgrade") || proxy_framing_is(h, "transfer-encoding"))
			return false;
		if (proxy_framing_is(h, "connection")) {
			if (conn)
				return false;
			conn = h;
		}
	}
	if (!conn || !proxy_framing_ieq(conn->value, conn->value_len, "close"))
		return false;
	if (http_content_length(req->headers, req->n_headers, body) < 0)
		return false;
	/*
	 * A body only on methods that are meant to carry one: a backend that ignores the body of
	 * a GET would take those bytes for the start of the next request on this connection, and
	 * the next client's request would be glued to it (request smuggling). Such a request
	 * keeps a connection of its own.
	 */
	if (*body && !proxy_framing_ieq(req->method, req->method_len, "post") &&
	    !proxy_framing_ieq(req->method, req->method_len, "put") &&
	    !proxy_framing_ieq(req->method, req->method_len, "patch"))
		return false;
	nl = memchr(conn->value + conn->value_len, '\n',
		    req->head_len - (size_t)(conn->value + conn->value_len - head));
	if (!nl)
		return false;
	drop[0] = (size_t)(conn->name - head);
	drop[1] = (size_t)(nl + 1 - head);
	return true;
}

/* True if the last coding of a Transfer-Encoding value is "chunked". */
static bool proxy_framing_chunked_last(const struct http_header *h)
{
	const char *v = h->value, *end = v + h->value_len, *comma = NULL;
	const char *last;
	size_t len;

	for (const char *p = v; p < end; p++)
		if (*p == ',')
			comma = p;
	last = comma ? comma + 1 : v;
	while (last < end && (*last == ' ' || *last == '\t'))
		last++;
	len = (size_t)(end - last);
	return proxy_framing_ieq(last, len, "chunked");
}

int proxy_framing_response(const struct http_response *r, bool head_request, enum proxy_body *body,
			   uint64_t *len, bool *keep)
{
	const struct http_header *te = NULL;
	bool close = r->version_minor != 1;
	uint64_t clen = 0;

	*len = 0;
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];

		if (proxy_framing_is(h, "transfer-encoding")) {
			if (te)
				return -EBADMSG; /* two lines: a smuggling attempt, not a framing */
			te = h;
		} else if (proxy_framing_is(h, "connection")) {
			/* Any "close" token among the options. */
			for (const char *p = h->value, *e = p + h->value_len; p < e;) {
				const char *c = memchr(p, ',', (size_t)(e - p));
				const char *t = p, *te_ = c ? c : e;

				while (t < te_ && (*t == ' ' || *t == '\t'))
					t++;
				while (te_ > t && (te_[-1] == ' ' || te_[-1] == '\t'))
					te_--;
				if (proxy_framing_ieq(t, (size_t)(te_ - t), "close"))
					close = true;
				p = c ? c + 1 : e;
			}
		}
	}
	*keep = !close;
	if (head_request || r->status < 200 || r->status == 204 || r->status == 304) {
		*body = PROXY_BODY_NONE;
		return 0;
	}
	if (te) {
		/* RFC 9112 6.1: a Content-Length beside it is not to be trusted either way. */
		if (http_find_header(r->headers, r->n_headers, "content-length"))
			return -EBADMSG;
		*body = proxy_framing_chunked_last(te) ? PROXY_BODY_CHUNKED : PROXY_BODY_CLOSE;
		if (*body == PROXY_BODY_CLOSE)
			*keep = false;
		return 0;
	}
	if (!http_find_header(r->headers, r->n_headers, "content-length")) {
		*body = PROXY_BODY_CLOSE;
		*keep = false;
		return 0;
	}
	if (http_content_length(r->headers, r->n_headers, &clen) < 0)
		return -EBADMSG;
	*body = PROXY_BODY_LENGTH;
	*len = clen;
	return 0;
}

size_t proxy_framing_close_head(const struct http_response *r, const char *head, size_t hl,
				char *out)
{
	size_t w = 0, from = 0;

	for (size_t i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		size_t start = (size_t)(h->name - head);
		const char *nl;

		if (!proxy_framing_is(h, "connection") && !proxy_framing_is(h, "keep-alive"))
			continue;
		nl = memchr(h->value + h->value_len, '\n',
			    hl - (size_t)(h->value + h->value_len - head));
		if (!nl)
			continue; /* cannot happen in a parsed head */
		memcpy(out + w, head + from, start - from);
		w += start - from;
		from = (size_t)(nl + 1 - head);
	}
	/* Everything up to the final CRLF, the close line, then that CRLF. */
	memcpy(out + w, head + from, hl - 2 - from);
	w += hl - 2 - from;
	memcpy(out + w, PROXY_CLOSE_LINE "\r\n", sizeof(PROXY_CLOSE_LINE) + 1);
	return w + sizeof(PROXY_CLOSE_LINE) + 1;
}

/* ---- chunked bodies ---- */

enum {
	CH_SIZE,	 /* hex digits of a chunk size */
	CH_EXT,		 /* after the size: extensions up to the CRLF */
	CH_DATA,	 /* chunk data */
	CH_DATA_CR,	 /* the CR after chunk data */
	CH_DATA_LF,	 /* the LF after chunk data */
	CH_TRAILER,	 /* start of a trailer line, or the final CRLF */
	CH_TRAILER_LINE, /* inside a trailer field line */
	CH_END_LF,	 /* the LF of the final CRLF */
	CH_DONE,
};

static int proxy_chunk_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)(ch | 0x20);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A line byte other than the CRLF: visible ASCII, space, tab or obs-text. */
static bool proxy_chunk_line_byte(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/*
 * The end of a size or trailer line: CR then LF, nothing else. Returns 1 at the LF, 0 for a
 * line byte (counted), -1 for anything wrong.
 */
static int proxy_chunk_eol(struct proxy_chunked *c, unsigned char ch, uint32_t max)
{
	if (c->cr) {
		c->cr = false;
		return ch == '\n' ? 1 : -1;
	}
	if (ch == '\r') {
		c->cr = true;
		return 0;
	}
	if (!proxy_chunk_line_byte(ch) || ++c->line > max)
		return -1;
	return 0;
}

/* After the size line: data, or the trailers after the last chunk. */
static void proxy_chunk_size_done(struct proxy_chunked *c)
{
	c->line = 0;
	c->digits = 0;
	c->state = c->left ? CH_DATA : CH_TRAILER;
}

/* One byte outside chunk data. 0, 1 when the body ended with it, -1 when malformed. */
static int proxy_chunk_byte(struct proxy_chunked *c, unsigned char ch)
{
	int d, e;

	switch (c->state) {
	case CH_SIZE:
		d = proxy_chunk_hex((char)ch);
		if (d >= 0) {
			if (++c->digits > 15) /* < 2^60: no overflow, and no real chunk is near */
				return -1;
			c->left = c->left * 16 + (uint64_t)d;
			c->line++;
			return 0;
		}
		if (!c->digits)
			return -1;
		c->state = CH_EXT;
		/* this byte starts the extensions or the CRLF */
		__attribute__((fallthrough));
	case CH_EXT:
		if (!c->cr && ch != '\r' && ch != ';' && ch != ' ' && ch != '\t' &&
		    c->line == c->digits)
			return -1; /* "1x": junk glued to the size */
		e = proxy_chunk_eol(c, ch, PROXY_CHUNK_LINE_MAX);
		if (e == 1)
			proxy_chunk_size_done(c);
		return e < 0 ? -1 : 0;
	case CH_DATA_CR:
		if (ch != '\r')
			return -1;
		c->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (ch != '\n')
			return -1;
		c->state = CH_SIZE;
		c->left = 0;
		c->line = 0;
		return 0;
	case CH_TRAILER:
		if (ch == '\r') {
			c->state = CH_END_LF;
			return 0;
		}
		c->state = CH_TRAILER_LINE;
		c->line = 0;
		__attribute__((fallthrough));
	case CH_TRAILER_LINE:
		if (++c->trailers > PROXY_CHUNK_TRAILERS_MAX)
			return -1;
		e = proxy_chunk_eol(c, ch, PROXY_CHUNK_LINE_MAX);
		if (e == 1)
			c->state = CH_TRAILER;
		return e < 0 ? -1 : 0;
	case CH_END_LF:
		if (ch != '\n')
			return -1;
		c->state = CH_DONE;
		return 1;
	default:
		return -1;
	}
}

ssize_t proxy_chunked_feed(struct proxy_chunked *c, const char *p, size_t n, bool *done)
{
	size_t i = 0;

	*done = c->state == CH_DONE;
	if (*done)
		return 0;
	while (i < n) {
		int r;

		if (c->state == CH_DATA) {
			size_t take = n - i < c->left ? n - i : (size_t)c->left;

			i += take;
			c->left -= take;
			if (!c->left)
				c->state = CH_DATA_CR;
			continue;
		}
		r = proxy_chunk_byte(c, (unsigned char)p[i++]);
		if (r < 0)
			return -EBADMSG;
		if (r == 1) {
			*done = true;
			break;
		}
	}
	return (ssize_t)i;
}
