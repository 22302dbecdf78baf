// SPDX-License-Identifier: MIT
/* test_proxy_link: portgated's end of the portgate-proxy control channel, over a socketpair. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../userspace/portgated/proxy_link.h"

struct fixture {
	struct evloop *loop;
	struct proxy_link *link;
	int peer; /* the proxy's end */
	json_t *events;
	int downs;
};

static void on_event(json_t *ev, void *arg)
{
	struct fixture *f = arg;

	if (!ev)
		f->downs++;
	else
		json_array_append(f->events, ev);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(evloop_new(&f->loop), 0);
	assert_int_equal(proxy_link_new(f->loop, sv[0], on_event, f, &f->link), 0);
	f->peer = sv[1];
	f->events = json_array();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proxy_link_free(f->link);
	evloop_free(f->loop);
	close(f->peer);
	json_decref(f->events);
	free(f);
	return 0;
}

static void stop(struct evloop *loop, void *arg)
{
	evloop_stop(loop);
}

/* Runs the loop for 20 ms: whatever is ready now gets handled. */
static void spin(struct fixture *f)
{
	evloop_timer_add(f->loop, 20, stop, NULL);
	evloop_run(f->loop);
}

/* One recvmsg on the peer: the bytes, and the fd that came with them (-1: none). */
static ssize_t peer_recv(struct fixture *f, char *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(f->peer, &mh, MSG_DONTWAIT);

	*fd = -1;
	if (n >= 0)
		buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

static void test_proxy_link_send_line(void **state)
{
	struct fixture *f = *state;
	json_t *msg = json_pack("{s:s,s:i}", "op", "close", "port", 8081);
	char buf[256];
	int fd;

	assert_int_equal(proxy_link_send(f->link, msg, -1), 0);
	json_decref(msg);
	assert_int_equal(peer_recv(f, buf, sizeof(buf), &fd), 27);
	assert_string_equal(buf, "{\"op\":\"close\",\"port\":8081}\n");
	assert_int_equal(fd, -1);
}

/* The fd rides on the line's bytes, and the link no longer holds it. */
static void test_proxy_link_send_fd(void **state)
{
	struct fixture *f = *state;
	json_t *msg = json_pack("{s:s,s:i}", "op", "listen", "port", 8081);
	int p[2], fd;
	struct stat a, b;
	char buf[256];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fstat(p[0], &a), 0);
	assert_int_equal(proxy_link_send(f->link, msg, p[0]), 0);
	json_decref(msg);
	assert_int_equal(fcntl(p[0], F_GETFD), -1); /* closed by the link once sent */
	assert_true(peer_recv(f, buf, sizeof(buf), &fd) > 0);
	assert_string_equal(buf, "{\"op\":\"listen\",\"port\":8081}\n");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	close(p[1]);
}

static void test_proxy_link_events(void **state)
{
	struct fixture *f = *state;
	const char in[] = "{\"event\":\"ready\",\"pid\":7}\n\n{\"event\":\"listening\",";

	assert_int_equal(write(f->peer, in, strlen(in)), (ssize_t)strlen(in));
	spin(f);
	assert_int_equal(json_array_size(f->events), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(f->events, 0), "pid")),
			 7);
	/* The rest of a line split across reads. */
	assert_int_equal(write(f->peer, "\"port\":9}\n", 10), 10);
	spin(f);
	assert_int_equal(json_array_size(f->events), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(f->events, 1), "port")),
			 9);
	assert_int_equal(f->downs, 0);
}

static void test_proxy_link_eof(void **state)
{
	struct fixture *f = *state;
	json_t *msg = json_pack("{s:s}", "op", "settings");
	int p[2];

	close(f->peer);
	f->peer = -1;
	spin(f);
	assert_int_equal(f->downs, 1);
	/* Down: sends fail and still close the fd they were given. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proxy_link_send(f->link, msg, p[0]), -EPIPE);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	close(p[1]);
	json_decref(msg);
	spin(f);
	assert_int_equal(f->downs, 1); /* told once */
}

static void test_proxy_link_not_json(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(write(f->peer, "[1,2]\n", 6), 6);
	spin(f);
	assert_int_equal(f->downs, 1);
	assert_int_equal(json_array_size(f->events), 0);
}

static void test_proxy_link_line_too_long(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(PROXY_LINK_MAX_LINE + 16);

	assert_non_null(big);
	memset(big, 'x', PROXY_LINK_MAX_LINE + 16);
	fcntl(f->peer, F_SETFL, O_NONBLOCK);
	for (size_t off = 0; off < PROXY_LINK_MAX_LINE + 16 && !f->downs;) {
		ssize_t n = write(f->peer, big + off, PROXY_LINK_MAX_LINE + 16 - off);

		if (n > 0)
			off += (size_t)n;
		spin(f);
	}
	assert_int_equal(f->downs, 1);
	free(big);
}

static void test_proxy_link_too_big_to_send(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(PROXY_LINK_MAX_LINE);
	json_t *msg;

	assert_non_null(big);
	memset(big, 'x', PROXY_LINK_MAX_LINE - 1);
	big[PROXY_LINK_MAX_LINE - 1] = '\0';
	msg = json_pack("{s:s}", "op", big);
	assert_int_equal(proxy_link_send(f->link, msg, -1), -EMSGSIZE);
	json_decref(msg);
	free(big);
}

/* More than the socket buffer holds: queued, and sent in order as the peer reads. */
static void test_proxy_link_backpressure(void **state)
{
	struct fixture *f = *state;
	char *pad = malloc(60000), buf[65536];
	size_t lines = 0;
	int fd;

	assert_non_null(pad);
	memset(pad, 'p', 59999);
	pad[59999] = '\0';
	for (int i = 0; i < 40; i++) {
		json_t *msg = json_pack("{s:s,s:i,s:s}", "op", "x", "i", i, "pad", pad);

		assert_int_equal(proxy_link_send(f->link, msg, -1), 0);
		json_decref(msg);
	}
	for (int spins = 0; spins < 1000 && lines < 40; spins++) {
		ssize_t n;

		while ((n = peer_recv(f, buf, sizeof(buf), &fd)) > 0) {
			for (ssize_t k = 0; k < n; k++)
				lines += buf[k] == '\n';
		}
		spin(f);
	}
	assert_int_equal(lines, 40);
	assert_int_equal(f->downs, 0);
	free(pad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proxy_link_send_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_send_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_not_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_line_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_too_big_to_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_link_backpressure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
