/* Inside virtio-blk: the device's state (virtio_blk.c: queue, rate
 * limiter, thread, live changes) and one request against the image
 * (virtio_blk_req.c). */
#ifndef VS_VMM_DEV_VIRTIO_BLK_H
#define VS_VMM_DEV_VIRTIO_BLK_H

#include <stddef.h>
#include <sys/uio.h>

#include "vmm/dev/devthread.h"
#include "vmm/dev/devtimer.h"
#include "vmm/dev/virtio_mmio.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR 512ULL
#define DISCARD_MAX_SECTORS (1U << 22) /* 2 GiB per segment */
#define DISCARD_MAX_SEG 32
#define DWZ_FLAG_UNMAP 1

struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t geometry[4];
	uint32_t blk_size;
	uint8_t topology[8];
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));
_Static_assert(offsetof(struct blk_config, max_discard_sectors) == 36, "virtio-blk config layout");
_Static_assert(sizeof(struct blk_config) == 60, "virtio-blk config layout");

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_range { /* one DISCARD / WRITE_ZEROES segment */
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

typedef struct blk_dev {
	vs_vmmio *t;
	int fd;
	bool readonly, can_punch;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	/* Under the transport lock from here on. */
	vs_ratelimit rl;
	bool held;         /* the limiter holds the queue until the timer fires */
	vs_devtimer timer;
	vs_dev_stats st;
	vs_devthread thread; /* takes the held queue up */
	vs_vq_chain chain;   /* scratch */
	struct iovec data[VS_VQ_MAX_SIZE];
} blk_dev;

/* Carry out one request; returns the bytes written into its writable
 * part (data and status byte). Counts into b->st. Lock held. */
uint32_t vs_blk_request(blk_dev *b, const vs_vq_chain *c);

#endif
