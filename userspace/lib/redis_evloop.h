/* SPDX-License-Identifier: MIT */
/* redis_evloop: attaches a hiredis async context to an evloop through hiredis's adapter hooks. */
#ifndef PORTGATE_REDIS_EVLOOP_H
#define PORTGATE_REDIS_EVLOOP_H

#include <hiredis/async.h>
#include "evloop.h"

/* Returns 0 or -ENOMEM / -EEXIST (already attached). hiredis frees the glue through its
 * cleanup hook when the context goes away. */
int redis_evloop_attach(redisAsyncContext *ac, struct evloop *loop);

#endif
