// SPDX-License-Identifier: MIT
/* sockdiag: find what listens on a port through NETLINK_SOCK_DIAG, and the process holding it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <libmnl/libmnl.h>
#include "sockdiag.h"

#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif

/* Index of a (protocol, family) pair in sockdiag.use_proc. */
#define SOCKDIAG_IDX(tcp, v6) (((tcp) ? 0 : 2) + ((v6) ? 1 : 0))

struct sockdiag {
	struct mnl_socket *nl; /* NULL after a failed dump: reopened by the next query */
	uint32_t portid;
	uint32_t seq;
	bool use_proc[4]; /* by SOCKDIAG_IDX: no sock_diag handler, read /proc/net instead */
	/* The kernel sizes dump messages after our receive buffer: large means fewer reads. */
	char buf[MNL_SOCKET_DUMP_SIZE] __attribute__((aligned(8)));
};

/* One query over [first, last] for one protocol, accumulated over both families. */
struct sockdiag_query {
	int protocol;
	uint16_t first;
	uint16_t last;
	uint8_t *busy;
	int count;
	struct sockdiag_holder *holder; /* NULL when not wanted */
	bool found;
};

static int sockdiag_connect(struct sockdiag *sd)
{
	int ret;

	sd->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!sd->nl)
		return -errno;
	if (mnl_socket_bind(sd->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(sd->nl);
		sd->nl = NULL;
		return ret;
	}
	sd->portid = mnl_socket_get_portid(sd->nl);
	return 0;
}

struct nlmsghdr *sockdiag_build_request(char *buf, size_t len, int family, int protocol,
					uint32_t seq)
{
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*req)))
		return NULL;
	if ((family != AF_INET && family != AF_INET6) ||
	    (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = protocol;
	/* A bound UDP socket takes the port in any state; a TCP one only matters once listening. */
	req->idiag_states = protocol == IPPROTO_TCP ? 1U << TCP_LISTEN : ~0U;
	return nlh;
}

int sockdiag_add_port_filter(struct nlmsghdr *nlh, size_t buflen, uint16_t first, uint16_t last)
{
	/*
	 * "sport >= first && sport <= last". Each test is an op and a data op carrying the port in
	 * .no; yes goes on to the next test, no jumps 4 bytes past the end, which rejects. The
	 * kernel's audit allows no up to len + 4, as ss(8) builds it.
	 */
	const struct inet_diag_bc_op ops[4] = {
		{ .code = INET_DIAG_BC_S_GE, .yes = 8, .no = 16 + 4 },
		{ .no = first },
		{ .code = INET_DIAG_BC_S_LE, .yes = 8, .no = 8 + 4 },
		{ .no = last },
	};

	if (!mnl_attr_put_check(nlh, buflen, INET_DIAG_REQ_BYTECODE, sizeof(ops), ops))
		return -ENOBUFS;
	return 0;
}

/* Marks port busy; returns the holder to fill when this is the first match and one is wanted. */
static struct sockdiag_holder *sockdiag_mark(struct sockdiag_query *q, uint16_t port)
{
	unsigned int bit;

	/* An unbound (or unconnected, autobind pending) socket has port 0: it holds nothing. */
	if (port == 0 || port < q->first || port > q->last)
		return NULL;
	bit = port - q->first;
	if (!(q->busy[bit / 8] & (1U << (bit % 8)))) {
		q->busy[bit / 8] |= 1U << (bit % 8);
		q->count++;
	}
	if (q->found)
		return NULL;
	q->found = true;
	return q->holder;
}

static int sockdiag_data_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *msg = mnl_nlmsg_get_payload(nlh);
	struct sockdiag_query *q = data;
	struct sockdiag_holder *h;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	h = sockdiag_mark(q, ntohs(msg->id.idiag_sport));
	if (h) {
		memset(h, 0, sizeof(*h));
		h->uid = msg->idiag_uid;
		h->inode = msg->idiag_inode;
		h->protocol = q->protocol;
		inet_ntop(msg->idiag_family, msg->id.idiag_src, h->address, sizeof(h->address));
	}
	return MNL_CB_OK;
}

/* libmnl's own error callback is not exported; with a control array we must supply it. */
static int sockdiag_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	(void)data;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

