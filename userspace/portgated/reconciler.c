// SPDX-License-Identifier: MIT
/* reconciler: makes the kernel (BPF port map, nftables sets) match the registry. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit.h"
#include "audit_bpf.h"
#include "audit_nflog.h"
#include "bpf_cgroup.h"
#include "bpf_enforce.h"
#include "log.h"
#include "nft.h"
#include "portgate/port_policy.h"
#include "proxy_listeners.h"
#include "reconciler.h"
#include "registry_json.h"

#define RECONCILER_CHECK_MS    1000 /* drift check of the BPF links */
#define RECONCILER_DEBOUNCE_MS 50   /* nftables events come in bursts */
#define RECONCILER_MAX_SOURCES 64

struct reconciler {
	struct daemon *d;
	struct bpf_enforce *bpf;
	struct audit_bpf *audit_bpf;	 /* the ring buffer, read while bpf is open */
	struct audit_nflog *audit_nflog; /* the drops of the table, read from its NFLOG group */
	struct nft_ctx *nft;
	int monitor_fd;
	long check_timer, resync_timer;
	bool resync_running;
	time_t last_resync;
	unsigned long resyncs, repairs;
	char last_error[256];
	char repair[160];	  /* drift found, repaired by the next resync: the audit's "what" */
	char cgroup[4096];	  /* the cgroup v2 directory the programs are attached to */
	uint64_t self_cgroup_id;  /* portgated's own cgroup: it binds the proxied front ports */
	uint64_t proxy_cgroup_id; /* portgate-proxy's: the only one reaching backends (0: none) */
};

static int reconciler_proto(const char *name)
{
	return name && strcmp(name, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
}

static bool reconciler_loopback(const char *addr)
{
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0);
}

/* The BPF settings: the host mode, the proxy's cgroup, and whether anyone reads events (an audit
 * trail with neither a file nor a stream has no reader: the programs then only count). */
static struct pg_settings reconciler_settings(const struct reconciler *r, uint64_t proxy_cgroup_id)
{
	const struct pg_config *c = &r->d->cfg;
	bool quiet = strcmp(c->audit_file, "off") == 0 && c->audit_stream_maxlen == 0;

	return (struct pg_settings){ .mode = c->mode,
				     .flags = quiet ? PG_SET_QUIET : 0,
				     .proxy_cgroup_id = proxy_cgroup_id };
}

/* What the BPF map holds for a port nobody has: managed range, restricted. */
static struct pg_port_val reconciler_base(const struct pg_policy *pol, unsigned port)
{
	struct pg_port_val v = { 0 };

	if (policy_range_of(pol, port))
		v.flags |= PG_PORT_MANAGED;
	if (policy_is_restricted(pol, port))
		v.flags |= PG_PORT_RESTRICTED;
	return v;
}

/* The BPF value of one allocation record. */
static struct pg_port_val reconciler_val(const struct reconciler *r, json_t *rec)
{
	unsigned port = (unsigned)json_integer_value(json_object_get(rec, "host_port"));
	const char *bind = json_string_value(json_object_get(rec, "bind_address"));
	const char *cgroup = json_string_value(json_object_get(rec, "cgroup"));
	struct pg_port_val v = reconciler_base(&r->d->cfg.policy, port);
	struct stat st;

	v.flags |= PG_PORT_ALLOCATED;
	if (reconciler_loopback(bind))
		v.flags |= PG_PORT_LOCALHOST_ONLY;
	if (json_is_true(json_object_get(rec, "restricted_grant")))
		v.flags |= PG_PORT_GRANTED;
	/* A backend behind portgate-proxy: connect() to it only from the proxy's cgroup. */
	if (json_object_get(rec, "backend_of"))
		v.flags |= PG_PORT_PROXY_BACKEND;
	/* A cgroup v2 directory's inode number is the id bpf_get_current_cgroup_id() returns. */
	if (cgroup && *cgroup && stat(cgroup, &st) == 0)
		v.cgroup_id = st.st_ino;
	/* A token-protected front port is bound by portgated itself (for the proxy), not by the
	 * service: only portgated's cgroup may bind it (0, anyone, if it is unknown). */
	if (json_object_get(rec, "backend_port"))
		v.cgroup_id = r->self_cgroup_id;
	return v;
}

