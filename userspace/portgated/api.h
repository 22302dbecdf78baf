/* SPDX-License-Identifier: MIT */
/* api: the control API's routes (docs/api.md), answered through the registry. */
#ifndef PORTGATED_API_H
#define PORTGATED_API_H

#include <jansson.h>
#include "daemon.h"
#include "httpd.h"

/* The httpd handler for the control socket; arg is the struct daemon. */
void api_handle(struct httpd_req *req, void *arg);

/* One API call in flight across registry round trips. */
struct api_op {
	struct daemon *d;
	struct httpd_req *req;
	enum registry_script script; /* the step to run once the owner is proven */
	int argc;
	char *argv[24];
	char generated_token[64]; /* a source token the daemon made, shown once */
	char owner_hash[80];
	char service[128];
	char what[160]; /* a mutation, for the audit trail ("port-add my-app 8081/tcp ..."); ""
			   for a read, which is not audited */
};

struct api_op *api_op_new(struct daemon *d, struct httpd_req *req, enum registry_script script);
void api_op_free(struct api_op *op);
/* Appends a copy of `s` to op's script arguments; -ENOMEM or -E2BIG. */
int api_op_arg(struct api_op *op, const char *s);
int api_op_argf(struct api_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Proves the caller owns op->service (root always does), then runs op->script; the reply
 * goes to the caller. Takes op. */
void api_op_run_as_owner(struct api_op *op);
/* Runs op->script now; takes op. */
void api_op_run(struct api_op *op);

/* Refuses a request with status (>= 400) and a message, as httpd_reply_error does; a mutation
 * (what not NULL, op->what not "") also goes to the audit trail as denied, with who asked and the
 * message as the reason. */
void api_op_refuse(struct api_op *op, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_refuse(struct daemon *d, struct httpd_req *req, const char *what, int status,
		const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A mutation answered without an op (uninstall): allowed, into the audit trail. */
void api_mutation_allowed(struct daemon *d, const struct httpd_req *req, const char *what);

/* Body of POST /v1/services/{name}/ports: validates, fills op's script arguments. Returns
 * 0, or answers the request itself (4xx) and returns -1. */
int api_port_add_prepare(struct api_op *op, json_t *body);
/* GET /v1/ports/{port} and GET /v1/ports answers, built from the scripts' replies. */
json_t *api_check_json(struct daemon *d, const redisReply *reply, unsigned port, const char *proto);
json_t *api_global_json(struct daemon *d, const redisReply *reply, bool available);

/* Kernel side (api_kernel.c): apply a successful mutation to the kernel before the answer
 * goes out (read-your-writes); GET /v1/status; POST /v1/uninstall. */
void api_kernel_apply(struct daemon *d, enum registry_script script, const redisReply *reply);
void api_kernel_status(struct daemon *d, struct httpd_req *req);
void api_kernel_uninstall(struct daemon *d, struct httpd_req *req);
/* GET /v1/audit (api_audit.c). */
void api_audit_get(struct daemon *d, struct httpd_req *req);

/* A token-protected port NAME gets a backend record NAME.backend (docs/registry.md), by default
 * in this purpose's range. */
#define API_BACKEND_SUFFIX  ".backend"
#define API_BACKEND_PURPOSE "internal_http"

/* Service names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}; port names the same. */
bool api_valid_name(const char *s);

#endif
