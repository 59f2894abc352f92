/* The host side of virtio-vsock: AF_UNIX sockets <-> guest streams; see
 * vsock_conn.h. Flow control both ways: the guest may have VS_VSOCK_BUF
 * bytes in flight to us (our buf_alloc minus what we forwarded), and we
 * read a host socket only up to the guest's own credit, straight into its
 * RX buffer, so nothing but that per-connection buffer is ever held.
 * The packets for the guest are made in vsock_rx.c.
 * Host sockets are written with MSG_NOSIGNAL: a peer gone is EPIPE, never
 * a signal. */
#include "vmm/dev/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/dev/virtqueue.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vs_vsock_host_init(vs_vsock_host *h, uint64_t guest_cid, const char *uds_path, vs_err *err)
{
	memset(h, 0, sizeof(*h));
	h->lfd = -1;
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	h->state.guest_cid = guest_cid;
	h->next_port = VS_VSOCK_LOCAL_PORT_BASE;
	/* Room for "_<port>" after it: the guest-initiated socket names. */
	if (strlen(uds_path) + 12 > sizeof(h->uds))
		return vs_fail(err, ENAMETOOLONG, "virtio-vsock: uds_path %s: longer than %zu bytes", uds_path,
			       sizeof(h->uds) - 12);
	memcpy(h->uds, uds_path, strlen(uds_path) + 1);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, uds_path, strlen(uds_path) + 1);
	h->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0)
		return vs_fail(err, errno, "virtio-vsock: socket for %s", uds_path);
	if (bind(h->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(h->lfd, 16) < 0)
		return vs_fail(err, errno, "virtio-vsock: listen on %s", uds_path);
	return 0;
}

void vs_vsock_conn_free(vs_vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void vs_vsock_host_drop_all(vs_vsock_host *h)
{
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++)
		vs_vsock_conn_free(&h->conns[i]);
	h->n_rst = 0;
}

void vs_vsock_host_fini(vs_vsock_host *h)
{
	vs_vsock_host_drop_all(h);
	if (h->lfd >= 0)
		close(h->lfd);
	h->lfd = -1;
}

void vs_vsock_conn_kill(vs_vsock_conn *c)
{
	if (c->state == VS_VC_AWAIT_CMD) {
		vs_vsock_conn_free(c);
		return;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = VS_VC_DEAD;
	c->pending = VS_VSOCK_P_RST;
	c->expires_ms = 0;
}

static vs_vsock_conn *conn_new(vs_vsock_host *h)
{
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++)
		if (h->conns[i].state == VS_VC_FREE)
			return &h->conns[i];
	return NULL;
}

