/* virtio-mmio transport, register layout version 2 (virtio 1.2, 4.2.2). */
#include "vmm/dev/virtio_mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "base/log.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x56534c00  /* "\0LSV": any value, drivers ignore it */

static uint64_t offered_features(const vs_vmmio *t)
{
	return t->device_features | 1ULL << VS_VIRTIO_F_VERSION_1 | 1ULL << VS_VIRTIO_F_INDIRECT_DESC;
}

static void update_irq(vs_vmmio *t)
{
	bool level = t->isr != 0;
	if (level != t->irq_level) {
		t->irq_level = level;
		vs_irq_set(&t->irq, level);
	}
}

bool vs_vmmio_running(const vs_vmmio *t)
{
	if (t->frozen)
		return false;
	uint32_t need = VS_VIRTIO_S_DRIVER_OK | VS_VIRTIO_S_FEATURES_OK;
	uint32_t bad = VS_VIRTIO_S_NEEDS_RESET | VS_VIRTIO_S_FAILED;
	return (t->status & need) == need && !(t->status & bad);
}

bool vs_vmmio_has_feature(const vs_vmmio *t, unsigned bit)
{
	return bit < 64 && (t->driver_features >> bit & 1);
}

void vs_vmmio_used(vs_vmmio *t, unsigned q)
{
	if (q < t->ops->num_queues && vs_vq_needs_irq(&t->vqs[q])) {
		t->isr |= VS_VIRTIO_INT_USED;
		update_irq(t);
	}
}

void vs_vmmio_broken(vs_vmmio *t, const vs_err *why)
{
	if (!(t->status & VS_VIRTIO_S_NEEDS_RESET))
		vs_warn("%s at 0x%" PRIx64 ": guest error, device needs reset: %s", t->ops->name, t->busdev.base,
			why ? why->msg : "?");
	t->status |= VS_VIRTIO_S_NEEDS_RESET;
	t->isr |= VS_VIRTIO_INT_CONFIG;
	update_irq(t);
}

void vs_vmmio_config_changed(vs_vmmio *t)
{
	t->config_gen++;
	if (vs_vmmio_running(t)) {
		t->isr |= VS_VIRTIO_INT_CONFIG;
		update_irq(t);
	}
}

void vs_virtio_stats_of(vs_virtio_dev *t, vs_dev_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	if (t->ops->stats)
		t->ops->stats(t, out);
	pthread_mutex_unlock(&t->lock);
}

static void device_reset(vs_vmmio *t)
{
	for (unsigned i = 0; i < VS_VMMIO_MAX_QUEUES; i++)
		vs_vq_reset(&t->vqs[i]);
	t->status = 0;
	t->isr = 0;
	t->driver_features = 0;
	t->bad_features = false;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	update_irq(t);
	if (t->ops->reset)
		t->ops->reset(t);
}

/* FEATURES_OK is accepted only for a subset of what we offer that includes
 * VERSION_1 (we are a modern-only device). */
static bool features_ok(const vs_vmmio *t)
{
	return !t->bad_features && !(t->driver_features & ~offered_features(t)) &&
	       vs_vmmio_has_feature(t, VS_VIRTIO_F_VERSION_1);
}

static void write_status(vs_vmmio *t, uint32_t v)
{
	if (v == 0) {
		device_reset(t);
		return;
	}
	uint32_t old = t->status;
	if ((v & VS_VIRTIO_S_FEATURES_OK) && !(old & VS_VIRTIO_S_FEATURES_OK) && !features_ok(t))
		v &= ~(uint32_t)VS_VIRTIO_S_FEATURES_OK;
	/* NEEDS_RESET is the device's bit: the driver can neither set nor clear it. */
	v = (v & ~(uint32_t)VS_VIRTIO_S_NEEDS_RESET) | (old & VS_VIRTIO_S_NEEDS_RESET);
	t->status = v;
	if (!(old & VS_VIRTIO_S_DRIVER_OK) && vs_vmmio_running(t) && t->ops->driver_ok)
		t->ops->driver_ok(t);
}

