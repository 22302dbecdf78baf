/* SPDX-License-Identifier: MIT */
/* fuzz_check: the harnesses' invariant check: a message naming it, then abort() for libFuzzer. */
#ifndef PORTGATE_FUZZ_CHECK_H
#define PORTGATE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
