/* OCI hooks: fork+execve each hook of a kind in the caller's context, feed it
 * the state JSON on stdin, and wait for it under its timeout. */
#include "ctr/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "oci/names.h"

extern char **environ;


/* In the forked child: only async-signal-safe calls until execve. The hook
 * gets its own process group so a timeout kills whatever it started. */
static void __attribute__((noreturn)) exec_hook(const vs_hook *h, char **argv, char **envp, int in, int errfd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	/* stdout joins stderr: hook output must not mix with the runtime's stdout. */
	if (dup2(in, 0) < 0 || dup2(2, 1) < 0)
		goto fail;
	execve(h->path, argv, envp);
fail:;
	int e = errno;
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* the parent then reports a plain exit status */
	}
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Feed `state` to the hook and reap it. Returns 0 with *status set, or -1
 * with errno = ETIMEDOUT after killing the hook's process group. */
static int supervise(pid_t pid, int sock, const char *state, int timeout_s, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 on old kernels: poll in ticks */
	long long deadline = timeout_s > 0 ? now_ms() + timeout_s * 1000LL : -1;
	size_t len = strlen(state), off = 0;
	int ret = -1;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid) {
			ret = 0;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		struct pollfd fds[2];
		nfds_t n = 0;
		if (pidfd >= 0)
			fds[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		if (sock >= 0)
			fds[n++] = (struct pollfd){.fd = sock, .events = POLLOUT};
		long long wait = pidfd >= 0 ? -1 : 20;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				kill(-pid, SIGKILL);
				while (waitpid(pid, status, 0) < 0 && errno == EINTR)
					;
				errno = ETIMEDOUT;
				break;
			}
			if (wait < 0 || left < wait)
				wait = left;
		}
		if (poll(fds, n, (int)wait) < 0 && errno != EINTR)
			break;
		if (sock >= 0) {
			ssize_t k = send(sock, state + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				off += (size_t)k;
			/* Done, or the hook closed its stdin unread (EPIPE): it may still succeed. */
			if (off == len || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(sock);
				sock = -1;
			}
		}
	}
	int e = errno;
	if (sock >= 0)
		close(sock);
	if (pidfd >= 0)
		close(pidfd);
	errno = e;
	return ret;
}

static int run_one(const vs_hook *h, const char *kind, const char *state, vs_err *err)
{
	char *default_argv[] = {h->path, NULL};
	char **argv = h->args && h->args[0] ? h->args : default_argv;
	char **envp = h->env ? h->env : environ; /* no env: inherit, as runc does */
	int sv[2], errpipe[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_fail(err, errno, "hook %s (%s): socketpair", h->path, kind);
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		int e = errno;
		close(sv[0]), close(sv[1]);
		return vs_fail(err, e, "hook %s (%s): pipe", h->path, kind);
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_hook(h, argv, envp, sv[1], errpipe[1]);
	int fork_errno = errno;
	if (pid > 0)
		setpgid(pid, pid); /* also here, so a timeout right away still finds the group */
	close(sv[1]);
	close(errpipe[1]);
	if (pid < 0) {
		close(sv[0]);
		close(errpipe[0]);
		return vs_fail(err, fork_errno, "hook %s (%s): fork", h->path, kind);
	}
	int status = 0, exec_errno = 0;
	int rc = supervise(pid, sv[0], state ? state : "", h->timeout, &status);
	int wait_errno = errno;
	if (read(errpipe[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	close(errpipe[0]);

	if (rc < 0 && wait_errno == ETIMEDOUT)
		return vs_fail(err, VS_EINVAL_CONFIG, "hook %s (%s): timed out after %d s", h->path, kind,
			       h->timeout);
	if (rc < 0)
		return vs_fail(err, wait_errno, "hook %s (%s): wait", h->path, kind);
	if (exec_errno)
		return vs_fail(err, exec_errno, "hook %s (%s): exec", h->path, kind);
	/* VS_EINVAL_CONFIG: the message is the whole story, no strerror to add. */
	if (WIFSIGNALED(status))
		return vs_fail(err, VS_EINVAL_CONFIG, "hook %s (%s): killed by signal %d", h->path, kind,
			       WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "hook %s (%s): exited with status %d", h->path, kind,
			       WEXITSTATUS(status));
	return 0;
}

int vs_hooks_run(const vs_config *cfg, int kind, const char *state_json, vs_err *err)
{
	if (kind < 0 || kind >= VS_HOOK_KINDS)
		return vs_fail(err, EINVAL, "run hooks of unknown kind %d", kind);
	/* Per the runtime-spec, poststart and poststop failures only warn. */
	bool fatal = kind != VS_HOOK_POSTSTART && kind != VS_HOOK_POSTSTOP;
	for (size_t i = 0; i < cfg->n_hooks[kind]; i++) {
		vs_err e = {0};
		if (run_one(&cfg->hooks[kind][i], vs_hook_names[kind], state_json, &e) == 0)
			continue;
		if (fatal) {
			if (err)
				*err = e;
			return -1;
		}
		char buf[sizeof(e.msg) + 64];
		vs_warn("%s", vs_err_str(&e, buf, sizeof(buf)));
	}
	return 0;
}
