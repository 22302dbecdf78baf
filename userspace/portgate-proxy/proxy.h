/* SPDX-License-Identifier: MIT */
/* proxy: the runtime of portgate-proxy: settings, worker threads, connections, events, stats. */
#ifndef PORTGATE_PROXY_H
#define PORTGATE_PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "evloop.h"
#include "proxy_limits.h"
#include "proxy_poll.h"
#include "proxy_reuse.h"
#include "proxy_routes.h"
#include "proxy_splice.h"

/* ---- settings (written by the control thread, read by every worker) ---- */

struct proxy_settings {
	uint32_t head_timeout_ms; /* the whole head must arrive within this (408) */
	uint32_t head_max;	  /* bytes of head at most (431) */
	uint32_t fail_limit, fail_window_s, block_s;
	uint32_t connect_timeout_ms; /* backend connect (502) */
	uint32_t linger_ms;	     /* after an error answer, how long unread input is drained */
	uint32_t forward_copy;	     /* PROXY_FORWARD_*: how the pump moves bytes (--forward) */
	uint32_t sockmap_after;	     /* bytes a tunnel pumps before it moves to the sockmap redirect
				      * (only if the BPF object is loaded: --sockmap) */
	uint32_t backend_reuse;	     /* 1: one-exchange clients share idle backend connections */
	uint32_t defer_accept_s;     /* TCP_DEFER_ACCEPT on listeners opened from now on; 0: off */
	uint32_t answer_timeout_ms;  /* one exchange: the backend's response head (504) */
	uint32_t tunnel_idle_s; /* a tunnel that carries no byte this long is closed; 0 never */
};

#define PROXY_HEAD_MAX_LIMIT	 (1024 * 1024)
#define PROXY_DEFER_ACCEPT_MAX	 60
#define PROXY_ANSWER_TIMEOUT_MIN 100
#define PROXY_ANSWER_TIMEOUT_MAX 3600000
#define PROXY_TUNNEL_IDLE_MAX	 604800
/* --forward: auto copies small reads and splices from the first large one; the others are
 * fixed (for measurements). */
#define PROXY_FORWARD_AUTO   0
#define PROXY_FORWARD_SPLICE 1
#define PROXY_FORWARD_COPY   2
/* With --sockmap, a tunnel moves to the sockmap redirect as soon as its head is forwarded
 * (keep-alive and bulk measured fastest that way, docs/benchmarks.md); --sockmap-after N waits
 * for N bytes. Off by default: the kernel's redirect has no flow control, so a slow reader of
 * a fast backend had the whole response queued in kernel memory (docs/proxy-protocol.md);
 * without --sockmap the BPF object is not loaded at all. */
#define PROXY_SOCKMAP_AFTER 0
extern struct proxy_settings proxy_settings;
#define PROXY_SETTING(f) __atomic_load_n(&proxy_settings.f, __ATOMIC_RELAXED)
/* Copies the limits part of the settings. */
void proxy_settings_limits(struct proxy_limits_cfg *cfg);

/* The failure table shared by all threads (main.c). */
extern struct proxy_limits *proxy_limits;

/* ---- workers: one thread, one event loop each ---- */

struct proxy_listener {
	int fd; /* this worker's own dup of the listening socket */
	uint16_t port;
	bool paused; /* out of fds: not watched for a moment */
	struct proxy_worker *w;
	struct proxy_listener *next;
};

enum proxy_msg_type { PROXY_MSG_LISTEN, PROXY_MSG_UNLISTEN, PROXY_MSG_STOP };

struct proxy_msg {
	enum proxy_msg_type type;
	int fd; /* LISTEN: the worker's dup, which it then owns */
	uint16_t port;
	struct proxy_msg *next;
};

/* Connection lists; each connection is on exactly one, and the first three have a deadline. */
enum proxy_list {
	PROXY_LIST_HEAD,
	PROXY_LIST_CONNECT,
	PROXY_LIST_LINGER,
	PROXY_LIST_ANSWER, /* one exchange, waiting for the response head: moves like a tunnel */
	PROXY_LIST_TUNNEL,
	PROXY_LIST_MAX
};

