#include "platform/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 300
#define OUT_MAX (1 << 20)

/* Read fd to EOF into a malloc'd string (at most OUT_MAX kept). */
static char *slurp(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	char tmp[4096];
	while ((n = read(fd, tmp, sizeof(tmp))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0 || !buf || len + (size_t)n >= OUT_MAX)
			continue;
		if (len + (size_t)n + 1 > cap) {
			char *b = realloc(buf, cap *= 4);
			if (!b) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = b;
		}
		memcpy(buf + len, tmp, (size_t)n);
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* The last non-empty line of s, trimmed, "vessel: " dropped. */
static void last_line(const char *s, char *out, size_t len)
{
	out[0] = '\0';
	if (!s)
		return;
	const char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > s && start[-1] != '\n')
		start--;
	if (!strncmp(start, "vessel: ", 8))
		start += 8;
	snprintf(out, len, "%.*s", (int)(end - start), start);
}

/* Spawn the runtime and wait: *status its wait status; stdout/stderr
 * captured into *out and *errtext unless console (then both go there and
 * *errtext is what the run appended to it). -1 only if it cannot run. */
static int spawn(vsd *d, const char *console, const char *const *args, char **out, char **errtext, int *status,
		 vs_err *err)
{
	const char *argv[MAX_ARGS + 4] = {"vessel", "--root", d->rt_root};
	int n = 3;
	for (int i = 0; args[i]; i++) {
		if (n >= MAX_ARGS)
			return vs_fail(err, E2BIG, "runtime %s: too many arguments", args[0]);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	*out = *errtext = NULL;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, cfd = -1;
	off_t console_start = 0;
	if (console) {
		cfd = open(console, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (cfd < 0)
			return vs_fail(err, errno, "open %s", console);
		struct stat st;
		console_start = fstat(cfd, &st) == 0 ? st.st_size : 0;
	} else if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		if (outp[0] >= 0) {
			close(outp[0]);
			close(outp[1]);
		}
		return vs_fail(err, e, "runtime %s: pipe", args[0]);
	}
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec. */
		int o = console ? cfd : outp[1], e = console ? cfd : errp[1];
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		/* vesseld's threads block TERM, INT, HUP and CHLD and ignore PIPE;
		 * an instance's init inherits both across exec, so clear them. */
		sigset_t none;
		sigemptyset(&none);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(d->runtime, (char *const *)argv);
		_exit(127);
	}
	int fork_errno = errno;
	if (devnull >= 0)
		close(devnull);
	if (!console) {
		close(outp[1]);
		close(errp[1]);
		if (pid > 0) {
			/* stderr stays small (messages); read stdout first, then it. */
			*out = slurp(outp[0]);
			*errtext = slurp(errp[0]);
		}
		close(outp[0]);
		close(errp[0]);
	} else {
		close(cfd);
	}
	if (pid < 0) {
		free(*out);
		free(*errtext);
		*out = *errtext = NULL;
		return vs_fail(err, fork_errno, "runtime %s: fork", args[0]);
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (console && !(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)) {
		int fd = open(console, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && lseek(fd, console_start, SEEK_SET) >= 0)
			*errtext = slurp(fd);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

int vsd_rt(vsd *d, const char *console, char **out, vs_err *err, const char *const *args)
{
	char *captured, *errtext;
	int status;
	if (out)
		*out = NULL;
	if (spawn(d, console, args, &captured, &errtext, &status, err) < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out)
			*out = captured;
		else
			free(captured);
		free(errtext);
		return 0;
	}
	char msg[400];
	last_line(errtext, msg, sizeof(msg));
	free(captured);
	free(errtext);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !msg[0])
		return vs_fail(err, ENOEXEC, "runtime %s: cannot execute %s", args[0], d->runtime);
	return vs_fail(err, EIO, "runtime %s %s: %s", args[0], args[1] ? args[1] : "",
		       msg[0] ? msg : "failed");
}

int vsd_rt_exec(vsd *d, const char *const *args, char **out, char **errout, int *code, vs_err *err)
{
	int status;
	if (spawn(d, NULL, args, out, errout, &status, err) < 0)
		return -1;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

const char *vsd_rt_status(vsd *d, const char *id, int *pid)
{
	char *out = NULL;
	const char *args[] = {"state", id, NULL};
	*pid = 0;
	if (vsd_rt(d, NULL, &out, NULL, args) < 0)
		return "absent";
	struct json_object *o = out ? json_tokener_parse(out) : NULL;
	free(out);
	const char *s = o ? json_object_get_string(json_object_object_get(o, "status")) : NULL;
	static const char *const known[] = {"running", "paused", "created", "stopped"};
	const char *r = "absent";
	for (size_t i = 0; s && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i]))
			r = known[i];
	*pid = o ? json_object_get_int(json_object_object_get(o, "pid")) : 0;
	json_object_put(o);
	return r;
}
