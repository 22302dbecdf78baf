// SPDX-License-Identifier: MIT
/* proxy_events: decisions as JSON lines, batched per loop iteration, to one shared sink. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proxy.h"

#define PROXY_EVENT_LINE_MAX (64 * 1024)
#define PROXY_EVENT_BATCH    (64 * 1024)       /* a thread's batch is written when this full */
#define PROXY_EVENT_BACKLOG  (8 * 1024 * 1024) /* what a stalled sink may owe, then drops */

/*
 * The sink: lines go straight to fd while it takes them; what it cannot take (a control
 * socket whose reader is slow) waits in backlog, written by the control thread when fd is
 * writable again, and lines are dropped (and counted) past PROXY_EVENT_BACKLOG.
 */
static struct {
	pthread_mutex_t lock;
	int fd;
	int wake_fd;
	bool is_socket;
	char *backlog;
	size_t len, cap;
	uint64_t dropped;
} proxy_sink = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .wake_fd = -1 };

/* Each thread's batch, written at the end of its loop iteration. */
static __thread struct {
	struct evloop *loop;
	char *buf;
	size_t len, cap;
	bool armed;
} proxy_batch;

int proxy_events_init(int fd, bool is_socket)
{
	proxy_sink.fd = fd;
	proxy_sink.is_socket = is_socket;
	proxy_sink.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (proxy_sink.wake_fd < 0)
		return -errno;
	if (fd >= 0 && is_socket && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

void proxy_events_thread(struct evloop *loop)
{
	proxy_batch.loop = loop;
}

int proxy_events_wake_fd(void)
{
	return proxy_sink.wake_fd;
}

int proxy_events_sink_fd(void)
{
	return proxy_sink.fd;
}

uint64_t proxy_events_dropped(void)
{
	return __atomic_load_n(&proxy_sink.dropped, __ATOMIC_RELAXED);
}

/* Appends to the backlog or counts the loss. Under the lock. */
static void proxy_sink_keep(const char *p, size_t n)
{
	if (proxy_sink.len + n > PROXY_EVENT_BACKLOG) {
		/* Whole lines only: count the newlines of what is lost. */
		for (size_t i = 0; i < n; i++)
			proxy_sink.dropped += p[i] == '\n';
		return;
	}
	if (proxy_sink.len + n > proxy_sink.cap) {
		size_t cap = proxy_sink.cap ? proxy_sink.cap : 65536;
		char *b;

		while (cap < proxy_sink.len + n)
			cap *= 2;
		b = realloc(proxy_sink.backlog, cap);
		if (!b) {
			for (size_t i = 0; i < n; i++)
				proxy_sink.dropped += p[i] == '\n';
			return;
		}
		proxy_sink.backlog = b;
		proxy_sink.cap = cap;
	}
	memcpy(proxy_sink.backlog + proxy_sink.len, p, n);
	proxy_sink.len += n;
}

/* Writes p[0..n) (whole lines) to the sink, keeping the rest for later. */
static void proxy_sink_write(const char *p, size_t n)
{
	bool wake = false;

	pthread_mutex_lock(&proxy_sink.lock);
	while (n && !proxy_sink.len) {
		ssize_t w = write(proxy_sink.fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	if (n) {
		wake = !proxy_sink.len;
		proxy_sink_keep(p, n);
	}
	pthread_mutex_unlock(&proxy_sink.lock);
	if (wake) {
		uint64_t one = 1;

		/* The control thread watches the sink for room from now on. */
		if (write(proxy_sink.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			return;
	}
}

bool proxy_events_drain(void)
{
	bool more;

	pthread_mutex_lock(&proxy_sink.lock);
	while (proxy_sink.len) {
		ssize_t w = write(proxy_sink.fd, proxy_sink.backlog, proxy_sink.len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			/* The sink is gone: what waits for it is lost. */
			for (size_t i = 0; i < proxy_sink.len; i++)
				proxy_sink.dropped += proxy_sink.backlog[i] == '\n';
			proxy_sink.len = 0;
		}
		if (w <= 0)
			break;
		memmove(proxy_sink.backlog, proxy_sink.backlog + w, proxy_sink.len - (size_t)w);
		proxy_sink.len -= (size_t)w;
	}
	more = proxy_sink.len > 0;
	if (!more) {
		free(proxy_sink.backlog);
		proxy_sink.backlog = NULL;
		proxy_sink.cap = 0;
	}
	pthread_mutex_unlock(&proxy_sink.lock);
	return more;
}

void proxy_events_flush(void)
{
	if (proxy_batch.len)
		proxy_sink_write(proxy_batch.buf, proxy_batch.len);
	proxy_batch.len = 0;
	/* Keep a small batch buffer; a burst's big one goes back. */
	if (proxy_batch.cap > PROXY_EVENT_BATCH) {
		free(proxy_batch.buf);
		proxy_batch.buf = NULL;
		proxy_batch.cap = 0;
	}
}

static void proxy_events_flush_cb(struct evloop *loop, void *data)
{
	proxy_batch.armed = false;
	proxy_events_flush();
}

void proxy_events_emit(const char *line, size_t len)
{
	if (proxy_sink.fd < 0 || len >= PROXY_EVENT_LINE_MAX)
		return;
	if (proxy_batch.len + len + 1 > proxy_batch.cap) {
		size_t cap = proxy_batch.cap ? proxy_batch.cap * 2 : 4096;
		char *b;

		if (proxy_batch.len >= PROXY_EVENT_BATCH)
			proxy_events_flush();
		while (cap < proxy_batch.len + len + 1)
			cap *= 2;
		b = realloc(proxy_batch.buf, cap);
		if (!b) {
			__atomic_add_fetch(&proxy_sink.dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		proxy_batch.buf = b;
		proxy_batch.cap = cap;
	}
	memcpy(proxy_batch.buf + proxy_batch.len, line, len);
	proxy_batch.buf[proxy_batch.len + len] = '\n';
	proxy_batch.len += len + 1;
	if (!proxy_batch.loop) {
		proxy_events_flush();
	} else if (!proxy_batch.armed) {
		/* A timer due now fires after this iteration's events: one write per wake-up. */
		if (evloop_timer_add(proxy_batch.loop, 0, proxy_events_flush_cb, NULL) > 0)
			proxy_batch.armed = true;
		else
			proxy_events_flush();
	}
}

void proxy_events_printf(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line))
		proxy_events_emit(line, (size_t)n);
}

void proxy_event_decision(const struct proxy_addr *peer, uint16_t port, const struct proxy_route *r,
			  int status, const char *reason)
{
	char src[PROXY_ADDR_STRLEN];

	if (proxy_sink.fd < 0)
		return;
	proxy_addr_format(peer, src);
	proxy_events_printf(
	    "{\"event\":\"token\",\"result\":\"%s\",\"status\":%d,\"reason\":\"%s\","
	    "\"source\":\"%s\",\"source_port\":%u,\"port\":%u,%s}",
	    status == 200 ? "allowed" : "denied", status, reason, src, (unsigned)peer->port,
	    (unsigned)port, r ? r->labels_json : "\"service\":\"\",\"port_name\":\"\"");
}

void proxy_events_thread_end(void)
{
	proxy_events_flush();
	free(proxy_batch.buf);
	proxy_batch.buf = NULL;
	proxy_batch.cap = 0;
	proxy_batch.loop = NULL;
	proxy_batch.armed = false;
}

void proxy_events_fini(void)
{
	proxy_events_thread_end();
	free(proxy_sink.backlog);
	proxy_sink.backlog = NULL;
	if (proxy_sink.wake_fd >= 0)
		close(proxy_sink.wake_fd);
	proxy_sink.wake_fd = -1;
}