static vs_vsock_conn *conn_find(vs_vsock_host *h, uint32_t local, uint32_t peer)
{
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++) {
		vs_vsock_conn *c = &h->conns[i];
		if (c->state > VS_VC_AWAIT_CMD && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

uint32_t vs_vsock_peer_credit(const vs_vsock_conn *c)
{
	uint32_t used = c->rx_cnt - c->peer_fwd_cnt;
	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* After guest bytes reached the host: tell the guest before it runs dry. */
static void forwarded(vs_vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	if (c->fwd_cnt - c->fwd_reported >= VS_VSOCK_BUF / 4)
		c->pending |= VS_VSOCK_P_CREDIT;
}

/* Write what is buffered; then the half-close or full close it waited for. */
static void conn_flush(vs_vsock_conn *c)
{
	while (c->buf_len && c->fd >= 0) {
		ssize_t w = send(c->fd, c->buf + c->buf_off, c->buf_len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			vs_vsock_conn_kill(c);
			return;
		}
		c->buf_off += (uint32_t)w, c->buf_len -= (uint32_t)w;
		forwarded(c, (uint32_t)w);
	}
	c->buf_off = 0;
	if (c->state == VS_VC_CLOSING) {
		vs_vsock_conn_kill(c); /* flushed: close, and RST completes the guest's close */
	} else if (c->guest_shut_send && !c->shut_wr_done && c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
}

/* Guest payload for the host socket: written at once if possible, the
 * rest buffered within the credit we gave. */
static void conn_write(vs_vsock_conn *c, const struct iovec *data, unsigned n, uint32_t len)
{
	uint32_t done = 0;
	if (!c->buf_len && c->fd >= 0) {
		struct msghdr msg = {.msg_iov = (struct iovec *)data, .msg_iovlen = n};
		ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			vs_vsock_conn_kill(c);
			return;
		}
		if (w > 0) {
			done = (uint32_t)w;
			forwarded(c, done);
		}
	}
	if (done == len)
		return;
	if (c->buf_len + (len - done) > VS_VSOCK_BUF) {
		vs_vsock_conn_kill(c); /* the guest sent beyond its credit */
		return;
	}
	if (!c->buf && !(c->buf = malloc(VS_VSOCK_BUF))) {
		vs_vsock_conn_kill(c);
		return;
	}
	if (c->buf_off + c->buf_len + (len - done) > VS_VSOCK_BUF) {
		memmove(c->buf, c->buf + c->buf_off, c->buf_len);
		c->buf_off = 0;
	}
	vs_iov_to_buf(data, n, done, c->buf + c->buf_off + c->buf_len, len - done);
	c->buf_len += len - done;
}

/* Guest connects to host port P: "<uds_path>_<P>". */
static void guest_connect(vs_vsock_host *h, const vs_vsock_hdr *hd)
{
	vs_vsock_conn *c = conn_new(h);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = -1;
	if (c && (size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", h->uds, hd->dst_port) < sizeof(a.sun_path))
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		vs_vsock_host_rst(h, hd); /* no such listener (or no room): refused */
		return;
	}
	*c = (vs_vsock_conn){.state = VS_VC_ESTABLISHED, .fd = fd, .local_port = hd->dst_port,
			     .peer_port = hd->src_port, .pending = VS_VSOCK_P_RESPONSE, .readable = true,
			     .peer_buf_alloc = hd->buf_alloc, .peer_fwd_cnt = hd->fwd_cnt};
}

void vs_vsock_host_packet(vs_vsock_host *h, const vs_vsock_hdr *hd, const struct iovec *data, unsigned n)
{
	vs_vsock_conn *c = conn_find(h, hd->dst_port, hd->src_port);
	if (!c) {
		if (hd->op == VS_VSOCK_OP_REQUEST)
			guest_connect(h, hd);
		else if (hd->op != VS_VSOCK_OP_RST)
			vs_vsock_host_rst(h, hd);
		return;
	}
	if (c->state == VS_VC_DEAD) {
		if (hd->op == VS_VSOCK_OP_RST)
			vs_vsock_conn_free(c); /* both sides agree it is gone */
		return;
	}
	c->peer_buf_alloc = hd->buf_alloc;
	c->peer_fwd_cnt = hd->fwd_cnt;
	switch (hd->op) {
	case VS_VSOCK_OP_RST:
		vs_vsock_conn_free(c);
		break;
	case VS_VSOCK_OP_RESPONSE:
		if (c->state != VS_VC_CONNECTING) {
			vs_vsock_conn_kill(c);
			break;
		}
		c->state = VS_VC_ESTABLISHED;
		c->readable = true;
		c->expires_ms = 0;
		char ok[32];
		int len = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		/* A fresh socket takes 15 bytes; if not, the client is gone. */
		if (send(c->fd, ok, (size_t)len, MSG_NOSIGNAL) != len)
			vs_vsock_conn_kill(c);
		break;
	case VS_VSOCK_OP_SHUTDOWN:
		c->guest_shut_send |= (hd->flags & VS_VSOCK_SHUTDOWN_SEND) != 0;
		c->guest_shut_rcv |= (hd->flags & VS_VSOCK_SHUTDOWN_RCV) != 0;
		if (c->guest_shut_send && c->guest_shut_rcv)
			c->state = VS_VC_CLOSING;
		conn_flush(c);
		break;
	case VS_VSOCK_OP_RW:
		if (c->state != VS_VC_ESTABLISHED || c->guest_shut_send)
			vs_vsock_conn_kill(c); /* data where none may come */
		else if (hd->len)
			conn_write(c, data, n, hd->len);
		break;
	case VS_VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VS_VSOCK_P_CREDIT;
		break;
	case VS_VSOCK_OP_REQUEST:
		vs_vsock_conn_kill(c); /* a second request on a live connection */
		break;
	default:
		break; /* CREDIT_UPDATE: the credit above is all it says */
	}
}

void vs_vsock_host_rst(vs_vsock_host *h, const vs_vsock_hdr *g)
{
	if (g->op == VS_VSOCK_OP_RST || h->n_rst == VS_VSOCK_RST_MAX)
		return; /* a flood of bad packets loses answers, never memory */
	h->rsts[h->n_rst++] = (vs_vsock_hdr){.src_cid = VS_VSOCK_HOST_CID, .dst_cid = h->state.guest_cid,
					     .src_port = g->dst_port, .dst_port = g->src_port,
					     .type = VS_VSOCK_TYPE_STREAM, .op = VS_VSOCK_OP_RST};
}

/* A host client's "CONNECT <port>\n", read a byte at a time so that data
 * after it stays in the socket for the guest. */
static void read_cmd(vs_vsock_host *h, vs_vsock_conn *c)
{
	for (;;) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (r <= 0 || c->cmd_len == sizeof(c->cmd) - 1) {
			vs_vsock_conn_free(c);
			return;
		}
		if (ch != '\n') {
			c->cmd[c->cmd_len++] = ch;
			continue;
		}
		c->cmd[c->cmd_len] = 0;
		char *end;
		errno = 0;
		unsigned long port = strncmp(c->cmd, "CONNECT ", 8) ? 0 : strtoul(c->cmd + 8, &end, 10);
		if (strncmp(c->cmd, "CONNECT ", 8) || c->cmd[8] < '0' || c->cmd[8] > '9' || *end || errno ||
		    port > UINT32_MAX) {
			vs_vsock_conn_free(c);
			return;
		}
		uint32_t local;
		do { /* at most VS_VSOCK_MAX_CONNS ports are taken */
			if (h->next_port < VS_VSOCK_LOCAL_PORT_BASE)
				h->next_port = VS_VSOCK_LOCAL_PORT_BASE;
			local = h->next_port++;
		} while (conn_find(h, local, (uint32_t)port));
		c->state = VS_VC_CONNECTING;
		c->local_port = local;
		c->peer_port = (uint32_t)port;
		c->pending = VS_VSOCK_P_REQUEST;
		c->expires_ms = now_ms() + VS_VSOCK_CONNECT_TIMEOUT_MS;
		return;
	}
}

unsigned vs_vsock_host_pollfds(vs_vsock_host *h, struct pollfd *p)
{
	unsigned n = 0;
	p[n] = (struct pollfd){.fd = h->lfd, .events = POLLIN};
	h->poll_map[n++] = -1;
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++) {
		vs_vsock_conn *c = &h->conns[i];
		short ev = 0;
		if (c->fd < 0)
			continue;
		if (c->state == VS_VC_AWAIT_CMD)
			ev = POLLIN;
		else if (c->state == VS_VC_ESTABLISHED && !c->readable && !c->host_eof && !c->guest_shut_rcv &&
			 vs_vsock_peer_credit(c))
			ev = POLLIN;
		if (c->buf_len)
			ev |= POLLOUT;
		/* Only fds with something to wait for: poll reports a hang-up
		 * whatever it was asked, and that must not spin. */
		if (!ev)
			continue;
		p[n] = (struct pollfd){.fd = c->fd, .events = ev};
		h->poll_map[n++] = (int)i;
	}
	return n;
}

void vs_vsock_host_events(vs_vsock_host *h, const struct pollfd *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (h->poll_map[i] < 0) {
			int fd;
			while ((fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				vs_vsock_conn *c = conn_new(h);
				if (!c) {
					close(fd); /* table full: refused */
					continue;
				}
				*c = (vs_vsock_conn){.state = VS_VC_AWAIT_CMD, .fd = fd,
						     .expires_ms = now_ms() + VS_VSOCK_CONNECT_TIMEOUT_MS};
			}
			continue;
		}
		vs_vsock_conn *c = &h->conns[h->poll_map[i]];
		if (c->state == VS_VC_AWAIT_CMD) {
			read_cmd(h, c);
			continue;
		}
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			c->readable = true;
		if (p[i].revents & (POLLOUT | POLLERR))
			conn_flush(c);
	}
}

int vs_vsock_host_timeout(const vs_vsock_host *h)
{
	uint64_t next = 0, now = now_ms();
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++) {
		uint64_t e = h->conns[i].expires_ms;
		if (e && (!next || e < next))
			next = e;
	}
	return !next ? -1 : next <= now ? 0 : (int)(next - now);
}

void vs_vsock_host_expire(vs_vsock_host *h)
{
	uint64_t now = now_ms();
	for (unsigned i = 0; i < VS_VSOCK_MAX_CONNS; i++) {
		vs_vsock_conn *c = &h->conns[i];
		/* A host that never sent its line, or a guest that never answered
		 * (told with RST, in case it still does). */
		if (c->expires_ms && c->expires_ms <= now)
			vs_vsock_conn_kill(c);
	}
}
