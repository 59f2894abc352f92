/* A tiny virtio-mmio *driver* for unit tests: guest memory, an MMIO bus, an
 * interrupt line that records its level, and helpers to negotiate features,
 * lay out split virtqueues in guest memory, post chains and read the used
 * ring — everything a guest kernel would do, without KVM. */
#ifndef VS_TEST_VIRTIO_DRIVER_H
#define VS_TEST_VIRTIO_DRIVER_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/dev/virtio.h"

#define TD_MEM_SIZE (16u << 20)
#define TD_BASE 0xd0000000ULL
#define TD_GSI 5
#define TD_DATA 0x100000ULL /* free guest memory for buffers */

/* Register offsets (virtio 1.2, 4.2.2). */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014,
	R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_NOTIFY = 0x050, R_ISR = 0x060, R_ACK = 0x064,
	R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094,
	R_USED_LO = 0x0a0, R_USED_HI = 0x0a4, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};
enum { S_ACK = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8, S_NEEDS_RESET = 64 };
enum { D_NEXT = 1, D_WRITE = 2, D_INDIRECT = 4 };
#define F_INDIRECT (1ULL << 28)
#define F_VERSION_1 (1ULL << 32)

typedef struct td_queue {
	uint64_t desc, avail, used;
	uint16_t num, avail_idx, used_seen;
} td_queue;

typedef struct td {
	vs_gmem mem;
	vs_bus bus;
	vs_virtio_env env;
	pthread_mutex_t irq_lock;
	int irq_level, irq_raises;
	td_queue q[3];
} td;

static void td_irq_set(void *vm, unsigned gsi, int level)
{
	td *d = vm;
	(void)gsi;
	pthread_mutex_lock(&d->irq_lock);
	if (level && !d->irq_level)
		d->irq_raises++;
	d->irq_level = level;
	pthread_mutex_unlock(&d->irq_lock);
}

static inline int td_irq(td *d)
{
	pthread_mutex_lock(&d->irq_lock);
	int l = d->irq_level;
	pthread_mutex_unlock(&d->irq_lock);
	return l;
}

static inline int td_init(td *d)
{
	memset(d, 0, sizeof(*d));
	if (vs_gmem_init(&d->mem, TD_MEM_SIZE, NULL) < 0)
		return -1;
	vs_bus_init(&d->bus, "mmio");
	pthread_mutex_init(&d->irq_lock, NULL);
	d->env = (vs_virtio_env){.mem = &d->mem, .mmio = &d->bus,
				 .irq = {.set = td_irq_set, .vm = d, .gsi = TD_GSI}, .mmio_base = TD_BASE};
	return 0;
}

static inline void td_fini(td *d)
{
	vs_virtio_destroy_all(&d->bus);
	vs_gmem_destroy(&d->mem);
	pthread_mutex_destroy(&d->bus.lock);
	pthread_mutex_destroy(&d->irq_lock);
}

static inline void *td_ptr(td *d, uint64_t gpa, uint64_t len)
{
	return vs_gmem_ptr(&d->mem, gpa, len, NULL);
}

static inline uint32_t td_r32(td *d, uint64_t off)
{
	uint32_t v = 0;
	vs_bus_access(&d->bus, TD_BASE + off, &v, 4, 0);
	return v;
}

static inline void td_w32(td *d, uint64_t off, uint32_t v)
{
	vs_bus_access(&d->bus, TD_BASE + off, &v, 4, 1);
}

static inline uint64_t td_device_features(td *d)
{
	td_w32(d, R_DEV_FEAT_SEL, 1);
	uint64_t f = (uint64_t)td_r32(d, R_DEV_FEAT) << 32;
	td_w32(d, R_DEV_FEAT_SEL, 0);
	return f | td_r32(d, R_DEV_FEAT);
}

