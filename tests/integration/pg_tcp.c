// SPDX-License-Identifier: MIT
/* pg_tcp: raw TCP clients for the proxy tests: half-close, slow senders, many idle sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 *   pg_tcp send HOST PORT            stdin to the socket, then shutdown(SHUT_WR), then the
 *                                    answer to stdout (the half-close test, raw requests)
 *   pg_tcp slow HOST PORT MS         stdin to the socket one byte every MS ms, then the answer
 *   pg_tcp hold HOST PORT N [DATA]   N connections, each sent DATA (C escapes: \r \n \\);
 *                                    with -r first, waits for a byte back on each; prints
 *                                    "ready N" and keeps them open until stdin ends
 */

static int tcp_connect(const char *host, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd;

	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void tcp_copy_out(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	fflush(stdout);
}

static size_t tcp_unescape(const char *in, char *out)
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '\\' && in[1]) {
			in++;
			out[n++] = *in == 'r' ? '\r' : *in == 'n' ? '\n' : *in;
		} else {
			out[n++] = *in;
		}
	}
	return n;
}

static int tcp_send(const char *host, int port, long delay_ms)
{
	struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
	char buf[65536];
	ssize_t n;
	int fd = tcp_connect(host, port);

	if (fd < 0) {
		perror("pg_tcp: connect");
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (delay_ms < 0) {
			if (tcp_write_all(fd, buf, (size_t)n) < 0)
				break;
			continue;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (tcp_write_all(fd, buf + i, 1) < 0)
				goto out;
			nanosleep(&ts, NULL);
		}
	}
out:
	shutdown(fd, SHUT_WR);
	tcp_copy_out(fd);
	close(fd);
	return 0;
}

static int tcp_hold(const char *host, int port, int count, const char *data, bool wait_reply)
{
	char *msg = malloc(strlen(data) + 1), c;
	size_t len = tcp_unescape(data, msg);
	int *fds = calloc((size_t)count, sizeof(int)), n = 0;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (; n < count; n++) {
		fds[n] = tcp_connect(host, port);
		if (fds[n] < 0) {
			fprintf(stderr, "pg_tcp: connection %d: %s\n", n, strerror(errno));
			break;
		}
		if (len && tcp_write_all(fds[n], msg, len) < 0)
			break;
	}
	if (wait_reply) {
		for (int i = 0; i < n; i++) {
			struct pollfd p = { .fd = fds[i], .events = POLLIN };

			if (poll(&p, 1, 10000) != 1 || recv(fds[i], &c, 1, MSG_PEEK) != 1) {
				fprintf(stderr, "pg_tcp: no reply on connection %d\n", i);
				break;
			}
		}
	}
	printf("ready %d\n", n);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(msg);
	return n == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	bool wait_reply = false;

	if (argc > 1 && strcmp(argv[1], "-r") == 0) {
		wait_reply = true;
		argv++;
		argc--;
	}
	if (argc >= 4 && strcmp(argv[1], "send") == 0)
		return tcp_send(argv[2], atoi(argv[3]), -1);
	if (argc >= 5 && strcmp(argv[1], "slow") == 0)
		return tcp_send(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "hold") == 0)
		return tcp_hold(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : "",
				wait_reply);
	fprintf(stderr, "usage: pg_tcp send|slow|hold ... (see the source)\n");
	return 2;
}
