/* The host side of virtio-vsock (Firecracker's design, see virtio_vsock.c):
 * the listening socket at uds_path, the connection table, credit-based flow
 * control (virtio 1.2, 5.10.6.3) and the packets for the guest
 * (vsock_rx.c). Used only by the device's thread, under the transport lock. */
#ifndef VS_VMM_DEV_VSOCK_CONN_H
#define VS_VMM_DEV_VSOCK_CONN_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/error.h"
#include "vmm/dev/vsock_packet.h"

#define VS_VSOCK_MAX_CONNS 64
/* Our buf_alloc: what the guest may have in flight to one host socket, and
 * so the most the host buffers for it. */
#define VS_VSOCK_BUF (256 * 1024)
#define VS_VSOCK_POLL_MAX (1 + VS_VSOCK_MAX_CONNS)
#define VS_VSOCK_RST_MAX 32
#define VS_VSOCK_UDS_MAX 108 /* sun_path */
/* A host connection must send its CONNECT line, and the guest answer the
 * request, within this (Firecracker gives the guest 2 s as well). */
#define VS_VSOCK_CONNECT_TIMEOUT_MS 2000
/* Host ports of host-initiated connections are taken from here up. */
#define VS_VSOCK_LOCAL_PORT_BASE (1u << 30)

/* Guest-visible state (the part a snapshot would save). */
typedef struct vs_vsock_state {
	uint64_t guest_cid;
} vs_vsock_state;

typedef enum {
	VS_VC_FREE = 0,
	VS_VC_AWAIT_CMD,    /* host connection, "CONNECT <port>\n" not read yet */
	VS_VC_CONNECTING,   /* REQUEST to the guest sent or pending */
	VS_VC_ESTABLISHED,
	VS_VC_CLOSING,      /* the guest shut down both ways: flush, then RST */
	VS_VC_DEAD,         /* host socket gone: RST pending, then free */
} vs_vsock_conn_state;

typedef struct vs_vsock_conn {
	vs_vsock_conn_state state;
	int fd;
	uint32_t local_port, peer_port; /* host side, guest side */
	unsigned pending;               /* control packets to send (bits in vsock_conn.c) */
	bool readable;                  /* poll saw input (cleared on EAGAIN) */
	bool host_eof, guest_shut_send, guest_shut_rcv, shut_wr_done;
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's credit, from its headers */
	uint32_t rx_cnt;                /* payload bytes sent to the guest */
	uint32_t fwd_cnt, fwd_reported; /* guest bytes written to the host socket; last told */
	uint64_t expires_ms;            /* AWAIT_CMD, CONNECTING: closed at this CLOCK_MONOTONIC time */
	char cmd[32];
	unsigned cmd_len;
	uint8_t *buf;                   /* guest bytes the host socket did not take yet */
	uint32_t buf_off, buf_len;
} vs_vsock_conn;

typedef struct vs_vsock_host {
	vs_vsock_state state;
	char uds[VS_VSOCK_UDS_MAX];
	int lfd;
	vs_vsock_conn conns[VS_VSOCK_MAX_CONNS];
	int poll_map[VS_VSOCK_POLL_MAX]; /* pollfd i -> conn index, -1: the listener */
	vs_vsock_hdr rsts[VS_VSOCK_RST_MAX]; /* RSTs for packets of no connection */
	unsigned n_rst;
	uint32_t next_port;
	unsigned rr;                     /* round robin over connections */
} vs_vsock_host;

/* Inside the host side (vsock_conn.c, vsock_rx.c): control packets a
 * connection has waiting for an RX buffer, sent in this order. */
enum { VS_VSOCK_P_RST = 1, VS_VSOCK_P_REQUEST = 2, VS_VSOCK_P_RESPONSE = 4, VS_VSOCK_P_SHUTDOWN = 8,
       VS_VSOCK_P_CREDIT = 16 };
void vs_vsock_conn_free(vs_vsock_conn *c);
/* The host socket failed: close it, tell the guest with RST. */
void vs_vsock_conn_kill(vs_vsock_conn *c);
/* What the guest can still take: its buf_alloc minus what is in flight. */
uint32_t vs_vsock_peer_credit(const vs_vsock_conn *c);

/* Bind and listen on uds_path (which must not exist, as with Firecracker). */
int vs_vsock_host_init(vs_vsock_host *h, uint64_t guest_cid, const char *uds_path, vs_err *err);
void vs_vsock_host_fini(vs_vsock_host *h);
/* Close every connection (device reset); the listener stays. */
void vs_vsock_host_drop_all(vs_vsock_host *h);

/* The fds to wait on (at most VS_VSOCK_POLL_MAX), then act on what poll said. */
unsigned vs_vsock_host_pollfds(vs_vsock_host *h, struct pollfd *p);
void vs_vsock_host_events(vs_vsock_host *h, const struct pollfd *p, unsigned n);

/* Milliseconds until the next connection deadline, -1 if none (a poll
 * timeout); then close the connections past theirs. */
int vs_vsock_host_timeout(const vs_vsock_host *h);
void vs_vsock_host_expire(vs_vsock_host *h);

/* A checked guest packet (vs_vsock_check said OK) with its payload. */
void vs_vsock_host_packet(vs_vsock_host *h, const vs_vsock_hdr *hd, const struct iovec *data, unsigned n);
/* Answer a guest packet with RST (no connection, or a bad packet). */
void vs_vsock_host_rst(vs_vsock_host *h, const vs_vsock_hdr *from_guest);
/* Write the next packet for the guest into the writable buffer iov[0..n)
 * (at least a header long); returns its length, 0 if nothing can be sent. */
uint32_t vs_vsock_host_next(vs_vsock_host *h, const struct iovec *iov, unsigned n);

#endif
