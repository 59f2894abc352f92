#include "platform/dns.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DNSMASQ "/usr/sbin/dnsmasq"

pid_t vsd_dns_spawn(const char *dir, const char *bridge, const char *gw, vs_err *err)
{
	char hosts[4200], pidf[4200], logf[4200], iface[64], listen[64];
	snprintf(hosts, sizeof(hosts), "--addn-hosts=%s/hosts", dir);
	snprintf(pidf, sizeof(pidf), "--pid-file=%s/dnsmasq.pid", dir);
	snprintf(logf, sizeof(logf), "%s/dnsmasq.log", dir);
	snprintf(iface, sizeof(iface), "--interface=%s", bridge);
	snprintf(listen, sizeof(listen), "--listen-address=%s", gw);
	const char *argv[] = {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts", hosts,
			      pidf, "--bind-interfaces", iface, listen, "--except-interface=lo", "--domain-needed",
			      "--log-facility=-", "--local-service", NULL};
	if (access(DNSMASQ, X_OK) < 0)
		return vs_fail(err, errno, "dnsmasq for %s: %s (Debian's dnsmasq-base)", bridge, DNSMASQ);
	int log = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log < 0 || null < 0) {
		int e = errno;
		if (log >= 0)
			close(log);
		if (null >= 0)
			close(null);
		return vs_fail(err, e, "dnsmasq for %s: open %s", bridge, logf);
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Its own session: a signal to vesseld's group never reaches it. */
		setsid();
		if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(DNSMASQ, (char *const *)argv);
		_exit(127);
	}
	int e = errno;
	close(log);
	close(null);
	if (pid < 0)
		return vs_fail(err, e, "dnsmasq for %s: fork", bridge);
	/* It binds at once; an early exit is a configuration error. */
	for (int i = 0; i < 50; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return vs_fail(err, EIO, "dnsmasq for %s exited at once (see %s)", bridge, logf);
		char p[4200];
		snprintf(p, sizeof(p), "%s/dnsmasq.pid", dir);
		if (access(p, F_OK) == 0)
			break;
		struct timespec t = {0, 10 * 1000000L};
		nanosleep(&t, NULL);
	}
	return pid;
}

pid_t vsd_dns_find(const char *dir)
{
	char p[4200], buf[4200];
	snprintf(p, sizeof(p), "%s/dnsmasq.pid", dir);
	FILE *f = fopen(p, "re");
	int pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0)
		return 0;
	/* Ours only if its command line names this directory's hosts file. */
	snprintf(p, sizeof(p), "/proc/%d/cmdline", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	char want[4200];
	snprintf(want, sizeof(want), "--addn-hosts=%s/hosts ", dir);
	return strstr(buf, want) ? pid : 0;
}

void vsd_dns_reload(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGHUP);
}

void vsd_dns_stop(pid_t pid)
{
	if (pid <= 0 || kill(pid, SIGTERM) < 0)
		return;
	for (int i = 0; i < 200; i++) {
		/* Our child: reap it; else wait for it to vanish. */
		if (waitpid(pid, NULL, WNOHANG) == pid || (kill(pid, 0) < 0 && errno == ESRCH))
			return;
		struct timespec t = {0, 10 * 1000000L};
		nanosleep(&t, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, WNOHANG);
}
