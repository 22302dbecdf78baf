// SPDX-License-Identifier: MIT
/* test_cli_client: portgate's HTTP client against a scripted server on a Unix socket. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../userspace/portgate/cli_client.h"

enum server_mode {
	SRV_ECHO,	 /* answers 200 with the request it read as the body, in small pieces */
	SRV_NO_LENGTH,	 /* answers without Content-Length and closes */
	SRV_CHUNKED,	 /* answers with Transfer-Encoding: chunked */
	SRV_SILENT,	 /* reads and never answers */
	SRV_CLOSE,	 /* closes at once */
	SRV_SHORT_BODY,	 /* promises more body than it sends, then closes */
	SRV_GARBAGE,	 /* not HTTP */
	SRV_ERROR_409,	 /* a JSON error answer */
	SRV_HUGE_LENGTH, /* a Content-Length past the client's limit */
	SRV_INTERIM_100, /* a 100 Continue head */
	SRV_TWO_LENGTHS, /* conflicting Content-Length headers */
	SRV_LONG_HEAD,	 /* a head past the client's limit */
};

struct server {
	char dir[64];
	char path[108];
	pid_t pid;
};

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Reads a request head and its Content-Length body into buf; returns its length. */
static size_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		char *end, *cl;

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "Content-Length: ");
		if (!cl || cl > end)
			break;
		if (len >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			break;
	}
	return len;
}

static void serve(int lfd, enum server_mode mode)
{
	char req[8192], head[256];
	int fd = accept(lfd, NULL, NULL);
	size_t len;

	if (fd < 0)
		_exit(1);
	if (mode == SRV_CLOSE)
		_exit(0);
	len = read_request(fd, req, sizeof(req));
	switch (mode) {
	case SRV_ECHO:
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", len);
		/* In pieces, so the client has to reassemble head and body. */
		for (size_t o = 0, n = strlen(head); o < n; o += 7) {
			char piece[8];

			snprintf(piece, sizeof(piece), "%.7s", head + o);
			send_str(fd, piece);
			usleep(1000);
		}
		send_str(fd, req);
		break;
	case SRV_NO_LENGTH:
		send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"services\":[]}");
		break;
	case SRV_CHUNKED:
		send_str(
		    fd,
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
		break;
	case SRV_SILENT:
		sleep(5);
		break;
	case SRV_SHORT_BODY:
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":");
		break;
	case SRV_GARBAGE:
		send_str(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
		break;
	case SRV_ERROR_409:
		send_str(fd,
			 "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
			 "Content-Length: 37\r\n\r\n{\"error\":\"port taken\",\"field\":\"port\"}");
		break;
	case SRV_HUGE_LENGTH:
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n{}");
		break;
	case SRV_INTERIM_100:
		send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n");
		break;
	case SRV_TWO_LENGTHS:
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}");
		break;
	case SRV_LONG_HEAD: {
		static char big[CLI_CLIENT_MAX_HEAD + 64];

		memset(big, 'a', sizeof(big) - 1);
		send_str(fd, "HTTP/1.1 200 OK\r\nX-Pad: ");
		send_str(fd, big);
		break;
	}
	default:
		break;
	}
	close(fd);
	_exit(0);
}

static void server_start(struct server *s, enum server_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	strcpy(s->dir, "/tmp/test_cli_client.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/pg.sock", s->dir);
	strcpy(sa.sun_path, s->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0)
		serve(lfd, mode);
	close(lfd);
}

static void server_stop(struct server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	unlink(s->path);
	rmdir(s->dir);
}

static int run(enum server_mode mode, const struct cli_request *req, int timeout_ms,
	       struct cli_response *resp)
{
	struct server s;
	int ret;

	server_start(&s, mode);
	ret = cli_client_request(s.path, req, timeout_ms, resp);
	server_stop(&s);
	return ret;
}

