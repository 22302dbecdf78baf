// SPDX-License-Identifier: MIT
/* pg_storm: N concurrent API clients making M port allocations in all, each on its own
 * keep-alive connection; writes every acknowledged allocation ("proto port service") to a
 * file and reports rate and latency. Survives a daemon restart: a failed request is retried
 * on a new connection until --deadline, and only answers with 201 count as acknowledged. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct storm {
	const char *socket, *service, *purpose, *proto;
	int clients, total, deadline_s;
	FILE *out;
	pthread_mutex_t lock;
	int next, acked, refused, retries;
	double *lat_us;
	int nlat;
	double t_end_limit;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int storm_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One request/response on fd; returns the HTTP status (body in buf) or -1. */
static int storm_request(int fd, const char *req, size_t len, char *buf, size_t cap)
{
	size_t have = 0, need = 0;
	char *body;

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);

		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		body = strstr(buf, "\r\n\r\n");
		if (!body)
			continue;
		if (!need) {
			char *cl = strcasestr(buf, "Content-Length:");

			need = (size_t)(body + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (have >= need)
			break;
	}
	return atoi(buf + 9);
}

static int storm_take(struct storm *s)
{
	int i;

	pthread_mutex_lock(&s->lock);
	i = s->next < s->total ? s->next++ : -1;
	pthread_mutex_unlock(&s->lock);
	return i;
}

static void storm_record(struct storm *s, const char *body, double us)
{
	const char *p = strstr(body, "\"host_port\":");

	pthread_mutex_lock(&s->lock);
	if (p) {
		fprintf(s->out, "%s %d %s\n", s->proto, atoi(p + 12), s->service);
		s->acked++;
	}
	if (s->nlat < s->total)
		s->lat_us[s->nlat++] = us;
	pthread_mutex_unlock(&s->lock);
}

static void *storm_client(void *arg)
{
	struct storm *s = arg;
	char body[256], req[512], buf[8192];
	int fd = -1, i;

	snprintf(body, sizeof(body), "{\"purpose\":\"%s\",\"protocol\":\"%s\"}", s->purpose,
		 s->proto);
	snprintf(req, sizeof(req),
		 "POST /v1/services/%s/ports HTTP/1.1\r\nHost: localhost\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 s->service, strlen(body), body);
	while ((i = storm_take(s)) >= 0) {
		for (;;) {
			double t0 = now_s();
			int st;

			if (fd < 0)
				fd = storm_connect(s->socket);
			st = fd < 0 ? -1 : storm_request(fd, req, strlen(req), buf, sizeof(buf));
			if (st == 201) {
				storm_record(s, buf, (now_s() - t0) * 1e6);
				break;
			}
			if (st == 409) { /* range full: counts as answered, not acknowledged */
				__atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
				break;
			}
			/* 503, a dropped connection or a dead daemon: retry until the deadline. */
			__atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (now_s() > s->t_end_limit)
				return NULL;
			usleep(20000);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct storm s = { .proto = "tcp", .deadline_s = 60 };
	pthread_t th[256];
	double t0, dt;

	if (argc < 7) {
		fprintf(stderr, "usage: pg_storm SOCKET SERVICE PURPOSE CLIENTS TOTAL OUTFILE "
				"[DEADLINE_S] [PROTO]\n");
		return 2;
	}
	s.socket = argv[1];
	s.service = argv[2];
	s.purpose = argv[3];
	s.clients = atoi(argv[4]);
	s.total = atoi(argv[5]);
	if (argc > 7)
		s.deadline_s = atoi(argv[7]);
	if (argc > 8)
		s.proto = argv[8];
	s.out = fopen(argv[6], "w");
	s.lat_us = calloc((size_t)s.total + 1, sizeof(double));
	if (!s.out || !s.lat_us || s.clients < 1 || s.clients > 256) {
		fprintf(stderr, "pg_storm: bad arguments\n");
		return 2;
	}
	setvbuf(s.out, NULL, _IOLBF, 0);
	pthread_mutex_init(&s.lock, NULL);
	t0 = now_s();
	s.t_end_limit = t0 + s.deadline_s;
	for (int i = 0; i < s.clients; i++)
		pthread_create(&th[i], NULL, storm_client, &s);
	for (int i = 0; i < s.clients; i++)
		pthread_join(th[i], NULL);
	dt = now_s() - t0;
	fclose(s.out);
	qsort(s.lat_us, (size_t)s.nlat, sizeof(double), cmp_double);
	printf("acked=%d refused=%d retries=%d seconds=%.3f rate=%.0f p50_us=%.0f p99_us=%.0f\n",
	       s.acked, s.refused, s.retries, dt, s.acked / dt, s.nlat ? s.lat_us[s.nlat / 2] : 0.0,
	       s.nlat ? s.lat_us[s.nlat * 99 / 100] : 0.0);
	free(s.lat_us);
	return s.acked + s.refused == s.total ? 0 : 1;
}
