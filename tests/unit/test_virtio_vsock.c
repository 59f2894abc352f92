/* virtio-vsock without KVM: the test is the guest driver (virtio_driver.h)
 * and the host programs (real AF_UNIX sockets). Both directions of
 * Firecracker's design (CONNECT <port> on uds_path; uds_path_<port> for
 * guest connections), credit limits, and hostile packets: wrong CIDs,
 * unknown ops, lengths beyond the buffer, data beyond the credit. The
 * header check itself is tested on its own at the end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/virtio_driver.h"
#include "vmm/dev/vsock_packet.h"

#define QN 16
#define RXQ 0
#define TXQ 1
#define CID 3
#define RX_BUF (TD_DATA)            /* QN buffers of 4 KiB */
#define TX_BUF (TD_DATA + 0x100000) /* QN packets of 8 KiB */
#define GUEST_PORT 5555

typedef struct fx {
	td d;
	char dir[64], uds[96];
	uint16_t tx_next, rx_posted;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	if (!f || td_init(&f->d) < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vsock-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->uds, sizeof(f->uds), "%s/v.sock", f->dir);
	vs_err err = {0};
	if (vs_virtio_vsock_add(&f->d.env, CID, f->uds, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	td_start(&f->d, F_VERSION_1, 3, QN);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	td_fini(&f->d);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Post RX buffers until n are outstanding. */
static void rx_post(fx *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t h = f->rx_posted++ % QN;
		td_desc(&f->d, RXQ, h, RX_BUF + h * 0x1000ULL, 0x1000, D_WRITE, 0);
		td_post(&f->d, RXQ, h);
	}
	td_notify(&f->d, RXQ);
}

/* The next packet the device wrote into RX; its payload in data. */
static int rx_get(fx *f, vs_vsock_hdr *h, char *data, size_t cap)
{
	uint32_t id, len;
	if (!td_wait_used(&f->d, RXQ, &id, &len))
		return -1;
	assert_true(len >= VS_VSOCK_HDR_LEN);
	uint8_t *p = td_ptr(&f->d, RX_BUF + id * 0x1000ULL, 0x1000);
	vs_vsock_hdr_decode(p, h);
	assert_int_equal(h->len, len - VS_VSOCK_HDR_LEN);
	if (data && h->len < cap) {
		memcpy(data, p + VS_VSOCK_HDR_LEN, h->len);
		data[h->len] = 0;
	}
	return 0;
}

/* Send one guest packet on TX (header + payload in one buffer of
 * buf_len bytes: a buf_len shorter than the header claims is hostile). */
static void tx_send_raw(fx *f, const vs_vsock_hdr *h, const void *data, size_t n, uint32_t buf_len)
{
	uint16_t i = f->tx_next++ % QN;
	uint8_t *p = td_ptr(&f->d, TX_BUF + i * 0x2000ULL, 0x2000);
	vs_vsock_hdr_encode(h, p);
	if (n)
		memcpy(p + VS_VSOCK_HDR_LEN, data, n);
	td_desc(&f->d, TXQ, i, TX_BUF + i * 0x2000ULL, buf_len, 0, 0);
	td_post(&f->d, TXQ, i);
	td_notify(&f->d, TXQ);
	uint32_t id, len;
	assert_true(td_wait_used(&f->d, TXQ, &id, &len));
}

static void tx_send(fx *f, uint16_t op, uint32_t host_port, const void *data, size_t n, uint32_t buf_alloc)
{
	vs_vsock_hdr h = {.src_cid = CID, .dst_cid = 2, .src_port = GUEST_PORT, .dst_port = host_port,
			  .len = (uint32_t)n, .type = VS_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = buf_alloc};
	tx_send_raw(f, &h, data, n, (uint32_t)(VS_VSOCK_HDR_LEN + n));
}

static int listen_at(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

static int connect_to(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

/* Read exactly n bytes (10 s deadline: failure only, never timing). */
static void read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
}

static void config_and_id(void **state)
{
	fx *f = *state;
	assert_int_equal(td_r32(&f->d, R_DEVICE_ID), 19);
	assert_int_equal(td_r32(&f->d, R_CONFIG), CID);
	assert_int_equal(td_r32(&f->d, R_CONFIG + 4), 0);
	assert_int_equal(td_r32(&f->d, R_STATUS) & S_DRIVER_OK, S_DRIVER_OK);
}

static void guest_connects_to_uds_path_port(void **state)
{
	fx *f = *state;
	char path[128], buf[64];
	snprintf(path, sizeof(path), "%s_1234", f->uds);
	int l = listen_at(path);
	rx_post(f, 8);
	tx_send(f, VS_VSOCK_OP_REQUEST, 1234, NULL, 0, 65536);
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(h.dst_port, GUEST_PORT);
	assert_int_equal(h.dst_cid, CID);
	assert_int_equal(h.buf_alloc, 256 * 1024);
	int c = accept(l, NULL, NULL);
	assert_true(c >= 0);
	tx_send(f, VS_VSOCK_OP_RW, 1234, "hello", 5, 65536);
	read_n(c, buf, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(c, "world", 5), 5);
	assert_int_equal(rx_get(f, &h, buf, sizeof(buf)), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RW);
	assert_string_equal(buf, "world");
	/* Host closes: the guest hears SHUTDOWN (no more to receive). */
	close(c);
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VS_VSOCK_SHUTDOWN_SEND);
	close(l);
}

static void host_connects_with_connect_line(void **state)
{
	fx *f = *state;
	char buf[64];
	rx_post(f, 8);
	int c = connect_to(f->uds);
	assert_int_equal(write(c, "CONNECT 52\nearly", 16), 16);
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 52);
	assert_true(h.src_port >= (1u << 30));
	uint32_t host_port = h.src_port;
	/* The guest accepts. */
	vs_vsock_hdr r = {.src_cid = CID, .dst_cid = 2, .src_port = 52, .dst_port = host_port,
			  .type = VS_VSOCK_TYPE_STREAM, .op = VS_VSOCK_OP_RESPONSE, .buf_alloc = 65536};
	tx_send_raw(f, &r, NULL, 0, VS_VSOCK_HDR_LEN);
	char want[32];
	int n = snprintf(want, sizeof(want), "OK %u\n", host_port);
	read_n(c, buf, (size_t)n);
	assert_memory_equal(buf, want, (size_t)n);
	/* Bytes written after the CONNECT line reach the guest. */
	assert_int_equal(rx_get(f, &h, buf, sizeof(buf)), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RW);
	assert_string_equal(buf, "early");
	close(c);
}

static void bad_connect_line_is_closed(void **state)
{
	fx *f = *state;
	int c = connect_to(f->uds);
	assert_int_equal(write(c, "CONNECT x52\n", 12), 12);
	char b;
	struct pollfd p = {.fd = c, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(c, &b, 1), 0); /* closed, no OK */
	close(c);
}

static void endless_connect_line_is_closed(void **state)
{
	fx *f = *state;
	int c = connect_to(f->uds);
	char junk[64];
	memset(junk, 'C', sizeof(junk)); /* no newline within 32 bytes */
	assert_int_equal(write(c, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	char b;
	struct pollfd p = {.fd = c, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_true(read(c, &b, 1) <= 0);
	close(c);
}

/* A guest that never answers a CONNECT: the host is closed after the
 * deadline (a bound for failure, not a timing check), the guest told RST. */
static void unanswered_connect_times_out(void **state)
{
	fx *f = *state;
	int c = connect_to(f->uds);
	assert_int_equal(write(c, "CONNECT 60\n", 11), 11);
	char b;
	struct pollfd p = {.fd = c, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(c, &b, 1), 0);
	rx_post(f, 4);
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 60);
	close(c);
}

static void no_listener_gets_rst(void **state)
{
	fx *f = *state;
	rx_post(f, 4);
	tx_send(f, VS_VSOCK_OP_REQUEST, 999, NULL, 0, 65536);
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 999);
	assert_int_equal(h.dst_port, GUEST_PORT);
}

static void hostile_packets_get_rst_or_nothing(void **state)
{
	fx *f = *state;
	rx_post(f, 8);
	vs_vsock_hdr h = {.src_cid = CID, .dst_cid = 2, .src_port = 1, .dst_port = 2, .type = VS_VSOCK_TYPE_STREAM,
			  .op = 42};
	tx_send_raw(f, &h, NULL, 0, VS_VSOCK_HDR_LEN); /* unknown op */
	vs_vsock_hdr r;
	assert_int_equal(rx_get(f, &r, NULL, 0), 0);
	assert_int_equal(r.op, VS_VSOCK_OP_RST);
	h.op = VS_VSOCK_OP_RW, h.len = 5000;
	tx_send_raw(f, &h, "x", 1, VS_VSOCK_HDR_LEN + 1); /* len beyond the buffer */
	assert_int_equal(rx_get(f, &r, NULL, 0), 0);
	assert_int_equal(r.op, VS_VSOCK_OP_RST);
	h.len = 0, h.src_cid = 7;                        /* not the guest's CID: dropped */
	tx_send_raw(f, &h, NULL, 0, VS_VSOCK_HDR_LEN);
	h.src_cid = CID;
	tx_send_raw(f, &h, NULL, 0, 10);                 /* shorter than a header: dropped */
	uint32_t id, len;
	assert_false(td_used(&f->d, RXQ, &id, &len));
	assert_int_equal(td_r32(&f->d, R_STATUS) & S_NEEDS_RESET, 0);
}

static void host_reads_stop_at_guest_credit(void **state)
{
	fx *f = *state;
	char path[128], big[300];
	snprintf(path, sizeof(path), "%s_77", f->uds);
	int l = listen_at(path);
	rx_post(f, 8);
	tx_send(f, VS_VSOCK_OP_REQUEST, 77, NULL, 0, 100); /* the guest has room for 100 bytes */
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	int c = accept(l, NULL, NULL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(write(c, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.op, VS_VSOCK_OP_RW);
	assert_int_equal(h.len, 100);
	/* Nothing more until the guest says it consumed them. */
	usleep(100000);
	uint32_t id, len;
	assert_false(td_used(&f->d, RXQ, &id, &len));
	vs_vsock_hdr u = {.src_cid = CID, .dst_cid = 2, .src_port = GUEST_PORT, .dst_port = 77,
			  .type = VS_VSOCK_TYPE_STREAM, .op = VS_VSOCK_OP_CREDIT_UPDATE, .buf_alloc = 100, .fwd_cnt = 100};
	tx_send_raw(f, &u, NULL, 0, VS_VSOCK_HDR_LEN);
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	assert_int_equal(h.len, 100);
	close(c);
	close(l);
}

static void data_beyond_credit_resets(void **state)
{
	fx *f = *state;
	char path[128], chunk[4096];
	snprintf(path, sizeof(path), "%s_88", f->uds);
	int l = listen_at(path);
	rx_post(f, 8);
	tx_send(f, VS_VSOCK_OP_REQUEST, 88, NULL, 0, 65536);
	vs_vsock_hdr h;
	assert_int_equal(rx_get(f, &h, NULL, 0), 0);
	int c = accept(l, NULL, NULL); /* never reads: everything is buffered */
	memset(chunk, 'z', sizeof(chunk));
	int rst = 0;
	/* The socket and our 256 KiB credit fill up; then the guest is reset. */
	for (int i = 0; i < 1024 && !rst; i++) {
		tx_send(f, VS_VSOCK_OP_RW, 88, chunk, sizeof(chunk), 65536);
		uint32_t id, len;
		while (!rst && td_used(&f->d, RXQ, &id, &len)) {
			vs_vsock_hdr_decode(td_ptr(&f->d, RX_BUF + id * 0x1000ULL, VS_VSOCK_HDR_LEN), &h);
			rst = h.op == VS_VSOCK_OP_RST;
			rx_post(f, 1);
		}
		if (!rst)
			usleep(1000);
	}
	if (!rst)
		rst = rx_get(f, &h, NULL, 0) == 0 && h.op == VS_VSOCK_OP_RST;
	assert_true(rst);
	close(c);
	close(l);
}

static void header_check(void **state)
{
	(void)state;
	const char *why;
	vs_vsock_hdr h = {.src_cid = 3, .dst_cid = 2, .type = 1, .op = VS_VSOCK_OP_RW, .len = 10};
	assert_int_equal(vs_vsock_check(&h, 54, 3, &why), VS_VSOCK_PKT_OK);
	assert_int_equal(vs_vsock_check(&h, 53, 3, &why), VS_VSOCK_PKT_RST);
	assert_int_equal(vs_vsock_check(&h, 20, 3, &why), VS_VSOCK_PKT_RST);
	assert_int_equal(vs_vsock_check(&h, 54, 4, &why), VS_VSOCK_PKT_DROP);
	h.len = 65537;
	assert_int_equal(vs_vsock_check(&h, 1 << 20, 3, &why), VS_VSOCK_PKT_RST);
	h.len = 0, h.type = 2;
	assert_int_equal(vs_vsock_check(&h, 44, 3, &why), VS_VSOCK_PKT_RST);
	h.type = 1, h.op = VS_VSOCK_OP_REQUEST, h.len = 1;
	assert_int_equal(vs_vsock_check(&h, 45, 3, &why), VS_VSOCK_PKT_RST);
	h.op = VS_VSOCK_OP_RST;
	assert_int_equal(vs_vsock_check(&h, 45, 3, &why), VS_VSOCK_PKT_DROP);
	h.len = 0, h.op = 99;
	assert_int_equal(vs_vsock_check(&h, 44, 3, &why), VS_VSOCK_PKT_RST);
	h.op = VS_VSOCK_OP_SHUTDOWN, h.dst_cid = 5;
	assert_int_equal(vs_vsock_check(&h, 44, 3, &why), VS_VSOCK_PKT_DROP);
	uint8_t raw[VS_VSOCK_HDR_LEN];
	vs_vsock_hdr a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, b;
	vs_vsock_hdr_encode(&a, raw);
	assert_int_equal(raw[0], 1);
	assert_int_equal(raw[30], 7); /* op at offset 30, little-endian */
	vs_vsock_hdr_decode(raw, &b);
	assert_true(b.src_cid == 1 && b.dst_cid == 2 && b.src_port == 3 && b.dst_port == 4 && b.len == 5 &&
		    b.type == 6 && b.op == 7 && b.flags == 8 && b.buf_alloc == 9 && b.fwd_cnt == 10);
}

static void existing_uds_path_is_refused(void **state)
{
	fx *f = *state;
	td d2;
	assert_int_equal(td_init(&d2), 0);
	vs_err err = {0};
	assert_int_equal(vs_virtio_vsock_add(&d2.env, CID, f->uds, &err), -1);
	assert_int_equal(err.code, EADDRINUSE);
	td_fini(&d2);
}

/* Snapshot and restore into a fresh device (a new process: a new
 * uds_path listener) over a copy of guest memory: connections are not
 * carried over; once the VM runs, the guest gets TRANSPORT_RESET in its
 * event buffer (virtio 1.2, 5.10.6.7) and the new listener takes host
 * connections. State for another CID is refused. */
#define EVQ 2
#define EV_BUF (TD_DATA + 0x300000)
static void snapshot_restore_sends_transport_reset(void **state)
{
	fx *f = *state;
	uint8_t *ev = td_ptr(&f->d, EV_BUF, 8);
	memset(ev, 0xff, 8);
	td_desc(&f->d, EVQ, 0, EV_BUF, 8, D_WRITE, 0);
	td_post(&f->d, EVQ, 0);
	td_notify(&f->d, EVQ);
	uint32_t id, len;
	assert_false(td_used(&f->d, EVQ, &id, &len)); /* no event while it runs */
	vs_virtio_freeze_all(&f->d.bus, true);
	vs_snap_virtio snap;
	vs_err err = {0};
	assert_int_equal(vs_virtio_save(&f->d.bus, TD_BASE, &snap, &err), 0);
	assert_int_equal(snap.dev_len, 8);

	td d2;
	char uds2[96];
	snprintf(uds2, sizeof(uds2), "%s/v2.sock", f->dir);
	assert_int_equal(td_clone(&d2, &f->d), 0);
	assert_int_equal(vs_virtio_vsock_add(&d2.env, CID, uds2, &err), 0);
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), 0);
	nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	assert_false(td_used(&d2, EVQ, &id, &len)); /* paused: guest memory is left alone */
	vs_virtio_freeze_all(&d2.bus, false);
	assert_true(td_wait_used(&d2, EVQ, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 4);
	uint8_t *ev2 = td_ptr(&d2, EV_BUF, 8);
	assert_int_equal(ev2[0] | ev2[1] << 8 | ev2[2] << 16 | (uint32_t)ev2[3] << 24, 0); /* TRANSPORT_RESET */
	assert_int_equal(ev2[4], 0xff);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, uds2, strlen(uds2) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	td_fini(&d2);
	unlink(uds2); /* the VMM removes its socket; the device does not */

	assert_int_equal(td_clone(&d2, &f->d), 0);
	assert_int_equal(vs_virtio_vsock_add(&d2.env, CID + 1, uds2, &err), 0);
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "the state is for guest CID 3, the device has 4"));
	snap.dev_len = 0;
	assert_int_equal(vs_virtio_restore(&d2.bus, TD_BASE, &snap, &err), -1);
	assert_non_null(strstr(err.msg, "0 bytes of device state"));
	td_fini(&d2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(config_and_id),
		T(guest_connects_to_uds_path_port),
		T(host_connects_with_connect_line),
		T(bad_connect_line_is_closed),
		T(endless_connect_line_is_closed),
		T(unanswered_connect_times_out),
		T(no_listener_gets_rst),
		T(hostile_packets_get_rst_or_nothing),
		T(host_reads_stop_at_guest_credit),
		T(data_beyond_credit_resets),
		T(existing_uds_path_is_refused),
		T(snapshot_restore_sends_transport_reset),
		cmocka_unit_test(header_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
