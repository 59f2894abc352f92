/* virtio block device (virtio 1.2, 5.2) backed by a raw image file or block
 * device: the queue, the rate limiter, the device thread, the config space
 * and live changes. Requests run on the notifying vCPU thread
 * (virtio_blk_req.c carries each out against the image). With a rate
 * limiter, a request the buckets cannot pay for goes back on the ring and
 * the queue is held: the device's thread takes it up again when its timer
 * says the buckets can (Firecracker defers the queue the same way), so a
 * vCPU never waits in an MMIO exit. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/dev/virtio_blk.h"

/* Whether the limiter lets this request through now; if not, the timer is
 * set for when it will. Reads and writes cost their data bytes, every
 * request one op. */
static bool admit(blk_dev *b, const vs_vq_chain *c)
{
	if (!vs_rl_active(&b->rl))
		return true;
	struct blk_req_hdr h;
	uint64_t bytes = 0;
	if (vs_iov_to_buf(c->iov, c->n_out, 0, &h, sizeof(h)) == sizeof(h)) {
		if (h.type == VIRTIO_BLK_T_IN && c->in_len)
			bytes = c->in_len - 1;
		else if (h.type == VIRTIO_BLK_T_OUT)
			bytes = c->out_len - sizeof(h);
	}
	uint64_t now = vs_devtimer_now();
	if (vs_rl_consume(&b->rl, bytes, 1, now))
		return true;
	b->st.throttled++;
	vs_devtimer_arm(&b->timer, vs_rl_wake_ns(&b->rl, bytes, 1, now));
	return false;
}

static void blk_process(blk_dev *b)
{
	vs_vmmio *t = b->t;
	vs_vq *q = &t->vqs[0];
	vs_err err = {0};
	int got = 0;
	bool pushed = false;
	if (!vs_vmmio_running(t) || !q->ready)
		return;
	while (!b->held && (got = vs_vq_pop(q, &b->chain, &err)) > 0) {
		if (!admit(b, &b->chain)) {
			vs_vq_unpop(q);
			b->held = true;
			break;
		}
		vs_vq_push(q, b->chain.head, vs_blk_request(b, &b->chain));
		pushed = true;
	}
	if (pushed)
		vs_vmmio_used(t, 0);
	if (got < 0)
		vs_vmmio_broken(t, &err);
}

static void blk_notify(vs_vmmio *t, unsigned qi)
{
	(void)qi;
	blk_dev *b = t->priv;
	if (!b->held) /* else the timer takes the queue up */
		blk_process(b);
}

/* The device thread takes up the queue when the limiter's timer fires
 * (if its jail fails, a throttled queue waits for the next notify). */
static unsigned timer_prepare(vs_vmmio *t, struct pollfd *p, int *timeout_ms)
{
	(void)timeout_ms;
	p[0] = (struct pollfd){.fd = ((blk_dev *)t->priv)->timer.fd, .events = POLLIN};
	return 1;
}

static void timer_run(vs_vmmio *t, const struct pollfd *p, unsigned n, int polled)
{
	blk_dev *b = t->priv;
	(void)n, (void)polled;
	if ((p[0].revents & POLLIN) && vs_devtimer_fired(&b->timer)) {
		b->held = false;
		blk_process(b);
	}
}

static const vs_devthread_ops timer_thread_ops = {
	.name = "device thread",
	.list = VS_DEVTHREAD_VMM_LIST,
	.prepare = timer_prepare,
	.run = timer_run,
};

static void blk_reset(vs_vmmio *t)
{
	((blk_dev *)t->priv)->held = false;
}

/* Driver ready, or the VM resumed (pause, restore): a request left on the
 * ring while frozen, or held by a timer that fired meanwhile, goes now. */
static void blk_wake(vs_vmmio *t)
{
	blk_dev *b = t->priv;
	b->held = false;
	blk_process(b);
}

static void blk_stats(vs_vmmio *t, vs_dev_stats *out)
{
	*out = ((blk_dev *)t->priv)->st;
}

static void blk_free(blk_dev *b)
{
	vs_devthread_stop(&b->thread);
	if (b->fd >= 0)
		close(b->fd);
	vs_devtimer_close(&b->timer);
	free(b);
}

