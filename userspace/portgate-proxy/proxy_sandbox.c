// SPDX-License-Identifier: MIT
/* proxy_sandbox: another user, no capabilities, no_new_privs and a seccomp allow-list. */
#include <errno.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "log.h"
#include "proxy.h"

/* A user as NAME, or as UID:GID (what portgated passes: it resolved the name already). */
static int proxy_sandbox_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	struct passwd *pw;
	char *end;

	errno = 0;
	u = strtoul(user, &end, 10);
	if (end != user && *end == ':') {
		g = strtoul(end + 1, &end, 10);
		if (*end || errno || u >= UINT32_MAX || g >= UINT32_MAX)
			return -EINVAL;
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Switches to the user's uid and gid, with no supplementary groups. */
static int proxy_sandbox_user(const char *user)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int rc = proxy_sandbox_lookup(user, &uid, &gid);

	pid_t parent = getppid();

	if (rc < 0)
		return rc;
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	/* Belt and braces: there is no way back to root. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -EPERM;
	/*
	 * A change of user clears the parent-death signal portgated set: set it again (a proxy
	 * started by hand gets it too, from whatever started it), and a parent that died in
	 * between is noticed here rather than never.
	 */
	if (parent != 1 && (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent))
		return -ESRCH;
	return 0;
}

/* Empties the bounding, ambient, inheritable, permitted and effective sets. */
static int proxy_sandbox_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	/* The bounding set needs CAP_SETPCAP to shrink: done while we may still have it. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

struct proxy_sandbox_rule {
	int nr;
	unsigned n_args;
	struct scmp_arg_cmp arg;
};

/*
 * What the loops need once started, and nothing else: no open(), no execve(), no bind(), no
 * ptrace, no new processes (clone only for threads), no executable memory.
 */
static int proxy_sandbox_seccomp(bool bpf_maps)
{
	static const int plain[] = {
		/* sockets and pipes */
		SCMP_SYS(read),
		SCMP_SYS(write),
		SCMP_SYS(readv),
		SCMP_SYS(writev),
		SCMP_SYS(recvfrom),
		SCMP_SYS(recvmsg),
		SCMP_SYS(sendto),
		SCMP_SYS(sendmsg),
		SCMP_SYS(splice),
		SCMP_SYS(pipe2),
		SCMP_SYS(close),
		SCMP_SYS(accept4),
		SCMP_SYS(connect),
		SCMP_SYS(shutdown),
		SCMP_SYS(getsockopt),
		SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname),
		SCMP_SYS(getpeername),
		SCMP_SYS(fcntl),
		SCMP_SYS(eventfd2),
		/* the loop */
		SCMP_SYS(epoll_create1),
		SCMP_SYS(epoll_ctl),
		SCMP_SYS(epoll_wait),
		SCMP_SYS(epoll_pwait),
		SCMP_SYS(epoll_pwait2),
		SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday),
		SCMP_SYS(clock_nanosleep),
		SCMP_SYS(nanosleep),
		/* memory, threads, the C library */
		SCMP_SYS(brk),
		SCMP_SYS(munmap),
		SCMP_SYS(mremap),
		SCMP_SYS(madvise),
		SCMP_SYS(futex),
		SCMP_SYS(set_robust_list),
		SCMP_SYS(rseq),
		SCMP_SYS(sched_yield),
		SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn),
		SCMP_SYS(sigaltstack),
		/* pthread_create installs the C library's own handler (SIGSETXID) */
		SCMP_SYS(rt_sigaction),
		SCMP_SYS(restart_syscall),
		SCMP_SYS(getpid),
		SCMP_SYS(gettid),
		SCMP_SYS(getrandom),
		SCMP_SYS(newfstatat),
		SCMP_SYS(fstat),
		SCMP_SYS(exit),
		SCMP_SYS(exit_group),
		/* abort() raising SIGABRT on itself */
		SCMP_SYS(tgkill),
	};
	const struct proxy_sandbox_rule with_args[] = {
		/* IPv4 to the backends; IPv6 is kept for a ::1 backend. Never AF_UNIX, NETLINK,
		 * PACKET... */
		{ SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET) },
		{ SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6) },
		/* Memory, never executable. */
		{ SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
		{ SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
		/* Threads only (pthread_create), never a new process. */
		{ SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD) },
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && !rc; i++) {
		if (plain[i] < 0)
			continue; /* unknown to this libseccomp (epoll_pwait2 on an old one) */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	}
	for (size_t i = 0; i < sizeof(with_args) / sizeof(with_args[0]) && !rc; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, with_args[i].nr, with_args[i].n_args,
				      with_args[i].arg);
	/* clone3 passes its flags in memory that a filter cannot read: ENOSYS makes the C
	 * library fall back to clone, whose flags are checked above. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Files stay closed, but politely: the C library reads a few lazily and copes with a
	 * refusal (malloc reads /proc/sys/vm/overcommit_memory the first time it shrinks a
	 * thread's heap, strerror may look for translations). */
	/* The sockmap path: map entries on the fds loaded before the sandbox, nothing else (no
	 * program load, no map creation, no fd lookup by id). */
	for (int i = 0; bpf_maps && i < 3 && !rc; i++) {
		static const int cmds[] = { BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
					    BPF_MAP_DELETE_ELEM };

		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)cmds[i]));
	}
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int proxy_sandbox_enter(const char *user, bool seccomp, bool bpf_maps)
{
	int rc;

	if (user) {
		rc = proxy_sandbox_user(user);
		if (rc < 0) {
			log_error("cannot switch to user %s: %s", user, strerror(-rc));
			return rc;
		}
	}
	rc = proxy_sandbox_caps();
	if (rc < 0) {
		log_error("cannot drop capabilities: %s", strerror(-rc));
		return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		log_error("cannot set no_new_privs: %s", strerror(-rc));
		return rc;
	}
	/* No core dump and no ptrace by the same uid: the memory holds token hashes. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!user && getuid() == 0)
		log_warn("running as root without capabilities; use --user to leave uid 0");
#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizer runtime needs ptrace-like clones and /proc reads for its reports. */
	if (seccomp) {
		log_warn("seccomp is off in a sanitizer build");
		return 0;
	}
#endif
	if (!seccomp) {
		log_warn("seccomp filter disabled (--no-seccomp)");
		return 0;
	}
	rc = proxy_sandbox_seccomp(bpf_maps);
	if (rc < 0)
		log_error("cannot load the seccomp filter: %s", strerror(-rc));
	return rc;
}