static struct nft_port reconciler_nft_port(json_t *rec)
{
	return (struct nft_port){
		.proto =
		    (uint8_t)reconciler_proto(json_string_value(json_object_get(rec, "protocol"))),
		.port = (uint16_t)json_integer_value(json_object_get(rec, "host_port")),
	};
}

/* "10.0.0.0/8" of a record's allowed_sources into an nft_source; false if unparsable. */
static bool reconciler_source(const struct nft_port *p, const char *cidr, struct nft_source *s)
{
	char addr[64];
	const char *slash = strchr(cidr, '/');
	size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);

	if (len >= sizeof(addr))
		return false;
	memcpy(addr, cidr, len);
	addr[len] = '\0';
	memset(s, 0, sizeof(*s));
	s->proto = p->proto;
	s->port = p->port;
	s->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(s->family, addr, s->addr) != 1)
		return false;
	s->prefix = (uint8_t)(slash ? atoi(slash + 1) : (s->family == AF_INET ? 32 : 128));
	return true;
}

/* The desired nftables state of a set of records, built into arrays the caller frees. */
struct reconciler_nft_plan {
	struct nft_port *localonly, *open, *restricted_src;
	size_t n_localonly, n_open, n_restricted_src;
	struct nft_source *allowed;
	size_t n_allowed;
	struct nft_range *managed;
	size_t n_managed;
};

static void reconciler_plan_free(struct reconciler_nft_plan *p)
{
	free(p->localonly);
	free(p->open);
	free(p->restricted_src);
	free(p->allowed);
	free(p->managed);
}

static int reconciler_plan_record(struct reconciler_nft_plan *p, json_t *rec)
{
	struct nft_port np = reconciler_nft_port(rec);
	json_t *srcs = json_object_get(rec, "allowed_sources"), *v;
	size_t i;

	if (reconciler_loopback(json_string_value(json_object_get(rec, "bind_address"))))
		p->localonly[p->n_localonly++] = np;
	else
		p->open[p->n_open++] = np;
	json_int_t until = json_integer_value(json_object_get(rec, "allowed_until"));
	long long left_ms = until ? ((long long)until - (long long)time(NULL)) * 1000 : 0;

	if (json_array_size(srcs) == 0)
		return 0;
	p->restricted_src[p->n_restricted_src++] = np;
	/* A temporary grant that has run out admits nobody; one still running expires in
	 * the kernel by itself (per-element timeout). */
	if (until && left_ms <= 0)
		return 0;
	json_array_foreach(srcs, i, v)
	{
		struct nft_source *s = realloc(p->allowed, (p->n_allowed + 1) * sizeof(*s));

		if (!s)
			return -ENOMEM;
		p->allowed = s;
		if (reconciler_source(&np, json_string_value(v), &s[p->n_allowed]))
			s[p->n_allowed++].timeout_ms = (uint32_t)left_ms;
	}
	return 0;
}

static int reconciler_plan(struct reconciler *r, json_t *records, struct reconciler_nft_plan *p)
{
	const struct pg_policy *pol = &r->d->cfg.policy;
	size_t n = json_array_size(records), i;
	json_t *rec;

	memset(p, 0, sizeof(*p));
	p->localonly = calloc(n + 1, sizeof(*p->localonly));
	p->open = calloc(n + 1, sizeof(*p->open));
	p->restricted_src = calloc(n + 1, sizeof(*p->restricted_src));
	p->managed = calloc(2 * pol->n_ranges + 1, sizeof(*p->managed));
	if (!p->localonly || !p->open || !p->restricted_src || !p->managed)
		return -ENOMEM;
	json_array_foreach(records, i, rec) if (reconciler_plan_record(p, rec) < 0) return -ENOMEM;
	for (size_t k = 0; r->d->cfg.closed_by_default && k < pol->n_ranges; k++) {
		p->managed[p->n_managed++] =
		    (struct nft_range){ IPPROTO_TCP, pol->ranges[k].first, pol->ranges[k].last };
		p->managed[p->n_managed++] =
		    (struct nft_range){ IPPROTO_UDP, pol->ranges[k].first, pol->ranges[k].last };
	}
	return 0;
}

