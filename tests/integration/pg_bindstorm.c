// SPDX-License-Identifier: MIT
/* pg_bindstorm: a burst of N bind() calls of one TCP socket on 0.0.0.0:PORT, as fast as they go
 * (a socket refused stays unbound, so the same one is tried again); prints
 * "denied D bound B other O" and exits 0 when every call was answered EPERM. */
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
	struct sockaddr_in a = { .sin_family = AF_INET };
	unsigned long n, denied = 0, bound = 0, other = 0;
	long port;
	int fd;

	if (argc != 3 || (n = strtoul(argv[1], NULL, 10)) == 0 ||
	    (port = strtol(argv[2], NULL, 10)) < 1 || port > 65535) {
		fprintf(stderr, "usage: pg_bindstorm COUNT PORT\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("pg_bindstorm: socket");
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			/* Allowed after all: a fresh socket for the next try. */
			bound++;
			close(fd);
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				perror("pg_bindstorm: socket");
				return 1;
			}
		} else if (errno == EPERM) {
			denied++;
		} else {
			other++;
		}
	}
	close(fd);
	printf("denied %lu bound %lu other %lu\n", denied, bound, other);
	return denied == n ? 0 : 1;
}
