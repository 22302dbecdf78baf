// SPDX-License-Identifier: MIT
/* pg_bind: binds one socket and says what the kernel answered: "bound ADDR PORT" (from
 * getsockname, so a rewritten address shows) or "error ERRNAME"; with --hold it then waits. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char addr[INET6_ADDRSTRLEN];
	int udp, v6, fd, one = 1;

	if (argc < 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: pg_bind tcp|udp ADDR PORT [--hold]\n");
		return 2;
	}
	udp = strcmp(argv[1], "udp") == 0;
	v6 = strchr(argv[2], ':') != NULL;
	if (v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(argv[3]));
		len = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(argv[3]));
		len = sizeof(*s4);
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, argv[2],
		      v6 ? (void *)&s6->sin6_addr : (void *)&s4->sin_addr) != 1) {
		fprintf(stderr, "pg_bind: bad address %s\n", argv[2]);
		return 2;
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
		printf("error %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
		return 1;
	}
	if (!udp)
		listen(fd, 16);
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	inet_ntop(ss.ss_family,
		  ss.ss_family == AF_INET6 ? (void *)&s6->sin6_addr : (void *)&s4->sin_addr, addr,
		  sizeof(addr));
	printf("bound %s %u\n", addr,
	       ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port));
	fflush(stdout);
	if (argc > 4 && strcmp(argv[4], "--hold") == 0)
		pause();
	return 0;
}
