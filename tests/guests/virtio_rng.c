/* Ring-3 guest: drive the entropy device through a real virtqueue and check
 * it filled two buffers with different, non-zero bytes. */
#include "virtio_drv.h"

#define QMEM 0x400000ULL
#define BUF 0x500000ULL

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	uint64_t base = vdev_find(n_virtio, 4);
	if (!base)
		fail("no virtio-rng device", 10);
	if (!(vdev_negotiate(base, VF_VERSION_1) & VS_FEATURES_OK))
		fail("FEATURES_OK refused", 11);
	struct gvq q;
	vq_setup(&q, base, 0, 8, QMEM);
	vdev_driver_ok(base);

	gzero(BUF, 0x2000);
	uint32_t id, len;
	vq_desc(&q, 0, BUF, 64, VD_WRITE, 0);
	vq_kick(&q, 0);
	if (!vq_wait(&q, &id, &len, 100000000) || id != 0 || len != 64)
		fail("first buffer not returned full", 12);
	vq_desc(&q, 1, BUF + 0x1000, 64, VD_WRITE, 0);
	vq_kick(&q, 1);
	if (!vq_wait(&q, &id, &len, 100000000) || id != 1 || len != 64)
		fail("second buffer not returned full", 13);

	volatile uint8_t *a = (volatile uint8_t *)BUF, *b = (volatile uint8_t *)(BUF + 0x1000);
	int nonzero = 0, differ = 0;
	for (int i = 0; i < 64; i++) {
		nonzero |= a[i] | b[i];
		differ |= a[i] != b[i];
	}
	if (!nonzero || !differ)
		fail("buffers not random", 14);
	if (vr(base, VR_STATUS) & VS_NEEDS_RESET)
		fail("device needs reset", 15);
	puts_serial("virtio-rng ok\n");
	exit_status(0);
}