static vs_vq *selected_queue(vs_vmmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->vqs[t->queue_sel] : NULL;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static void write_queue_reg(vs_vmmio *t, uint64_t off, uint32_t val)
{
	vs_vq *q = selected_queue(t);
	/* Changing a live queue is a driver bug (4.2.3.2); ignore it. */
	if (!q || (q->ready && off != REG_QUEUE_READY))
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		q->num = val > 0xffff ? 0 : (uint16_t)val;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, val);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&q->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, val);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, val);
		break;
	case REG_QUEUE_READY:
		if (!val) {
			q->ready = false;
		} else if (!q->ready) {
			vs_err err = {0};
			bool indirect = vs_vmmio_has_feature(t, VS_VIRTIO_F_INDIRECT_DESC);
			if (vs_vq_enable(q, t->mem, VS_VQ_MAX_SIZE, indirect, &err) < 0) {
				vs_wrap(&err, "queue %u", t->queue_sel);
				vs_vmmio_broken(t, &err);
			}
		}
		break;
	}
}

static uint32_t read_reg(vs_vmmio *t, uint64_t off)
{
	vs_vq *q = selected_queue(t);
	uint64_t feats = offered_features(t);
	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return t->dev_feat_sel == 0 ? (uint32_t)feats : t->dev_feat_sel == 1 ? (uint32_t)(feats >> 32) : 0;
	case REG_QUEUE_NUM_MAX:
		return q ? VS_VQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:
		return q && q->ready;
	case REG_INTERRUPT_STATUS:
		return t->isr;
	case REG_STATUS:
		return t->status;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case REG_CONFIG_GENERATION:
		return t->config_gen;
	default:
		return 0;
	}
}

static void write_reg(vs_vmmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->dev_feat_sel = val;
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->drv_feat_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		if (t->status & VS_VIRTIO_S_FEATURES_OK)
			break; /* frozen once negotiated */
		if (t->drv_feat_sel < 2)
			set_half(&t->driver_features, t->drv_feat_sel == 1, val);
		else if (val)
			t->bad_features = true;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case REG_QUEUE_NOTIFY:
		if (val < t->ops->num_queues && t->vqs[val].ready && vs_vmmio_running(t))
			t->ops->notify(t, val);
		break;
	case REG_INTERRUPT_ACK:
		t->isr &= ~val;
		update_irq(t);
		break;
	case REG_STATUS:
		write_status(t, val);
		break;
	case REG_QUEUE_NUM:
	case REG_QUEUE_READY:
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, val);
		break;
	}
}

