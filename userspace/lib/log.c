// SPDX-License-Identifier: MIT
/* log: one-line diagnostics to stderr, with level and program name. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "log.h"

static const char *log_prog = "portgate";
static enum log_level log_max = LOG_LVL_INFO;

void log_setup(const char *prog, enum log_level max)
{
	log_prog = prog;
	log_max = max;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char msg[1024];
	va_list ap;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One fputs per line so concurrent writers never interleave within a line. */
	char line[1200];
	snprintf(line, sizeof(line), "%s: %s: %s\n", log_prog, names[lvl], msg);
	fputs(line, stderr);
}
