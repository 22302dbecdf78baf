/* SPDX-License-Identifier: MIT */
/* audit_file: the audit trail as JSON lines in a file: buffered, reopened for logrotate,
 * rotated to PATH.1 past a size cap. */
#ifndef PORTGATED_AUDIT_FILE_H
#define PORTGATED_AUDIT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit_file_stats {
	uint64_t lines;	       /* lines written */
	uint64_t lost;	       /* lines that could not be written */
	uint64_t write_errors; /* failed write(2)s (each may lose several lines) */
	uint64_t rotations;    /* renames to PATH.1 for the size cap */
	int last_error;	       /* -errno of the latest failure, 0 none */
};

struct audit_file;

/* Opens (creates, 0640) path for appending; max_bytes 0: no cap. 0 or -errno. */
int audit_file_open(const char *path, uint64_t max_bytes, struct audit_file **out);
/* Flushes and closes. NULL is fine. */
void audit_file_close(struct audit_file *f);

/* Adds one line (the newline is added here) to the buffer; a full buffer is written first.
 * Lines are written whole, by one write(2) per buffer. */
void audit_file_append(struct audit_file *f, const char *line, size_t len);
/* True when lines wait in the buffer (the caller flushes within ~100 ms). */
bool audit_file_pending(const struct audit_file *f);
/* Writes the buffer; then, past the cap, renames the file to PATH.1 (replacing it) and starts
 * a new one. 0 or -errno (lines lost are counted). */
int audit_file_flush(struct audit_file *f);
/* Flushes to the file open now, then opens the path again (logrotate moved it away). On
 * failure the old file stays in use. 0 or -errno. */
int audit_file_reopen(struct audit_file *f);

const char *audit_file_path(const struct audit_file *f);
void audit_file_stats(const struct audit_file *f, struct audit_file_stats *out);

#endif
