/* Migration endpoints and their socket I/O (migsock.h). */
#include "vmm/migsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

int vs_mig_addr_parse(const char *s, vs_mig_addr *a, vs_err *err)
{
	memset(a, 0, sizeof(*a));
	if (strlen(s) >= sizeof(a->text))
		return vs_fail(err, VS_EINVAL_CONFIG, "migration address %.40s...: longer than %zu bytes", s,
			       sizeof(a->text) - 1);
	strcpy(a->text, s);
	if (!strncmp(s, "unix:", 5)) {
		struct sockaddr_un *u = (struct sockaddr_un *)&a->sa;
		const char *p = s + 5;
		if (!*p || strlen(p) >= sizeof(u->sun_path))
			return vs_fail(err, VS_EINVAL_CONFIG, "migration address %s: the path must be 1..%zu bytes", s,
				       sizeof(u->sun_path) - 1);
		u->sun_family = AF_UNIX;
		strcpy(u->sun_path, p);
		a->len = sizeof(*u);
		return 0;
	}
	if (strncmp(s, "tcp:", 4))
		return vs_fail(err, VS_EINVAL_CONFIG, "migration address %s: must be unix:PATH or tcp:HOST:PORT", s);
	char host[VS_MIG_ADDR_MAX];
	const char *h = s + 4, *colon = strrchr(h, ':');
	if (!colon || colon == h)
		return vs_fail(err, VS_EINVAL_CONFIG, "migration address %s: tcp:HOST:PORT needs a host and a port", s);
	size_t hl = (size_t)(colon - h);
	memcpy(host, h, hl);
	host[hl] = 0;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535)
		return vs_fail(err, VS_EINVAL_CONFIG, "migration address %s: port must be 1..65535", s);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->sa;
	/* Numeric only: name resolution would read files and talk to servers
	 * from a jailed thread. */
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		a->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*v6);
	} else {
		return vs_fail(err, VS_EINVAL_CONFIG, "migration address %s: host %s is not an IP address (or localhost)", s,
			       host);
	}
	return 0;
}

int vs_mig_listen(const vs_mig_addr *a, vs_err *err)
{
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail(err, errno, "listen for a migration on %s: socket", a->text);
	int one = 1;
	if (a->sa.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0 || listen(fd, 1) < 0) {
		int e = errno;
		close(fd);
		return vs_fail(err, e, "listen for a migration on %s%s", a->text,
			       e == EADDRINUSE && a->sa.ss_family == AF_UNIX ? " (remove the old socket first)" : "");
	}
	return fd;
}

int vs_mig_accept(int lfd, const vs_mig_addr *a, vs_err *err)
{
	int fd;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (fd < 0)
		return vs_fail(err, errno, "accept a migration on %s", a->text);
	return fd;
}

/* Wait until fd is ready for `ev`; -1 on timeout, cancel or error. */
static int wait_fd(vs_mig_io *io, short ev, const char *doing, vs_err *err)
{
	int waited = 0;
	for (;;) {
		if (io->cancel && atomic_load(io->cancel))
			return vs_fail(err, ECANCELED, "%s: cancelled while %s", io->what, doing);
		struct pollfd p[2] = {{io->fd, ev, 0}, {io->cancel_fd, POLLIN, 0}};
		int n = poll(p, io->cancel_fd >= 0 ? 2 : 1, 100);
		if (n < 0 && errno != EINTR)
			return vs_fail(err, errno, "%s: poll while %s", io->what, doing);
		if (n > 0 && p[1].revents)
			return vs_fail(err, ECANCELED, "%s: interrupted while %s", io->what, doing);
		if (n > 0 && p[0].revents)
			return 0;
		if (n == 0 && (waited += 100) >= io->timeout_ms)
			return vs_fail(err, ETIMEDOUT, "%s: no progress for %d s while %s", io->what, io->timeout_ms / 1000,
				       doing);
	}
}

int vs_mig_connect(const vs_mig_addr *a, int timeout_ms, vs_err *err)
{
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vs_fail(err, errno, "migrate to %s: socket", a->text);
	int one = 1;
	if (a->sa.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			int e = errno;
			close(fd);
			return vs_fail(err, e, "migrate to %s: connect", a->text);
		}
		vs_mig_io io = {.fd = fd, .cancel_fd = -1, .timeout_ms = timeout_ms, .what = a->text};
		int e = 0;
		socklen_t el = sizeof(e);
		if (wait_fd(&io, POLLOUT, "connecting", err) < 0) {
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			close(fd);
			return vs_fail(err, e ? e : errno, "migrate to %s: connect", a->text);
		}
	}
	return fd;
}

int vs_mig_send(vs_mig_io *io, const void *buf, size_t len, vs_err *err)
{
	const uint8_t *p = buf;
	while (len) {
		/* write, not send: the VMM thread's jail has it (SIGPIPE is ignored). */
		ssize_t n = write(io->fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN && wait_fd(io, POLLOUT, "sending", err) < 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return vs_fail(err, n < 0 ? errno : EPIPE, "%s: send (after %llu bytes)", io->what, io->sent);
		p += n, len -= (size_t)n, io->sent += (unsigned long long)n;
	}
	return 0;
}

int vs_mig_read(void *ctx, void *buf, size_t len, const char *what, vs_err *err)
{
	vs_mig_io *io = ctx;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(io->fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN && wait_fd(io, POLLIN, "receiving", err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return vs_fail(err, errno, "%s: receive %s (after %llu bytes)", io->what, what, io->got);
		if (n == 0)
			return vs_fail(err, EPIPE, "%s: the stream was cut after %llu bytes (in %s)", io->what, io->got, what);
		p += n, len -= (size_t)n, io->got += (unsigned long long)n;
	}
	return 0;
}
