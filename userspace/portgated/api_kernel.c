// SPDX-License-Identifier: MIT
/* api_kernel: the API's kernel side: apply mutations before answering, status, uninstall. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "proxy_listeners.h"
#include "proxy_supervisor.h"
#include "reconciler.h"
#include "registry_json.h"

/* One record to the kernel (added or released), when enforcing. */
static void api_kernel_port(struct daemon *d, const redisReply *raw, bool added)
{
	json_t *rec;

	if (!d->rec)
		return;
	rec = registry_json_record(raw);
	if (!rec)
		return;
	if (added)
		reconciler_port_added(d->rec, rec);
	else
		reconciler_port_removed(d->rec, rec);
	json_decref(rec);
}

/* The kernel first (a backend guarded, portgated allowed to bind the front port), then the
 * proxy, which gets the front port's listening socket: both before the API answers. */
void api_kernel_apply(struct daemon *d, enum registry_script script, const redisReply *reply)
{
	switch (script) {
	case REG_PORT_ADD:
	case REG_PORT_REMOVE:
		/* The port, then the backend of a token-protected one. */
		for (size_t i = 2; i < reply->elements && i < 4; i++)
			api_kernel_port(d, reply->element[i], script == REG_PORT_ADD);
		if (script == REG_PORT_ADD)
			proxy_listeners_port_added(d->proxy, reply->element[2]);
		else
			proxy_listeners_port_removed(d->proxy, reply->element[2]);
		return;
	case REG_SERVICE_DELETE:
		for (size_t i = 3; i < reply->elements; i++) {
			api_kernel_port(d, reply->element[i], false);
			proxy_listeners_port_removed(d->proxy, reply->element[i]);
		}
		return;
	case REG_CLEANUP:
		/* Records of orphans are partial: rebuild from the registry. */
		reconciler_request_resync(d->rec);
		proxy_listeners_sync(d->proxy);
		return;
	default:
		return;
	}
}

/* The registry's side of `portgate status`, counted from the global read. */
static json_t *api_kernel_registry_view(struct daemon *d, const redisReply *reply)
{
	json_t *records = registry_json_records(reply, REGISTRY_GLOBAL_RECORDS), *rec;
	unsigned local = 0, pub = 0, allow = 0, sources = 0;
	size_t i;

	json_array_foreach(records, i, rec)
	{
		const char *b = json_string_value(json_object_get(rec, "bind_address"));
		size_t n = json_array_size(json_object_get(rec, "allowed_sources"));

		if (b && (strncmp(b, "127.", 4) == 0 || strcmp(b, "::1") == 0))
			local++;
		else
			pub++;
		allow += n > 0;
		sources += (unsigned)n;
	}
	json_decref(records);
	return json_pack("{s:s,s:b,s:s,s:I,s:i,s:i,s:i,s:i}", "host", d->cfg.host, "ready", 1,
			 "rev", reply->element[REGISTRY_GLOBAL_REV]->str ?: "0", "allocations",
			 (json_int_t)(reply->elements - REGISTRY_GLOBAL_RECORDS), "localhost_only",
			 local, "public", pub, "with_allowlist", allow, "allowed_sources", sources);
}

/* Registry and kernel agree when the kernel is healthy and holds as many elements as the
 * registry has allocations of each kind. */
static bool api_kernel_counts_agree(json_t *reg, json_t *kernel)
{
	json_t *sets = json_object_get(json_object_get(kernel, "nftables"), "sets");

	if (!json_is_true(json_object_get(kernel, "enforce")))
		return true;
	return json_integer_value(json_object_get(sets, "localonly")) ==
		   json_integer_value(json_object_get(reg, "localhost_only")) &&
	       json_integer_value(json_object_get(sets, "open")) ==
		   json_integer_value(json_object_get(reg, "public")) &&
	       json_integer_value(json_object_get(sets, "restricted_src")) ==
		   json_integer_value(json_object_get(reg, "with_allowlist"));
}

static void api_kernel_status_read(const redisReply *reply, int err, void *arg)
{
	struct api_op *op = arg;
	json_t *reg, *kernel;
	bool in_sync;

	if (err < 0) {
		httpd_reply_error(op->req, err == -ENOTCONN ? 503 : 500, NULL,
				  "registry unavailable, retry later");
		api_op_free(op);
		return;
	}
	reg = api_kernel_registry_view(op->d, reply);
	kernel = reconciler_status(op->d->rec, &in_sync);
	in_sync = in_sync && api_kernel_counts_agree(reg, kernel);
	httpd_reply_json(op->req, 200,
			 json_pack("{s:b,s:o,s:o,s:o}", "in_sync", in_sync, "registry", reg,
				   "kernel", kernel, "proxy",
				   proxy_supervisor_status(op->d->proxy)));
	api_op_free(op);
}

void api_kernel_status(struct daemon *d, struct httpd_req *req)
{
	struct api_op *op = api_op_new(d, req, REG_READ_GLOBAL);

	if (!op)
		return;
	if (registry_run(d->reg, REG_READ_GLOBAL, 0, NULL, NULL, api_kernel_status_read, op) < 0)
		api_kernel_status_read(NULL, -ENOTCONN, op);
}

void api_kernel_uninstall(struct daemon *d, struct httpd_req *req)
{
	json_t *removed = json_array();
	int err;

	if (!(req->peer_known && req->uid == 0)) {
		api_refuse(d, req, "uninstall", 403, NULL, "uninstall is root only");
		json_decref(removed);
		return;
	}
	if (d->rec) {
		err = reconciler_uninstall(d->rec);
		reconciler_close(d->rec);
		d->rec = NULL;
		d->cfg.enforce = false;
		if (err < 0) {
			api_refuse(d, req, "uninstall", 500, NULL, "uninstall incomplete: %s",
				   strerror(-err));
			json_decref(removed);
			return;
		}
		json_array_append_new(
		    removed, json_sprintf("BPF programs and maps under %s", d->cfg.bpf_pin_dir));
		json_array_append_new(removed,
				      json_sprintf("nftables table inet portgate (netns %s)",
						   d->cfg.netns[0] ? d->cfg.netns : "default"));
	}
	/* Recorded before the answer, which may hand req to the next request. */
	api_mutation_allowed(d, req,
			     json_array_size(removed) ? "uninstall (BPF pins and nftables table)"
						      : "uninstall (nothing enforced)");
	httpd_reply_json(req, 200, json_pack("{s:o,s:b}", "removed", removed, "enforce", 0));
}
