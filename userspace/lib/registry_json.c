// SPDX-License-Identifier: MIT
/* registry_json: turns the registry scripts' flat records into typed JSON (jansson). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "registry_json.h"

static const char *const registry_json_ints[] = { "host_port",	   "container_port",
						  "created_at",	   "port_count",
						  "allowed_until", "backend_port",
						  "backend_of",	   NULL };
static const char *const registry_json_bools[] = { "require_token", "restricted_grant", NULL };

static bool registry_json_in(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static bool registry_json_secret(const char *name, size_t len)
{
	return len >= 5 && memcmp(name + len - 5, "_hash", 5) == 0;
}

/* "10.0.0.0/8,::1/128" -> ["10.0.0.0/8", "::1/128"] */
static json_t *registry_json_list(const char *s)
{
	json_t *arr = json_array();

	while (arr && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (len)
			json_array_append_new(arr, json_stringn(s, len));
		s += len + (end ? 1 : 0);
	}
	return arr;
}

static json_t *registry_json_value(const char *name, const redisReply *v)
{
	const char *s = v->str ? v->str : "";

	if (registry_json_in(registry_json_ints, name))
		return json_integer(strtoll(s, NULL, 10));
	if (registry_json_in(registry_json_bools, name))
		return json_boolean(strcmp(s, "1") == 0);
	if (strcmp(name, "allowed_sources") == 0)
		return registry_json_list(s);
	return json_stringn(s, v->len);
}

json_t *registry_json_record(const redisReply *rec)
{
	json_t *obj;

	if (!rec || rec->type != REDIS_REPLY_ARRAY || rec->elements % 2)
		return NULL;
	obj = json_object();
	for (size_t i = 0; obj && i + 1 < rec->elements; i += 2) {
		const redisReply *k = rec->element[i], *v = rec->element[i + 1];
		char name[64];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    k->len >= sizeof(name) || registry_json_secret(k->str, k->len))
			continue;
		memcpy(name, k->str, k->len);
		name[k->len] = '\0';
		json_object_set_new(obj, name, registry_json_value(name, v));
	}
	return obj;
}

json_t *registry_json_records(const redisReply *reply, size_t from)
{
	json_t *arr = json_array();

	for (size_t i = from; arr && i < reply->elements; i++) {
		json_t *rec = registry_json_record(reply->element[i]);

		if (rec && json_object_size(rec))
			json_array_append_new(arr, rec);
		else
			json_decref(rec);
	}
	return arr;
}
