/* The packets the host side sends the guest: control packets a connection
 * has pending, RSTs for packets of no connection, and data read from host
 * sockets straight into the guest's RX buffer, never beyond the guest's
 * credit. Every header carries our credit (buf_alloc, fwd_cnt). */
#include <errno.h>
#include <unistd.h>

#include "vmm/dev/virtqueue.h"
#include "vmm/dev/vsock_conn.h"

static uint32_t emit(const vs_vsock_host *h, vs_vsock_conn *c, uint16_t op, uint32_t flags, uint32_t len,
		     const struct iovec *iov, unsigned n)
{
	vs_vsock_hdr hd = {.src_cid = VS_VSOCK_HOST_CID, .dst_cid = h->state.guest_cid, .src_port = c->local_port,
			   .dst_port = c->peer_port, .len = len, .type = VS_VSOCK_TYPE_STREAM, .op = op,
			   .flags = flags, .buf_alloc = VS_VSOCK_BUF, .fwd_cnt = c->fwd_cnt};
	uint8_t raw[VS_VSOCK_HDR_LEN];
	vs_vsock_hdr_encode(&hd, raw);
	vs_iov_from_buf(iov, n, 0, raw, sizeof(raw));
	c->fwd_reported = c->fwd_cnt;
	c->pending &= ~(unsigned)VS_VSOCK_P_CREDIT; /* every header carries the credit */
	return VS_VSOCK_HDR_LEN + len;
}

/* One packet of connection c, if it has one to send. */
static uint32_t conn_next(vs_vsock_host *h, vs_vsock_conn *c, const struct iovec *iov, unsigned n)
{
	if (c->pending & VS_VSOCK_P_RST) {
		uint32_t len = emit(h, c, VS_VSOCK_OP_RST, 0, 0, iov, n);
		vs_vsock_conn_free(c);
		return len;
	}
	static const struct { unsigned bit; uint16_t op; } ctl[] = {
		{VS_VSOCK_P_REQUEST, VS_VSOCK_OP_REQUEST}, {VS_VSOCK_P_RESPONSE, VS_VSOCK_OP_RESPONSE},
		{VS_VSOCK_P_SHUTDOWN, VS_VSOCK_OP_SHUTDOWN}, {VS_VSOCK_P_CREDIT, VS_VSOCK_OP_CREDIT_UPDATE}};
	for (unsigned i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
		if (c->pending & ctl[i].bit) {
			c->pending &= ~ctl[i].bit;
			return emit(h, c, ctl[i].op, ctl[i].op == VS_VSOCK_OP_SHUTDOWN ? VS_VSOCK_SHUTDOWN_SEND : 0, 0,
				    iov, n);
		}
	if (c->state != VS_VC_ESTABLISHED || !c->readable || c->host_eof || c->guest_shut_rcv)
		return 0;
	uint64_t room = 0;
	for (unsigned i = 0; i < n; i++)
		room += iov[i].iov_len;
	uint64_t max = room - VS_VSOCK_HDR_LEN;
	if (max > vs_vsock_peer_credit(c))
		max = vs_vsock_peer_credit(c);
	if (max > VS_VSOCK_MAX_PAYLOAD)
		max = VS_VSOCK_MAX_PAYLOAD;
	if (!max)
		return 0;
	struct iovec data[VS_VQ_MAX_SIZE];
	int k = vs_iov_slice(iov, n, VS_VSOCK_HDR_LEN, max, data, VS_VQ_MAX_SIZE);
	ssize_t r = k < 0 ? -1 : readv(c->fd, data, k);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		return 0;
	}
	if (r < 0) {
		vs_vsock_conn_kill(c);
		return conn_next(h, c, iov, n);
	}
	if (r == 0) {
		/* The host sends no more: the guest reads EOF, and may still write. */
		c->host_eof = true;
		return emit(h, c, VS_VSOCK_OP_SHUTDOWN, VS_VSOCK_SHUTDOWN_SEND, 0, iov, n);
	}
	c->rx_cnt += (uint32_t)r;
	return emit(h, c, VS_VSOCK_OP_RW, 0, (uint32_t)r, iov, n);
}

uint32_t vs_vsock_host_next(vs_vsock_host *h, const struct iovec *iov, unsigned n)
{
	if (h->n_rst) {
		uint8_t raw[VS_VSOCK_HDR_LEN];
		vs_vsock_hdr_encode(&h->rsts[--h->n_rst], raw);
		vs_iov_from_buf(iov, n, 0, raw, sizeof(raw));
		return VS_VSOCK_HDR_LEN;
	}
	for (unsigned k = 0; k < VS_VSOCK_MAX_CONNS; k++) {
		vs_vsock_conn *c = &h->conns[(h->rr + k) % VS_VSOCK_MAX_CONNS];
		if (c->state <= VS_VC_AWAIT_CMD)
			continue;
		uint32_t len = conn_next(h, c, iov, n);
		if (len) {
			h->rr = (h->rr + k + 1) % VS_VSOCK_MAX_CONNS;
			return len;
		}
	}
	return 0;
}
