/* One virtio-blk request (virtio 1.2, 5.2.6) against the image: reads and
 * writes move with preadv/pwritev straight between the image and guest
 * memory; flush, GET_ID, discard and write-zeroes (hole punching). Every
 * length and sector is checked against the chain and the capacity. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include "vmm/dev/virtio_blk.h"

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
uint32_t vs_blk_request(blk_dev *b, const vs_vq_chain *c)
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
			if (status == VIRTIO_BLK_S_OK) {
				written += (uint32_t)status_off;
				b->st.read_bytes += status_off;
				b->st.read_count++;
			}
			break;
		case VIRTIO_BLK_T_OUT:
			status = do_rw(b, c, h.sector, true);
			if (status == VIRTIO_BLK_S_OK) {
				b->st.write_bytes += c->out_len - sizeof(h);
				b->st.write_count++;
			}
			break;
		case VIRTIO_BLK_T_FLUSH:
			status = !b->readonly && fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
			b->st.flush_count++;
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
	if (status == VIRTIO_BLK_S_IOERR)
		b->st.io_errors++;
	vs_iov_from_buf(c->iov + c->n_out, c->n_in, status_off, &status, 1);
	return written;
}
