/* SPDX-License-Identifier: MIT */
/* registry_json: turns the registry scripts' flat records into typed JSON (jansson). */
#ifndef PORTGATE_REGISTRY_JSON_H
#define PORTGATE_REGISTRY_JSON_H

#include <hiredis/hiredis.h>
#include <jansson.h>

/* A record ({field, value, ...}) as a JSON object: numbers for ports and times, booleans
 * for flags, an array for allowed_sources. Fields holding secrets (*_hash) are left out,
 * always. Returns a new reference, or NULL when `rec` is not a record. */
json_t *registry_json_record(const redisReply *rec);

/* Elements [from, n) of an array reply, each a record, as a JSON array (new reference). */
json_t *registry_json_records(const redisReply *reply, size_t from);

#endif
