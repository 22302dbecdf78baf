/* SPDX-License-Identifier: MIT */
/* proxy_splice: a per-thread pool of pipes and the pump moving one direction in the kernel. */
#ifndef PORTGATE_PROXY_SPLICE_H
#define PORTGATE_PROXY_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Bytes moved per direction per wake-up, so one fast stream cannot starve the others: one
 * pipe's worth (about 1 ms at loopback speed). 256 KiB read 0.78 GB/s against 0.88 in 12
 * interleaved 256 MiB transfers (docs/benchmarks.md). */
#define PROXY_PUMP_CAP (1024 * 1024)
/* The worker's buffer for directions that copy instead of splicing; what a slow peer does not
 * take at once is kept per connection, only that much and only until it is sent. */
#define PROXY_COPY_BUF (256 * 1024)

struct proxy_pipe {
	int rfd, wfd;
	unsigned size; /* capacity in bytes (F_GETPIPE_SZ) */
	struct proxy_pipe *next;
};

/* Not thread-safe: one pool per event loop. */
struct proxy_pool {
	struct proxy_pipe *free;
	unsigned n_free, max_free; /* idle pipes kept for reuse */
	unsigned n_used;	   /* pipes lent out */
	int pipe_size;		   /* F_SETPIPE_SZ asked for new pipes (0: the kernel's default) */
	uint64_t n_created, n_failed;
	char *copy_buf; /* PROXY_COPY_BUF bytes, allocated on first use */
};

/* One direction of a connection: src -> (pipe | buf) -> dst. */
struct proxy_dir {
	struct proxy_pipe *pipe; /* only while bytes are in it */
	char *buf;	  /* bytes to write first: the head, or what dst did not take (copy path) */
	uint32_t in_pipe; /* bytes in pipe */
	uint32_t off, len, cap; /* buf[off..len) still to write */
	uint8_t flags;
	uint64_t bytes; /* written to dst */
	uint64_t limit; /* PROXY_DIR_LIMIT: bytes src may still give; at 0 the direction is done
			 * without shutting dst down (the backend connection stays usable) */
};

#define PROXY_DIR_EOF	  0x1 /* src has ended (or its reading side is given up) */
#define PROXY_DIR_DONE	  0x2 /* all written and dst shut down for writing */
#define PROXY_DIR_COPY	  0x4 /* read/write copying: splice refused these fds (EINVAL), or chosen */
#define PROXY_DIR_SOCKMAP 0x8 /* redirected by the sk_skb verdict: user space never reads src */
#define PROXY_DIR_AUTO	  0x10 /* copying by choice: the first large read switches to splice */
#define PROXY_DIR_HUP                                                                              \
	0x20 /* src's peer has shut down its sending side: a short read is                         \
	      * its last (saves the read that would return 0) */
#define PROXY_DIR_LAST                                                                             \
	0x40		     /* the other direction is done: the connection closes with this       \
			      * one, so dst gets its FIN from close() instead of a shutdown() */
#define PROXY_DIR_LIMIT 0x80 /* reads stop after `limit` bytes */
/* A read at least this large says bulk: an AUTO direction splices from then on. */
#define PROXY_COPY_BULK (64 * 1024)

/* What the direction waits for after a pump. */
enum proxy_pump_wait {
	PROXY_PUMP_READ = 1, /* src readable (or still readable: the cap was reached) */
	PROXY_PUMP_WRITE,    /* dst writable */
	PROXY_PUMP_DONE,     /* finished: EOF forwarded */
};

void proxy_pool_init(struct proxy_pool *pool, unsigned max_free, int pipe_size);
/* Lends an empty pipe; NULL with errno set when none can be made. */
struct proxy_pipe *proxy_pool_get(struct proxy_pool *pool);
/* Takes a pipe back: kept for reuse if empty and there is room, else closed. */
void proxy_pool_put(struct proxy_pool *pool, struct proxy_pipe *p, int empty);
void proxy_pool_destroy(struct proxy_pool *pool);

/*
 * Moves what d holds and then what src has to dst, at most cap bytes read from src this call:
 * buf first, then the pipe, then splice(src -> pipe -> dst) with SPLICE_F_MOVE |
 * SPLICE_F_NONBLOCK. EAGAIN on dst: wait for it (the pipe stays lent); EAGAIN on src: wait for
 * it (the empty pipe goes back to the pool); EINTR: again; EINVAL (or ENOSYS) on the first
 * splice: this direction switches to read/write copying for good (through the pool's copy
 * buffer; only what dst does not take is kept, in d->buf). On EOF of src, once all is
 * written, dst is shut down for writing. Returns an enum proxy_pump_wait, or -errno when a
 * side failed (the caller closes the connection).
 */
int proxy_pump(struct proxy_pool *pool, struct proxy_dir *d, int src, int dst, size_t cap);

/* sendmsg(2) of iov[0..n) to a socket without blocking or SIGPIPE, again on EINTR: the bytes
 * sent, 0 when the socket's buffer is full, or -errno. */
ssize_t proxy_sendv(int fd, const struct iovec *iov, int n);
/* The same for one buffer. */
ssize_t proxy_send(int fd, const void *p, size_t n);

/* Writes d's buffered bytes to dst: 0 when empty (the buffer is freed), PROXY_PUMP_WRITE, or
 * -errno. */
int proxy_dir_flush(struct proxy_dir *d, int dst);

/* Gives back the pipe (closed if not empty) and frees buf; d stays usable (empty). */
void proxy_dir_release(struct proxy_pool *pool, struct proxy_dir *d);

#endif
