// SPDX-License-Identifier: MIT
/* pg_listen: holds a TCP or UDP socket bound on ADDR PORT until killed (a "real listener" for
 * tests). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int one = 1, udp, v6, fd;

	if (argc != 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: pg_listen tcp|udp ADDR PORT\n");
		return 2;
	}
	udp = strcmp(argv[1], "udp") == 0;
	v6 = strchr(argv[2], ':') != NULL;
	s6.sin6_port = s4.sin_port = htons((unsigned short)atoi(argv[3]));
	if ((v6 ? inet_pton(AF_INET6, argv[2], &s6.sin6_addr)
		: inet_pton(AF_INET, argv[2], &s4.sin_addr)) != 1) {
		fprintf(stderr, "pg_listen: bad address %s\n", argv[2]);
		return 2;
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 ||
	    bind(fd, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
		 v6 ? sizeof(s6) : sizeof(s4)) < 0 ||
	    (!udp && listen(fd, 16) < 0)) {
		perror("pg_listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	pause();
	return 0;
}
