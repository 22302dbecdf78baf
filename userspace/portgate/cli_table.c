// SPDX-License-Identifier: MIT
/* cli_table: aligned markdown-style tables of daemon text, safe for a terminal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"

/*
 * A copy of daemon text that is safe to print: C0/C1 controls and DEL become '?' (no
 * terminal escapes from a description), and '|' is escaped so table cells stay cells.
 */
char *cli_table_clean(const char *s, bool table)
{
	size_t n = strlen(s);
	char *out = malloc(2 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*o++ = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*o++ = '?';
			p++;
		} else if (*p == '|' && table) {
			*o++ = '\\';
			*o++ = '|';
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

/* Terminal columns of UTF-8 text, one per code point (wide glyphs are not measured). */
size_t cli_table_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void cli_table_init(struct cli_table *t, const char *const *head, size_t ncols, unsigned int right)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
	t->right = right;
	if (ncols > CLI_TABLE_MAX_COLS)
		t->err = -EINVAL;
}

/* Appends a row of ncols strings (NULL prints as "-"); errors stick in t->err. */
void cli_table_row(struct cli_table *t, const char *const *cells)
{
	if (t->err)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (!c) {
			t->err = -ENOMEM;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *c = cli_table_clean(cells[i] ? cells[i] : "-", true);

		if (!c) {
			for (size_t j = 0; j < i; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			t->err = -ENOMEM;
			return;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
}

static void cli_table_cell(FILE *out, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - cli_table_width(s);

	if (right)
		fprintf(out, "%*s%s", (int)pad, "", s);
	else
		fprintf(out, "%s%*s", s, (int)pad, "");
	fputs(last ? " |\n" : " | ", out);
}

int cli_table_print(FILE *out, const struct cli_table *t)
{
	size_t width[16] = { 0 };

	if (t->err)
		return t->err;
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = cli_table_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = cli_table_width(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	fputs("| ", out);
	for (size_t c = 0; c < t->ncols; c++)
		cli_table_cell(out, t->head[c], width[c], t->right & (1u << c), c + 1 == t->ncols);
	/* Markdown's separator: numbers get a trailing ':' (right-aligned when rendered). */
	fputs("| ", out);
	for (size_t c = 0; c < t->ncols; c++) {
		bool right = t->right & (1u << c);

		for (size_t i = 0; i < width[c] - (right ? 1 : 0); i++)
			fputc('-', out);
		if (right)
			fputc(':', out);
		fputs(c + 1 == t->ncols ? " |\n" : " | ", out);
	}
	for (size_t r = 0; r < t->nrows; r++) {
		fputs("| ", out);
		for (size_t c = 0; c < t->ncols; c++)
			cli_table_cell(out, t->cells[r * t->ncols + c], width[c],
				       t->right & (1u << c), c + 1 == t->ncols);
	}
	return 0;
}

void cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}
