// SPDX-License-Identifier: MIT
/* proxy_worker: one thread with its own event loop, listeners, pipe pool and deadlines. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "proxy.h"
#include "proxy_sockmap.h"

#define PROXY_ACCEPT_BATCH  64	/* connections taken per wake-up of one listener */
#define PROXY_PAUSE_MS	    100 /* out of fds: listeners rest this long */
#define PROXY_POOL_FREE_MAX 64	/* idle pipes a worker keeps */
#define PROXY_PIPE_SIZE	    (1024 * 1024)

void proxy_worker_list_del(struct proxy_worker *w, struct proxy_conn *c)
{
	struct proxy_conn_list *l;

	if (!c->listed)
		return;
	l = &w->lists[c->list];
	if (c->prev)
		c->prev->next = c->next;
	else
		l->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->last = c->prev;
	c->prev = c->next = NULL;
	c->listed = false;
	l->n--;
}

static void proxy_worker_timer_cb(struct evloop *loop, void *data);

void proxy_worker_arm(struct proxy_worker *w)
{
	uint64_t due = 0;

	for (int l = 0; l < PROXY_LIST_MAX; l++) {
		uint64_t d = proxy_conn_expire(w, (enum proxy_list)l, evloop_now_ms());

		if (d && (!due || d < due))
			due = d;
	}
	if (w->timer_id > 0) {
		evloop_timer_cancel(w->loop, w->timer_id);
		w->timer_id = 0;
	}
	if (!due)
		return;
	{
		uint64_t now = evloop_now_ms();
		long id =
		    evloop_timer_add(w->loop, due > now ? due - now : 0, proxy_worker_timer_cb, w);

		if (id > 0) {
			w->timer_id = id;
			w->timer_due = due;
		}
	}
}

static void proxy_worker_timer_cb(struct evloop *loop, void *data)
{
	struct proxy_worker *w = data;

	w->timer_id = 0;
	proxy_worker_arm(w);
}

void proxy_worker_list_add(struct proxy_worker *w, struct proxy_conn *c, enum proxy_list list)
{
	struct proxy_conn_list *l = &w->lists[list];
	uint64_t d, due;

	proxy_worker_list_del(w, c);
	c->list = (uint8_t)list;
	c->listed = true;
	c->since = evloop_now_ms();
	c->prev = l->last;
	c->next = NULL;
	if (l->last)
		l->last->next = c;
	else
		l->first = c;
	l->last = c;
	l->n++;
	d = proxy_conn_duration(list);
	if (list == PROXY_LIST_TUNNEL && !d)
		return; /* idle tunnels are never closed */
	/* The timer stands for the earliest deadline; a later one needs nothing. Durations differ
	 * between lists (and head_timeout_ms may change), so a new one can be earlier. */
	due = c->since + d;
	if (w->timer_id > 0 && w->timer_due <= due)
		return;
	if (w->timer_id > 0)
		evloop_timer_cancel(w->loop, w->timer_id);
	w->timer_id = evloop_timer_add(w->loop, d, proxy_worker_timer_cb, w);
	if (w->timer_id > 0)
		w->timer_due = due;
	else
		w->timer_id = 0;
}

static void proxy_worker_resume_cb(struct evloop *loop, void *data);

static void proxy_worker_accept_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct proxy_listener *lst = data;
	struct proxy_worker *w = lst->w;

	for (int i = 0; i < PROXY_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct proxy_addr peer;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			case EPERM:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Level-triggered: the queue would wake us in a loop. Rest. */
				log_warn("accept on port %u: %s; pausing listeners", lst->port,
					 strerror(errno));
				for (struct proxy_listener *l = w->listeners; l; l = l->next) {
					evloop_unwatch(loop, l->fd);
					l->paused = true;
				}
				if (!w->resume_armed &&
				    evloop_timer_add(loop, PROXY_PAUSE_MS, proxy_worker_resume_cb,
						     w) > 0)
					w->resume_armed = true;
				return;
			default:
				log_warn("accept on port %u: %s", lst->port, strerror(errno));
				return;
			}
		}
		if (proxy_addr_from_sockaddr((struct sockaddr *)&ss, len, &peer) < 0) {
			close(cfd);
			continue;
		}
		proxy_conn_accepted(w, cfd, lst->port, &peer);
	}
}

static void proxy_worker_resume_cb(struct evloop *loop, void *data)
{
	struct proxy_worker *w = data;

	w->resume_armed = false;
	for (struct proxy_listener *l = w->listeners; l; l = l->next) {
		if (!l->paused)
			continue;
		if (evloop_watch(loop, l->fd, EVLOOP_READ, proxy_worker_accept_cb, l) == 0)
			l->paused = false;
	}
}

