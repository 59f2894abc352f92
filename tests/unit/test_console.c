/* process.terminal: pty pairs, --console-socket hand-over and the proxy. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "ctr/console.h"

/* Read until `want` shows up in what fd produced; a guard of 20 s keeps a
 * broken proxy from hanging the suite (not a timing assertion). */
static void expect_output(int fd, const char *want)
{
	char buf[512] = {0};
	size_t got = 0;
	while (!strstr(buf, want)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 20000) != 1)
			fail_msg("no \"%s\" on fd %d (got \"%s\")", want, fd, buf);
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			fail_msg("fd %d ended before \"%s\" (got \"%s\")", fd, want, buf);
		got += (size_t)n;
	}
}

static void make_raw(int fd)
{
	struct termios t;
	assert_int_equal(tcgetattr(fd, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
}

/* Each test's temp dir, removed by the teardown even when the test fails. */
static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vessel-console-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	return vs_rmtree(dir, NULL);
}

/* A listening Unix socket in the test's temp dir. */
static int listen_at(struct sockaddr_un *addr)
{
	*addr = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/fd.sock", dir);
	int lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lsock >= 0);
	assert_int_equal(bind(lsock, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(listen(lsock, 1), 0);
	return lsock;
}

/* Accept one connection and receive one message: its data and its fd. */
static int receive_fd(int lsock, char *data, size_t len)
{
	int conn = accept(lsock, NULL, NULL);
	assert_true(conn >= 0);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(data, 0, len);
	struct iovec iov = {.iov_base = data, .iov_len = len - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	assert_true(recvmsg(conn, &msg, MSG_WAITALL) > 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(conn);
	return fd;
}

static void test_console_socket_receives_master(void **state)
{
	(void)state;
	struct sockaddr_un addr;
	int lsock = listen_at(&addr);

	int master, slave;
	vs_err err = {0};
	assert_int_equal(vs_pty_open(&master, &slave, 24, 80, &err), 0);
	assert_true(fcntl(master, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(vs_console_send(addr.sun_path, master, &err), 0);
	close(master);

	char name[256];
	int got = receive_fd(lsock, name, sizeof(name));
	assert_non_null(strstr(name, "ptmx"));

	/* The received fd is the master: size as requested, writes reach the slave. */
	struct winsize ws;
	assert_int_equal(ioctl(got, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 24);
	assert_int_equal(ws.ws_col, 80);
	make_raw(slave);
	assert_int_equal(write(got, "ping", 4), 4);
	expect_output(slave, "ping");

	close(got), close(slave), close(lsock);
}

/* The generic hand-over carries a whole message (a seccomp listener's state). */
static void test_send_fd_with_state(void **state)
{
	(void)state;
	struct sockaddr_un addr;
	int lsock = listen_at(&addr);
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *json = "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":1,\"metadata\":\"m\"}";
	vs_err err = {0};
	assert_int_equal(vs_send_fd(addr.sun_path, "seccomp listener", p[1], json, &err), 0);
	assert_int_equal(vs_send_fd(addr.sun_path, "seccomp listener", p[1], "", &err), -1);
	assert_int_equal(err.code, EINVAL);
	close(p[1]);

	char data[512];
	int got = receive_fd(lsock, data, sizeof(data));
	assert_string_equal(data, json);
	assert_int_equal(write(got, "x", 1), 1);
	close(got);
	expect_output(p[0], "x");
	close(p[0]), close(lsock);
}

static void test_console_send_errors(void **state)
{
	(void)state;
	vs_err err = {0};
	assert_int_equal(vs_console_send("/nonexistent/vessel/console.sock", 0, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/vessel/console.sock"));
	char longpath[300];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(vs_console_send(longpath, 0, &err), -1);
	assert_int_equal(err.code, ENAMETOOLONG);
}

static void test_make_controlling(void **state)
{
	(void)state;
	int master, slave;
	vs_err err = {0};
	assert_int_equal(vs_pty_open(&master, &slave, 0, 0, &err), 0);
	char pts[64];
	assert_int_equal(ptsname_r(master, pts, sizeof(pts)), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (vs_pty_make_controlling(slave, &err) < 0)
			_exit(1);
		/* stdio is the pty, which is our controlling terminal. */
		char *tty = ttyname(1);
		int ok = tty && !strcmp(tty, pts) && tcgetpgrp(0) == getpgrp() && getsid(0) == getpid() &&
			 !(fcntl(2, F_GETFD) & FD_CLOEXEC);
		dprintf(1, "%s\n", ok ? "controlling-ok" : "controlling-bad");
		_exit(0);
	}
	close(slave);
	expect_output(master, "controlling-ok");
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(master);
}

static void test_proxy_copies_both_ways_until_hangup(void **state)
{
	(void)state;
	int master, slave, in[2], out[2];
	vs_err err = {0};
	assert_int_equal(vs_pty_open(&master, &slave, 0, 0, &err), 0);
	make_raw(slave);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(slave);
		_exit(vs_console_proxy(master, &err) == 0 ? 0 : 1);
	}
	close(master), close(in[0]), close(out[1]);

	assert_int_equal(write(in[1], "hello", 5), 5);
	expect_output(slave, "hello");
	close(in[1]); /* stdin at EOF: the proxy must go on */
	assert_int_equal(write(slave, "world", 5), 5);
	expect_output(out[0], "world");
	close(slave); /* the container side hangs up: the proxy ends cleanly */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(out[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_console_socket_receives_master, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_send_fd_with_state, make_dir, remove_dir),
		cmocka_unit_test(test_console_send_errors),
		cmocka_unit_test(test_make_controlling),
		cmocka_unit_test(test_proxy_copies_both_ways_until_hangup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