static void blk_destroy(vs_vmmio *t)
{
	blk_free(t->priv);
}

/* Open an image: *fd, its size in bytes, whether holes can be punched.
 * The size comes from lseek, which works for block devices too, so a swap
 * from the API thread (no ioctl there) sees the same as the first open. */
static int open_file(const char *path, bool readonly, int *fd, uint64_t *size, bool *can_punch, vs_err *err)
{
	*fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (*fd < 0)
		return vs_fail(err, errno, "virtio-blk: open image %s", path);
	struct stat st;
	off_t end = 0;
	int r = 0;
	if (fstat(*fd, &st) < 0)
		r = vs_fail(err, errno, "virtio-blk: stat image %s", path);
	else if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		r = vs_fail(err, EINVAL, "virtio-blk: image %s: not a regular file or block device", path);
	else if ((end = lseek(*fd, 0, SEEK_END)) < 0)
		r = vs_fail(err, errno, "virtio-blk: size of image %s", path);
	if (r < 0) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	*size = (uint64_t)end;
	/* Probe hole punching with a no-op punch past the end of the image. */
	*can_punch = !readonly && fallocate(*fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, end, (off_t)SECTOR) == 0;
	return 0;
}

static int open_image(blk_dev *b, const char *path, bool readonly, vs_err *err)
{
	uint64_t size;
	if (open_file(path, readonly, &b->fd, &size, &b->can_punch, err) < 0)
		return -1;
	b->capacity = size / SECTOR;
	b->readonly = readonly;
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
	.reset = blk_reset,
	.driver_ok = blk_wake,
	.destroy = blk_destroy,
	.stats = blk_stats,
	.save = blk_save,
	.restore = blk_restore,
};

int vs_virtio_blk_update(vs_virtio_dev *t, const vs_rl_update *rl, const char *path, vs_err *err)
{
	if (t->ops != &blk_ops)
		return vs_fail(err, EINVAL, "%s: not a block device", t->ops->name);
	blk_dev *b = t->priv;
	int fd = -1;
	uint64_t size = 0;
	bool punch = false;
	/* Open outside the lock: the guest's I/O goes on meanwhile. */
	if (path && open_file(path, b->readonly, &fd, &size, &punch, err) < 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	if (rl) {
		vs_rl_update_apply(&b->rl, rl, vs_devtimer_now());
		if (b->held) /* take the queue up now under the new limits */
			vs_devtimer_arm(&b->timer, 1);
	}
	if (path) {
		int old = b->fd;
		b->fd = fd;
		b->capacity = size / SECTOR;
		/* Discard stays as negotiated; a file that cannot punch answers UNSUPP. */
		b->can_punch = b->can_punch && punch;
		memcpy(t->config + offsetof(struct blk_config, capacity), &b->capacity, sizeof(b->capacity));
		vs_vmmio_config_changed(t);
		b->st.config_changes++;
		close(old);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int vs_virtio_blk_add(const vs_virtio_env *env, const char *path, bool readonly, const vs_rl_cfg *rl,
		      vs_virtio_dev **out, vs_err *err)
{
	blk_dev *b = calloc(1, sizeof(*b));
	if (!b)
		return vs_fail(err, ENOMEM, "virtio-blk: allocate device");
	b->fd = b->timer.fd = -1;
	vs_rl_cfg none = {0};
	vs_rl_init(&b->rl, rl ? rl : &none, vs_devtimer_now());
	if (open_image(b, path, readonly, err) < 0 || vs_devtimer_init(&b->timer, err) < 0) {
		blk_free(b);
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
		blk_free(b);
		return -1;
	}
	b->t = t;
	t->device_features = features;
	memcpy(t->config, &cfg, sizeof(cfg));
	if (vs_devthread_start(&b->thread, t, &timer_thread_ops, env->jail, err) < 0 ||
	    vs_vmmio_attach(t, env->mmio, err) < 0) {
		vs_wrap(err, "virtio-blk %s", path);
		vs_vmmio_free(t);
		return -1;
	}
	if (out)
		*out = t;
	return 0;
}
