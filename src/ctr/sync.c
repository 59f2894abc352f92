#include "ctr/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int vs_sync_pair(int fds[2], vs_err *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return vs_fail(err, errno, "create sync socketpair");
	return 0;
}

static int send_msg(int sock, const vs_sync_msg *m, int fd, vs_err *err)
{
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vs_fail(err, errno, "send sync message %u", m->type);
	return 0;
}

int vs_sync_send(int sock, vs_sync_type type, int value, int fd, vs_err *err)
{
	vs_sync_msg m = {.type = type, .value = value};
	return send_msg(sock, &m, fd, err);
}

void vs_sync_send_error(int sock, const vs_err *e)
{
	vs_sync_msg m = {.type = VS_SYNC_ERROR, .value = e->code};
	memcpy(m.text, e->msg, sizeof(m.text));
	m.text[sizeof(m.text) - 1] = 0;
	send_msg(sock, &m, -1, NULL);
}

int vs_sync_recv(int sock, vs_sync_type expect, vs_sync_msg *msg, int *fd, vs_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(*msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	if (fd)
		*fd = -1;
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vs_fail(err, errno, "receive sync message");
	if (n == 0)
		return vs_fail(err, EPIPE, "container process exited during setup");
	if ((size_t)n != sizeof(*msg))
		return vs_fail(err, EPROTO, "short sync message");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;
			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
		}
	}
	msg->text[sizeof(msg->text) - 1] = 0;
	if (msg->type == VS_SYNC_ERROR) {
		if (err) {
			err->code = msg->value;
			memcpy(err->msg, msg->text, sizeof(err->msg));
		}
		return -1;
	}
	if (expect && msg->type != (uint32_t)expect)
		return vs_fail(err, EPROTO, "sync: expected message %d, got %u", expect, msg->type);
	return 0;
}