/* One client connection, from accept to close (about 200 bytes while idle). */
struct proxy_conn {
	struct proxy_conn *prev, *next; /* on the worker's list `list` */
	uint64_t since; /* ms: when it joined that list (its deadline counts from here) */
	struct proxy_worker *w;
	struct proxy_route *route; /* a reference: the route the head is judged by */
	unsigned route_gen;
	int cfd, bfd;		    /* client, backend (-1 until connecting) */
	uint16_t port;		    /* the public port it came in on */
	uint8_t list;		    /* enum proxy_list, which is also its state */
	bool listed;		    /* on w->lists[list] */
	uint8_t up_wait, down_wait; /* enum proxy_pump_wait of each direction */
	bool sent_any;		    /* the client sent at least one byte */
	uint8_t bp_tries;	    /* attempts to move to the sockmap (proxy_bypass.c) */
	struct proxy_bypass *bp;    /* the sockmap state once moved, else NULL */
	struct proxy_exchange *ex;  /* one exchange over a reusable backend connection, else NULL */
	struct proxy_addr peer;
	char *buf; /* the head so far; NULL until a read leaves it incomplete */
	uint32_t len, cap;
	uint32_t drained;	   /* LINGER: bytes read and thrown away */
	struct proxy_dir up, down; /* client -> backend, backend -> client */
};

struct proxy_conn_list {
	struct proxy_conn *first, *last;
	size_t n;
};

struct proxy_worker {
	int id;
	pthread_t thread;
	struct evloop *loop;
	int mbox_fd; /* eventfd: messages are waiting */
	pthread_mutex_t mbox_lock;
	struct proxy_msg *mbox_first, *mbox_last;
	struct proxy_listener *listeners;
	struct proxy_pool pool;
	char *scratch; /* head reads that complete at once never allocate */
	size_t scratch_cap;
	struct proxy_conn_list lists[PROXY_LIST_MAX];
	long timer_id; /* the one deadline timer, 0 when none */
	uint64_t timer_due;
	bool resume_armed; /* a timer will watch paused listeners again */
	int sm_epfd;	   /* FINs of redirected sockets (proxy_bypass.c); -1 without sockmap */
	struct proxy_polls bp_polls; /* redirected tunnels whose FIN waits (proxy_bypass.c) */
	struct proxy_reuse reuse;    /* idle backend connections (proxy_reuse.c) */
};

int proxy_worker_start(struct proxy_worker *w, int id);
/* Queues a message (the worker owns msg->fd from then on). 0 or -errno. */
int proxy_worker_post(struct proxy_worker *w, enum proxy_msg_type type, uint16_t port, int fd);
/* Asks the worker to stop and waits for it; frees everything it holds. */
void proxy_worker_join(struct proxy_worker *w);
/* (Re)arms the deadline timer for the earliest deadline of the lists. */
void proxy_worker_arm(struct proxy_worker *w);
void proxy_worker_list_add(struct proxy_worker *w, struct proxy_conn *c, enum proxy_list l);
void proxy_worker_list_del(struct proxy_worker *w, struct proxy_conn *c);

/* ---- connections (proxy_conn.c) ---- */

/* Takes a just-accepted socket: checks the block list, then reads the head. */
void proxy_conn_accepted(struct proxy_worker *w, int fd, uint16_t port,
			 const struct proxy_addr *peer);
/* Ends what is past its deadline on list l at now (ms); returns the next deadline or 0. */
uint64_t proxy_conn_expire(struct proxy_worker *w, enum proxy_list l, uint64_t now);
/* How long a connection may stay on list l (ms; for the tunnel list 0 means for ever). */
uint64_t proxy_conn_duration(enum proxy_list l);
/* Closes every connection of the worker (at exit). */
void proxy_conn_close_all(struct proxy_worker *w);
/* Closes c and frees it, whatever its state. */
void proxy_conn_close(struct proxy_conn *c);
/* After a change of either direction: closes c when both are done, else watches what they
 * wait for. */
void proxy_conn_update(struct proxy_conn *c);

/* Ends c's client side gently: a FIN once everything is sent, then its unread input is
 * drained for a while (closing with unread bytes would send a RST). The backend side must be
 * gone already. */
void proxy_conn_linger(struct proxy_conn *c);
/* A new non-blocking TCP connection to 127.0.0.1:port (connect in progress), or -errno. */
int proxy_conn_dial(uint16_t port);
/* Answers status with a JSON error (the event and counters included) and closes gently. */
void proxy_conn_fail_backend(struct proxy_conn *c, int status, const char *reason);

/* ---- one exchange over a reusable backend connection (proxy_exchange.c) ---- */

struct proxy_reuse_info;
/* Sets c up for one exchange (after the backend has the forwarded bytes data[0..n), head
 * first): the rest of the request body goes up, the response is delimited on its way down.
 * reused: the backend connection came from the pool (then a copy of data is kept so the
 * request can be sent once more if that connection turns out dead). 0 or -ENOMEM. */
int proxy_exchange_start(struct proxy_conn *c, const struct proxy_reuse_info *ri, const char *data,
			 size_t n, bool reused);