static void mmio_read(vs_bus_dev *dev, uint64_t off, void *data, unsigned size)
{
	vs_vmmio *t = dev->opaque;
	memset(data, 0, size);
	pthread_mutex_lock(&t->lock);
	if (off >= REG_CONFIG) {
		/* Config space: any width; bytes past the end read as zero. */
		uint64_t c = off - REG_CONFIG;
		for (unsigned i = 0; i < size && c + i < t->config_len; i++)
			((uint8_t *)data)[i] = t->config[c + i];
	} else if (size == 4 && off % 4 == 0) {
		uint32_t v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(vs_bus_dev *dev, uint64_t off, const void *data, unsigned size)
{
	vs_vmmio *t = dev->opaque;
	if (off >= REG_CONFIG) {
		/* Config space: only a device that has writable fields sees the
		 * write, and only whole, in-range, naturally aligned ones. */
		uint64_t c = off - REG_CONFIG;
		if (!t->ops->config_write || (size != 1 && size != 2 && size != 4) || c % size ||
		    c + size > t->config_len)
			return;
		pthread_mutex_lock(&t->lock);
		t->ops->config_write(t, (unsigned)c, data, size);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	/* Registers are 32-bit only (4.2.2.2). */
	if (size != 4 || off % 4)
		return;
	uint32_t v;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&t->lock);
	write_reg(t, off, v);
	pthread_mutex_unlock(&t->lock);
}

vs_vmmio *vs_vmmio_new(const vs_virtio_env *env, const vs_vmmio_ops *ops, void *priv, unsigned config_len,
		       vs_err *err)
{
	if (config_len > VS_VMMIO_CONFIG_MAX || ops->num_queues > VS_VMMIO_MAX_QUEUES)
		return vs_fail(err, EINVAL, "%s: bad device description", ops->name), NULL;
	vs_vmmio *t = calloc(1, sizeof(*t));
	if (!t)
		return vs_fail(err, ENOMEM, "%s: allocate device", ops->name), NULL;
	t->busdev = (vs_bus_dev){.name = ops->name,
				 .base = env->mmio_base,
				 .len = VS_VIRTIO_MMIO_SIZE,
				 .read = mmio_read,
				 .write = mmio_write,
				 .opaque = t};
	t->ops = ops;
	t->priv = priv;
	t->mem = env->mem;
	t->irq = env->irq;
	t->config_len = config_len;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

int vs_vmmio_attach(vs_vmmio *t, vs_bus *mmio, vs_err *err)
{
	return vs_bus_register(mmio, &t->busdev, err);
}

void vs_vmmio_free(vs_vmmio *t)
{
	if (!t)
		return;
	if (t->ops->destroy)
		t->ops->destroy(t);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void vs_virtio_destroy_all(vs_bus *mmio)
{
	pthread_mutex_lock(&mmio->lock);
	unsigned kept = 0;
	for (unsigned i = 0; i < mmio->n_devs; i++) {
		vs_bus_dev *d = mmio->devs[i];
		if (d->read == mmio_read)
			vs_vmmio_free(d->opaque);
		else
			mmio->devs[kept++] = d;
	}
	mmio->n_devs = kept;
	pthread_mutex_unlock(&mmio->lock);
}

static vs_vmmio *find_at(vs_bus *mmio, uint64_t base)
{
	for (unsigned i = 0; i < mmio->n_devs; i++)
		if (mmio->devs[i]->read == mmio_read && mmio->devs[i]->base == base)
			return mmio->devs[i]->opaque;
	return NULL;
}

void vs_virtio_freeze_all(vs_bus *mmio, bool frozen)
{
	pthread_mutex_lock(&mmio->lock);
	for (unsigned i = 0; i < mmio->n_devs; i++) {
		if (mmio->devs[i]->read != mmio_read)
			continue;
		vs_vmmio *t = mmio->devs[i]->opaque;
		pthread_mutex_lock(&t->lock);
		bool was = t->frozen;
		t->frozen = frozen;
		/* Thawed: let device threads look at their queues again. */
		if (was && !frozen && vs_vmmio_running(t) && t->ops->driver_ok)
			t->ops->driver_ok(t);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&mmio->lock);
}

int vs_virtio_save(vs_bus *mmio, uint64_t base, vs_snap_virtio *o, vs_err *err)
{
	vs_vmmio *t = find_at(mmio, base);
	if (!t)
		return vs_fail(err, ENODEV, "snapshot: no virtio device at 0x%" PRIx64, base);
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&t->lock);
	o->device_id = t->ops->device_id;
	o->status = t->status, o->isr = t->isr, o->config_gen = t->config_gen;
	o->device_features = offered_features(t), o->driver_features = t->driver_features;
	o->dev_feat_sel = t->dev_feat_sel, o->drv_feat_sel = t->drv_feat_sel, o->queue_sel = t->queue_sel;
	o->bad_features = t->bad_features, o->irq_level = t->irq_level;
	o->num_queues = (uint8_t)t->ops->num_queues;
	for (unsigned i = 0; i < t->ops->num_queues && i < VS_SNAP_MAX_QUEUES; i++) {
		const vs_vq *q = &t->vqs[i];
		o->vqs[i] = (vs_snap_vq){.num = q->num, .last_avail = q->last_avail, .used_idx = q->used_idx,
					 .ready = q->ready, .desc = q->desc_gpa, .avail = q->avail_gpa, .used = q->used_gpa};
	}
	if (t->ops->save)
		o->dev_len = (uint32_t)t->ops->save(t, o->dev, sizeof(o->dev));
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int restore_locked(vs_vmmio *t, const vs_snap_virtio *o, vs_err *err)
{
	if (o->device_id != t->ops->device_id || o->num_queues != t->ops->num_queues)
		return vs_fail(err, EINVAL, "%s: the snapshot has virtio device %u with %u queues here", t->ops->name,
			       o->device_id, o->num_queues);
	if (o->driver_features & ~offered_features(t))
		return vs_fail(err, EINVAL, "%s: the guest uses features 0x%" PRIx64 " the device does not offer now",
			       t->ops->name, o->driver_features & ~offered_features(t));
	t->status = o->status, t->isr = o->isr, t->config_gen = o->config_gen;
	t->driver_features = o->driver_features, t->bad_features = o->bad_features;
	t->dev_feat_sel = o->dev_feat_sel, t->drv_feat_sel = o->drv_feat_sel, t->queue_sel = o->queue_sel;
	t->irq_level = o->irq_level;
	bool indirect = vs_vmmio_has_feature(t, VS_VIRTIO_F_INDIRECT_DESC);
	for (unsigned i = 0; i < t->ops->num_queues; i++) {
		const vs_snap_vq *s = &o->vqs[i];
		vs_vq *q = &t->vqs[i];
		vs_vq_reset(q);
		q->num = s->num, q->desc_gpa = s->desc, q->avail_gpa = s->avail, q->used_gpa = s->used;
		if (!s->ready)
			continue;
		if (vs_vq_enable(q, t->mem, VS_VQ_MAX_SIZE, indirect, err) < 0)
			return vs_wrap(err, "%s: queue %u", t->ops->name, i);
		q->last_avail = s->last_avail, q->used_idx = s->used_idx;
	}
	if (t->ops->restore)
		return t->ops->restore(t, o->dev, o->dev_len, err);
	if (o->dev_len)
		return vs_fail(err, EINVAL, "%s: %u bytes of device state, expected none", t->ops->name, o->dev_len);
	return 0;
}

int vs_virtio_restore(vs_bus *mmio, uint64_t base, const vs_snap_virtio *o, vs_err *err)
{
	vs_vmmio *t = find_at(mmio, base);
	if (!t)
		return vs_fail(err, ENODEV, "restore: no virtio device at 0x%" PRIx64, base);
	pthread_mutex_lock(&t->lock);
	t->frozen = true; /* until the VM runs */
	int r = restore_locked(t, o, err);
	pthread_mutex_unlock(&t->lock);
	return r;
}

int vs_virtio_cmdline(const vs_virtio_env *env, char *buf, size_t len, vs_err *err)
{
	int n = snprintf(buf, len, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", env->mmio_base, env->irq.gsi);
	if (n < 0 || (size_t)n >= len)
		return vs_fail(err, ENOSPC, "virtio-mmio kernel parameter for 0x%" PRIx64, env->mmio_base);
	return 0;
}

const int *vs_virtio_syscalls(size_t *n)
{
	static const int calls[] = {
		SYS_read,      SYS_readv,     SYS_write,     SYS_writev,	    /* tap, eventfd, log */
		SYS_preadv,    SYS_pwritev,   SYS_fdatasync, SYS_fallocate,     /* virtio-blk */
		SYS_getrandom,						    /* virtio-rng */
		SYS_poll,      SYS_ppoll,     SYS_futex,     SYS_ioctl,	    /* RX thread, KVM_IRQ_LINE */
		SYS_clock_gettime,					    /* log time stamps, rate limiters */
		SYS_timerfd_settime,					    /* throttled queues */
		SYS_close,     SYS_madvise,   SYS_munmap,    SYS_exit, SYS_rt_sigprocmask, /* teardown */
	};
	*n = sizeof(calls) / sizeof(calls[0]);
	return calls;
}
