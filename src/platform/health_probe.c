/* One health check as a child process: its exit status is the verdict,
 * so the supervisor waits on it like on an init (pidfd) and kills it at
 * the timeout. tcp and http enter the instance's network namespace, so
 * they reach a service bound to its loopback as Docker's checks do. */
#include "platform/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Only async-signal-safe calls: the daemon has threads. */
static int probe(const char *ns, const struct sockaddr_in *sa, const char *req, size_t reqlen)
{
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return 2;
	close(fd);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return 1;
	if (!req)
		return 0;
	if (write(s, req, reqlen) != (ssize_t)reqlen)
		return 1;
	char buf[16];
	size_t got = 0;
	while (got < 12) {
		ssize_t n = read(s, buf + got, sizeof(buf) - got);
		if (n <= 0)
			return 1;
		got += (size_t)n;
	}
	/* "HTTP/1.x 2xx" or 3xx: healthy, as Kubernetes's httpGet probe. */
	if (memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ' || (buf[9] != '2' && buf[9] != '3'))
		return 1;
	return 0;
}

pid_t vsd_health_spawn(const vsd_health *h, const char *runtime, const char *rt_root, const char *name,
		       pid_t init_pid, vs_err *err)
{
	char words[sizeof(h->line)], *cmd[VSD_HEALTH_ARGS + 1];
	const char *argv[VSD_HEALTH_ARGS + 8];
	char ns[64], req[sizeof(h->path) + 96];
	size_t reqlen = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)h->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (h->kind == VSD_HEALTH_EXEC) {
		int n = vsd_health_argv(h, words, sizeof(words), cmd), k = 0;
		if (n <= 0)
			return vs_fail(err, VS_EINVAL_CONFIG, "health check of %s: no command", name);
		argv[k++] = "vessel";
		argv[k++] = "--root";
		argv[k++] = rt_root;
		argv[k++] = "exec";
		argv[k++] = name;
		for (int i = 0; i < n; i++)
			argv[k++] = cmd[i];
		argv[k] = NULL;
	} else {
		snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)init_pid);
		if (h->kind == VSD_HEALTH_HTTP)
			reqlen = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: vesseld-health\r\n\r\n",
						  h->path);
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return vs_fail(err, errno, "health check of %s: open /dev/null", name);
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
			_exit(2);
		if (h->kind == VSD_HEALTH_EXEC) {
			sigset_t none; /* the check's command must not inherit vesseld's mask */
			sigemptyset(&none);
			signal(SIGPIPE, SIG_DFL);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execv(runtime, (char *const *)argv);
			_exit(127);
		}
		_exit(probe(ns, &sa, h->kind == VSD_HEALTH_HTTP ? req : NULL, reqlen));
	}
	int e = errno;
	close(devnull);
	if (pid < 0)
		return vs_fail(err, e, "health check of %s: fork", name);
	return pid;
}