static void proxy_worker_unlisten(struct proxy_worker *w, uint16_t port)
{
	struct proxy_listener **pp = &w->listeners, *l;

	while ((l = *pp)) {
		if (l->port != port) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		evloop_unwatch(w->loop, l->fd);
		close(l->fd);
		free(l);
	}
}

static void proxy_worker_listen(struct proxy_worker *w, uint16_t port, int fd)
{
	struct proxy_listener *l = calloc(1, sizeof(*l));

	proxy_worker_unlisten(w, port);
	if (!l) {
		close(fd);
		return;
	}
	*l = (struct proxy_listener){ .fd = fd, .port = port, .w = w, .next = w->listeners };
	if (evloop_watch(w->loop, fd, EVLOOP_READ, proxy_worker_accept_cb, l) < 0) {
		log_error("worker %d: cannot watch the listener of port %u", w->id, port);
		close(fd);
		free(l);
		return;
	}
	w->listeners = l;
}

static void proxy_worker_mbox_cb(struct evloop *loop, int fd, unsigned mask, void *data)
{
	struct proxy_worker *w = data;
	struct proxy_msg *m, *next;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->mbox_lock);
	m = w->mbox_first;
	w->mbox_first = w->mbox_last = NULL;
	pthread_mutex_unlock(&w->mbox_lock);
	for (; m; m = next) {
		next = m->next;
		switch (m->type) {
		case PROXY_MSG_LISTEN:
			proxy_worker_listen(w, m->port, m->fd);
			break;
		case PROXY_MSG_UNLISTEN:
			proxy_worker_unlisten(w, m->port);
			break;
		case PROXY_MSG_STOP:
			evloop_stop(loop);
			break;
		}
		free(m);
	}
}

int proxy_worker_post(struct proxy_worker *w, enum proxy_msg_type type, uint16_t port, int fd)
{
	struct proxy_msg *m = calloc(1, sizeof(*m));
	uint64_t one = 1;

	if (!m)
		return -ENOMEM;
	*m = (struct proxy_msg){ .type = type, .port = port, .fd = fd };
	pthread_mutex_lock(&w->mbox_lock);
	if (w->mbox_last)
		w->mbox_last->next = m;
	else
		w->mbox_first = m;
	w->mbox_last = m;
	pthread_mutex_unlock(&w->mbox_lock);
	if (write(w->mbox_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void *proxy_worker_main(void *arg)
{
	struct proxy_worker *w = arg;
	int rc;

	proxy_events_thread(w->loop);
	rc = evloop_run(w->loop);
	if (rc < 0)
		log_error("worker %d: event loop: %s", w->id, strerror(-rc));
	proxy_conn_close_all(w);
	proxy_reuse_flush(w);
	while (w->listeners)
		proxy_worker_unlisten(w, w->listeners->port);
	proxy_events_thread_end();
	return NULL;
}

int proxy_worker_start(struct proxy_worker *w, int id)
{
	sigset_t all, old;
	int rc;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->sm_epfd = -1;
	pthread_mutex_init(&w->mbox_lock, NULL);
	proxy_pool_init(&w->pool, PROXY_POOL_FREE_MAX, PROXY_PIPE_SIZE);
	w->scratch_cap = PROXY_SETTING(head_max);
	w->scratch = malloc(w->scratch_cap);
	if (!w->scratch)
		return -ENOMEM;
	w->mbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->mbox_fd < 0)
		return -errno;
	rc = evloop_new(&w->loop);
	if (rc < 0)
		return rc;
	rc = evloop_watch(w->loop, w->mbox_fd, EVLOOP_READ, proxy_worker_mbox_cb, w);
	if (rc < 0)
		return rc;
	/* Redirected sockets wake their own epoll instance for FINs only, not this loop's. */
	if (proxy_sockmap_loaded()) {
		w->sm_epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->sm_epfd < 0)
			return -errno;
		rc = evloop_watch(w->loop, w->sm_epfd, EVLOOP_READ, proxy_bypass_worker_cb, w);
		if (rc < 0)
			return rc;
	}
	/* Signals are the control thread's (signalfd): workers never take one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&w->thread, NULL, proxy_worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void proxy_worker_join(struct proxy_worker *w)
{
	struct proxy_msg *m, *next;

	if (!w->loop)
		return;
	if (w->thread) {
		proxy_worker_post(w, PROXY_MSG_STOP, 0, -1);
		pthread_join(w->thread, NULL);
	}
	for (m = w->mbox_first; m; m = next) {
		next = m->next;
		if (m->fd >= 0)
			close(m->fd);
		free(m);
	}
	proxy_pool_destroy(&w->pool);
	evloop_free(w->loop);
	close(w->mbox_fd);
	if (w->sm_epfd >= 0)
		close(w->sm_epfd);
	free(w->scratch);
	pthread_mutex_destroy(&w->mbox_lock);
	w->loop = NULL;
}