static void test_cli_client_request_on_the_wire(void **state)
{
	struct cli_request req = { .method = "POST",
				   .path = "/v1/services/my-app/ports",
				   .body = "{\"port\":8080}",
				   .body_len = 13,
				   .owner_token = "tok123" };
	struct cli_response resp = { 0 };

	assert_int_equal(run(SRV_ECHO, &req, 2000, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body_len, strlen(resp.body));
	assert_true(strncmp(resp.body, "POST /v1/services/my-app/ports HTTP/1.1\r\n", 41) == 0);
	assert_non_null(strstr(resp.body, "\r\nHost: localhost\r\n"));
	assert_non_null(strstr(resp.body, "\r\nX-Owner-Token: tok123\r\n"));
	assert_non_null(strstr(resp.body, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(resp.body, "\r\nContent-Length: 13\r\n"));
	assert_non_null(strstr(resp.body, "\r\n\r\n{\"port\":8080}"));
	cli_client_response_free(&resp);

	/* A GET carries neither body headers nor a token it was not given. */
	req = (struct cli_request){ .method = "GET", .path = "/v1/services" };
	assert_int_equal(run(SRV_ECHO, &req, 2000, &resp), 0);
	assert_null(strstr(resp.body, "Content-Length"));
	assert_null(strstr(resp.body, "X-Owner-Token"));
	cli_client_response_free(&resp);

	/* A POST without a body still says its length. */
	req = (struct cli_request){ .method = "POST", .path = "/v1/cleanup" };
	assert_int_equal(run(SRV_ECHO, &req, 2000, &resp), 0);
	assert_non_null(strstr(resp.body, "\r\nContent-Length: 0\r\n"));
	cli_client_response_free(&resp);
	cli_client_response_free(NULL);
}

static void test_cli_client_answers(void **state)
{
	struct cli_request req = { .method = "GET", .path = "/v1/services" };
	struct cli_response resp = { 0 };

	assert_int_equal(run(SRV_ERROR_409, &req, 2000, &resp), 0);
	assert_int_equal(resp.status, 409);
	assert_int_equal(resp.body_len, 37);
	assert_non_null(strstr(resp.body, "port taken"));
	cli_client_response_free(&resp);

	/* Without Content-Length the body runs to the close we asked for. */
	assert_int_equal(run(SRV_NO_LENGTH, &req, 2000, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "{\"services\":[]}");
	cli_client_response_free(&resp);
}

static void test_cli_client_failures(void **state)
{
	struct cli_request req = { .method = "GET", .path = "/v1/services" };
	struct cli_response resp = { 0 };

	assert_int_equal(run(SRV_CHUNKED, &req, 2000, &resp), -EBADMSG);
	assert_int_equal(run(SRV_SILENT, &req, 200, &resp), -ETIMEDOUT);
	assert_int_equal(run(SRV_CLOSE, &req, 2000, &resp), -ECONNRESET);
	assert_int_equal(run(SRV_SHORT_BODY, &req, 2000, &resp), -ECONNRESET);
	assert_int_equal(run(SRV_GARBAGE, &req, 2000, &resp), -EBADMSG);
	assert_int_equal(run(SRV_HUGE_LENGTH, &req, 2000, &resp), -EMSGSIZE);
	assert_int_equal(run(SRV_INTERIM_100, &req, 2000, &resp), -EBADMSG);
	assert_int_equal(run(SRV_TWO_LENGTHS, &req, 2000, &resp), -EBADMSG);
	assert_int_equal(run(SRV_LONG_HEAD, &req, 2000, &resp), -EMSGSIZE);
	assert_null(resp.body); /* never written on failure */
}

static void test_cli_client_connect_errors(void **state)
{
	struct cli_request req = { .method = "GET", .path = "/v1/services" };
	struct cli_response resp = { 0 };
	char long_path[200];

	assert_int_equal(cli_client_request("/nonexistent/portgate.sock", &req, 1000, &resp),
			 -ENOENT);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(cli_client_request(long_path, &req, 1000, &resp), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_client_request_on_the_wire),
		cmocka_unit_test(test_cli_client_answers),
		cmocka_unit_test(test_cli_client_failures),
		cmocka_unit_test(test_cli_client_connect_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
