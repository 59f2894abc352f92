/* Ring-3 guest: read, write, flush and identify through virtio-blk. The
 * test script gives it an image whose first 4 KiB hold byte (i*7+3) & 0xff
 * and checks afterwards that sector 8 holds what the guest wrote. On a
 * read-only disk (VIRTIO_BLK_F_RO offered) the write must fail instead. */
#include "virtio_drv.h"

#define QMEM 0x400000ULL
#define HDR 0x500000ULL
#define STATUS 0x500100ULL
#define DATA 0x501000ULL
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8

static struct gvq q;

/* header, optional data, status; returns the status byte (0xee if none). */
static int blk(uint32_t type, uint64_t sector, uint32_t len, int data_in)
{
	volatile uint32_t *h = (volatile uint32_t *)HDR;
	h[0] = type, h[1] = 0, h[2] = (uint32_t)sector, h[3] = (uint32_t)(sector >> 32);
	*(volatile uint8_t *)STATUS = 0xee;
	unsigned i = 0;
	vq_desc(&q, i, HDR, 16, VD_NEXT, i + 1), i++;
	if (len)
		vq_desc(&q, i, DATA, len, VD_NEXT | (data_in ? VD_WRITE : 0), i + 1), i++;
	vq_desc(&q, i, STATUS, 1, VD_WRITE, 0);
	vq_kick(&q, 0);
	uint32_t id, used;
	if (!vq_wait(&q, &id, &used, 100000000))
		fail("request not completed", 20);
	return *(volatile uint8_t *)STATUS;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	uint64_t base = vdev_find(n_virtio, 2);
	if (!base)
		fail("no virtio-blk device", 10);
	vw(base, VR_DEV_FEAT_SEL, 0);
	int readonly = vr(base, VR_DEV_FEAT) >> 5 & 1;
	uint64_t features = VF_VERSION_1 | 1ULL << 9 /* FLUSH */ | (uint64_t)readonly << 5;
	if (!(vdev_negotiate(base, features) & VS_FEATURES_OK))
		fail("FEATURES_OK refused", 11);
	vq_setup(&q, base, 0, 16, QMEM);
	vdev_driver_ok(base);

	uint64_t capacity = vr(base, VR_CONFIG) | (uint64_t)vr(base, VR_CONFIG + 4) << 32;
	puts_serial("capacity ");
	put_hex(capacity);
	puts_serial("\n");

	volatile uint8_t *d = (volatile uint8_t *)DATA;
	if (blk(T_IN, 0, 4096, 1) != 0)
		fail("read sectors 0-7", 12);
	for (unsigned i = 0; i < 4096; i++)
		if (d[i] != (uint8_t)(i * 7 + 3))
			fail("sector data differs from the image", 13);

	for (unsigned i = 0; i < 512; i++)
		d[i] = (uint8_t)(i ^ 0x5a);
	if (readonly) {
		if (blk(T_OUT, 8, 512, 0) != 1 /* IOERR */)
			fail("write to a read-only disk not refused", 21);
		puts_serial("virtio-blk ro ok\n");
		exit_status(0);
	}
	if (blk(T_OUT, 8, 512, 0) != 0)
		fail("write sector 8", 14);
	if (blk(T_FLUSH, 0, 0, 0) != 0)
		fail("flush", 15);
	gzero(DATA, 512);
	if (blk(T_IN, 8, 512, 1) != 0)
		fail("read back sector 8", 16);
	for (unsigned i = 0; i < 512; i++)
		if (d[i] != (uint8_t)(i ^ 0x5a))
			fail("sector 8 did not keep the write", 17);

	gzero(DATA, 20);
	if (blk(T_GET_ID, 0, 20, 1) != 0 || d[0] != 'd' || d[1] != 'i' || d[2] != 's' || d[3] != 'k')
		fail("GET_ID is not the image name", 18);
	if (blk(T_IN, capacity, 512, 1) != 1 /* IOERR */)
		fail("read past the end not refused", 19);

	puts_serial("virtio-blk ok\n");
	exit_status(0);
}
