/* SPDX-License-Identifier: MIT */
/* evloop: a tiny epoll event loop (one handler and one opaque pointer per fd) plus timers. */
#ifndef PORTGATE_EVLOOP_H
#define PORTGATE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#define EVLOOP_READ  1u
#define EVLOOP_WRITE 2u
/* Only in a callback's mask, with READ: the peer has shut down its sending side (EPOLLRDHUP),
 * so a read that returns less than asked has reached the end. */
#define EVLOOP_RDHUP 4u

struct evloop;
/* Called with the ready mask (EVLOOP_READ | EVLOOP_WRITE; errors and hang-ups are reported as
 * READ so the handler sees them through its read call). */
typedef void (*evloop_fd_cb)(struct evloop *loop, int fd, unsigned mask, void *data);
typedef void (*evloop_timer_cb)(struct evloop *loop, void *data);

int evloop_new(struct evloop **out);
void evloop_free(struct evloop *loop);

/* Watches fd for `mask` (replacing the previous mask and callback). mask 0 keeps the fd
 * registered but silent. Returns 0 or -errno. */
int evloop_watch(struct evloop *loop, int fd, unsigned mask, evloop_fd_cb cb, void *data);
/* Stops watching fd; safe to call from inside a callback, also for other fds. */
void evloop_unwatch(struct evloop *loop, int fd);
/* Forgets fd without a system call, for an fd the caller closes right away: close() takes it
 * out of epoll (fd must not have been duplicated). */
void evloop_forget(struct evloop *loop, int fd);
/* Current mask of fd (0 if not watched). */
unsigned evloop_mask(struct evloop *loop, int fd);

/* One-shot timer after `ms` milliseconds; returns an id > 0 or -errno. */
long evloop_timer_add(struct evloop *loop, uint64_t ms, evloop_timer_cb cb, void *data);
void evloop_timer_cancel(struct evloop *loop, long id);

/* Runs until evloop_stop(); returns 0 or -errno from epoll_wait. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);
/* Counts the loop's wake-ups: work that is the same for every event of one batch can be
 * done once per value (e.g. one listener snapshot for all requests that arrived together). */
unsigned long evloop_iteration(const struct evloop *loop);
uint64_t evloop_now_ms(void);

#endif
