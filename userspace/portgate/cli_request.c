// SPDX-License-Identifier: MIT
/* cli_request: a parsed command turned into method, path and JSON body of the control API. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_request.h"

ssize_t cli_request_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			     *p == '~';

		if (o + (plain ? 1 : 3) >= outlen)
			return -ENOSPC;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		}
	}
	if (o >= outlen)
		return -ENOSPC;
	out[o] = '\0';
	return (ssize_t)o;
}

/*
 * Appends fmt to path; each "%s" argument is percent-encoded first, so a service called
 * "a/b" can never reach another route. Only "%s" and "%u" are understood.
 */
static int cli_request_path(char *path, const char *fmt, ...)
{
	char *o = path, *end = path + CLI_REQUEST_PATH_MAX;
	va_list ap;
	int ret = 0;

	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		if (o >= end - 1) {
			ret = -ENAMETOOLONG;
			break;
		}
		if (f[0] == '%' && f[1] == 's') {
			ssize_t n =
			    cli_request_encode(va_arg(ap, const char *), o, (size_t)(end - o));

			if (n < 0) {
				ret = -ENAMETOOLONG;
				break;
			}
			o += n;
			f++;
		} else if (f[0] == '%' && f[1] == 'u') {
			int n = snprintf(o, (size_t)(end - o), "%u", va_arg(ap, unsigned int));

			if (n < 0 || n >= end - o) {
				ret = -ENAMETOOLONG;
				break;
			}
			o += n;
			f++;
		} else {
			*o++ = *f;
		}
	}
	va_end(ap);
	if (ret < 0)
		return ret;
	*o = '\0';
	return 0;
}

/* json_object_set_new that turns a failed allocation (NULL value) into -ENOMEM. */
static int cli_request_set(json_t *obj, const char *key, json_t *value)
{
	if (!value || json_object_set_new(obj, key, value) < 0)
		return -ENOMEM;
	return 0;
}

static json_t *cli_request_create_body(const struct cli_cmd *cmd)
{
	json_t *o = json_object();

	if (!o || cli_request_set(o, "service_name", json_string(cmd->name)) < 0 ||
	    (cmd->description &&
	     cli_request_set(o, "description", json_string(cmd->description)) < 0) ||
	    (cmd->cgroup && cli_request_set(o, "cgroup", json_string(cmd->cgroup)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *cli_request_port_add_body(const struct cli_cmd *cmd)
{
	json_t *o = json_object();
	json_t *allow;
	int ret = 0;

	if (!o)
		return NULL;
	if (cmd->purpose)
		ret |= cli_request_set(o, "purpose", json_string(cmd->purpose));
	else
		ret |= cli_request_set(o, "port", json_integer(cmd->port));
	ret |= cli_request_set(o, "bind_address", json_string(cmd->bind_address));
	if (cmd->source_token)
		ret |= cli_request_set(o, "source_token", json_string(cmd->source_token));
	if (cmd->require_token)
		ret |= cli_request_set(o, "require_token", json_true());
	if (cmd->port_name)
		ret |= cli_request_set(o, "port_name", json_string(cmd->port_name));
	if (cmd->protocol)
		ret |= cli_request_set(o, "protocol", json_string(cmd->protocol));
	if (cmd->allowed_for)
		ret |=
		    cli_request_set(o, "allowed_for", json_integer((json_int_t)cmd->allowed_for));
	if (cmd->container_port)
		ret |= cli_request_set(o, "container_port", json_integer(cmd->container_port));
	if (cmd->backend_port)
		ret |= cli_request_set(o, "backend_port", json_integer(cmd->backend_port));
	if (cmd->n_allow) {
		allow = json_array();
		ret |= cli_request_set(o, "allowed_sources", allow);
		for (size_t i = 0; allow && i < cmd->n_allow; i++)
			if (json_array_append_new(allow, json_string(cmd->allow[i])) < 0)
				ret = -ENOMEM;
	}
	if (cmd->description)
		ret |= cli_request_set(o, "description", json_string(cmd->description));
	if (cmd->allow_restricted)
		ret |= cli_request_set(o, "allow_restricted", json_true());
	if (ret) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int cli_request_build(const struct cli_cmd *cmd, struct cli_request *req)
{
	struct cli_request r = { 0 };
	json_t *body = NULL;
	int ret;

	switch (cmd->command) {
	case CLI_CMD_SERVICE_CREATE:
		r.method = "POST";
		ret = cli_request_path(r.path, "/v1/services");
		body = cli_request_create_body(cmd);
		if (!body)
			return -ENOMEM;
		break;
	case CLI_CMD_SERVICE_DELETE:
		r.method = "DELETE";
		r.owner_token = cmd->owner_token;
		ret = cli_request_path(r.path, "/v1/services/%s", cmd->name);
		break;
	case CLI_CMD_SERVICE_LIST:
		r.method = "GET";
		ret = cli_request_path(r.path, "/v1/services");
		break;
	case CLI_CMD_PORT_ADD:
		r.method = "POST";
		r.owner_token = cmd->owner_token;
		ret = cli_request_path(r.path, "/v1/services/%s/ports", cmd->name);
		body = cli_request_port_add_body(cmd);
		if (!body)
			return -ENOMEM;
		break;
	case CLI_CMD_PORT_REMOVE:
		r.method = "DELETE";
		r.owner_token = cmd->owner_token;
		ret =
		    cli_request_path(r.path, "/v1/services/%s/ports/%s", cmd->name, cmd->port_name);
		break;
	case CLI_CMD_PORT_LIST:
		r.method = "GET";
		ret = cli_request_path(r.path, "/v1/services/%s/ports", cmd->name);
		break;
	case CLI_CMD_PORT_CHECK:
		r.method = "GET";
		ret = cli_request_path(r.path, "/v1/ports/%u?protocol=%s&bind_address=%s",
				       cmd->port, cmd->protocol, cmd->bind_address);
		break;
	case CLI_CMD_PORTS_GLOBAL:
		r.method = "GET";
		ret = cli_request_path(r.path,
				       cmd->available_only ? "/v1/ports?available=1" : "/v1/ports");
		break;
	case CLI_CMD_CLEANUP:
		r.method = "POST";
		ret = cli_request_path(r.path, "/v1/cleanup");
		break;
	case CLI_CMD_EXEC:
		/* The service's cgroup, from its record; the move itself is done locally. */
		r.method = "GET";
		ret = cli_request_path(r.path, "/v1/services/%s", cmd->name);
		break;
	case CLI_CMD_STATUS:
		r.method = "GET";
		ret = cli_request_path(r.path, "/v1/status");
		break;
	case CLI_CMD_UNINSTALL:
		/* The daemon removes what it made (its own pin dir and netns): no body. */
		r.method = "POST";
		ret = cli_request_path(r.path, "/v1/uninstall");
		break;
	default:
		return -EINVAL;
	}
	if (ret < 0)
		goto out;
	if (body) {
		r.body = json_dumps(body, JSON_COMPACT);
		if (!r.body) {
			ret = -ENOMEM;
			goto out;
		}
		r.body_len = strlen(r.body);
	}
	*req = r;
	ret = 0;
out:
	json_decref(body);
	return ret;
}

void cli_request_free(struct cli_request *req)
{
	if (!req)
		return;
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
}
