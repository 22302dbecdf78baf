// SPDX-License-Identifier: MIT
/* pg_ctl: plays portgated's side of the proxy control channel for tests (ops in, events out). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 *   pg_ctl PROXY [ARGS...]
 * starts PROXY --control-fd 3 ARGS with one end of a socketpair as fd 3, then:
 *   - each stdin line is sent as one message (a JSON op);
 *   - a line "@listen ADDR:PORT {json}" binds and listens on ADDR:PORT here (as portgated
 *     does) and sends {json} with that socket attached by SCM_RIGHTS;
 *   - every line the proxy writes is printed on stdout.
 * At the end of stdin the channel is closed (the proxy then stops); exits with its status.
 */

static int ctl_listen(const char *spec)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char addr[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(addr))
		return -1;
	memcpy(addr, spec, (size_t)(colon - spec));
	addr[colon - spec] = '\0';
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int ctl_send(int sock, const char *line, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)line, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static void ctl_relay(int sock)
{
	char buf[65536];
	ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
}

/* One stdin line: "@listen ADDR:PORT {json}" or a plain op. */
static void ctl_op(int sock, char *line, size_t len)
{
	char *sp;
	int fd;

	line[len - 1] = '\0';
	if (strncmp(line, "@listen ", 8) != 0) {
		line[len - 1] = '\n';
		ctl_send(sock, line, len, -1);
		return;
	}
	sp = strchr(line + 8, ' ');
	if (!sp)
		return;
	*sp = '\0';
	fd = ctl_listen(line + 8);
	if (fd < 0) {
		fprintf(stderr, "pg_ctl: cannot listen on %s: %s\n", line + 8, strerror(errno));
		return;
	}
	line[len - 1] = '\n';
	ctl_send(sock, sp + 1, (size_t)(line + len - (sp + 1)), fd);
	close(fd); /* the proxy has its own copy now */
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	int sv[2], status = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: pg_ctl PROXY [ARGS...] < ops\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char **args = calloc((size_t)argc + 3, sizeof(char *));

		/* The child's end as fd 3, without CLOEXEC, as portgated passes it. */
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		args[0] = argv[1];
		args[1] = "--control-fd";
		args[2] = "3";
		for (int i = 2; i < argc; i++)
			args[i + 1] = argv[i];
		execv(argv[1], args);
		_exit(127);
	}
	close(sv[1]);
	line = malloc(cap = 1 << 20);
	for (size_t have = 0;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = sv[0], .events = POLLIN } };
		ssize_t n;
		char *nl;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			ctl_relay(sv[0]);
		if (p[1].revents & POLLHUP)
			break;
		if (!p[0].revents)
			continue;
		/* read(), not stdio: poll must see every line that is not handled yet. */
		n = read(0, line + have, cap - have - 1);
		if (n <= 0)
			break;
		have += (size_t)n;
		while ((nl = memchr(line, '\n', have))) {
			size_t len = (size_t)(nl - line) + 1;

			ctl_op(sv[0], line, len);
			memmove(line, line + len, have - len);
			have -= len;
		}
	}
	/* Closing the channel asks the proxy to stop; print what it still says. */
	shutdown(sv[0], SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = sv[0], .events = POLLIN };

		if (poll(&p, 1, 5000) <= 0)
			break;
		char buf[65536];
		ssize_t n = recv(sv[0], buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	fflush(stdout);
	close(sv[0]);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	free(line);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
