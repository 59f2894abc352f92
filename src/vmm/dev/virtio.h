/* virtio devices of the microVM engine: virtio-mmio (version 2, virtio 1.2)
 * transport with block, net (TAP), entropy, socket (vsock) and balloon
 * devices.
 *
 * Each *_add() registers a 0x1000-byte MMIO window at env->mmio_base on
 * env->mmio and drives env->irq as a level-triggered line: raised while
 * InterruptStatus is non-zero, lowered once the guest acks everything via
 * InterruptACK (or resets the device). The guest learns about a device from
 * the kernel command line, see vs_virtio_cmdline().
 *
 * Lifetime: devices live until vs_virtio_destroy_all() on the same bus,
 * which stops device threads (devthread.h), closes backends, unregisters the
 * windows from the bus and frees everything. Call it before destroying the
 * guest memory and the bus; no vCPU may be inside an MMIO access then. */
#ifndef VS_VMM_DEV_VIRTIO_H
#define VS_VMM_DEV_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/bus.h"
#include "vmm/devstats.h"
#include "vmm/memory.h"
#include "vmm/ratelimit.h"
#include "vmm/snapfile.h"

#define VS_VIRTIO_MMIO_SIZE 0x1000

typedef struct vs_virtio_env {
	const vs_gmem *mem;
	vs_bus *mmio;
	vs_irq irq;
	uint64_t mmio_base;
	bool jail;   /* a device thread loads the VMM seccomp filter itself (vmm/jail.h) */
} vs_virtio_env;

/* A device once added, for live changes and counters (owned by the bus). */
typedef struct vs_vmmio vs_virtio_dev;


/* Raw disk image at path; capacity = file size / 512 (rounded down). With
 * readonly the file is opened O_RDONLY, VIRTIO_BLK_F_RO is offered and
 * writes/discards complete with VIRTIO_BLK_S_IOERR. rl (NULL: none) limits
 * bytes and requests; a held-back queue is taken up again by the device's
 * own thread when its timer fires, never by blocking a vCPU. */
int vs_virtio_blk_add(const vs_virtio_env *env, const char *path, bool readonly, const vs_rl_cfg *rl,
		      vs_virtio_dev **out, vs_err *err);
/* Live: change the rate limiter (rl NULL: keep) and/or the backing file
 * (path NULL: keep; same read-only mode; the guest gets a config-change
 * interrupt with the new capacity). The file is opened by the caller's
 * thread. */
int vs_virtio_blk_update(vs_virtio_dev *d, const vs_rl_update *rl, const char *path, vs_err *err);

/* Attach to (or create) the TAP interface tap_name; mac goes to the config
 * space. Starts one RX thread per device, which also takes up queues held
 * back by the rx / tx rate limiters (NULL: none). */
int vs_virtio_net_add(const vs_virtio_env *env, const char *tap_name, const uint8_t mac[6], const vs_rl_cfg *rx,
		      const vs_rl_cfg *tx, vs_virtio_dev **out, vs_err *err);
/* Live: change the rx and/or tx rate limiter (NULL: keep). */
int vs_virtio_net_update(vs_virtio_dev *d, const vs_rl_update *rx, const vs_rl_update *tx, vs_err *err);

/* The device's counters so far (zero for devices without any). */
void vs_virtio_stats_of(vs_virtio_dev *d, vs_dev_stats *out);

/* Entropy device backed by getrandom(). */
int vs_virtio_rng_add(const vs_virtio_env *env, vs_err *err);

/* Socket device (virtio 1.2, 5.10) with Firecracker's host side: listens
 * on uds_path (which must not exist; left in place, the caller removes it)
 * for "CONNECT <port>\n" from host programs, and connects guest streams to
 * host port P to "<uds_path>_<P>". guest_cid >= 3. Starts one thread with
 * its own seccomp list (vs_jail_apply_vsock) when env->jail. */
int vs_virtio_vsock_add(const vs_virtio_env *env, uint64_t guest_cid, const char *uds_path, vs_err *err);

/* Memory balloon (virtio 1.2, 5.5): pages the guest gives back are
 * returned to the host (MADV_DONTNEED). The handle lives until
 * vs_virtio_destroy_all; its calls may come from any thread. */
typedef struct vs_balloon vs_balloon;
typedef struct vs_balloon_config {
	uint32_t target_pages;       /* 4 KiB pages the guest should give back */
	bool deflate_on_oom;         /* VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
	uint32_t stats_interval_s;   /* 0: no statistics queue */
} vs_balloon_config;
/* Statistics tags (5.5.6.3): SWAP_IN .. HUGETLB_FAILURES. */
#define VS_BALLOON_N_STATS 10
typedef struct vs_balloon_info {
	uint32_t target_pages, actual_pages;
	uint32_t stats_interval_s;
	uint64_t stats[VS_BALLOON_N_STATS];
	uint16_t have;               /* bit i: stats[i] was reported */
} vs_balloon_info;
vs_balloon *vs_virtio_balloon_add(const vs_virtio_env *env, const vs_balloon_config *cfg, vs_err *err);
void vs_balloon_set_target(vs_balloon *b, uint32_t pages);
void vs_balloon_set_interval(vs_balloon *b, uint32_t seconds);
void vs_balloon_get(vs_balloon *b, vs_balloon_info *out);

/* Stop and free every virtio device registered on mmio (see above). */
void vs_virtio_destroy_all(vs_bus *mmio);

/* Pause/resume: a frozen device takes nothing from its queues (the net RX
 * thread waits), so guest memory and queue state hold still. */
void vs_virtio_freeze_all(vs_bus *mmio, bool frozen);

/* Snapshot of the device whose window starts at `base`: the transport,
 * its queues and the device's own state. Restore goes into a device just
 * added with the same configuration, with a state vs_snap_read_virtio
 * checked; rings are checked again against guest memory. */
int vs_virtio_save(vs_bus *mmio, uint64_t base, vs_snap_virtio *out, vs_err *err);
int vs_virtio_restore(vs_bus *mmio, uint64_t base, const vs_snap_virtio *in, vs_err *err);

/* Linux kernel parameter announcing the device at env: writes
 * "virtio_mmio.device=4K@0x<base>:<gsi>" into buf. Fails if buf is short. */
int vs_virtio_cmdline(const vs_virtio_env *env, char *buf, size_t len, vs_err *err);

/* Syscalls the device code needs at run time after all devices were added
 * (MMIO callbacks on vCPU threads and the net RX threads), for the VMM's
 * seccomp allow-list. Returns a static array of syscall numbers; *n gets
 * its length. Thread creation happens in *_add(), before any jail. */
const int *vs_virtio_syscalls(size_t *n);

#endif