/* A dump that fails half-way ends with NLMSG_DONE carrying -errno, which libmnl ignores. */
static int sockdiag_done_cb(const struct nlmsghdr *nlh, void *data)
{
	int err;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err)) {
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0) {
			errno = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* One filtered dump of (family, q->protocol) into q. */
static int sockdiag_dump(struct sockdiag *sd, int family, struct sockdiag_query *q)
{
	/* Not const: mnl_cb_run2 takes a plain pointer. Types past NLMSG_DONE get libmnl's. */
	static mnl_cb_t ctl[NLMSG_DONE + 1] = {
		[NLMSG_ERROR] = sockdiag_error_cb,
		[NLMSG_DONE] = sockdiag_done_cb,
	};
	struct nlmsghdr *nlh;
	uint32_t seq;
	ssize_t n;
	int ret;

	if (!sd->nl) {
		ret = sockdiag_connect(sd);
		if (ret < 0)
			return ret;
	}
	seq = ++sd->seq;
	nlh = sockdiag_build_request(sd->buf, sizeof(sd->buf), family, q->protocol, seq);
	if (!nlh || sockdiag_add_port_filter(nlh, sizeof(sd->buf), q->first, q->last) < 0)
		return -ENOBUFS;
	if (mnl_socket_sendto(sd->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto broken;
	}
	for (;;) {
		n = mnl_socket_recvfrom(sd->nl, sd->buf, sizeof(sd->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto broken;
		}
		ret = mnl_cb_run2(sd->buf, n, seq, sd->portid, sockdiag_data_cb, q, ctl,
				  MNL_ARRAY_SIZE(ctl));
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret == MNL_CB_ERROR) {
			ret = -errno;
			goto broken;
		}
	}
broken:
	/* The rest of the dump may still be queued: a fresh socket is simpler than draining it. */
	mnl_socket_close(sd->nl);
	sd->nl = NULL;
	return ret;
}

int sockdiag_parse_proc_line(const char *line, int family, uint16_t *port, int *state,
			     struct sockdiag_holder *holder)
{
	size_t i, words = family == AF_INET6 ? 4 : 1;
	unsigned int lport, st, uid;
	unsigned long inode;
	uint32_t addr[4];
	char hex[33], word[9];

	/* "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ..." */
	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %u %*d %lu", hex, &lport, &st,
		   &uid, &inode) != 5)
		return -EINVAL;
	if (strlen(hex) != words * 8 || lport > 0xffff)
		return -EINVAL;
	/* Each 32-bit word is printed as a host-order number: storing it restores the bytes. */
	for (i = 0; i < words; i++) {
		memcpy(word, hex + i * 8, 8);
		word[8] = '\0';
		addr[i] = strtoul(word, NULL, 16);
	}
	memset(holder, 0, sizeof(*holder));
	if (!inet_ntop(family, addr, holder->address, sizeof(holder->address)))
		return -EINVAL;
	holder->uid = uid;
	holder->inode = inode;
	*port = lport;
	*state = st;
	return 0;
}

/* The fallback when the kernel has no sock_diag handler: the same query over /proc/net. */
static int sockdiag_proc_scan(int family, struct sockdiag_query *q)
{
	struct sockdiag_holder cand, *h;
	char path[32], line[256];
	uint16_t port;
	int state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s%s", q->protocol == IPPROTO_TCP ? "tcp" : "udp",
		 family == AF_INET6 ? "6" : "");
	f = fopen(path, "re");
	/* ENOENT: no IPv6 in this kernel, so nothing is bound there. */
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sockdiag_parse_proc_line(line, family, &port, &state, &cand) < 0)
			continue;
		if (q->protocol == IPPROTO_TCP && state != TCP_LISTEN)
			continue;
		h = sockdiag_mark(q, port);
		if (h) {
			*h = cand;
			h->protocol = q->protocol;
		}
	}
	fclose(f);
	return 0;
}

