/* virtio block device (virtio 1.2, 5.2) backed by a raw image file or block
 * device. Requests run on the notifying vCPU thread; data moves with
 * preadv/pwritev straight between the image and guest memory. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

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
	int fd;
	bool readonly, can_punch;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	vs_vq_chain chain; /* scratch, used under the transport lock */
	struct iovec data[VS_VQ_MAX_SIZE];
} blk_dev;

static bool in_range(const blk_dev *b, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR == 0 && sector <= b->capacity && bytes / SECTOR <= b->capacity - sector;
}

/* Full transfer or failure; short reads at EOF count as failure. */
static int transfer(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static uint8_t do_rw(blk_dev *b, const vs_vq_chain *c, uint64_t sector, bool write)
{
	/* OUT data follows the 16-byte header in the readable part; IN data is
	 * the writable part minus the trailing status byte. */
	const struct iovec *src = write ? c->iov : c->iov + c->n_out;
	unsigned n_src = write ? c->n_out : c->n_in;
	size_t off = write ? sizeof(struct blk_req_hdr) : 0;
	uint64_t len = write ? c->out_len - off : c->in_len - 1;
	/* Data must flow the way the request type says: no stray readable
	 * bytes after a read's header, no writable bytes before a write's status. */
	if (write ? c->in_len != 1 : c->out_len != sizeof(struct blk_req_hdr))
		return VIRTIO_BLK_S_IOERR;
	if (write && b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	int n = vs_iov_slice(src, n_src, off, len, b->data, VS_VQ_MAX_SIZE);
	if (n < 0 || transfer(b->fd, b->data, n, sector * SECTOR, write) < 0)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_discard(blk_dev *b, const vs_vq_chain *c, bool write_zeroes)
{
	uint64_t bytes = c->out_len - sizeof(struct blk_req_hdr);
	if (b->readonly || !b->can_punch)
		return b->readonly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
	if (c->in_len != 1 || bytes == 0 || bytes % sizeof(struct blk_range))
		return VIRTIO_BLK_S_IOERR;
	if (bytes / sizeof(struct blk_range) > DISCARD_MAX_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	for (size_t off = sizeof(struct blk_req_hdr); off < c->out_len; off += sizeof(struct blk_range)) {
		struct blk_range r;
		vs_iov_to_buf(c->iov, c->n_out, off, &r, sizeof(r));
		/* Discard must not carry the unmap flag; other bits are reserved (5.2.6.2). */
		if ((r.flags & ~(uint32_t)DWZ_FLAG_UNMAP) || (!write_zeroes && r.flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (r.num_sectors > DISCARD_MAX_SECTORS || !in_range(b, r.sector, r.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		/* A punched hole reads back as zeroes, which is what write-zeroes needs too. */
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(r.sector * SECTOR),
			      (off_t)(r.num_sectors * SECTOR)) < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Handle one request; returns the bytes written into its writable part. */
static uint32_t blk_request(blk_dev *b, const vs_vq_chain *c)
{
	struct blk_req_hdr h;
	if (c->in_len == 0)
		return 0; /* nowhere to put a status: nothing we can do */
	uint64_t status_off = c->in_len - 1;
	uint32_t written = 1;
	uint8_t status;
	if (vs_iov_to_buf(c->iov, c->n_out, 0, &h, sizeof(h)) != sizeof(h)) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		switch (h.type) {
		case VIRTIO_BLK_T_IN:
			status = do_rw(b, c, h.sector, false);
			if (status == VIRTIO_BLK_S_OK)
				written += (uint32_t)status_off;
			break;
		case VIRTIO_BLK_T_OUT:
			status = do_rw(b, c, h.sector, true);
			break;
		case VIRTIO_BLK_T_FLUSH:
			status = !b->readonly && fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
			break;
		case VIRTIO_BLK_T_GET_ID: {
			size_t n = status_off < VIRTIO_BLK_ID_BYTES ? status_off : VIRTIO_BLK_ID_BYTES;
			written += (uint32_t)vs_iov_from_buf(c->iov + c->n_out, c->n_in, 0, b->id, n);
			status = VIRTIO_BLK_S_OK;
			break;
		}
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			status = do_discard(b, c, h.type == VIRTIO_BLK_T_WRITE_ZEROES);
			break;
		default:
			status = VIRTIO_BLK_S_UNSUPP;
		}
	}
	vs_iov_from_buf(c->iov + c->n_out, c->n_in, status_off, &status, 1);
	return written;
}

static void blk_notify(vs_vmmio *t, unsigned qi)
{
	blk_dev *b = t->priv;
	vs_vq *q = &t->vqs[qi];
	vs_err err = {0};
	int got;
	bool pushed = false;
	while ((got = vs_vq_pop(q, &b->chain, &err)) > 0) {
		vs_vq_push(q, b->chain.head, blk_request(b, &b->chain));
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, qi);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

static void blk_destroy(vs_vmmio *t)
{
	blk_dev *b = t->priv;
	close(b->fd);
	free(b);
}

static int open_image(blk_dev *b, const char *path, bool readonly, vs_err *err)
{
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return vs_fail(err, errno, "virtio-blk: open image %s", path);
	struct stat st;
	uint64_t size;
	if (fstat(b->fd, &st) < 0)
		return vs_fail(err, errno, "virtio-blk: stat image %s", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size) < 0)
			return vs_fail(err, errno, "virtio-blk: size of block device %s", path);
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		return vs_fail(err, EINVAL, "virtio-blk: image %s: not a regular file or block device", path);
	}
	b->capacity = size / SECTOR;
	b->readonly = readonly;
	/* Probe hole punching with a no-op punch past the end of the image. */
	b->can_punch = !readonly && fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					      (off_t)size, (off_t)SECTOR) == 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	/* 20 bytes, NUL-padded only if shorter (5.2.6). */
	size_t n = strlen(base);
	memcpy(b->id, base, n < sizeof(b->id) ? n : sizeof(b->id));
	return 0;
}

/* Snapshot: the capacity the guest knows; the image must still have it. */
static size_t blk_save(vs_vmmio *t, uint8_t *buf, size_t cap)
{
	blk_dev *b = t->priv;
	if (cap < sizeof(b->capacity))
		return 0;
	memcpy(buf, &b->capacity, sizeof(b->capacity));
	return sizeof(b->capacity);
}

static int blk_restore(vs_vmmio *t, const uint8_t *buf, size_t len, vs_err *err)
{
	blk_dev *b = t->priv;
	uint64_t cap;
	if (len != sizeof(cap))
		return vs_fail(err, EINVAL, "virtio-blk: %zu bytes of device state, expected %zu", len, sizeof(cap));
	memcpy(&cap, buf, sizeof(cap));
	if (cap != b->capacity)
		return vs_fail(err, EINVAL, "virtio-blk: the image has %llu sectors now, the guest knew %llu",
			       (unsigned long long)b->capacity, (unsigned long long)cap);
	return 0;
}

static const vs_vmmio_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.notify = blk_notify,
	.destroy = blk_destroy,
	.save = blk_save,
	.restore = blk_restore,
};

int vs_virtio_blk_add(const vs_virtio_env *env, const char *path, bool readonly, vs_err *err)
{
	blk_dev *b = calloc(1, sizeof(*b));
	if (!b)
		return vs_fail(err, ENOMEM, "virtio-blk: allocate device");
	if (open_image(b, path, readonly, err) < 0) {
		if (b->fd >= 0)
			close(b->fd);
		free(b);
		return -1;
	}
	struct blk_config cfg = {
		.capacity = b->capacity,
		/* Header and status take two of the chain's descriptors. */
		.seg_max = VS_VQ_MAX_SIZE - 2,
	};
	uint64_t features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_FLUSH;
	if (readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->can_punch) {
		features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
		cfg.max_discard_sectors = cfg.max_write_zeroes_sectors = DISCARD_MAX_SECTORS;
		cfg.max_discard_seg = cfg.max_write_zeroes_seg = DISCARD_MAX_SEG;
		cfg.discard_sector_alignment = 4096 / SECTOR;
		cfg.write_zeroes_may_unmap = 1;
	}
	vs_vmmio *t = vs_vmmio_new(env, &blk_ops, b, sizeof(cfg), err);
	if (!t) {
		close(b->fd);
		free(b);
		return -1;
	}
	t->device_features = features;
	memcpy(t->config, &cfg, sizeof(cfg));
	if (vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_wrap(err, "virtio-blk %s", path);
		vs_vmmio_free(t);
		return -1;
	}
	return 0;
}