static int reconciler_push_nft(struct reconciler *r, json_t *records)
{
	struct reconciler_nft_plan p;
	struct nft_desired want;
	int err = reconciler_plan(r, records, &p);

	if (err == 0) {
		want = (struct nft_desired){
			.localonly = p.localonly,
			.n_localonly = p.n_localonly,
			.open = p.open,
			.n_open = p.n_open,
			.restricted_src = p.restricted_src,
			.n_restricted_src = p.n_restricted_src,
			.allowed = p.allowed,
			.n_allowed = p.n_allowed,
			.managed = p.managed,
			.n_managed = p.n_managed,
		};
		err = nft_resync(r->nft, &want);
	}
	reconciler_plan_free(&p);
	return err;
}

static int reconciler_push_bpf(struct reconciler *r, json_t *records)
{
	const struct pg_policy *pol = &r->d->cfg.policy;
	struct pg_port_val *vals = calloc(PG_PORT_ENTRIES, sizeof(*vals));
	struct pg_settings set = reconciler_settings(r, r->proxy_cgroup_id);
	size_t i;
	json_t *rec;
	int err;

	if (!vals)
		return -ENOMEM;
	for (unsigned port = 1; port <= 65535; port++) {
		vals[pg_port_index(PG_PROTO_TCP, port)] = reconciler_base(pol, port);
		vals[pg_port_index(PG_PROTO_UDP, port)] = reconciler_base(pol, port);
	}
	json_array_foreach(records, i, rec)
	{
		int proto = reconciler_proto(json_string_value(json_object_get(rec, "protocol")));
		unsigned port = (unsigned)json_integer_value(json_object_get(rec, "host_port"));

		vals[pg_port_index(proto == IPPROTO_UDP ? PG_PROTO_UDP : PG_PROTO_TCP, port)] =
		    reconciler_val(r, rec);
	}
	err = bpf_enforce_load_all(r->bpf, vals);
	if (err == 0)
		err = bpf_enforce_set_settings(r->bpf, &set);
	free(vals);
	return err;
}

/* A control-plane event of the kernel side (a repair). */
static void reconciler_audit(struct reconciler *r, enum audit_action action,
			     enum audit_result result, const char *what)
{
	struct audit_event ev = { .action = (uint8_t)action, .result = (uint8_t)result };

	ev.pid = -1;
	ev.uid = -1;
	snprintf(ev.who, sizeof(ev.who), "portgated");
	snprintf(ev.what, sizeof(ev.what), "%s", what);
	audit_emit(r->d->audit, &ev);
}

/* One record's (protocol, port) -> (service, port name), for the audit trail's events. */
static void reconciler_name(struct reconciler *r, json_t *rec, bool add)
{
	int proto = reconciler_proto(json_string_value(json_object_get(rec, "protocol")));
	uint16_t port = (uint16_t)json_integer_value(json_object_get(rec, "host_port"));
	const char *svc = json_string_value(json_object_get(rec, "service_name"));
	const char *name = json_string_value(json_object_get(rec, "port_name"));

	if (add)
		audit_name_port(r->d->audit, (uint8_t)proto, port, svc ? svc : "",
				name ? name : "");
	else
		audit_unname_port(r->d->audit, (uint8_t)proto, port);
}

