/* A minimal polling virtio-mmio driver for ring-3 test guests (identity
 * mapped, so guest-virtual == guest-physical). Shared by the virtio_*.c
 * guests; everything is static inline so each guest takes what it uses.
 * Loops use volatile accesses so the compiler emits no memset/memcpy calls. */
#ifndef VESSEL_GUEST_VIRTIO_DRV_H
#define VESSEL_GUEST_VIRTIO_DRV_H

#include <stdint.h>

#include "guest.h"

#define VIO_BASE 0xd0000000ULL
#define VIO_STRIDE 0x1000ULL

enum {
	VR_MAGIC = 0x000, VR_VERSION = 0x004, VR_DEVICE_ID = 0x008, VR_DEV_FEAT = 0x010,
	VR_DEV_FEAT_SEL = 0x014, VR_DRV_FEAT = 0x020, VR_DRV_FEAT_SEL = 0x024, VR_QUEUE_SEL = 0x030,
	VR_QUEUE_NUM_MAX = 0x034, VR_QUEUE_NUM = 0x038, VR_QUEUE_READY = 0x044, VR_NOTIFY = 0x050,
	VR_ISR = 0x060, VR_ACK = 0x064, VR_STATUS = 0x070, VR_DESC_LO = 0x080, VR_DESC_HI = 0x084,
	VR_AVAIL_LO = 0x090, VR_AVAIL_HI = 0x094, VR_USED_LO = 0x0a0, VR_USED_HI = 0x0a4, VR_CONFIG = 0x100,
};
enum { VS_ACK = 1, VS_DRIVER = 2, VS_DRIVER_OK = 4, VS_FEATURES_OK = 8, VS_NEEDS_RESET = 64 };
enum { VD_NEXT = 1, VD_WRITE = 2, VD_INDIRECT = 4 };
#define VF_INDIRECT (1ULL << 28)
#define VF_VERSION_1 (1ULL << 32)

#define barrier() __asm__ __volatile__("" ::: "memory")

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct gvq {
	uint64_t base; /* device window */
	unsigned index;
	volatile struct vdesc *desc;
	volatile uint16_t *avail, *used;
	uint16_t num, avail_idx, used_seen;
};

static inline uint32_t vr(uint64_t base, uint32_t off)
{
	return mmio_read32(base + off);
}

static inline void vw(uint64_t base, uint32_t off, uint32_t v)
{
	mmio_write32(base + off, v);
}

static inline void gzero(uint64_t addr, uint64_t len)
{
	volatile uint8_t *p = (volatile uint8_t *)addr;
	for (uint64_t i = 0; i < len; i++)
		p[i] = 0;
}

/* Window of the first device with this DeviceID, 0 if none. */
static inline uint64_t vdev_find(uint64_t n_virtio, uint32_t device_id)
{
	for (uint64_t i = 0; i < n_virtio; i++) {
		uint64_t base = VIO_BASE + i * VIO_STRIDE;
		if (vr(base, VR_MAGIC) == 0x74726976 && vr(base, VR_VERSION) == 2 &&
		    vr(base, VR_DEVICE_ID) == device_id)
			return base;
	}
	return 0;
}

/* Reset, acknowledge, negotiate; returns the status read back. */
static inline uint32_t vdev_negotiate(uint64_t base, uint64_t features)
{
	vw(base, VR_STATUS, 0);
	vw(base, VR_STATUS, VS_ACK);
	vw(base, VR_STATUS, VS_ACK | VS_DRIVER);
	vw(base, VR_DRV_FEAT_SEL, 0);
	vw(base, VR_DRV_FEAT, (uint32_t)features);
	vw(base, VR_DRV_FEAT_SEL, 1);
	vw(base, VR_DRV_FEAT, (uint32_t)(features >> 32));
	vw(base, VR_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
	return vr(base, VR_STATUS);
}

/* Queue `index` with its rings in the 12 KiB at mem. */
static inline void vq_setup(struct gvq *q, uint64_t base, unsigned index, uint16_t num, uint64_t mem)
{
	gzero(mem, 0x3000);
	q->base = base;
	q->index = index;
	q->num = num;
	q->avail_idx = q->used_seen = 0;
	q->desc = (volatile struct vdesc *)mem;
	q->avail = (volatile uint16_t *)(mem + 0x1000);
	q->used = (volatile uint16_t *)(mem + 0x2000);
	vw(base, VR_QUEUE_SEL, index);
	vw(base, VR_QUEUE_NUM, num);
	vw(base, VR_DESC_LO, (uint32_t)mem);
	vw(base, VR_DESC_HI, (uint32_t)(mem >> 32));
	vw(base, VR_AVAIL_LO, (uint32_t)(mem + 0x1000));
	vw(base, VR_AVAIL_HI, 0);
	vw(base, VR_USED_LO, (uint32_t)(mem + 0x2000));
	vw(base, VR_USED_HI, 0);
	vw(base, VR_QUEUE_READY, 1);
}

static inline void vdev_driver_ok(uint64_t base)
{
	vw(base, VR_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
}

static inline void vq_desc(struct gvq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	q->desc[i].addr = addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

/* Make head available and notify the device. */
static inline void vq_kick(struct gvq *q, uint16_t head)
{
	q->avail[2 + q->avail_idx % q->num] = head;
	barrier();
	q->avail[1] = ++q->avail_idx;
	barrier();
	vw(q->base, VR_NOTIFY, q->index);
}

/* Poll the used ring up to `spins` times; 1 with id/len filled, 0 if nothing. */
static inline int vq_wait(struct gvq *q, uint32_t *id, uint32_t *len, uint64_t spins)
{
	for (uint64_t s = 0; s < spins; s++) {
		if (q->used[1] != q->used_seen) {
			barrier();
			volatile uint32_t *e = (volatile uint32_t *)(q->used + 2) + 2 * (q->used_seen % q->num);
			*id = e[0];
			*len = e[1];
			q->used_seen++;
			/* Ack whatever interrupt this raised so the line drops. */
			vw(q->base, VR_ACK, vr(q->base, VR_ISR));
			return 1;
		}
		__asm__ __volatile__("pause");
	}
	return 0;
}

static inline void put_hex(uint64_t v)
{
	char s[19];
	s[0] = '0', s[1] = 'x';
	for (int i = 0; i < 16; i++)
		s[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	s[18] = 0;
	puts_serial(s);
}

/* Print why and stop with a distinctive status. */
static inline void fail(const char *why, int status)
{
	puts_serial("FAIL: ");
	puts_serial(why);
	puts_serial("\n");
	exit_status(status);
}

#endif
