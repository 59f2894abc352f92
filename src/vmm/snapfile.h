/* The snapshot state file: the one place a snapshot's bytes are parsed.
 *
 * Layout (little-endian, x86-64 KVM ABI):
 *   0   magic "VSSNAPST"
 *   8   u32 format version (VS_SNAP_VERSION)
 *   12  u32 CRC-32 (IEEE) of bytes [16, file end)
 *   16  u64 file size
 *   24  u32 number of sections, u32 0
 *   32  section table: {u32 id, u32 instance, u64 offset, u64 length} each
 *   then the sections, 8-byte aligned, in table order, not overlapping.
 *
 * vs_snap_parse checks all of that (and refuses anything else with
 * "snapshot PATH: <what is wrong>"); the typed readers below check each
 * section's size, and the values of vessel's own structures (indices,
 * lengths, flags). KVM's structures go to KVM as they are: it validates
 * them itself. Nothing reads a section any other way. */
#ifndef VS_VMM_SNAPFILE_H
#define VS_VMM_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define VS_SNAP_MAGIC "VSSNAPST"
#define VS_SNAP_VERSION 1u
#define VS_SNAP_HEADER 32u
#define VS_SNAP_MAX_SECTIONS 1024u
#define VS_SNAP_MAX_SIZE (64u << 20) /* a state file is KiBs; anything this big is not ours */

typedef enum {
	VS_SNAP_MACHINE = 1, /* vs_snap_machine */
	VS_SNAP_REGS,        /* per vCPU: struct kvm_regs */
	VS_SNAP_SREGS,       /* struct kvm_sregs */
	VS_SNAP_FPU,         /* struct kvm_fpu (hosts without XSAVE) */
	VS_SNAP_XSAVE,       /* struct kvm_xsave (or the larger XSAVE2 area) */
	VS_SNAP_XCRS,        /* struct kvm_xcrs */
	VS_SNAP_MSRS,        /* struct kvm_msr_entry[] */
	VS_SNAP_CPUID,       /* struct kvm_cpuid_entry2[] */
	VS_SNAP_LAPIC,       /* struct kvm_lapic_state */
	VS_SNAP_EVENTS,      /* struct kvm_vcpu_events */
	VS_SNAP_MPSTATE,     /* struct kvm_mp_state */
	VS_SNAP_DEBUGREGS,   /* struct kvm_debugregs */
	VS_SNAP_TSC_KHZ,     /* u64 */
	VS_SNAP_IRQCHIP,     /* instance 0 PIC master, 1 PIC slave, 2 IOAPIC: struct kvm_irqchip */
	VS_SNAP_PIT,         /* struct kvm_pit_state2 */
	VS_SNAP_CLOCK,       /* struct kvm_clock_data */
	VS_SNAP_SERIAL,      /* vs_snap_serial */
	VS_SNAP_I8042,       /* vs_snap_i8042 */
	VS_SNAP_ACPI_PM,     /* vs_snap_acpi_pm */
	VS_SNAP_PVPANIC,     /* vs_snap_pvpanic */
	VS_SNAP_VIRTIO,      /* per virtio slot: vs_snap_virtio */
	VS_SNAP_VSOCK_CFG,   /* optional: vs_snap_vsock (the VM has a vsock device) */
	VS_SNAP_BALLOON_CFG, /* optional: vs_snap_balloon (the VM has a balloon) */
	VS_SNAP_RATELIMITS,  /* optional: vs_snap_ratelimits (a device has a rate limiter) */
	VS_SNAP_SECTION_END
} vs_snap_id;

/* ---- vessel's own structures (fixed layout; checked by the readers) ---- */

#define VS_SNAP_MAX_DEVS 12 /* VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS */
#define VS_SNAP_ID_MAX 64
#define VS_SNAP_PATH_MAX 4096

enum { VS_SNAP_DEV_BLOCK = 0, VS_SNAP_DEV_NET = 1 };
#define VS_SNAP_DEV_RO 1u
#define VS_SNAP_DEV_ROOT 2u

typedef struct vs_snap_device {
	uint32_t kind, flags;
	char id[VS_SNAP_ID_MAX];
	char path[VS_SNAP_PATH_MAX]; /* block: image; net: tap name */
	uint8_t mac[6], pad[2];
} vs_snap_device;

#define VS_SNAP_M_RING3 1u       /* a ring-3 test guest */
#define VS_SNAP_M_XSAVE 2u       /* the guest was shown XSAVE/AVX */
#define VS_SNAP_M_TRACK_DIRTY 4u /* dirty pages were tracked (diff snapshots) */
#define VS_SNAP_M_ALL 7u

typedef struct vs_snap_machine {
	uint32_t ncpus, flags;
	uint64_t mem_size;
	uint32_t n_devs, n_virtio; /* the devices; virtio slots (devices, entropy, then
				    * vsock and balloon when their sections are there) */
	vs_snap_device devs[VS_SNAP_MAX_DEVS];
} vs_snap_machine;

/* Optional parts of the machine description, each its own section, so a
 * snapshot without them is the same version-1 file as before (an older
 * vessel refuses one with them: its slot count no longer adds up). */
#define VS_SNAP_UDS_MAX 96 /* VS_VMM_UDS_MAX */
typedef struct vs_snap_vsock {
	uint64_t guest_cid;
	char uds_path[VS_SNAP_UDS_MAX];
	char id[VS_SNAP_ID_MAX];
} vs_snap_vsock;

