/* SPDX-License-Identifier: MIT */
/* audit_agg: flood aggregation per (source, action, result) and window, and port-scan
 * detection; pure logic (no I/O, no clock: the caller passes a monotonic now). */
#ifndef PORTGATED_AUDIT_AGG_H
#define PORTGATED_AUDIT_AGG_H

#include <stddef.h>
#include <stdint.h>
#include "audit_event.h"

#define AUDIT_AGG_DEFAULT_KEYS 4096

struct audit_agg_cfg {
	uint64_t window_us;  /* aggregation and scan window */
	uint64_t threshold;  /* events per key and window passed on as they are */
	uint64_t scan_ports; /* more distinct candidate ports than this in a window: a scan */
	bool scan_block;     /* scan events say "blocked" (the caller blocks), else "denied" */
	size_t max_keys;     /* table size; 0: AUDIT_AGG_DEFAULT_KEYS */
};

/* The callbacks must not call back into this audit_agg (audit.c sends events that arrive while
 * one runs straight to the sinks). */
struct audit_agg_ops {
	/* Every event that leaves: passed through, aggregated (count, first_us) or a scan. */
	void (*emit)(const struct audit_event *ev, void *arg);
	/* A source just passed scan_ports in this window (ev: the scan so far, e.g. to block the
	 * source now); its one scan event, with the window's final figures, is emitted when the
	 * window closes. May be NULL. */
	void (*scan)(const struct audit_event *ev, void *arg);
	void *arg;
};

struct audit_agg_stats {
	uint64_t aggregated; /* aggregated events emitted */
	uint64_t scans;	     /* scan events emitted */
	uint64_t evictions;  /* keys flushed early because the table was full */
};

struct audit_agg;

/* 0 or -ENOMEM / -EINVAL (window or threshold 0). */
int audit_agg_new(const struct audit_agg_cfg *cfg, const struct audit_agg_ops *ops,
		  struct audit_agg **out);
/* Flushes everything still held (audit_agg_flush), then frees. NULL is fine. */
void audit_agg_free(struct audit_agg *g);

/*
 * Takes one event (ev->time_us already set) at monotonic time now_us. Control, repair, scan and
 * loss events always pass through; others pass through until their key has seen `threshold`
 * events in its window, then are held and counted. The sum of `count` over what is emitted
 * always equals the sum over what came in (count 0 counts as 1).
 */
void audit_agg_add(struct audit_agg *g, const struct audit_event *ev, uint64_t now_us);

/* Closes the windows that ended by now_us (emitting what they hold). Returns the µs until the
 * next window ends, or UINT64_MAX when nothing is pending. */
uint64_t audit_agg_tick(struct audit_agg *g, uint64_t now_us);
/* Closes every window now (exit). */
void audit_agg_flush(struct audit_agg *g);

size_t audit_agg_keys(const struct audit_agg *g); /* keys in the table */
void audit_agg_stats(const struct audit_agg *g, struct audit_agg_stats *out);

#endif
