// SPDX-License-Identifier: MIT
/* test_audit_file: the JSON-lines file: buffering, reopen after a move, the size cap. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "../../userspace/portgated/audit_file.h"

struct fixture {
	char dir[64], path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_audit_file.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	for (const char *s = ".1\0.moved\0"; *s; s += strlen(s) + 1) {
		snprintf(p, sizeof(p), "%s%s", f->path, s);
		unlink(p);
	}
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Lines in a file (-1 if it cannot be read); every line must end with a newline. */
static long count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	long n = 0;
	int c, last = '\n';

	if (!fp)
		return -1;
	while ((c = fgetc(fp)) != EOF) {
		n += c == '\n';
		last = c;
	}
	fclose(fp);
	assert_int_equal(last, '\n');
	return n;
}

static void test_audit_file_buffer_and_mode(void **state)
{
	struct fixture *f = *state;
	struct audit_file_stats st;
	struct audit_file *af;
	struct stat sb;

	assert_int_equal(audit_file_open(f->path, 0, &af), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_false(audit_file_pending(af));
	audit_file_append(af, "{\"a\":1}", 7);
	assert_true(audit_file_pending(af));
	assert_int_equal(count_lines(f->path), 0); /* buffered until flushed */
	assert_int_equal(audit_file_flush(af), 0);
	assert_false(audit_file_pending(af));
	assert_int_equal(count_lines(f->path), 1);
	for (int i = 0; i < 10000; i++)
		audit_file_append(af, "{\"line\":\"0123456789012345678901234567890123456789\"}",
				  50);
	audit_file_close(af); /* flushes */
	assert_int_equal(count_lines(f->path), 10001);
	/* Appends to what is there. */
	assert_int_equal(audit_file_open(f->path, 0, &af), 0);
	audit_file_append(af, "{}", 2);
	audit_file_stats(af, &st);
	audit_file_close(af);
	assert_int_equal(count_lines(f->path), 10002);
	assert_int_equal(st.lost, 0);
}

/* logrotate: the file is moved, lines keep going to it until SIGHUP's reopen, none lost. */
static void test_audit_file_reopen(void **state)
{
	struct fixture *f = *state;
	struct audit_file *af;
	char moved[160];

	snprintf(moved, sizeof(moved), "%s.moved", f->path);
	assert_int_equal(audit_file_open(f->path, 0, &af), 0);
	audit_file_append(af, "{\"n\":1}", 7);
	assert_int_equal(rename(f->path, moved), 0);
	audit_file_append(af, "{\"n\":2}", 7);
	assert_int_equal(audit_file_reopen(af), 0);
	audit_file_append(af, "{\"n\":3}", 7);
	audit_file_close(af);
	assert_int_equal(count_lines(moved), 2);
	assert_int_equal(count_lines(f->path), 1);
}

/* Past the cap the file becomes PATH.1 (replacing the older one); whole lines only. */
static void test_audit_file_cap(void **state)
{
	struct fixture *f = *state;
	struct audit_file_stats st;
	struct audit_file *af;
	char old[160];
	struct stat sb;

	snprintf(old, sizeof(old), "%s.1", f->path);
	assert_int_equal(audit_file_open(f->path, 1000, &af), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 30; i++)
			audit_file_append(af, "{\"0123456789012345678901234567890123456\":1}", 43);
		assert_int_equal(audit_file_flush(af), 0);
		assert_int_equal(count_lines(old), 30);
		assert_int_equal(count_lines(f->path), 0);
	}
	audit_file_stats(af, &st);
	assert_int_equal(st.rotations, 3);
	assert_int_equal(st.lines, 90);
	/* Below the cap: no rotation. */
	audit_file_append(af, "{}", 2);
	assert_int_equal(audit_file_flush(af), 0);
	audit_file_close(af);
	assert_int_equal(count_lines(f->path), 1);
	assert_int_equal(stat(old, &sb), 0);
	assert_int_equal(sb.st_size, 30 * 44);
}

static void test_audit_file_errors(void **state)
{
	struct fixture *f = *state;
	struct audit_file *af = NULL;
	char p[160];

	snprintf(p, sizeof(p), "%s/no/such/dir/audit.jsonl", f->dir);
	assert_int_equal(audit_file_open(p, 0, &af), -ENOENT);
	assert_int_equal(audit_file_open(f->dir, 0, &af), -EISDIR);
	assert_null(af);
	audit_file_close(NULL);
}

/* A full disk (here a file size limit): lines that do not reach the file are counted. */
static void test_audit_file_write_error(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, small = { .rlim_cur = 100, .rlim_max = RLIM_INFINITY };
	struct audit_file_stats st;
	struct audit_file *af;
	int rc;

	assert_int_equal(audit_file_open(f->path, 0, &af), 0);
	for (int i = 0; i < 10; i++)
		audit_file_append(af, "{\"0123456789012345678901234567890123456\":1}", 43);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = audit_file_flush(af);
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(rc, -EFBIG);
	audit_file_stats(af, &st);
	/* 100 bytes went out: two whole lines of 44 and a piece of the third. */
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.lost, 8);
	assert_int_equal(st.write_errors, 1);
	assert_int_equal(st.last_error, -EFBIG);
	audit_file_close(af);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_file_buffer_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_file_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_file_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_file_write_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
