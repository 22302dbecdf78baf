// SPDX-License-Identifier: MIT
/* cli_client: one HTTP/1.1 request to portgated over its Unix socket, bounded by a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_head.h"
#include "cli_client.h"
#include "cli_help.h"

static int64_t cli_client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes (-ETIMEDOUT). */
static int cli_client_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - cli_client_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Blocking connect bounded by SO_SNDTIMEO (a Unix stream connect waits there when the
 * listener's backlog is full), then non-blocking I/O under poll for the rest.
 */
static int cli_client_connect(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t left = deadline - cli_client_now_ms();
	struct timeval tv;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (left <= 0)
		return -ETIMEDOUT;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* A connect that timed out on a full backlog reports EAGAIN. */
		if (errno == EAGAIN || errno == EINPROGRESS)
			errno = ETIMEDOUT;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	ret = -errno;
	close(fd);
	return ret;
}

static int cli_client_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			int ret;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errno == EPIPE ? -ECONNRESET : -errno;
			ret = cli_client_wait(fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cli_client_send(int fd, const struct cli_request *req, int64_t deadline)
{
	char head[1024 + CLI_REQUEST_PATH_MAX];
	int n, ret;

	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\n"
		     "Host: localhost\r\n"
		     "User-Agent: portgate/" CLI_VERSION "\r\n"
		     "Accept: application/json\r\n"
		     "Connection: close\r\n",
		     req->method, req->path);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	/* The token is checked to be visible ASCII (no CR/LF) before it gets here. */
	if (req->owner_token) {
		ret = snprintf(head + n, sizeof(head) - (size_t)n, "X-Owner-Token: %s\r\n",
			       req->owner_token);
		if (ret < 0 || (size_t)ret >= sizeof(head) - (size_t)n)
			return -ENAMETOOLONG;
		n += ret;
	}
	if (req->body || !strcmp(req->method, "POST")) {
		ret =
		    snprintf(head + n, sizeof(head) - (size_t)n, "%sContent-Length: %zu\r\n",
			     req->body ? "Content-Type: application/json\r\n" : "", req->body_len);
		if (ret < 0 || (size_t)ret >= sizeof(head) - (size_t)n)
			return -ENAMETOOLONG;
		n += ret;
	}
	if ((size_t)n + 2 >= sizeof(head))
		return -ENAMETOOLONG;
	memcpy(head + n, "\r\n", 3);
	n += 2;
	ret = cli_client_send_all(fd, head, (size_t)n, deadline);
	if (ret < 0 || !req->body)
		return ret;
	return cli_client_send_all(fd, req->body, req->body_len, deadline);
}

/* Reads what is there into buf[*len..cap); 0 at EOF, >0 bytes read, -errno. */
static ssize_t cli_client_read(int fd, char *buf, size_t *len, size_t cap, int64_t deadline)
{
	for (;;) {
		ssize_t n = recv(fd, buf + *len, cap - *len, 0);

		if (n > 0) {
			*len += (size_t)n;
			return n;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		n = cli_client_wait(fd, POLLIN, deadline);
		if (n < 0)
			return n;
	}
}

static int cli_client_grow(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	char *p;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return 0;
	p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

/*
 * Reads the head, then the body: Content-Length bytes, or up to EOF when the daemon gave no
 * length (allowed since we asked for Connection: close). Chunked bodies are refused: the API
 * promises Content-Length.
 */
static int cli_client_receive(int fd, int64_t deadline, struct cli_response *resp)
{
	struct http_response head;
	char *buf = NULL;
	size_t len = 0, cap = 0, head_len = 0, want = 0;
	uint64_t clen = 0;
	bool has_length = false;
	int ret;

	for (;;) {
		ssize_t n;

		ret = cli_client_grow(&buf, &cap, len + 4096);
		if (ret < 0)
			goto out;
		n = cli_client_read(fd, buf, &len, cap, deadline);
		if (n < 0) {
			ret = (int)n;
			goto out;
		}
		if (!head_len) {
			ret = http_parse_response(buf, len, CLI_CLIENT_MAX_HEAD, &head);
			if (ret < 0)
				goto out;
			if (ret == 0) {
				if (n == 0) {
					ret = -ECONNRESET;
					goto out;
				}
				continue;
			}
			head_len = (size_t)ret;
			if (head.status < 200) {
				ret = -EBADMSG;
				goto out;
			}
			if (http_find_header(head.headers, head.n_headers, "Transfer-Encoding")) {
				ret = -EBADMSG;
				goto out;
			}
			ret = http_content_length(head.headers, head.n_headers, &clen);
			if (ret < 0)
				goto out;
			has_length = http_find_header(head.headers, head.n_headers,
						      "Content-Length") != NULL;
			if (head.status == 204 || head.status == 304) {
				has_length = true;
				clen = 0;
			}
			if (clen > CLI_CLIENT_MAX_BODY) {
				ret = -EMSGSIZE;
				goto out;
			}
			want = head_len + (size_t)clen;
			resp->status = head.status;
		}
		if (has_length && len >= want)
			break;
		if (n == 0) {
			if (has_length) {
				ret = -ECONNRESET;
				goto out;
			}
			want = len;
			break;
		}
		if (len - head_len > CLI_CLIENT_MAX_BODY) {
			ret = -EMSGSIZE;
			goto out;
		}
	}
	/* Move the body to the front; the head is not needed any more. */
	memmove(buf, buf + head_len, want - head_len);
	resp->body_len = want - head_len;
	buf[resp->body_len] = '\0';
	resp->body = buf;
	return 0;
out:
	free(buf);
	return ret;
}

int cli_client_request(const char *socket_path, const struct cli_request *req, int timeout_ms,
		       struct cli_response *resp)
{
	int64_t deadline = cli_client_now_ms() + timeout_ms;
	struct cli_response r = { 0 };
	int fd, ret;

	fd = cli_client_connect(socket_path, deadline);
	if (fd < 0)
		return fd;
	ret = cli_client_send(fd, req, deadline);
	if (ret < 0)
		goto out;
	ret = cli_client_receive(fd, deadline, &r);
	if (ret < 0)
		goto out;
	*resp = r;
out:
	close(fd);
	return ret;
}

void cli_client_response_free(struct cli_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}