/* After a successful resync: the table of names anew, and the repair the resync was for. (The
 * mode is in audit.c's start event.) */
static void reconciler_resynced(struct reconciler *r, json_t *records)
{
	size_t i;
	json_t *rec;

	audit_unname_all(r->d->audit);
	json_array_foreach(records, i, rec) reconciler_name(r, rec, true);
	if (r->repair[0]) {
		reconciler_audit(r, AUDIT_REPAIR, AUDIT_REPAIRED, r->repair);
		r->repair[0] = '\0';
	}
}

int reconciler_resync(struct reconciler *r, const redisReply *global)
{
	json_t *records;
	int err;

	if (!r)
		return 0;
	records = registry_json_records(global, REGISTRY_GLOBAL_RECORDS);
	err = records ? reconciler_push_bpf(r, records) : -ENOMEM;
	if (err == 0)
		err = reconciler_push_nft(r, records);
	if (err == 0)
		reconciler_resynced(r, records);
	json_decref(records);
	if (err < 0) {
		snprintf(r->last_error, sizeof(r->last_error), "resync: %s", strerror(-err));
		log_error("kernel resync failed: %s", strerror(-err));
		return err;
	}
	r->resyncs++;
	r->last_resync = time(NULL);
	r->last_error[0] = '\0';
	log_info("kernel resync: %zu allocations enforced (mode %s)",
		 global->elements > REGISTRY_GLOBAL_RECORDS
		     ? global->elements - REGISTRY_GLOBAL_RECORDS
		     : 0,
		 bpf_enforce_mode_name(r->d->cfg.mode));
	return 0;
}

/* One record's nftables elements, added or removed, in one batch. */
static int reconciler_nft_one(struct reconciler *r, json_t *rec, bool add)
{
	struct reconciler_nft_plan p = { 0 };
	json_t *one = json_pack("[O]", rec);
	int err = one ? reconciler_plan(r, one, &p) : -ENOMEM;

	struct nft_batch *b = NULL;

	json_decref(one);
	if (err == 0)
		err = nft_batch_begin(r->nft, &b);
	for (size_t i = 0; err == 0 && i < p.n_localonly; i++)
		err = nft_batch_add_port(b, NFT_LOCALONLY, &p.localonly[i], add);
	for (size_t i = 0; err == 0 && i < p.n_open; i++)
		err = nft_batch_add_port(b, NFT_OPEN, &p.open[i], add);
	for (size_t i = 0; err == 0 && i < p.n_restricted_src; i++)
		err = nft_batch_add_port(b, NFT_RESTRICTED_SRC, &p.restricted_src[i], add);
	for (size_t i = 0; err == 0 && i < p.n_allowed; i++)
		err = nft_batch_add_source(b, &p.allowed[i], add);
	/* One transaction for the whole allocation: the kernel sees all of it or none. */
	if (err == 0)
		err = nft_batch_commit(b);
	nft_batch_free(b);
	reconciler_plan_free(&p);
	return err;
}

int reconciler_port_added(struct reconciler *r, json_t *rec)
{
	int proto, err;
	struct pg_port_val v;

	if (!r)
		return 0;
	proto = reconciler_proto(json_string_value(json_object_get(rec, "protocol")));
	v = reconciler_val(r, rec);
	err = bpf_enforce_set_port(
	    r->bpf, proto, (uint16_t)json_integer_value(json_object_get(rec, "host_port")), &v);
	if (err == 0)
		err = reconciler_nft_one(r, rec, true);
	reconciler_name(r, rec, true);
	if (err < 0) {
		log_error("kernel update failed (%s): resyncing", strerror(-err));
		reconciler_request_resync(r);
	}
	return err;
}

