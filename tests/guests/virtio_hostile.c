/* Ring-3 guest playing a hostile driver against the entropy device: broken
 * descriptor chains and rings must put the device into DEVICE_NEEDS_RESET
 * (never crash the VMM or make it touch memory outside the guest), and a
 * reset must bring the device back. Exit 0 means every case behaved. */
#include "virtio_drv.h"

#define QMEM 0x400000ULL
#define BUF 0x500000ULL
#define TABLE 0x510000ULL
#define QN 8

static uint64_t base;
static struct gvq q;

static void restart(void)
{
	if (!(vdev_negotiate(base, VF_VERSION_1 | VF_INDIRECT) & VS_FEATURES_OK))
		fail("FEATURES_OK refused", 11);
	vq_setup(&q, base, 0, QN, QMEM);
	vdev_driver_ok(base);
	if (vr(base, VR_STATUS) & VS_NEEDS_RESET)
		fail("reset did not clear NEEDS_RESET", 12);
}

static void good_request(int code)
{
	uint32_t id, len;
	vq_desc(&q, 0, BUF, 32, VD_WRITE, 0);
	vq_kick(&q, 0);
	if (!vq_wait(&q, &id, &len, 100000000) || id != 0 || len != 32)
		fail("device did not recover after reset", code);
}

/* Head 0 holds the hostile chain: expect NEEDS_RESET and nothing used. */
static void expect_broken(const char *what, int code)
{
	vq_kick(&q, 0);
	if (!(vr(base, VR_STATUS) & VS_NEEDS_RESET) || q.used[1] != 0)
		fail(what, code);
	if (!(vr(base, VR_ISR) & 2))
		fail("no configuration-change interrupt", code + 50);
	puts_serial("refused: ");
	puts_serial(what);
	puts_serial("\n");
	restart();
	good_request(code + 100);
	restart();
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	base = vdev_find(n_virtio, 4);
	if (!base)
		fail("no virtio-rng device", 10);
	restart();
	good_request(13);
	restart();

	vq_desc(&q, 0, BUF, 8, VD_WRITE | VD_NEXT, 1);
	vq_desc(&q, 1, BUF, 8, VD_WRITE | VD_NEXT, 0);
	expect_broken("descriptor loop", 20);

	vq_desc(&q, 0, BUF, 8, VD_WRITE | VD_NEXT, QN);
	expect_broken("next out of range", 21);

	vq_desc(&q, 0, (1ULL << 32) + ram_size, 8, VD_WRITE, 0);
	expect_broken("buffer beyond RAM", 22);

	vq_desc(&q, 0, base, 64, VD_WRITE, 0);
	expect_broken("buffer on the device's own registers", 23);

	vq_desc(&q, 0, ~0ULL - 8, 64, VD_WRITE, 0);
	expect_broken("address + length overflow", 24);

	vq_desc(&q, 0, BUF, 0xffffffffu, VD_WRITE, 0);
	expect_broken("4 GiB length", 25);

	vq_desc(&q, 0, (1ULL << 32) + ram_size, 64, VD_INDIRECT, 0);
	expect_broken("indirect table beyond RAM", 26);

	vq_desc(&q, 0, TABLE, 16, VD_INDIRECT, 0);
	((volatile struct vdesc *)TABLE)->addr = TABLE;
	((volatile struct vdesc *)TABLE)->len = 16;
	((volatile struct vdesc *)TABLE)->flags = VD_INDIRECT;
	expect_broken("nested indirect table", 27);

	/* avail idx jumps more than a queue ahead */
	vq_desc(&q, 0, BUF, 8, VD_WRITE, 0);
	q.avail[1] = QN + 3;
	vw(base, VR_NOTIFY, 0);
	if (!(vr(base, VR_STATUS) & VS_NEEDS_RESET) || q.used[1] != 0)
		fail("avail idx ahead", 28);
	restart();
	good_request(128);

	/* Rings outside RAM: the queue must not become ready. */
	vdev_negotiate(base, VF_VERSION_1);
	vw(base, VR_QUEUE_SEL, 0);
	vw(base, VR_QUEUE_NUM, QN);
	vw(base, VR_DESC_LO, 0);
	vw(base, VR_DESC_HI, 0x100);
	vw(base, VR_QUEUE_READY, 1);
	if (vr(base, VR_QUEUE_READY) != 0 || !(vr(base, VR_STATUS) & VS_NEEDS_RESET))
		fail("ring outside RAM accepted", 29);
	restart();
	good_request(129);

	puts_serial("virtio-hostile ok\n");
	exit_status(0);
}
