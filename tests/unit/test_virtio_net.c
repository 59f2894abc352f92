/* virtio-net on a real TAP interface inside a private network namespace:
 * guest TX frames come out of the tap, frames sent into the tap land in
 * posted guest RX buffers (via the device's RX thread), MAC and link state
 * show in config space, bad RX buffers are refused. Skips without
 * /dev/net/tun or the right to create a network namespace. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/virtio_driver.h"

#define TAP "vstest0"
#define ETHERTYPE 0x88b5 /* IEEE local experimental */
#define QN 16
#define RXQ 0
#define TXQ 1
#define HDR_LEN 12
#define F_MAC (1ULL << 5)
#define F_STATUS (1ULL << 16)

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t host_mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
static bool have_tap;

typedef struct net_fixture {
	td d;
	int pkt; /* AF_PACKET socket on the tap: the "wire" */
	int ifindex;
	vs_virtio_dev *dev;
} net_fixture;

static int group_setup(void **state)
{
	(void)state;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	if (unshare(CLONE_NEWNET) < 0)
		return 0;
	/* Keep the kernel quiet on the new link (no IPv6 autoconf chatter). */
	FILE *f = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	have_tap = true;
	return 0;
}

static int link_up(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, name);
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return rc;
}

static int setup(void **state)
{
	if (!have_tap)
		return 0;
	net_fixture *f = calloc(1, sizeof(*f));
	if (!f || td_init(&f->d) < 0)
		return -1;
	vs_err err = {0};
	if (vs_virtio_net_add(&f->d.env, TAP, guest_mac, NULL, NULL, &f->dev, &err) < 0) {
		print_error("net add: %s\n", err.msg);
		return -1;
	}
	if (link_up(TAP) < 0)
		return -1;
	f->ifindex = (int)if_nametoindex(TAP);
	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE),
				  .sll_ifindex = f->ifindex};
	if (f->pkt < 0 || bind(f->pkt, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	net_fixture *f = *state;
	if (!f)
		return 0;
	close(f->pkt);
	td_fini(&f->d);
	free(f);
	return 0;
}

static size_t make_frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], const char *text)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = ETHERTYPE >> 8;
	buf[13] = ETHERTYPE & 0xff;
	memset(buf + 14, 0, 46);
	memcpy(buf + 14, text, strlen(text));
	return 60;
}

#define NEED_TAP()                                                                                     \
	do {                                                                                           \
		if (!have_tap)                                                                         \
			skip();                                                                        \
	} while (0)

static void config_has_mac_and_link_up(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	assert_int_equal(td_r32(&f->d, R_DEVICE_ID), 1);
	uint64_t feats = td_device_features(&f->d);
	assert_true(feats & F_MAC);
	assert_true(feats & F_STATUS);
	uint8_t cfg[8];
	for (int i = 0; i < 8; i++)
		vs_bus_access(&f->d.bus, TD_BASE + R_CONFIG + i, &cfg[i], 1, 0);
	assert_memory_equal(cfg, guest_mac, 6);
	assert_int_equal(cfg[6] & 1, 1); /* VIRTIO_NET_S_LINK_UP */
}

