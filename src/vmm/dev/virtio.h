/* virtio devices of the microVM engine: virtio-mmio (version 2, virtio 1.2)
 * transport with block, net (TAP) and entropy devices.
 *
 * Each *_add() registers a 0x1000-byte MMIO window at env->mmio_base on
 * env->mmio and drives env->irq as a level-triggered line: raised while
 * InterruptStatus is non-zero, lowered once the guest acks everything via
 * InterruptACK (or resets the device). The guest learns about a device from
 * the kernel command line, see vs_virtio_cmdline().
 *
 * Lifetime: devices live until vs_virtio_destroy_all() on the same bus,
 * which stops device threads (net RX), closes backends, unregisters the
 * windows from the bus and frees everything. Call it before destroying the
 * guest memory and the bus; no vCPU may be inside an MMIO access then. */
#ifndef VS_VMM_DEV_VIRTIO_H
#define VS_VMM_DEV_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/bus.h"
#include "vmm/memory.h"
#include "vmm/snapfile.h"

#define VS_VIRTIO_MMIO_SIZE 0x1000

typedef struct vs_virtio_env {
	const vs_gmem *mem;
	vs_bus *mmio;
	vs_irq irq;
	uint64_t mmio_base;
	bool jail;   /* a device thread loads the VMM seccomp filter itself (vmm/jail.h) */
} vs_virtio_env;

/* Raw disk image at path; capacity = file size / 512 (rounded down). With
 * readonly the file is opened O_RDONLY, VIRTIO_BLK_F_RO is offered and
 * writes/discards complete with VIRTIO_BLK_S_IOERR. */
int vs_virtio_blk_add(const vs_virtio_env *env, const char *path, bool readonly, vs_err *err);

/* Attach to (or create) the TAP interface tap_name; mac goes to the config
 * space. Starts one RX thread per device. */
int vs_virtio_net_add(const vs_virtio_env *env, const char *tap_name, const uint8_t mac[6], vs_err *err);

/* Entropy device backed by getrandom(). */
int vs_virtio_rng_add(const vs_virtio_env *env, vs_err *err);

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
