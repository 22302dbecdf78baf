// SPDX-License-Identifier: MIT
/* evloop: a tiny epoll event loop (one handler and one opaque pointer per fd) plus timers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "evloop.h"

#define EVLOOP_MAX_EVENTS 256
#define EVLOOP_MAX_TIMERS 64

struct evloop_fd {
	evloop_fd_cb cb;
	void *data;
	unsigned mask;
	bool used;
	bool in_epoll; /* false while the mask is 0: see evloop_watch() */
};

struct evloop_timer {
	long id;
	uint64_t due;
	evloop_timer_cb cb;
	void *data;
};

struct evloop {
	int epfd;
	bool stop;
	struct evloop_fd *fds;
	int nfds;
	struct evloop_timer timers[EVLOOP_MAX_TIMERS];
	long next_timer_id;
	unsigned long iteration;
};

uint64_t evloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int evloop_new(struct evloop **out)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	*out = loop;
	return 0;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop->fds);
	free(loop);
}

static int evloop_grow(struct evloop *loop, int fd)
{
	int n = loop->nfds ? loop->nfds : 64;
	struct evloop_fd *fds;

	while (n <= fd)
		n *= 2;
	fds = realloc(loop->fds, (size_t)n * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	memset(fds + loop->nfds, 0, (size_t)(n - loop->nfds) * sizeof(*fds));
	loop->fds = fds;
	loop->nfds = n;
	return 0;
}

static uint32_t evloop_epoll_events(unsigned mask)
{
	return ((mask & EVLOOP_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
	       ((mask & EVLOOP_WRITE) ? EPOLLOUT : 0);
}

int evloop_watch(struct evloop *loop, int fd, unsigned mask, evloop_fd_cb cb, void *data)
{
	struct epoll_event ev = { .events = evloop_epoll_events(mask), .data.fd = fd };
	int err;

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->nfds && (err = evloop_grow(loop, fd)) < 0)
		return err;
	if (loop->fds[fd].used && loop->fds[fd].mask == mask) {
		/* Same interest: no system call, only the handler may change. */
		loop->fds[fd].cb = cb;
		loop->fds[fd].data = data;
		return 0;
	}
	/*
	 * An empty interest leaves epoll altogether: epoll reports hang-ups and errors whatever
	 * the mask, so a peer gone while its fd is parked (a reply pending) would wake every
	 * epoll_wait() at once, a busy loop.
	 */
	if (!mask) {
		if (loop->fds[fd].in_epoll && epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -errno;
	} else if (epoll_ctl(loop->epfd, loop->fds[fd].in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
			     &ev) < 0) {
		return -errno;
	}
	loop->fds[fd] = (struct evloop_fd){
		.cb = cb, .data = data, .mask = mask, .used = true, .in_epoll = mask != 0
	};
	return 0;
}

void evloop_unwatch(struct evloop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfds || !loop->fds[fd].used)
		return;
	if (loop->fds[fd].in_epoll)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd] = (struct evloop_fd){ 0 };
}

void evloop_forget(struct evloop *loop, int fd)
{
	if (fd >= 0 && fd < loop->nfds)
		loop->fds[fd] = (struct evloop_fd){ 0 };
}

unsigned evloop_mask(struct evloop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nfds || !loop->fds[fd].used)
		return 0;
	return loop->fds[fd].mask;
}

long evloop_timer_add(struct evloop *loop, uint64_t ms, evloop_timer_cb cb, void *data)
{
	for (int i = 0; i < EVLOOP_MAX_TIMERS; i++) {
		struct evloop_timer *t = &loop->timers[i];

		if (t->id)
			continue;
		t->id = ++loop->next_timer_id;
		t->due = evloop_now_ms() + ms;
		t->cb = cb;
		t->data = data;
		return t->id;
	}
	return -ENOSPC;
}

void evloop_timer_cancel(struct evloop *loop, long id)
{
	for (int i = 0; id > 0 && i < EVLOOP_MAX_TIMERS; i++)
		if (loop->timers[i].id == id)
			loop->timers[i].id = 0;
}

/* Milliseconds until the next timer, -1 when none. */
static int evloop_next_timeout(struct evloop *loop)
{
	uint64_t now = evloop_now_ms(), best = UINT64_MAX;

	for (int i = 0; i < EVLOOP_MAX_TIMERS; i++)
		if (loop->timers[i].id && loop->timers[i].due < best)
			best = loop->timers[i].due;
	if (best == UINT64_MAX)
		return -1;
	return best <= now ? 0 : (int)(best - now > 60000 ? 60000 : best - now);
}

static void evloop_fire_timers(struct evloop *loop)
{
	uint64_t now = evloop_now_ms();

	for (int i = 0; i < EVLOOP_MAX_TIMERS; i++) {
		struct evloop_timer t = loop->timers[i];

		if (!t.id || t.due > now)
			continue;
		/* Free the slot first: the callback may add a timer. */
		loop->timers[i].id = 0;
		t.cb(loop, t.data);
	}
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];

	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, evloop_next_timeout(loop));

		loop->iteration++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint32_t e = evs[i].events;
			unsigned mask = 0;

			if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				mask |= EVLOOP_READ;
			if (e & (EPOLLOUT | EPOLLERR))
				mask |= EVLOOP_WRITE;
			/* An earlier callback in this batch may have dropped this fd. */
			if (fd >= loop->nfds || !loop->fds[fd].used)
				continue;
			mask &= loop->fds[fd].mask;
			if ((mask & EVLOOP_READ) && (e & EPOLLRDHUP))
				mask |= EVLOOP_RDHUP;
			if (mask)
				loop->fds[fd].cb(loop, fd, mask, loop->fds[fd].data);
		}
		evloop_fire_timers(loop);
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->stop = true;
}

unsigned long evloop_iteration(const struct evloop *loop)
{
	return loop->iteration;
}