static void tx_frame_comes_out_of_the_tap(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	memset(td_ptr(d, TD_DATA, HDR_LEN), 0, HDR_LEN);
	size_t n = make_frame(td_ptr(d, TD_DATA + 0x100, 60), bcast, guest_mac, "hello from the guest");
	td_desc(d, TXQ, 0, TD_DATA, HDR_LEN, D_NEXT, 1);
	td_desc(d, TXQ, 1, TD_DATA + 0x100, (uint32_t)n, 0, 0);
	td_post(d, TXQ, 0);
	td_notify(d, TXQ);
	uint32_t id, len;
	assert_true(td_used(d, TXQ, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(td_irq(d), 1);

	struct pollfd p = {.fd = f->pkt, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 10000), 1);
	uint8_t got[2048];
	ssize_t r = recv(f->pkt, got, sizeof(got), 0);
	assert_int_equal(r, (ssize_t)n);
	assert_memory_equal(got, td_ptr(d, TD_DATA + 0x100, n), n);
}

/* A tx limiter of one frame per 500 ms: the second frame is held (the
 * notify returns without it) and leaves later from the device's thread. */
static void tx_limiter_holds_a_frame_back(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	vs_rl_update u = {.ops_change = VS_RL_SET, .cfg.ops = {1, 0, 500}};
	assert_int_equal(vs_virtio_net_update(f->dev, NULL, &u, NULL), 0);
	uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	for (unsigned i = 0; i < 2; i++) {
		uint64_t hdr = TD_DATA + 0x1000 * i, fr = hdr + 0x100;
		memset(td_ptr(d, hdr, HDR_LEN), 0, HDR_LEN);
		size_t n = make_frame(td_ptr(d, fr, 60), bcast, guest_mac, i ? "second" : "first");
		td_desc(d, TXQ, 2 * i, hdr, HDR_LEN, D_NEXT, 2 * i + 1);
		td_desc(d, TXQ, 2 * i + 1, fr, (uint32_t)n, 0, 0);
		td_post(d, TXQ, (uint16_t)(2 * i));
		td_notify(d, TXQ);
	}
	uint32_t id, len;
	assert_true(td_used(d, TXQ, &id, &len));
	assert_int_equal(id, 0);
	assert_false(td_used(d, TXQ, &id, &len)); /* held */
	int got_used = 0;
	for (int ms = 0; ms < 3000 && !got_used; ms++) {
		got_used = td_used(d, TXQ, &id, &len);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	assert_true(got_used);
	assert_int_equal(id, 2);
	uint8_t buf[2048];
	for (unsigned i = 0; i < 2; i++) {
		struct pollfd p = {.fd = f->pkt, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		assert_true(recv(f->pkt, buf, sizeof(buf), 0) >= 60);
		assert_memory_equal(buf + 14, i ? "second" : "first", i ? 6 : 5);
	}
	vs_dev_stats st;
	vs_virtio_stats_of(f->dev, &st);
	assert_int_equal(st.tx_packets, 2);
	assert_true(st.tx_throttled >= 1);
}

static void host_send(net_fixture *f, const char *text)
{
	uint8_t frame[60];
	size_t n = make_frame(frame, guest_mac, host_mac, text);
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE),
				 .sll_ifindex = f->ifindex, .sll_halen = 6};
	memcpy(to.sll_addr, guest_mac, 6);
	assert_int_equal(sendto(f->pkt, frame, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
}

static void post_rx_buffer(td *d, uint16_t head, uint64_t gpa)
{
	memset(td_ptr(d, gpa, 2048), 0xee, 2048);
	td_desc(d, RXQ, head, gpa, 2048, D_WRITE, 0);
	td_post(d, RXQ, head);
	td_notify(d, RXQ);
}

static void expect_rx(td *d, uint16_t head, uint64_t gpa, const char *text)
{
	uint32_t id, len;
	assert_true(td_wait_used(d, RXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, HDR_LEN + 60);
	const uint8_t *buf = td_ptr(d, gpa, 2048);
	uint16_t num_buffers;
	memcpy(&num_buffers, buf + 10, 2);
	assert_int_equal(num_buffers, 1);
	assert_int_equal(buf[0], 0); /* no checksum/GSO flags: we offered no offloads */
	assert_memory_equal(buf + HDR_LEN, guest_mac, 6);
	assert_memory_equal(buf + HDR_LEN + 6, host_mac, 6);
	assert_memory_equal(buf + HDR_LEN + 14, text, strlen(text));
}

static void rx_frame_lands_in_guest_buffer(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	post_rx_buffer(d, 0, TD_DATA);
	host_send(f, "hello from the host");
	expect_rx(d, 0, TD_DATA, "hello from the host");
	for (int i = 0; i < 1000 && !td_irq(d); i++)
		usleep(1000);
	assert_int_equal(td_irq(d), 1);
}

static void rx_frame_waits_for_a_buffer(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	host_send(f, "first");
	host_send(f, "second");
	uint32_t id, len;
	assert_false(td_used(d, RXQ, &id, &len)); /* nowhere to put them yet */
	post_rx_buffer(d, 3, TD_DATA);
	expect_rx(d, 3, TD_DATA, "first");
	post_rx_buffer(d, 4, TD_DATA + 0x1000);
	expect_rx(d, 4, TD_DATA + 0x1000, "second");
}

static void readable_rx_buffer_is_returned_empty(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	td_desc(d, RXQ, 0, TD_DATA, 2048, 0, 0); /* device-readable: wrong way round */
	td_post(d, RXQ, 0);
	td_notify(d, RXQ);
	host_send(f, "x");
	uint32_t id, len;
	assert_true(td_wait_used(d, RXQ, &id, &len));
	assert_int_equal(len, 0);
	/* The frame is still delivered to the next good buffer. */
	post_rx_buffer(d, 1, TD_DATA + 0x1000);
	expect_rx(d, 1, TD_DATA + 0x1000, "x");
}

/* A frame larger than the posted buffer is dropped (like a wire with a
 * small MTU); the buffer stays posted and takes the next frame that fits. */
static void oversized_frame_is_dropped_not_stuck(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	memset(td_ptr(d, TD_DATA, 64), 0xee, 64);
	td_desc(d, RXQ, 0, TD_DATA, HDR_LEN + 40, D_WRITE, 0);
	td_post(d, RXQ, 0);
	td_notify(d, RXQ);
	host_send(f, "too big for the buffer"); /* 60 bytes */
	uint8_t small[60];
	make_frame(small, guest_mac, host_mac, "tiny"); /* sent cut to 20 bytes */
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE),
				 .sll_ifindex = f->ifindex, .sll_halen = 6};
	assert_int_equal(sendto(f->pkt, small, 20, 0, (struct sockaddr *)&to, sizeof(to)), 20);
	uint32_t id, len;
	assert_true(td_wait_used(d, RXQ, &id, &len));
	assert_int_equal(len, HDR_LEN + 20);
	assert_memory_equal(td_ptr(d, TD_DATA + HDR_LEN + 14, 4), "tiny", 4);
	assert_false(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void hostile_rx_chain_needs_reset(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	td_desc(d, RXQ, 0, TD_MEM_SIZE - 1024, 2048, D_WRITE, 0); /* runs off guest memory */
	td_post(d, RXQ, 0);
	td_notify(d, RXQ);
	host_send(f, "x");
	int i;
	for (i = 0; i < 10000 && !(td_r32(d, R_STATUS) & S_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);
	uint32_t id, len;
	assert_false(td_used(d, RXQ, &id, &len));
	/* TX on the same device is refused too until reset. */
	td_desc(d, TXQ, 0, TD_DATA, 64, 0, 0);
	td_post(d, TXQ, 0);
	td_notify(d, TXQ);
	assert_false(td_used(d, TXQ, &id, &len));
}

static void hostile_tx_chain_needs_reset(void **state)
{
	NEED_TAP();
	net_fixture *f = *state;
	td *d = &f->d;
	td_start(d, F_VERSION_1 | F_MAC | F_STATUS, 2, QN);
	td_desc(d, TXQ, 0, TD_DATA, 64, D_NEXT, 0); /* loops onto itself */
	td_post(d, TXQ, 0);
	td_notify(d, TXQ);
	assert_true(td_r32(d, R_STATUS) & S_NEEDS_RESET);
}

static void bad_tap_name_is_an_error(void **state)
{
	(void)state;
	td d;
	assert_int_equal(td_init(&d), 0);
	vs_err err = {0};
	assert_int_equal(vs_virtio_net_add(&d.env, "a-name-much-too-long-for-a-link", guest_mac, NULL, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "a-name-much-too-long-for-a-link"));
	td_fini(&d);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(config_has_mac_and_link_up),
		T(tx_frame_comes_out_of_the_tap),
		T(tx_limiter_holds_a_frame_back),
		T(rx_frame_lands_in_guest_buffer),
		T(rx_frame_waits_for_a_buffer),
		T(readable_rx_buffer_is_returned_empty),
		T(oversized_frame_is_dropped_not_stuck),
		T(hostile_rx_chain_needs_reset),
		T(hostile_tx_chain_needs_reset),
		cmocka_unit_test(bad_tap_name_is_an_error),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
