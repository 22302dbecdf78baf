/* SPDX-License-Identifier: MIT */
/* proxy_framing: where a request and its response end, so a backend connection can be reused. */
#ifndef PORTGATE_PROXY_FRAMING_H
#define PORTGATE_PROXY_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "http_head.h"

/*
 * Whether a request may go over a reused backend connection: HTTP/1.1, not CONNECT, no
 * Upgrade, no Transfer-Encoding (a chunked upload keeps its own connection), and a Connection
 * header that is exactly "close" (any case), and a body only on POST, PUT or PATCH: the client
 * wants one exchange, so the backend connection outlives it. Then *drop is the Connection line to
 * cut from the forwarded head
 * ([start, end) offsets from the head's first byte, CRLF included) and *body the request body's
 * length. False leaves the request on a connection of its own.
 */
bool proxy_framing_request(const struct http_request *req, const char *head, size_t drop[2],
			   uint64_t *body);

/* How a response body ends. */
enum proxy_body {
	PROXY_BODY_NONE,    /* no body: 1xx, 204, 304, or the answer to HEAD */
	PROXY_BODY_LENGTH,  /* Content-Length bytes */
	PROXY_BODY_CHUNKED, /* chunked (RFC 9112 7.1) */
	PROXY_BODY_CLOSE,   /* until the backend closes */
};

/*
 * The body of the parsed response r to a request (head_request: its method was HEAD):
 * *body, *len (PROXY_BODY_LENGTH) and *keep (the backend connection may carry another request
 * afterwards: HTTP/1.1 without "Connection: close", and a framed body). 0, or -EBADMSG when the
 * framing is invalid (bad or conflicting Content-Length, Transfer-Encoding not ending in
 * chunked on a response that the proxy cannot delimit otherwise is PROXY_BODY_CLOSE).
 */
int proxy_framing_response(const struct http_response *r, bool head_request, enum proxy_body *body,
			   uint64_t *len, bool *keep);

#define PROXY_CLOSE_LINE "Connection: close\r\n"
/*
 * The response head head[0..hl) (parsed as r) as the client gets it when its connection ends
 * after this response: without Connection and Keep-Alive lines, with "Connection: close" last.
 * out needs hl + sizeof(PROXY_CLOSE_LINE) bytes. Returns the new length.
 */
size_t proxy_framing_close_head(const struct http_response *r, const char *head, size_t hl,
				char *out);

/* A chunked body being read, from its first byte. */
struct proxy_chunked {
	uint8_t state;
	bool cr;	   /* the previous byte was CR (each line must end CRLF) */
	uint16_t digits;   /* hex digits of the size so far */
	uint32_t line;	   /* bytes of the current size or trailer line */
	uint32_t trailers; /* bytes of trailer section so far */
	uint64_t left;	   /* data bytes left in the current chunk */
};

#define PROXY_CHUNK_LINE_MAX	 4096
#define PROXY_CHUNK_TRAILERS_MAX 16384

/*
 * Feeds p[0..n), the next bytes of the stream. Returns how many belong to the body (n, or less
 * when the body ended inside; *done is then true and stays so), or -EBADMSG when the stream is
 * not a chunked body: bad size, a chunk not followed by CRLF, a bare LF or CR, a control byte
 * in a line, a line or trailer section over its limit.
 */
ssize_t proxy_chunked_feed(struct proxy_chunked *c, const char *p, size_t n, bool *done);

#endif
