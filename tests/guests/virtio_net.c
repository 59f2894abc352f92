/* Ring-3 guest: talk to the host through virtio-net. It broadcasts a
 * "vessel-guest-hello" frame (ethertype 0x88b5) until the host answers with
 * a frame whose payload starts "ping:", then replies "pong:" + the rest and
 * exits 0. The host side lives in tests/integration/vm/virtio.sh. */
#include "virtio_drv.h"

#define RXMEM 0x400000ULL
#define TXMEM 0x404000ULL
#define RXBUF 0x500000ULL /* NRX buffers of 2 KiB */
#define TXBUF 0x580000ULL
#define NRX 4
#define HDR_LEN 12
#define ETHERTYPE 0x88b5

static struct gvq rx, tx;
static uint8_t mac[6];

static void post_rx(uint16_t i)
{
	vq_desc(&rx, i, RXBUF + i * 0x800ULL, 0x800, VD_WRITE, 0);
	vq_kick(&rx, i);
}

static void net_send(const uint8_t dst[6], const char *payload, const volatile uint8_t *extra, unsigned extra_len)
{
	volatile uint8_t *f = (volatile uint8_t *)TXBUF;
	uint32_t id, len;
	for (unsigned i = 0; i < HDR_LEN + 64; i++)
		f[i] = 0;
	for (unsigned i = 0; i < 6; i++)
		f[HDR_LEN + i] = dst[i], f[HDR_LEN + 6 + i] = mac[i];
	f[HDR_LEN + 12] = ETHERTYPE >> 8;
	f[HDR_LEN + 13] = ETHERTYPE & 0xff;
	unsigned n = 0;
	for (; payload[n]; n++)
		f[HDR_LEN + 14 + n] = (uint8_t)payload[n];
	for (unsigned i = 0; i < extra_len && n < 46; i++)
		f[HDR_LEN + 14 + n++] = extra[i];
	/* Header and frame in separate descriptors, as Linux does without ANY_LAYOUT. */
	vq_desc(&tx, 0, TXBUF, HDR_LEN, VD_NEXT, 1);
	vq_desc(&tx, 1, TXBUF + HDR_LEN, 60, 0, 0);
	vq_kick(&tx, 0);
	if (!vq_wait(&tx, &id, &len, 100000000))
		fail("TX buffer not returned", 13);
}

static int starts_with(const volatile uint8_t *p, const char *s)
{
	for (; *s; s++, p++)
		if (*p != (uint8_t)*s)
			return 0;
	return 1;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	uint64_t base = vdev_find(n_virtio, 1);
	if (!base)
		fail("no virtio-net device", 10);
	if (!(vdev_negotiate(base, VF_VERSION_1 | 1ULL << 5 | 1ULL << 16) & VS_FEATURES_OK))
		fail("FEATURES_OK refused", 11);
	vq_setup(&rx, base, 0, 16, RXMEM);
	vq_setup(&tx, base, 1, 16, TXMEM);
	vdev_driver_ok(base);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)(vr(base, VR_CONFIG + (i & ~3u)) >> (8 * (i & 3)));
	if (!(vr(base, VR_CONFIG + 4) >> 16 & 1))
		fail("link down", 12);
	for (uint16_t i = 0; i < NRX; i++)
		post_rx(i);

	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	for (int round = 0; round < 2000; round++) {
		net_send(bcast, "vessel-guest-hello", 0, 0);
		uint32_t id, len;
		while (vq_wait(&rx, &id, &len, 2000000)) {
			if (id >= NRX || len < HDR_LEN + 14)
				fail("bad RX completion", 14);
			volatile uint8_t *f = (volatile uint8_t *)(RXBUF + id * 0x800ULL);
			volatile uint8_t *eth = f + HDR_LEN;
			if (f[10] != 1 || f[11] != 0)
				fail("num_buffers is not 1", 15);
			if (eth[12] == ETHERTYPE >> 8 && eth[13] == (ETHERTYPE & 0xff) && starts_with(eth + 14, "ping:")) {
				uint8_t src[6];
				for (unsigned i = 0; i < 6; i++)
					src[i] = eth[6 + i];
				net_send(src, "pong:", eth + 19, 16);
				puts_serial("virtio-net ok\n");
				exit_status(0);
			}
			post_rx((uint16_t)id);
		}
	}
	fail("no ping from the host", 16);
}
