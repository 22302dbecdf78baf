/* SPDX-License-Identifier: MIT */
/* cli_table: aligned markdown-style tables of daemon text, safe for a terminal. */
#ifndef PORTGATE_CLI_TABLE_H
#define PORTGATE_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_TABLE_MAX_COLS 16

/* A table printed like the port maps people keep in markdown: "| A   | B |". */
struct cli_table {
	size_t ncols; /* at most CLI_TABLE_MAX_COLS */
	const char *const *head;
	unsigned int right; /* bit i: column i is right-aligned (numbers) */
	char **cells;	    /* nrows * ncols, owned */
	size_t nrows, cap;
	int err;
};

/*
 * Returns a malloc'd copy of s that is safe to print: C0/C1 controls and DEL become '?'
 * (no terminal escapes from daemon text) and, for table cells, '|' becomes "\|".
 * NULL when out of memory.
 */
char *cli_table_clean(const char *s, bool table);

/* Terminal columns of UTF-8 text, one per code point (wide glyphs are not measured). */
size_t cli_table_width(const char *s);

/* Starts an empty table; head (ncols titles) must outlive it; bit i of right: column i is
 * right-aligned. */
void cli_table_init(struct cli_table *t, const char *const *head, size_t ncols, unsigned int right);

/* Appends a row of ncols strings (NULL shows as "-"), cleaned and copied; a failure sticks
 * in t->err and is reported by cli_table_print. */
void cli_table_row(struct cli_table *t, const char *const *cells);

/* Prints head, separator and rows, every column as wide as its widest cell.
 * Returns 0, or the first error of cli_table_row (-ENOMEM). */
int cli_table_print(FILE *out, const struct cli_table *t);

/* Frees the rows; the table may be reused after cli_table_init. */
void cli_table_free(struct cli_table *t);

#endif
