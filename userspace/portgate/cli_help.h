/* SPDX-License-Identifier: MIT */
/* cli_help: the portgate help and version texts. */
#ifndef PORTGATE_CLI_HELP_H
#define PORTGATE_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

#define CLI_VERSION "0.1.0"

/* Prints the full help (service_only: only the service commands) to out. */
void cli_help_print(FILE *out, bool service_only);

/* Prints "portgate VERSION" to out. */
void cli_help_version(FILE *out);

#endif
