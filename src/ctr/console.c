/* process.terminal: pty pairs, the --console-socket hand-over (runc's
 * protocol: one sendmsg carrying the master's name as data and the master
 * fd as SCM_RIGHTS), and the proxy `vessel run -t` uses without a socket. */
#include "ctr/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int vs_pty_open(int *master, int *slave, unsigned rows, unsigned cols, vs_err *err)
{
	char name[64];
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return vs_fail(err, errno, "open pty master /dev/ptmx");
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		int e = errno;
		close(m);
		return vs_fail(err, e, "unlock pty master");
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return vs_fail(err, e, "open pty slave %s", name);
	}
	if (rows || cols) {
		struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
		if (ioctl(m, TIOCSWINSZ, &ws) < 0) {
			int e = errno;
			close(m), close(s);
			return vs_fail(err, e, "set window size %ux%u on %s", cols, rows, name);
		}
	}
	*master = m;
	*slave = s;
	return 0;
}

int vs_pty_make_controlling(int slave, vs_err *err)
{
	/* A session leader already (the container init is one): keep that session. */
	if (getsid(0) != getpid() && setsid() < 0)
		return vs_fail(err, errno, "setsid for the container terminal");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return vs_fail(err, errno, "make the pty the controlling terminal");
	for (int fd = 0; fd <= 2; fd++) {
		/* dup2 onto itself keeps FD_CLOEXEC, so clear it by hand there. */
		if (fd == slave ? fcntl(fd, F_SETFD, 0) < 0 : dup2(slave, fd) < 0)
			return vs_fail(err, errno, "make the pty fd %d of the container process", fd);
	}
	if (slave > 2)
		close(slave);
	return 0;
}

int vs_send_fd(const char *socket_path, const char *what, int fd, const char *data, vs_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return vs_fail(err, ENAMETOOLONG, "%s %s", what, socket_path);
	/* SCM_RIGHTS needs at least one byte of ordinary data to ride on. */
	if (!data || !*data)
		return vs_fail(err, EINVAL, "send fd %d over %s %s: empty message", fd, what, socket_path);
	strcpy(addr.sun_path, socket_path);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return vs_fail(err, errno, "%s %s: socket", what, socket_path);
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(sock);
		return vs_fail(err, e, "connect to %s %s", what, socket_path);
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {.iov_base = (void *)data, .iov_len = strlen(data)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t sent;
	while ((sent = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int e = errno;
	close(sock);
	if (sent < 0)
		return vs_fail(err, e, "send fd %d over %s %s", fd, what, socket_path);
	if ((size_t)sent < iov.iov_len) /* a stream socket may take only part: the peer would see a cut message */
		return vs_fail(err, EMSGSIZE, "send fd %d over %s %s: short write", fd, what, socket_path);
	return 0;
}

int vs_console_send(const char *socket_path, int fd, vs_err *err)
{
	/* The data is the master's file name, as runc sends it. */
	char name[PATH_MAX], link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, name, sizeof(name) - 1);
	if (n <= 0)
		n = snprintf(name, sizeof(name), "/dev/ptmx");
	name[n] = 0;
	return vs_send_fd(socket_path, "console socket", fd, name, err);
}

/* ---- proxy ---- */

/* One direction of the copy: data read from `in` waits here until `out`
 * takes it, so neither side is read faster than the other drains. */
typedef struct {
	int in, out;
	char buf[8192];
	size_t off, len;
	bool eof;
} pipe_dir;

/* Returns 1 when `in` hung up, 0 to go on, -1 on error (errno set). */
static int pump(pipe_dir *d, short in_ev, short out_ev)
{
	if (d->len == 0 && (in_ev & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(d->in, d->buf, sizeof(d->buf));
		/* EIO: the pty master reports that every slave fd is closed. */
		if (n == 0 || (n < 0 && errno == EIO))
			return 1;
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -1;
		d->off = 0;
		d->len = (size_t)n;
	}
	if (d->len > 0 && (out_ev & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))) {
		ssize_t n = write(d->out, d->buf + d->off, d->len);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -1;
		d->off += (size_t)n;
		d->len -= (size_t)n;
	}
	return 0;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

static int proxy_loop(int master, int sigfd, vs_err *err)
{
	pipe_dir up = {.in = 0, .out = master}, down = {.in = master, .out = 1};
	for (;;) {
		struct pollfd p[5];
		nfds_t n = 0;
		int i_in = -1, i_mout = -1, i_min = -1, i_out = -1, i_sig = -1;
		if (!up.eof && up.len == 0)
			i_in = (int)n, p[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
		if (up.len > 0)
			i_mout = (int)n, p[n++] = (struct pollfd){.fd = master, .events = POLLOUT};
		if (down.len == 0)
			i_min = (int)n, p[n++] = (struct pollfd){.fd = master, .events = POLLIN};
		else
			i_out = (int)n, p[n++] = (struct pollfd){.fd = 1, .events = POLLOUT};
		if (sigfd >= 0)
			i_sig = (int)n, p[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail(err, errno, "console proxy: poll");
		}
#define EV(i) ((i) >= 0 ? p[i].revents : 0)
		if (EV(i_in) & POLLNVAL) /* no stdin at all */
			up.eof = true;
		int r = pump(&up, EV(i_in), EV(i_mout));
		if (r < 0)
			return vs_fail(err, errno, "console proxy: copy stdin to the pty");
		/* stdin at EOF: stop reading it, keep showing the container's output. */
		up.eof |= r == 1;
		r = pump(&down, EV(i_min), EV(i_out));
		if (r < 0)
			return vs_fail(err, errno, "console proxy: copy the pty to stdout");
		if (r == 1)
			return 0;
		if (EV(i_sig) & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) > 0)
				copy_winsize(0, master);
		}
#undef EV
	}
}

int vs_console_proxy(int master, vs_err *err)
{
	struct termios saved;
	bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		/* Raw: keys (^C, ^Z) go to the container's terminal, not ours. */
		struct termios t = saved;
		cfmakeraw(&t);
		if (tcsetattr(0, TCSANOW, &t) < 0)
			return vs_fail(err, errno, "console proxy: raw mode on stdin");
		copy_winsize(0, master);
	}
	/* Follow the local window size through a signalfd for SIGWINCH. */
	sigset_t winch, old;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	int sigfd = -1;
	bool blocked = raw && sigprocmask(SIG_BLOCK, &winch, &old) == 0;
	if (blocked)
		sigfd = signalfd(-1, &winch, SFD_CLOEXEC);
	int fl = fcntl(master, F_GETFL);
	int ret = fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0
			  ? vs_fail(err, errno, "console proxy: non-blocking pty master")
			  : proxy_loop(master, sigfd, err);
	if (fl >= 0)
		fcntl(master, F_SETFL, fl);
	if (sigfd >= 0)
		close(sigfd);
	if (blocked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	return ret;
}

int vs_pty_hand_over(const char *console_socket, int master, int *pty_master, vs_err *err)
{
	if (!console_socket) {
		*pty_master = master;
		return 0;
	}
	int rc = vs_console_send(console_socket, master, err);
	close(master);
	return rc;
}