/* An event on c's client (client true) or backend side during the exchange. */
void proxy_exchange_event(struct proxy_conn *c, bool client, unsigned mask);
void proxy_exchange_free(struct proxy_conn *c);
/* Starts c's answer deadline (PROXY_LIST_ANSWER) once the whole request is sent and no final
 * response head has come; else nothing. */
void proxy_exchange_arm(struct proxy_conn *c);
/* c's answer deadline passed (PROXY_LIST_ANSWER): 504, or cut short after an interim one. */
void proxy_exchange_expired(struct proxy_conn *c);

/* ---- sockmap redirect of tunnels (proxy_bypass.c) ---- */

/* Moves an idle tunnel's directions to the sockmap redirect when both are empty; a direction
 * that cannot move keeps pumping. 0, or -errno when c must be closed. */
int proxy_bypass_try(struct proxy_conn *c);
/* The worker's handler of sm_epfd (FINs and errors of redirected sockets). */
void proxy_bypass_worker_cb(struct evloop *loop, int fd, unsigned mask, void *data);
/* Frees c's sockmap state (before its sockets are closed). */
void proxy_bypass_close(struct proxy_conn *c);

/* ---- events (proxy_events.c): JSON lines to the control fd or --events ---- */

/* Sets the sink (fd -1: events are only counted); the fd becomes non-blocking if is_socket. */
int proxy_events_init(int fd, bool is_socket);
/* Binds this thread's event batch to its loop (flushed once per loop iteration). */
void proxy_events_thread(struct evloop *loop);
/* Queues one line (without its newline). Lines over 64 KiB are dropped. */
void proxy_events_emit(const char *line, size_t len);
void proxy_events_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes this thread's batch now. */
void proxy_events_flush(void);
/* Flushes and frees this thread's batch (a worker at exit). */
void proxy_events_thread_end(void);
/* The control thread's part: fd to watch for "backlog waiting" and the backlog writer. */
int proxy_events_wake_fd(void);
/* Writes what the sink could not take before; true while some is still waiting. */
bool proxy_events_drain(void);
int proxy_events_sink_fd(void);
uint64_t proxy_events_dropped(void);
void proxy_events_fini(void);

/* One decision about a connection (never the token, never its hash). */
void proxy_event_decision(const struct proxy_addr *peer, uint16_t port, const struct proxy_route *r,
			  int status, const char *reason);

/* ---- counters (proxy_stats.c): per port and result, Prometheus style ---- */

enum proxy_result {
	PROXY_R_ALLOWED,
	PROXY_R_400,
	PROXY_R_401,
	PROXY_R_403,
	PROXY_R_408,
	PROXY_R_431,
	PROXY_R_502,
	PROXY_R_504,
	PROXY_R_BLOCKED, /* refused at accept: the source is blocked (403) */
	PROXY_R_ABORTED, /* the client left before its head was complete */
	PROXY_R_MAX
};

/* The result that an HTTP status stands for. */
enum proxy_result proxy_stats_result(int status);
void proxy_stats_count(uint16_t port, enum proxy_result r);
void proxy_stats_bytes(uint16_t port, uint64_t up, uint64_t down);
void proxy_stats_active(uint16_t port, int delta);
void proxy_stats_block(uint16_t port);
/* A backend connection was dialled (false) or taken from the idle pool (true). */
void proxy_stats_backend(bool reused);
/* A tunnel closed for idleness (--tunnel-idle). */
void proxy_stats_idle(void);
/* A tunnel moved to the sockmap redirect. */
void proxy_stats_sockmap(uint16_t port, int n);
/* {"event":"stats",...} as one line into a malloc'd string; NULL on ENOMEM. */
char *proxy_stats_json(void);
/* The counters in the Prometheus text format. */
void proxy_stats_prometheus(FILE *f);
void proxy_stats_free(void);

/* ---- control channel (proxy_control.c) ---- */

/* Starts reading ops from fd on the control thread's loop. 0 or -errno. */
int proxy_control_start(struct evloop *loop, int fd, struct proxy_worker *workers, int n);
/* Handles one op line (also used for standalone routes); answers with events. */
void proxy_control_line(const char *line, size_t len, int fd);
/* Opens or replaces the listener of a route on every worker; takes fd. 0 or -errno. */
int proxy_control_listen(struct proxy_route *r, int fd);
void proxy_control_stop(void);

/* ---- sandbox (proxy_sandbox.c) ---- */

/* Switches to user (if not NULL), drops every capability, sets no_new_privs and, if
 * seccomp, loads the allow-list (with bpf_maps: bpf() for map lookups, updates and deletes on
 * fds already held). 0 or -errno (the caller exits). */
int proxy_sandbox_enter(const char *user, bool seccomp, bool bpf_maps);

#endif
