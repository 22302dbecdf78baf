// SPDX-License-Identifier: MIT
/* nft_bench: 100,000 set elements in one transaction, libnftnl (our library) vs `nft -f`. */
#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "nft.h"

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Element i of a run: 10.0.0.0 upwards (blocked4), or that address /32 on tcp/8082. */
static uint32_t addr_of(unsigned i)
{
	return 0x0a000000u + i;
}

/* The same elements as an nft script, for `nft -f`. */
static int write_script(const char *path, const char *set, unsigned n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "add element inet portgate %s { ", set);
	for (unsigned i = 0; i < n; i++) {
		uint32_t a = addr_of(i);

		fprintf(f, "%s%u.%u.%u.%u%s", i ? ", " : "", a >> 24, (a >> 16) & 255,
			(a >> 8) & 255, a & 255, strcmp(set, "allowed4") ? "" : " . tcp . 8082");
	}
	fprintf(f, " }\n");
	return fclose(f) ? -errno : 0;
}

/* Runs `nft -f path` in this (private) namespace; returns its wall time or -1. */
static double run_nft(const char *path)
{
	char *argv[] = { "nft", "-f", (char *)path, NULL };
	double t0 = now_s();
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, "nft", NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return now_s() - t0;
}

/*
 * Our side: one batch with count changes, timed from the first add to the last ack; *build
 * gets the time the same batch takes to build in user space alone (no kernel).
 */
static double run_lib(struct nft_ctx *n, enum nft_setname set, unsigned count, double *build)
{
	struct nft_batch *b = NULL;
	double t0 = now_s(), t1;
	int ret = nft_batch_begin(n, &b);

	for (unsigned i = 0; i < count && !ret; i++) {
		uint32_t a = htonl(addr_of(i));

		if (set == NFT_BLOCKED4) {
			ret = nft_batch_add_block(b, AF_INET, (const uint8_t *)&a, 0, true);
		} else {
			struct nft_source s = {
				.proto = IPPROTO_TCP, .port = 8082, .family = AF_INET, .prefix = 32
			};

			memcpy(s.addr, &a, 4);
			ret = nft_batch_add_source(b, &s, true);
		}
	}
	if (!ret)
		ret = nft_batch_commit(b);
	t0 = now_s() - t0;
	if (!ret) {
		size_t len = 64u << 20;
		char *buf = malloc(len);
		long r;

		t1 = now_s();
		r = buf ? nft_batch_build(b, 1, buf, len) : -ENOMEM;
		*build = now_s() - t1;
		free(buf);
		ret = r < 0 ? (int)r : 0;
	}
	nft_batch_free(b);
	if (ret < 0) {
		fprintf(stderr, "nft_bench: commit: %s (%s)\n", strerror(-ret), nft_strerror(n));
		return -1;
	}
	return t0;
}

/* A full resync carrying count allowed sources: table, sets, chains, rules, elements. */
static double run_resync(struct nft_ctx *n, unsigned count)
{
	struct nft_source *s = calloc(count, sizeof(*s));
	struct nft_port p = { IPPROTO_TCP, 8082 };
	struct nft_desired d = {
		.restricted_src = &p, .n_restricted_src = 1, .allowed = s, .n_allowed = count
	};
	double t0;
	int ret;

	if (!s)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		uint32_t a = htonl(addr_of(i));

		s[i] = (struct nft_source){
			.proto = IPPROTO_TCP, .port = 8082, .family = AF_INET, .prefix = 32
		};
		memcpy(s[i].addr, &a, 4);
	}
	t0 = now_s();
	ret = nft_resync(n, &d);
	t0 = now_s() - t0;
	free(s);
	return ret < 0 ? -1 : t0;
}

/* An empty table (uninstall first: a resync would carry the blocked sources over). */
static int reset(struct nft_ctx *n)
{
	struct nft_desired d = { 0 };
	int ret = nft_uninstall(n);

	return ret ? ret : nft_resync(n, &d);
}

static long count_of(struct nft_ctx *n, enum nft_setname set)
{
	struct nft_status st;

	return nft_check(n, &st) < 0 ? -1 : st.elems[set];
}

int main(int argc, char **argv)
{
	unsigned count = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	static const enum nft_setname sets[] = { NFT_BLOCKED4, NFT_ALLOWED4 };
	char script[] = "/tmp/nft_bench.XXXXXX", err[256];
	struct nft_ctx *n = NULL;
	struct utsname u;
	int fd, ret = 1;

	if (reps < 1 || reps > 15 || !count) {
		fprintf(stderr, "usage: nft_bench [ELEMENTS [REPS]]\n");
		return 2;
	}
	/* A namespace of our own: the table, and everything nft -f does, dies with us. */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "nft_bench: skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 0;
	}
	if (nft_open(NULL, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "nft_bench: skip: %s\n", err);
		return 0;
	}
	fd = mkstemp(script);
	if (fd < 0)
		goto out;
	close(fd);
	uname(&u);
	printf("nft_bench: %u elements in one transaction, median of %d, private netns, "
	       "kernel %s\n",
	       count, reps, u.release);
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		const char *name = nft_set_name(sets[k]);
		double lib[15], cli[15], bld[15], l, c;

		if (write_script(script, name, count) < 0)
			goto out;
		for (int r = 0; r < reps; r++) {
			if (reset(n) < 0 || (lib[r] = run_lib(n, sets[k], count, &bld[r])) < 0)
				goto out;
			if (count_of(n, sets[k]) != (long)count) {
				fprintf(stderr,
					"nft_bench: %s holds %ld elements after our batch\n", name,
					count_of(n, sets[k]));
				goto out;
			}
			if (reset(n) < 0 || (cli[r] = run_nft(script)) < 0) {
				fprintf(stderr, "nft_bench: nft -f failed\n");
				goto out;
			}
			if (count_of(n, sets[k]) != (long)count) {
				fprintf(stderr, "nft_bench: %s holds %ld elements after nft -f\n",
					name, count_of(n, sets[k]));
				goto out;
			}
		}
		l = median(lib, reps);
		c = median(cli, reps);
		printf("%-9s libnftnl batch %.3f s (user space %.3f s)   nft -f %.3f s   "
		       "ratio %.1fx\n",
		       name, l, median(bld, reps), c, c / l);
	}
	{
		double rs[15];

		for (int r = 0; r < reps; r++)
			if (reset(n) < 0 || (rs[r] = run_resync(n, count)) < 0)
				goto out;
		printf("resync    table + %u allowed4 elements, one batch: %.3f s\n", count,
		       median(rs, reps));
	}
	ret = 0;
out:
	unlink(script);
	nft_close(n);
	return ret;
}