int reconciler_port_removed(struct reconciler *r, json_t *rec)
{
	unsigned port;
	int proto, err;
	struct pg_port_val v;

	if (!r)
		return 0;
	port = (unsigned)json_integer_value(json_object_get(rec, "host_port"));
	proto = reconciler_proto(json_string_value(json_object_get(rec, "protocol")));
	v = reconciler_base(&r->d->cfg.policy, port);
	err = bpf_enforce_set_port(r->bpf, proto, (uint16_t)port, &v);
	if (err == 0)
		err = reconciler_nft_one(r, rec, false);
	reconciler_name(r, rec, false);
	if (err < 0) {
		log_error("kernel update failed (%s): resyncing", strerror(-err));
		reconciler_request_resync(r);
	}
	return err;
}

static void reconciler_global_read(const redisReply *reply, int err, void *arg)
{
	struct reconciler *r = arg;

	r->resync_running = false;
	if (err < 0) {
		reconciler_request_resync(r); /* registry away: try again later */
		return;
	}
	reconciler_resync(r, reply);
	/* The proxy's listeners next: their ports now let portgated bind them. */
	proxy_listeners_sync(r->d->proxy);
}

static void reconciler_resync_timer(struct evloop *loop, void *arg)
{
	struct reconciler *r = arg;

	r->resync_timer = 0;
	if (r->resync_running)
		return;
	if (registry_run(r->d->reg, REG_READ_GLOBAL, 0, NULL, NULL, reconciler_global_read, r) == 0)
		r->resync_running = true;
	else
		reconciler_request_resync(r);
}

void reconciler_request_resync(struct reconciler *r)
{
	if (!r || r->resync_timer > 0)
		return;
	r->resync_timer =
	    evloop_timer_add(r->d->loop, r->resync_running ? 200 : 0, reconciler_resync_timer, r);
}

/* Drift on the BPF side: programs detached by someone. Repaired within the second. */
static void reconciler_check(struct evloop *loop, void *arg)
{
	struct reconciler *r = arg;
	struct nft_status ns;
	char what[160];

	if (bpf_enforce_check(r->bpf) == -ENOLINK) {
		int err = bpf_enforce_repair(r->bpf);

		r->repairs++;
		log_warn("drift: a portgate BPF program was detached; %s",
			 err >= 0 ? "reattached" : strerror(-err));
		snprintf(what, sizeof(what), "BPF programs or pins gone: %d restored",
			 err >= 0 ? err : 0);
		if (err >= 0)
			reconciler_audit(r, AUDIT_REPAIR, AUDIT_REPAIRED, what);
	}
	if (nft_check(r->nft, &ns) == 0) {
		r->repairs++;
		log_warn("drift: table inet portgate is missing or damaged; resyncing");
		snprintf(r->repair, sizeof(r->repair), "nftables: %.140s",
			 ns.problem[0] ? ns.problem : "table inet portgate damaged");
		reconciler_request_resync(r);
	}
	r->check_timer = evloop_timer_add(loop, RECONCILER_CHECK_MS, reconciler_check, r);
}

/* Drift on the nftables side, as it happens: the monitor saw a change to our table. */
static void reconciler_monitor(struct evloop *loop, int fd, unsigned mask, void *arg)
{
	struct reconciler *r = arg;

	if (nft_monitor_read(r->nft) > 0 && nft_check(r->nft, NULL) == 0) {
		r->repairs++;
		snprintf(r->repair, sizeof(r->repair),
			 "nftables: table inet portgate changed by another process");
		log_warn("drift: table inet portgate changed behind portgate's back; resyncing");
		reconciler_request_resync(r);
	}
}

/* portgated's own cgroup v2 directory ("0::/path" in /proc/self/cgroup) and its id. */
static void reconciler_self_cgroup(struct reconciler *r)
{
	char path[4096];

	if (bpf_cgroup_of(0, path, sizeof(path)) < 0 ||
	    bpf_cgroup_id(path, &r->self_cgroup_id) < 0) {
		r->self_cgroup_id = 0;
		log_warn("cannot tell portgated's own cgroup: any cgroup may bind proxied ports");
	}
}

