/* The runtime's ways into a running VM-isolated container: a guest port
 * through the VMM's vsock socket (Firecracker's host-initiated CONNECT),
 * one request to the VMM's API socket, and waiting for a process that is
 * not our child. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"

int vs_hyb_paths_of(const char *dir, vs_hyb_paths *p, vs_err *err)
{
	if (vs_path_fmt(p->dir, sizeof(p->dir), err, "%s", dir) < 0 ||
	    vs_path_fmt(p->image, sizeof(p->image), err, "%s/rootfs.ext4", dir) < 0 ||
	    vs_path_fmt(p->uds, sizeof(p->uds), err, "%s/vsock", dir) < 0 ||
	    vs_path_fmt(p->port_uds, sizeof(p->port_uds), err, "%s_%u", p->uds, VS_PROTO_PORT) < 0 ||
	    vs_path_fmt(p->api, sizeof(p->api), err, "%s/api.sock", dir) < 0 ||
	    vs_path_fmt(p->fifo, sizeof(p->fifo), err, "%s/" VS_EXEC_FIFO, dir) < 0 ||
	    vs_path_fmt(p->vmm_pid, sizeof(p->vmm_pid), err, "%s/vmm.pid", dir) < 0)
		return -1;
	if (strlen(p->port_uds) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return vs_fail(err, ENAMETOOLONG, "vsock socket %s: the state dir path is too long for a socket",
			       p->port_uds);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_unix(const char *path, vs_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return vs_fail(err, ENAMETOOLONG, "socket path %s", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail(err, errno, "socket for %s", path);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "connect to %s", path);
	}
	return s;
}

/* Read until `stop` (included) or len - 1 bytes, by the deadline. */
static ssize_t read_until(int fd, char *buf, size_t len, char stop, long long deadline, vs_err *err)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		int pr = poll(&p, 1, left > 0 ? (int)left : 0);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return vs_fail(err, pr == 0 ? ETIMEDOUT : errno, "no answer in time");
		ssize_t r = read(fd, buf + n, stop ? 1 : len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail(err, errno, "read the answer");
		if (r == 0)
			break;
		n += (size_t)r;
		if (stop && buf[n - 1] == stop)
			break;
	}
	buf[n] = 0;
	return (ssize_t)n;
}

int vs_hyb_vsock_connect(const char *uds, unsigned port, int ms, vs_err *err)
{
	int s = connect_unix(uds, err);
	if (s < 0)
		return vs_wrap(err, "the VM's vsock (is the container running?)");
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write(s, line, (size_t)n) != n) {
		vs_fail(err, errno, "CONNECT %u on %s", port, uds);
		close(s);
		return -1;
	}
	/* "OK <host port>\n", read a byte at a time: what follows is the agent's. */
	if (read_until(s, line, sizeof(line), '\n', now_ms() + ms, err) < 0 || strncmp(line, "OK ", 3)) {
		if (!err->code)
			vs_fail(err, ECONNREFUSED, "guest port %u: the agent does not answer", port);
		else
			vs_wrap(err, "CONNECT %u on %s", port, uds);
		close(s);
		return -1;
	}
	return s;
}

int vs_hyb_api(const char *sock, const char *method, const char *path, const char *body, int *code, char *resp,
	       size_t len, vs_err *err)
{
	int s = connect_unix(sock, err);
	if (s < 0)
		return vs_wrap(err, "the VMM's API");
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");
	char buf[4096];
	int rc = -1;
	if (n < 0 || (size_t)n >= sizeof(req) || write(s, req, (size_t)n) != n) {
		vs_fail(err, errno ? errno : EMSGSIZE, "%s %s to the VMM's API", method, path);
	} else if (read_until(s, buf, sizeof(buf), 0, now_ms() + 10000, err) >= 0) {
		int c = 0;
		if (sscanf(buf, "HTTP/1.%*d %d", &c) != 1) {
			vs_fail(err, EPROTO, "%s %s: the VMM's API answered no HTTP status", method, path);
		} else {
			*code = c;
			char *b = strstr(buf, "\r\n\r\n");
			if (resp)
				snprintf(resp, len, "%s", b ? b + 4 : "");
			rc = 0;
		}
	} else {
		vs_wrap(err, "%s %s to the VMM's API", method, path);
	}
	close(s);
	return rc;
}

int vs_hyb_wait_gone(pid_t pid, unsigned long long start, int ms)
{
	if (pid <= 0 || !vs_pid_alive(pid, start))
		return 0;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 0 : -1;
	/* pid reuse between the check and the open: the start time again. */
	if (!vs_pid_alive(pid, start)) {
		close(fd);
		return 0;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	long long deadline = now_ms() + ms;
	int r;
	while ((r = poll(&p, 1, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0))) < 0 && errno == EINTR)
		;
	close(fd);
	return r > 0 ? 0 : -1;
}