#define VS_SNAP_BALLOON_DEFLATE_OOM 1u
typedef struct vs_snap_balloon {
	uint32_t amount_mib, stats_interval_s;
	uint32_t flags, pad;
} vs_snap_balloon;

/* Each device's limiters, in the machine description's device order:
 * drive limiter or net rx, then net tx; each its bandwidth and ops bucket
 * (size, one_time_burst, refill_ms; size or refill_ms 0 = none). */
typedef struct vs_snap_bucket {
	uint64_t size, one_time_burst, refill_ms;
} vs_snap_bucket;
typedef struct vs_snap_ratelimits {
	vs_snap_bucket b[VS_SNAP_MAX_DEVS][4]; /* rl.bw, rl.ops, tx_rl.bw, tx_rl.ops */
} vs_snap_ratelimits;

#define VS_SNAP_FIFO 16
typedef struct vs_snap_serial {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_err;
	uint8_t thre_pending, irq_level, rx_head, rx_len;
	uint8_t rx[VS_SNAP_FIFO];
} vs_snap_serial;

typedef struct vs_snap_i8042 {
	uint8_t ctr, out_len, pending_cmd, pad;
	uint8_t out[16];
} vs_snap_i8042;

typedef struct vs_snap_acpi_pm {
	uint16_t sts, en, cnt, pad;
} vs_snap_acpi_pm;

typedef struct vs_snap_pvpanic {
	uint32_t panicked, pad;
} vs_snap_pvpanic;

#define VS_SNAP_MAX_QUEUES 8
#define VS_SNAP_DEV_STATE_MAX 256
typedef struct vs_snap_vq {
	uint16_t num, last_avail, used_idx;
	uint8_t ready, pad;
	uint64_t desc, avail, used;
} vs_snap_vq;

typedef struct vs_snap_virtio {
	uint32_t device_id, status, isr, config_gen;
	uint64_t device_features, driver_features;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint8_t bad_features, irq_level, num_queues, pad;
	vs_snap_vq vqs[VS_SNAP_MAX_QUEUES];
	uint32_t dev_len, pad2;
	uint8_t dev[VS_SNAP_DEV_STATE_MAX]; /* the device's own state (vs_vmmio_ops.save) */
} vs_snap_virtio;

/* ---- writing ---- */

typedef struct vs_snapw_sect {
	uint32_t id, inst;
	uint8_t *data;
	size_t len;
} vs_snapw_sect;

typedef struct vs_snapw {
	vs_snapw_sect *s;
	size_t n, cap;
	bool oom;
} vs_snapw;

void vs_snapw_init(vs_snapw *w);
/* Copy a section in (an allocation failure is reported by finish). */
void vs_snapw_add(vs_snapw *w, uint32_t id, uint32_t inst, const void *data, size_t len);
/* The whole file, malloc'd, in *out; frees the sections either way. */
int vs_snapw_finish(vs_snapw *w, uint8_t **out, size_t *len, vs_err *err);
void vs_snapw_free(vs_snapw *w);

/* ---- reading ---- */

typedef struct vs_snap_sect {
	uint32_t id, inst;
	uint64_t off, len;
} vs_snap_sect;

typedef struct vs_snap {
	const uint8_t *buf;
	size_t len;
	const char *what; /* "snapshot /path", for messages */
	vs_snap_sect *sect;
	unsigned n;
} vs_snap;

/* Check the header, checksum and section table of buf[0..len) (not
 * copied: it must outlive s). name is the file's path, for messages. */
int vs_snap_parse(const uint8_t *buf, size_t len, const char *name, vs_snap *s, vs_err *err);
void vs_snap_free(vs_snap *s);

/* Section (id, inst) of exactly `want` bytes, copied to out. Absent or of
 * another size: fails, naming it. */
int vs_snap_get(const vs_snap *s, uint32_t id, uint32_t inst, void *out, size_t want, vs_err *err);
/* Whether the section is there. */
bool vs_snap_has(const vs_snap *s, uint32_t id, uint32_t inst);
/* A variable-size section: a whole number of `unit`-byte entries, at most
 * `max` of them (and at least one). Returns a pointer into the file. */
const void *vs_snap_get_array(const vs_snap *s, uint32_t id, uint32_t inst, size_t unit, size_t max, size_t *count,
			      vs_err *err);

/* Typed readers: the size and every value vessel itself relies on. */
int vs_snap_read_machine(const vs_snap *s, vs_snap_machine *m, vs_err *err);
int vs_snap_read_serial(const vs_snap *s, vs_snap_serial *out, vs_err *err);
int vs_snap_read_i8042(const vs_snap *s, vs_snap_i8042 *out, vs_err *err);
int vs_snap_read_virtio(const vs_snap *s, unsigned slot, vs_snap_virtio *out, vs_err *err);
/* The optional device configurations: 1 there (and valid), 0 absent, -1 bad.
 * vs_snap_read_machine already counts them in n_virtio. */
int vs_snap_read_vsock(const vs_snap *s, vs_snap_vsock *out, vs_err *err);
int vs_snap_read_balloon(const vs_snap *s, const vs_snap_machine *m, vs_snap_balloon *out, vs_err *err);
int vs_snap_read_ratelimits(const vs_snap *s, const vs_snap_machine *m, vs_snap_ratelimits *out, vs_err *err);

const char *vs_snap_section_name(uint32_t id);
uint32_t vs_crc32(uint32_t crc, const void *buf, size_t len);

#endif
