#include "cmd/foreground.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctr/console.h"

static volatile pid_t fg_pid;

static void forward(int sig)
{
	if (fg_pid > 0)
		kill(fg_pid, sig);
}

void vs_fg_prepare(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void *proxy_thread(void *arg)
{
	vs_console_proxy((int)(long)arg, NULL);
	return NULL;
}

int vs_fg_wait(pid_t pid, int pty_master)
{
	fg_pid = pid;
	struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGCHLD && s != SIGKILL && s != SIGSTOP && s != SIGPIPE && s != SIGTTIN && s != SIGTTOU &&
		    s != SIGSEGV && s != SIGBUS && s != SIGFPE && s != SIGILL && s != SIGABRT && s < SIGRTMIN)
			sigaction(s, &sa, NULL);
	pthread_t proxy;
	bool proxying = pty_master >= 0 &&
			pthread_create(&proxy, NULL, proxy_thread, (void *)(long)pty_master) == 0;
	int status = 0;
	for (;;) {
		int st;
		pid_t got = waitpid(-1, &st, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break; /* no children left */
		if (got == pid) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
	}
	fg_pid = 0;
	if (proxying)
		pthread_join(proxy, NULL);
	if (pty_master >= 0)
		close(pty_master);
	return status;
}

int vs_parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
		{"ABRT", SIGABRT}, {"IOT", SIGIOT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
		{"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
		{"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
		{"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
		{"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
		{"POLL", SIGPOLL}, {"PWR", SIGPWR},   {"SYS", SIGSYS},
	};
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end) /* 0 is kill(2)'s "does it exist" probe, no signal sent */
		return n >= 0 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	if (!strncasecmp(s, "RTMIN", 5)) {
		int off = s[5] == '+' ? atoi(s + 6) : 0;
		return SIGRTMIN + off <= SIGRTMAX ? SIGRTMIN + off : -1;
	}
	return -1;
}
