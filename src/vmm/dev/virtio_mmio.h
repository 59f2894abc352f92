/* virtio-mmio transport (virtio 1.2, 4.2, version 2 register layout), the
 * part shared by every virtio device file. A device fills a vs_vmmio_ops,
 * creates the transport, fills its config space and attaches it to the bus.
 * Internal to src/vmm/dev; the VMM only sees virtio.h. */
#ifndef VS_VMM_DEV_VIRTIO_MMIO_H
#define VS_VMM_DEV_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/dev/virtio.h"
#include "vmm/dev/virtqueue.h"

/* Feature bits (virtio 1.2, 6). */
#define VS_VIRTIO_F_INDIRECT_DESC 28
#define VS_VIRTIO_F_EVENT_IDX 29
#define VS_VIRTIO_F_VERSION_1 32

/* Device status bits (2.1). */
#define VS_VIRTIO_S_ACKNOWLEDGE 1
#define VS_VIRTIO_S_DRIVER 2
#define VS_VIRTIO_S_DRIVER_OK 4
#define VS_VIRTIO_S_FEATURES_OK 8
#define VS_VIRTIO_S_NEEDS_RESET 64
#define VS_VIRTIO_S_FAILED 128

/* InterruptStatus bits (4.2.2). */
#define VS_VIRTIO_INT_USED 1
#define VS_VIRTIO_INT_CONFIG 2

#define VS_VMMIO_MAX_QUEUES 3
#define VS_VMMIO_CONFIG_MAX 256

typedef struct vs_vmmio vs_vmmio;

typedef struct vs_vmmio_ops {
	const char *name; /* bus device name, e.g. "virtio-blk" */
	uint32_t device_id;
	unsigned num_queues;
	/* The driver notified queue q (ready, device running). Lock held. */
	void (*notify)(vs_vmmio *t, unsigned q);
	/* Optional, lock held: after a device reset / when DRIVER_OK is set. */
	void (*reset)(vs_vmmio *t);
	void (*driver_ok)(vs_vmmio *t);
	/* Optional, lock held: the driver wrote size bytes (1, 2 or 4) at
	 * offset off of the config space. Without it config is read-only. */
	void (*config_write)(vs_vmmio *t, unsigned off, const void *data, unsigned size);
	/* Stop threads and free priv and backends. Lock not held. */
	void (*destroy)(vs_vmmio *t);
	/* Optional, lock held: add the device's counters to *out. */
	void (*stats)(vs_vmmio *t, vs_dev_stats *out);
	/* Snapshots, lock held, both optional: the device's own state beyond
	 * the transport's (at most VS_SNAP_DEV_STATE_MAX bytes; returns the
	 * length), and putting it back into a freshly added device once the
	 * transport and its queues are restored. restore checks what it is given. */
	size_t (*save)(vs_vmmio *t, uint8_t *buf, size_t cap);
	int (*restore)(vs_vmmio *t, const uint8_t *buf, size_t len, vs_err *err);
} vs_vmmio_ops;

struct vs_vmmio {
	vs_bus_dev busdev;
	const vs_vmmio_ops *ops;
	void *priv;
	uint64_t device_features; /* device-specific bits, set before attach; the
				   * transport adds VERSION_1 and INDIRECT_DESC */
	const vs_gmem *mem;
	vs_irq irq;
	/* Guards everything below; MMIO callbacks and device threads take it. */
	pthread_mutex_t lock;
	uint32_t status, isr, config_gen;
	uint64_t driver_features;
	bool bad_features; /* driver wrote bits in a feature word we never offer */
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	bool irq_level;
	bool frozen; /* the VM is paused: device threads leave guest memory alone */
	vs_vq vqs[VS_VMMIO_MAX_QUEUES];
	uint8_t config[VS_VMMIO_CONFIG_MAX];
	unsigned config_len;
};

/* Allocate and initialise (not yet on the bus). */
vs_vmmio *vs_vmmio_new(const vs_virtio_env *env, const vs_vmmio_ops *ops, void *priv, unsigned config_len,
		       vs_err *err);
/* Register on env->mmio; on failure the caller frees with vs_vmmio_free. */
int vs_vmmio_attach(vs_vmmio *t, vs_bus *mmio, vs_err *err);
/* ops->destroy, then free. For devices never attached or removed from the bus. */
void vs_vmmio_free(vs_vmmio *t);

/* Lock held for all of these. */
bool vs_vmmio_running(const vs_vmmio *t);
bool vs_vmmio_has_feature(const vs_vmmio *t, unsigned bit);
/* Used buffers were added to queue q: interrupt unless the driver said not to. */
void vs_vmmio_used(vs_vmmio *t, unsigned q);
/* The config space changed (config_gen bumped; interrupt once running). */
void vs_vmmio_config_changed(vs_vmmio *t);
/* The guest broke the protocol: DEVICE_NEEDS_RESET + config interrupt. */
void vs_vmmio_broken(vs_vmmio *t, const vs_err *why);

#endif