/* The ring buffer and the NFLOG group are read as long as the kernel side is open; without
 * them, enforcement goes on unaudited, which is said once. */
static void reconciler_audit_start(struct reconciler *r)
{
	char why[256] = "";
	int err = audit_bpf_open(r->d, r->bpf, &r->audit_bpf);
	int prev = bpf_enforce_prev_mode(r->bpf);

	if (prev >= 0 && (unsigned)prev != r->d->cfg.mode) {
		snprintf(why, sizeof(why), "mode changed from %s to %s",
			 bpf_enforce_mode_name(prev), bpf_enforce_mode_name(r->d->cfg.mode));
		reconciler_audit(r, AUDIT_CONTROL, AUDIT_ALLOWED, why);
		log_info("%s", why);
		why[0] = '\0';
	}

	if (err < 0)
		log_warn("audit: cannot read the BPF ring buffer (%s): binds and connects "
			 "are not in the audit trail",
			 strerror(-err));
	if (audit_nflog_open(r->d, &r->audit_nflog, why, sizeof(why)) < 0)
		log_warn("audit: %s: dropped packets are not in the audit trail", why);
}

static void reconciler_audit_stop(struct reconciler *r)
{
	audit_nflog_close(r->audit_nflog);
	r->audit_nflog = NULL;
	audit_bpf_close(r->audit_bpf);
	r->audit_bpf = NULL;
}

int reconciler_open(struct daemon *d, struct reconciler **out, char *err, size_t errlen)
{
	struct bpf_enforce_opts bo = { .pin_dir = d->cfg.bpf_pin_dir, .mode = d->cfg.mode };
	struct nft_opts no = { .netns = d->cfg.netns,
			       .nflog_group = d->cfg.nflog_group,
			       .closed_by_default = d->cfg.closed_by_default };
	char cgroup[4096];
	struct reconciler *r;
	int rc;

	*out = NULL;
	if (!d->cfg.enforce)
		return 0;
	if (d->cfg.cgroup[0])
		snprintf(cgroup, sizeof(cgroup), "%s", d->cfg.cgroup);
	else if (bpf_cgroup2_mount(cgroup, sizeof(cgroup)) < 0)
		return snprintf(err, errlen, "no cgroup v2 mount found (see --cgroup)"), -ENOENT;
	bo.cgroup_path = cgroup;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->monitor_fd = -1;
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", cgroup);
	reconciler_self_cgroup(r);
	rc = bpf_enforce_open(&bo, &r->bpf, err, errlen);
	if (rc == 0)
		rc = nft_open(&no, &r->nft, err, errlen);
	if (rc == 0)
		reconciler_audit_start(r);
	if (rc == 0) {
		r->monitor_fd = nft_monitor_open(r->nft);
		if (r->monitor_fd >= 0)
			evloop_watch(d->loop, r->monitor_fd, EVLOOP_READ, reconciler_monitor, r);
		r->check_timer =
		    evloop_timer_add(d->loop, RECONCILER_CHECK_MS, reconciler_check, r);
		log_info("enforcing on cgroup %s (pins %s), nftables in %s, mode %s", cgroup,
			 d->cfg.bpf_pin_dir, d->cfg.netns[0] ? d->cfg.netns : "this namespace",
			 bpf_enforce_mode_name(d->cfg.mode));
		*out = r;
		return 0;
	}
	reconciler_close(r);
	return rc;
}

void reconciler_close(struct reconciler *r)
{
	if (!r)
		return;
	evloop_timer_cancel(r->d->loop, r->check_timer);
	evloop_timer_cancel(r->d->loop, r->resync_timer);
	if (r->monitor_fd >= 0)
		evloop_unwatch(r->d->loop, r->monitor_fd);
	reconciler_audit_stop(r);
	nft_close(r->nft);
	bpf_enforce_close(r->bpf); /* pinned: the kernel keeps enforcing */
	free(r);
}