/* Runs q over IPv4 then IPv6; stops after IPv4 when stop_on_match and it found something. */
static int sockdiag_run(struct sockdiag *sd, struct sockdiag_query *q, bool stop_on_match)
{
	static const int families[] = { AF_INET, AF_INET6 };
	bool *use_proc;
	size_t i;
	int ret;

	for (i = 0; i < MNL_ARRAY_SIZE(families); i++) {
		use_proc = &sd->use_proc[SOCKDIAG_IDX(q->protocol == IPPROTO_TCP, i == 1)];
		if (!*use_proc) {
			ret = sockdiag_dump(sd, families[i], q);
			/* No handler for this protocol (module missing, not loadable). */
			if (ret == -ENOENT || ret == -EOPNOTSUPP)
				*use_proc = true;
			else if (ret < 0)
				return ret;
		}
		if (*use_proc) {
			ret = sockdiag_proc_scan(families[i], q);
			if (ret < 0)
				return ret;
		}
		if (stop_on_match && q->found)
			break;
	}
	return q->count;
}

int sockdiag_open(struct sockdiag **out)
{
	static const int protocols[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct sockdiag_query q;
	struct sockdiag *sd;
	uint8_t busy = 0;
	size_t i;
	int ret;

	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return -ENOMEM;
	ret = sockdiag_connect(sd);
	if (ret < 0)
		goto err;
	/* A dump filtered on port 0 costs little and tells which protocols need /proc/net. */
	for (i = 0; i < MNL_ARRAY_SIZE(protocols); i++) {
		q = (struct sockdiag_query){ .protocol = protocols[i], .busy = &busy };
		ret = sockdiag_run(sd, &q, false);
		if (ret < 0)
			goto err;
	}
	*out = sd;
	return 0;
err:
	sockdiag_close(sd);
	return ret;
}

void sockdiag_close(struct sockdiag *sd)
{
	if (!sd)
		return;
	if (sd->nl)
		mnl_socket_close(sd->nl);
	free(sd);
}

bool sockdiag_degraded(const struct sockdiag *sd, int protocol)
{
	/* IPv4 only: a kernel without IPv6 answers ENOENT for it without anything being lost. */
	return sd->use_proc[SOCKDIAG_IDX(protocol == IPPROTO_TCP, false)];
}

/* Reads /proc/PID/comm into comm (16 bytes); leaves it "" when the process is gone. */
static void sockdiag_read_comm(pid_t pid, char *comm)
{
	char path[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, 15);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Finds a process with an fd on socket inode: the first in /proc order, 0 when none is seen. */
static pid_t sockdiag_find_pid(uint32_t inode)
{
	char want[32], link[32], path[64];
	struct dirent *pe, *fe;
	DIR *proc, *fds;
	pid_t pid = 0, cand;
	int len;
	ssize_t n;

	len = snprintf(want, sizeof(want), "socket:[%u]", inode);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!pid && (pe = readdir(proc))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		cand = atoi(pe->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)cand);
		fds = opendir(path);
		if (!fds)
			continue; /* gone, or not ours to see */
		while ((fe = readdir(fds))) {
			if (fe->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link));
			if (n == len && !memcmp(link, want, len)) {
				pid = cand;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return pid;
}

int sockdiag_port_in_use(struct sockdiag *sd, int protocol, uint16_t port,
			 struct sockdiag_holder *holder)
{
	struct sockdiag_holder h = { 0 };
	struct sockdiag_query q;
	uint8_t busy = 0;
	int ret;

	if (port == 0 || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return -EINVAL;
	q = (struct sockdiag_query){
		.protocol = protocol,
		.first = port,
		.last = port,
		.busy = &busy,
		.holder = holder ? &h : NULL,
	};
	ret = sockdiag_run(sd, &q, true);
	if (ret <= 0)
		return ret;
	if (holder) {
		if (h.inode)
			h.pid = sockdiag_find_pid(h.inode);
		if (h.pid)
			sockdiag_read_comm(h.pid, h.comm);
		*holder = h;
	}
	return 1;
}

int sockdiag_busy_in_range(struct sockdiag *sd, int protocol, uint16_t first, uint16_t last,
			   uint8_t *busy)
{
	struct sockdiag_query q = {
		.protocol = protocol,
		.first = first,
		.last = last,
		.busy = busy,
	};

	if (first > last || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
		return -EINVAL;
	return sockdiag_run(sd, &q, false);
}
