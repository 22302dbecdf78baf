// SPDX-License-Identifier: MIT
/* audit_file: JSON lines appended to a file, one write(2) per buffer of whole lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit_file.h"

#define AUDIT_FILE_BUF (64 * 1024)

struct audit_file {
	char path[4096];
	int fd;
	uint64_t size, max_bytes;
	char *buf;
	size_t len;
	uint64_t buf_lines; /* lines in buf */
	struct audit_file_stats st;
};

static int audit_file_open_fd(const char *path, uint64_t *size)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}

int audit_file_open(const char *path, uint64_t max_bytes, struct audit_file **out)
{
	struct audit_file *f;
	int fd;

	if (strlen(path) + 3 > sizeof(f->path))
		return -ENAMETOOLONG;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->buf = malloc(AUDIT_FILE_BUF))) {
		free(f);
		return -ENOMEM;
	}
	fd = audit_file_open_fd(path, &f->size);
	if (fd < 0) {
		free(f->buf);
		free(f);
		return fd;
	}
	f->fd = fd;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->max_bytes = max_bytes;
	*out = f;
	return 0;
}

/* Writes all of buf[0..len) (a regular file: short writes only on errors such as ENOSPC). */
static int audit_file_write_all(struct audit_file *f, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(f->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = n < 0 ? -errno : -EIO;
			uint64_t lost = 0;

			/* Count the lines whose end did not reach the file. */
			for (size_t i = done; i < len; i++)
				lost += buf[i] == '\n';
			f->st.lost += lost;
			f->st.lines -= lost;
			f->st.write_errors++;
			f->st.last_error = rc;
			return rc;
		}
		done += (size_t)n;
		f->size += (uint64_t)n;
	}
	return 0;
}

/* Opens the path again and switches to it; on failure the old file stays in use. */
static int audit_file_switch(struct audit_file *f)
{
	uint64_t size;
	int fd = audit_file_open_fd(f->path, &size);

	if (fd < 0) {
		f->st.last_error = fd;
		return fd;
	}
	close(f->fd);
	f->fd = fd;
	f->size = size;
	return 0;
}

/* Past the cap: PATH -> PATH.1 (replacing the older one), and a new PATH. */
static int audit_file_rotate(struct audit_file *f)
{
	char old[sizeof(f->path) + 2];
	int rc;

	snprintf(old, sizeof(old), "%s.1", f->path);
	if (rename(f->path, old) < 0) {
		f->st.last_error = -errno;
		return f->st.last_error;
	}
	rc = audit_file_switch(f);
	if (rc == 0)
		f->st.rotations++;
	return rc;
}

int audit_file_flush(struct audit_file *f)
{
	int rc = 0;

	if (f->len) {
		f->st.lines += f->buf_lines;
		rc = audit_file_write_all(f, f->buf, f->len);
		f->len = 0;
		f->buf_lines = 0;
	}
	if (rc == 0 && f->max_bytes && f->size >= f->max_bytes)
		rc = audit_file_rotate(f);
	return rc;
}

void audit_file_append(struct audit_file *f, const char *line, size_t len)
{
	if (f->len + len + 1 > AUDIT_FILE_BUF)
		audit_file_flush(f);
	if (len + 1 > AUDIT_FILE_BUF) {
		/* Cannot happen with audit_event lines (a few KiB at most); counted, not cut. */
		f->st.lost++;
		return;
	}
	memcpy(f->buf + f->len, line, len);
	f->buf[f->len + len] = '\n';
	f->len += len + 1;
	f->buf_lines++;
}

bool audit_file_pending(const struct audit_file *f)
{
	return f->len > 0;
}

int audit_file_reopen(struct audit_file *f)
{
	audit_file_flush(f);
	return audit_file_switch(f);
}

void audit_file_close(struct audit_file *f)
{
	if (!f)
		return;
	audit_file_flush(f);
	close(f->fd);
	free(f->buf);
	free(f);
}

const char *audit_file_path(const struct audit_file *f)
{
	return f->path;
}

void audit_file_stats(const struct audit_file *f, struct audit_file_stats *out)
{
	*out = f->st;
}
