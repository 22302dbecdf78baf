// SPDX-License-Identifier: MIT
/* embedded_redis: portgated's private redis-server child (Unix socket, TCP off, AOF on). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "embedded_redis.h"
#include "log.h"

#define ER_RESTART_MAX_MS 5000

struct embedded_redis {
	struct evloop *loop;
	char dir[4096];
	char socket[4200];
	char pidfile[4200];
	char logfile[4200];
	char binary[4096];
	char appendfsync[16];
	pid_t pid;
	uint64_t backoff_ms;
	long restart_timer;
	bool stopping;
};

static void er_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A portgated killed with SIGKILL takes its child along (PDEATHSIG), but a child that
 * outlived it otherwise would hold the AOF: stop it before starting ours. */
static void er_stop_stale(struct embedded_redis *er)
{
	char comm[64] = "", path[64];
	FILE *f = fopen(er->pidfile, "r");
	int pid = 0;

	if (!f)
		return;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = pid > 1 ? fopen(path, "r") : NULL;
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
	}
	if (strncmp(comm, "redis-server", 12) != 0)
		return;
	log_warn("stopping a stale redis-server (pid %d) left by an earlier run", pid);
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		er_sleep_ms(50);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

static void er_exec(struct embedded_redis *er, pid_t parent)
{
	sigset_t none;

	/* Dies with portgated, whatever kills it; gets the signals portgated blocked back. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execlp(er->binary, er->binary, "--port", "0", "--unixsocket", er->socket,
	       "--unixsocketperm", "700", "--dir", er->dir, "--appendonly", "yes", "--appendfsync",
	       er->appendfsync, "--save", "", "--daemonize", "no", "--pidfile", er->pidfile,
	       "--logfile", er->logfile, "--protected-mode", "yes", "--aof-load-truncated", "yes",
	       (char *)NULL);
	_exit(127);
}

static int er_spawn(struct embedded_redis *er)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		er_exec(er, parent);
	er->pid = pid;
	log_info("embedded redis-server started (pid %d, %s)", (int)pid, er->socket);
	return 0;
}

int embedded_redis_start(struct evloop *loop, const char *state_dir, const char *binary,
			 const char *appendfsync, struct embedded_redis **out)
{
	struct embedded_redis *er = calloc(1, sizeof(*er));
	int err;

	if (!er)
		return -ENOMEM;
	er->loop = loop;
	er->backoff_ms = 100;
	snprintf(er->dir, sizeof(er->dir), "%s/redis", state_dir);
	snprintf(er->socket, sizeof(er->socket), "%s/redis.sock", er->dir);
	snprintf(er->pidfile, sizeof(er->pidfile), "%s/redis.pid", er->dir);
	snprintf(er->logfile, sizeof(er->logfile), "%s/redis.log", er->dir);
	snprintf(er->binary, sizeof(er->binary), "%s", binary);
	snprintf(er->appendfsync, sizeof(er->appendfsync), "%s", appendfsync);
	if (mkdir(er->dir, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		free(er);
		return err;
	}
	er_stop_stale(er);
	err = er_spawn(er);
	if (err < 0) {
		free(er);
		return err;
	}
	*out = er;
	return 0;
}

const char *embedded_redis_socket(const struct embedded_redis *er)
{
	return er->socket;
}

pid_t embedded_redis_pid(const struct embedded_redis *er)
{
	return er->pid;
}

static void er_restart(struct evloop *loop, void *arg)
{
	struct embedded_redis *er = arg;

	er->restart_timer = 0;
	if (er_spawn(er) < 0)
		log_error("cannot restart redis-server: %s", strerror(errno));
}

void embedded_redis_reap(struct embedded_redis *er, pid_t pid, int status)
{
	if (!er || pid != er->pid)
		return;
	er->pid = 0;
	if (er->stopping)
		return;
	if (WIFSIGNALED(status))
		log_warn("redis-server killed by signal %d; restarting in %llu ms",
			 WTERMSIG(status), (unsigned long long)er->backoff_ms);
	else
		log_warn("redis-server exited with %d (see %s); restarting in %llu ms",
			 WEXITSTATUS(status), er->logfile, (unsigned long long)er->backoff_ms);
	er->restart_timer = evloop_timer_add(er->loop, er->backoff_ms, er_restart, er);
	er->backoff_ms =
	    er->backoff_ms * 2 > ER_RESTART_MAX_MS ? ER_RESTART_MAX_MS : er->backoff_ms * 2;
}

void embedded_redis_stop(struct embedded_redis *er)
{
	int status;

	if (!er)
		return;
	er->stopping = true;
	evloop_timer_cancel(er->loop, er->restart_timer);
	if (er->pid > 0) {
		kill(er->pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(er->pid, &status, WNOHANG) == er->pid) {
				er->pid = 0;
				break;
			}
			er_sleep_ms(50);
		}
		if (er->pid > 0) {
			kill(er->pid, SIGKILL);
			waitpid(er->pid, &status, 0);
		}
	}
	free(er);
}