/* Status sequence up to FEATURES_OK; returns the status read back. */
static inline uint32_t td_negotiate(td *d, uint64_t features)
{
	td_w32(d, R_STATUS, 0);
	td_w32(d, R_STATUS, S_ACK);
	td_w32(d, R_STATUS, S_ACK | S_DRIVER);
	td_w32(d, R_DRV_FEAT_SEL, 0);
	td_w32(d, R_DRV_FEAT, (uint32_t)features);
	td_w32(d, R_DRV_FEAT_SEL, 1);
	td_w32(d, R_DRV_FEAT, (uint32_t)(features >> 32));
	td_w32(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return td_r32(d, R_STATUS);
}

/* Lay out queue qi (rings zeroed) at a fixed spot and mark it ready. */
static inline void td_queue_setup(td *d, unsigned qi, uint16_t num)
{
	td_queue *q = &d->q[qi];
	q->desc = 0x10000 + qi * 0x4000ULL;
	q->avail = q->desc + 0x1000;
	q->used = q->desc + 0x2000;
	q->num = num;
	q->avail_idx = q->used_seen = 0;
	memset(td_ptr(d, q->desc, 0x3000), 0, 0x3000);
	td_w32(d, R_QUEUE_SEL, qi);
	td_w32(d, R_QUEUE_NUM, num);
	td_w32(d, R_DESC_LO, (uint32_t)q->desc);
	td_w32(d, R_DESC_HI, 0);
	td_w32(d, R_AVAIL_LO, (uint32_t)q->avail);
	td_w32(d, R_AVAIL_HI, 0);
	td_w32(d, R_USED_LO, (uint32_t)q->used);
	td_w32(d, R_USED_HI, 0);
	td_w32(d, R_QUEUE_READY, 1);
}

/* Full bring-up: negotiate `features`, set up nq queues, DRIVER_OK. */
static inline uint32_t td_start(td *d, uint64_t features, unsigned nq, uint16_t num)
{
	td_negotiate(d, features);
	for (unsigned i = 0; i < nq; i++)
		td_queue_setup(d, i, num);
	td_w32(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return td_r32(d, R_STATUS);
}

/* Write descriptor i of a table at gpa `table`. */
static inline void td_desc_at(td *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			      uint16_t next)
{
	uint8_t *p = td_ptr(d, table + 16ULL * i, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static inline void td_desc(td *d, unsigned qi, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	td_desc_at(d, d->q[qi].desc, i, addr, len, flags, next);
}

/* Make head available (does not notify). */
static inline void td_post(td *d, unsigned qi, uint16_t head)
{
	td_queue *q = &d->q[qi];
	uint16_t *avail = td_ptr(d, q->avail, 4 + 2ULL * q->num);
	avail[2 + q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_store_n(&avail[1], q->avail_idx, __ATOMIC_RELEASE);
}

static inline void td_notify(td *d, unsigned qi)
{
	td_w32(d, R_NOTIFY, qi);
}

/* Next used element, if any: returns 1 and fills id/len. */
static inline int td_used(td *d, unsigned qi, uint32_t *id, uint32_t *len)
{
	td_queue *q = &d->q[qi];
	uint16_t *used = td_ptr(d, q->used, 4 + 8ULL * q->num);
	if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == q->used_seen)
		return 0;
	uint32_t *elem = (uint32_t *)(used + 2) + 2 * (q->used_seen % q->num);
	*id = elem[0];
	*len = elem[1];
	q->used_seen++;
	return 1;
}

/* Wait (for device threads) up to ~10 s for a used element; a deadline for
 * failure only, never a timing assertion. */
static inline int td_wait_used(td *d, unsigned qi, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < 10000; i++) {
		if (td_used(d, qi, id, len))
			return 1;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	return 0;
}

/* Snapshot tests: a second driver whose guest memory and queue layout are
 * a copy of d's, as a restore maps them from the memory file. */
static inline int td_clone(td *to, td *from)
{
	if (td_init(to) < 0)
		return -1;
	memcpy(to->mem.regions[0].host, from->mem.regions[0].host, from->mem.regions[0].size);
	memcpy(to->q, from->q, sizeof(to->q));
	return 0;
}

/* cmocka fixture: a driver with one entropy device at TD_BASE. */
static inline int td_rng_setup(void **state)
{
	td *d = calloc(1, sizeof(*d));
	if (!d || td_init(d) < 0)
		return -1;
	vs_err err = {0};
	if (vs_virtio_rng_add(&d->env, &err) < 0)
		return -1;
	*state = d;
	return 0;
}

static inline int td_rng_teardown(void **state)
{
	td *d = *state;
	td_fini(d);
	free(d);
	return 0;
}

#endif