static json_t *reconciler_nft_json(const struct nft_status *ns)
{
	json_t *sets = json_object(), *drops = json_object();

	for (int i = 0; i < NFT_NSETS; i++)
		if (ns->elems[i] >= 0)
			json_object_set_new(sets, nft_set_name(i), json_integer(ns->elems[i]));
	for (int i = 0; i < NFT_NDROPS; i++)
		json_object_set_new(drops, nft_reason_name(i),
				    json_integer((json_int_t)ns->drops[i]));
	return json_pack("{s:b,s:i,s:i,s:o,s:o,s:s}", "table", ns->table, "chains", (int)ns->chains,
			 "rules", (int)ns->rules, "sets", sets, "drops", drops, "problem",
			 ns->problem);
}

json_t *reconciler_status(struct reconciler *r, bool *in_sync)
{
	struct bpf_enforce_status bs = { 0 };
	struct nft_status ns = { 0 };
	int bpf_ok, nft_ok;
	json_t *nft;

	*in_sync = true;
	if (!r)
		return json_pack("{s:b}", "enforce", 0);
	bpf_ok = bpf_enforce_status(r->bpf, &bs) == 0 && bpf_enforce_check(r->bpf) == 0;
	nft_ok = nft_check(r->nft, &ns) == 1;
	*in_sync = bpf_ok && nft_ok && !r->last_error[0];
	nft = reconciler_nft_json(&ns);
	json_object_set_new(nft, "netns", json_string(r->d->cfg.netns));
	return json_pack(
	    "{s:b,s:s,s:{s:b,s:i,s:i,s:s,s:s,s:I},s:o,s:I,s:I,s:I,s:s}", "enforce", 1, "mode",
	    bpf_enforce_mode_name(r->d->cfg.mode), "bpf", "attached", bpf_ok, "programs_attached",
	    (int)bs.n_attached, "programs_expected", (int)bs.n_expected, "pin_dir", bs.pin_dir,
	    "cgroup", bs.cgroup, "port_entries", (json_int_t)bs.port_entries_set, "nftables", nft,
	    "last_resync", (json_int_t)r->last_resync, "resyncs", (json_int_t)r->resyncs,
	    "drift_repairs", (json_int_t)r->repairs, "last_error", r->last_error);
}

int reconciler_uninstall(struct reconciler *r)
{
	int e1, e2;

	if (!r)
		return 0;
	evloop_timer_cancel(r->d->loop, r->check_timer);
	r->check_timer = 0;
	if (r->monitor_fd >= 0)
		evloop_unwatch(r->d->loop, r->monitor_fd);
	r->monitor_fd = -1;
	reconciler_audit_stop(r);
	e1 = nft_uninstall(r->nft);
	bpf_enforce_close(r->bpf);
	r->bpf = NULL;
	e2 = bpf_enforce_uninstall(r->d->cfg.bpf_pin_dir); /* a count of objects removed */
	return e1 < 0 ? e1 : (e2 < 0 ? e2 : 0);
}

const char *reconciler_cgroup(const struct reconciler *r)
{
	return r ? r->cgroup : NULL;
}

int reconciler_set_proxy_cgroup(struct reconciler *r, uint64_t id)
{
	struct pg_settings set;
	int err;

	if (!r)
		return 0;
	r->proxy_cgroup_id = id;
	set = reconciler_settings(r, id);
	err = r->bpf ? bpf_enforce_set_settings(r->bpf, &set) : -ENOTCONN;
	if (err < 0)
		reconciler_request_resync(r);
	return err;
}

int reconciler_block(struct reconciler *r, const char *addr, unsigned seconds)
{
	uint8_t bin[16];
	int family = addr && strchr(addr, ':') ? AF_INET6 : AF_INET;

	if (!r)
		return 0;
	if (!addr || inet_pton(family, addr, bin) != 1)
		return -EINVAL;
	return nft_source_block(r->nft, family, bin, seconds * 1000u);
}
