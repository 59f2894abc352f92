/* The microVM engine: a handle with an explicit lifecycle.
 *
 *   vs_vmm_new -> vs_vmm_set_boot / set_machine / put_drive / put_net
 *   -> vs_vmm_start -> vs_vmm_pause / vs_vmm_resume -> (guest stops, or
 *   vs_vmm_stop) -> vs_vmm_wait returns the result -> vs_vmm_destroy
 *
 * Every call but vs_vmm_wait may come from any thread (the CLI's main
 * thread or an API thread); state changes are serialised by the handle.
 * The thread that created the handle (the owner) builds the VM and runs
 * vs_vmm_wait, the VMM's own loop (console input, SIGINT/SIGTERM, the
 * panic grace period); vs_vmm_start from another thread is handed to it
 * (so that thread may be jailed tighter) and waits for the outcome. */
#ifndef VS_VMM_VMM_H
#define VS_VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/devstats.h"
#include "vmm/ratelimit.h"

/* Exit statuses of `vessel vm run` (also vs_vmm_result.status). */
enum {
	VS_VM_EXIT_OK = 0,     /* guest powered off or rebooted */
	VS_VM_EXIT_VMM = 1,    /* the VMM failed (bad image, no KVM, ...) */
	VS_VM_EXIT_PANIC = 3,  /* guest kernel panicked */
	VS_VM_EXIT_CRASH = 4,  /* guest crashed the CPU (triple fault) or broke the VMM contract */
	VS_VM_EXIT_KVM = 5,    /* KVM reported an error (internal error, failed entry) */
	/* 128 + signal number: stopped by SIGINT/SIGTERM. */
};

#define VS_VMM_MAX_CPUS 32
#define VS_VMM_MAX_DISKS 8
#define VS_VMM_MAX_NETS 4
#define VS_VMM_ID_MAX 64       /* device ids, with the NUL */
#define VS_VMM_PATH_MAX 4096
#define VS_VMM_CMDLINE_MAX 2048
#define VS_VMM_DEFAULT_MEMORY (256ull << 20)

typedef enum {
	VS_VMM_NOT_STARTED = 0,
	VS_VMM_RUNNING,
	VS_VMM_PAUSED,
	VS_VMM_STOPPED,
} vs_vmm_state;

typedef enum { VS_VMM_DEV_BLOCK, VS_VMM_DEV_NET } vs_vmm_dev_kind;

/* One device of the machine, as data. Virtio slots are given at start:
 * every block device in the order put, then every network device, then
 * the entropy device (slot i: MMIO 0xd0000000 + i*4K, GSI 5 + i). */
typedef struct vs_vmm_device {
	vs_vmm_dev_kind kind;
	char id[VS_VMM_ID_MAX];
	char path[VS_VMM_PATH_MAX]; /* block: image file; net: tap device name */
	bool readonly, root;        /* block */
	uint8_t mac[6];             /* net */
	vs_rl_cfg rl;               /* block: the drive's limiter; net: rx */
	vs_rl_cfg tx_rl;            /* net: tx */
} vs_vmm_device;

/* The socket device (Firecracker's vsock: host side on Unix sockets). */
#define VS_VMM_UDS_MAX 96 /* uds_path, with the NUL; "_<port>" must still fit a sun_path */
typedef struct vs_vmm_vsock {
	bool on;
	uint32_t guest_cid;        /* >= 3 */
	char uds_path[VS_VMM_UDS_MAX];
	char id[VS_VMM_ID_MAX];    /* Firecracker's deprecated vsock_id, kept for GET */
} vs_vmm_vsock;

/* The memory balloon. */
typedef struct vs_vmm_balloon {
	bool on;
	uint32_t amount_mib;       /* target: memory the guest gives back */
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: no statistics */
} vs_vmm_balloon;

/* What the balloon reports (vs_vmm_balloon_get). */
enum { VS_BSTAT_SWAP_IN, VS_BSTAT_SWAP_OUT, VS_BSTAT_MAJFLT, VS_BSTAT_MINFLT, VS_BSTAT_MEMFREE,
       VS_BSTAT_MEMTOT, VS_BSTAT_AVAIL, VS_BSTAT_CACHES, VS_BSTAT_HTLB_PGALLOC, VS_BSTAT_HTLB_PGFAIL,
       VS_BSTAT_N };
typedef struct vs_vmm_balloon_stats {
	vs_vmm_balloon cfg;        /* amount_mib = the current target */
	uint32_t target_pages, actual_pages; /* 4 KiB pages */
	uint64_t stats[VS_BSTAT_N];
	uint16_t have;             /* bit i: the guest reported stats[i] */
} vs_vmm_balloon_stats;
/* Counters of the running machine, for metrics (the front end formats). */
typedef struct vs_vmm_metrics {
	unsigned n_devs; /* as spec.devs */
	struct {
		vs_vmm_dev_kind kind;
		char id[VS_VMM_ID_MAX];
		vs_dev_stats st;
	} devs[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	/* Summed over the vCPUs. */
	uint64_t exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write;
} vs_vmm_metrics;

/* What the VM is made of (a copy, from vs_vmm_describe). */
typedef struct vs_vmm_spec {
	char kernel[VS_VMM_PATH_MAX]; /* bzImage / ELF vmlinux, or the ring-3 binary */
	char initrd[VS_VMM_PATH_MAX]; /* "" = none */
	char cmdline[VS_VMM_CMDLINE_MAX];
	bool ring3;                   /* kernel is a flat ring-3 test guest */
	bool track_dirty;             /* log dirty pages, for diff snapshots */
	unsigned cpus;
	uint64_t mem_size;
	vs_vmm_device devs[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	unsigned n_devs;
	vs_vmm_vsock vsock;
	vs_vmm_balloon balloon;
} vs_vmm_spec;

/* How the engine runs (fixed for the handle's life). */
typedef struct vs_vmm_options {
	bool console;         /* serial <-> in_fd/out_fd; false = output discarded */
	int in_fd, out_fd;
	bool no_jail;         /* skip the seccomp filter (debugging) */
	bool allow_pvm;       /* try to boot a kernel even on a PVM host */
	int xsave;            /* -1: decide (vs_cpuid_xsave_usable), 0: hide XSAVE/AVX, 1: expose */
	const int *jail_extra; /* more syscalls the VMM and vCPU threads need after start */
	size_t n_jail_extra;
} vs_vmm_options;

typedef struct vs_vmm_result {
	int status;           /* VS_VM_EXIT_* or 128+signal or a test guest's value */
	char msg[256];        /* why, for statuses other than 0 */
	uint64_t startup_cpu_ns; /* process CPU time until the first KVM_RUN */
	uint64_t max_rss_kib;    /* peak RSS of the process */
	uint64_t guest_rss_kib;  /* resident guest RAM at the end */
	char cmdline[512];       /* the kernel command line used (truncated) */
} vs_vmm_result;

typedef struct vs_vmm vs_vmm;

/* A machine with 1 vCPU, 256 MiB and no boot source. Blocks SIGINT and
 * SIGTERM on the calling thread (threads created later inherit that) so
 * that vs_vmm_wait gets them; vs_vmm_destroy restores the mask. */
vs_vmm *vs_vmm_new(const vs_vmm_options *opts, vs_err *err);
void vs_vmm_destroy(vs_vmm *m);

/* Pre-boot configuration: each fails (state unchanged) after start, or
 * with VS_EINVAL_CONFIG on a bad value. */
int vs_vmm_set_boot(vs_vmm *m, const char *kernel, const char *initrd, const char *cmdline, bool ring3,
		    vs_err *err);
int vs_vmm_set_machine(vs_vmm *m, unsigned cpus, uint64_t mem_size, vs_err *err);
/* Add a device, or replace the one of the same kind with the same id. */
int vs_vmm_put_device(vs_vmm *m, const vs_vmm_device *dev, vs_err *err);

/* Pre-boot: the socket device (replaced if set again); the balloon. */
int vs_vmm_set_vsock(vs_vmm *m, const vs_vmm_vsock *v, vs_err *err);
int vs_vmm_set_balloon(vs_vmm *m, const vs_vmm_balloon *b, vs_err *err);
/* Before or after boot: a new balloon target (the guest is told at once). */
int vs_vmm_balloon_target(vs_vmm *m, uint32_t amount_mib, vs_err *err);
/* After boot: the statistics period; it cannot turn statistics on or off
 * (the device offered the statistics queue or not at boot). */
int vs_vmm_balloon_interval(vs_vmm *m, uint32_t seconds, vs_err *err);
/* The balloon's configuration and, once running, what the guest reported. */
int vs_vmm_balloon_get(vs_vmm *m, vs_vmm_balloon_stats *out, vs_err *err);
/* Live (running or paused), as Firecracker's PATCH: the device of this
 * kind and id gets a new backing file (block; NULL: keep) and/or rate
 * limiters (NULL: keep; net: rl = rx, tx_rl = tx). Files are opened by
 * the calling thread. */
int vs_vmm_update_device(vs_vmm *m, vs_vmm_dev_kind kind, const char *id, const char *path,
			 const vs_rl_update *rl, const vs_rl_update *tx_rl, vs_err *err);
/* The counters so far (all zero before start). */
void vs_vmm_metrics_of(vs_vmm *m, vs_vmm_metrics *out);
/* Dirty page tracking (the base of diff snapshots), pre-boot. */
int vs_vmm_set_track_dirty(vs_vmm *m, bool on, vs_err *err);

/* Check the request and its files (before /dev/kvm), then the host's KVM,
 * build the VM and start its vCPUs. On failure nothing is left running
 * and the configuration can be fixed and started again. */
int vs_vmm_start(vs_vmm *m, vs_err *err);
/* Stop guest execution (every vCPU out of KVM_RUN and parked) / let it go
 * on. Pausing a paused VM or resuming a running one is a no-op. */
int vs_vmm_pause(vs_vmm *m, vs_err *err);
int vs_vmm_resume(vs_vmm *m, vs_err *err);
/* Press Ctrl+Alt+Del on the i8042 keyboard. */
int vs_vmm_ctrl_alt_del(vs_vmm *m, vs_err *err);
/* End the run (from any thread): vs_vmm_wait returns `status`. */
void vs_vmm_stop(vs_vmm *m, int status, const char *why);

/* Snapshots. The caller opens the files (the engine may be jailed and
 * open nothing): writable for a snapshot, readable for a restore; the
 * engine truncates, once it knows the memory file is not the one the VM's
 * memory is mapped from. The paths only name the files in messages. */
typedef enum { VS_VMM_SNAP_FULL, VS_VMM_SNAP_DIFF } vs_vmm_snap_type;
typedef struct vs_vmm_snap_files {
	int state_fd, mem_fd;
	const char *state_path, *mem_path;
} vs_vmm_snap_files;
/* The VM must be paused (and stays so). Full: the state and all of guest
 * memory; Diff: the state and only the pages written since the last
 * snapshot (or the restore), at their offsets in the memory file, which is
 * either new (then sparse: merge it onto the base) or the base itself
 * (then updated in place). Diff needs dirty tracking and a base. */
int vs_vmm_snapshot(vs_vmm *m, const vs_vmm_snap_files *f, vs_vmm_snap_type type, vs_err *err);
/* Instead of start, on a handle with nothing configured: the machine the
 * snapshot describes, its memory mapped from the memory file (MAP_PRIVATE:
 * pages come in on demand, the file is never written), every state put
 * back; then running, or paused. A bad snapshot is refused before any of
 * the machine exists; nothing is left of a failed restore. */
int vs_vmm_restore(vs_vmm *m, const vs_vmm_snap_files *f, bool resume, bool track_dirty, vs_err *err);

/* Live migration (migrate_send.c, migrate_recv.c; the stream is
 * migstream.h). The source: pre-copy to `dest` ("unix:PATH" or
 * "tcp:HOST:PORT") while the guest runs (round 0 all of memory, then the
 * pages dirtied meanwhile, KVM's dirty log), until the dirty set fits the
 * downtime budget or max_rounds; then pause, the last pages and the
 * device/vCPU state (a snapshot state file), and the destination's
 * "running". Then the run ends (vs_vmm_wait: status 0, "migrated"). Any
 * failure before that resumes the guest as it was and fails. Blocks the
 * calling thread; the work is done by the migration thread (own jail) and
 * the owner (pause, state). */
typedef struct vs_vmm_mig_params {
	char dest[128];
	uint32_t max_downtime_ms; /* 0: 300 (QEMU's default) */
	uint32_t max_rounds;      /* 0: 30 dirty rounds after round 0 */
} vs_vmm_mig_params;
typedef enum { VS_MIG_IDLE = 0, VS_MIG_ACTIVE, VS_MIG_COMPLETED, VS_MIG_FAILED } vs_vmm_mig_state;
typedef struct vs_vmm_mig_stats {
	vs_vmm_mig_state state;
	char dest[128];
	uint32_t max_downtime_ms;
	uint32_t rounds;          /* dirty rounds after round 0 */
	uint64_t bytes;           /* sent on the stream */
	uint64_t pages, zero_pages; /* page contents sent / pages sent as zero */
	uint64_t last_dirty_pages;  /* the set sent with the guest paused */
	uint64_t total_us, downtime_us; /* start to end; guest paused to "running" */
	uint64_t downtime_source_us;    /* of which: paused to the last byte sent */
	uint64_t dest_restore_us;       /* of which: the destination's END to running */
	uint64_t state_bytes;
	char error[512];
} vs_vmm_mig_stats;
int vs_vmm_migrate(vs_vmm *m, const vs_vmm_mig_params *p, vs_vmm_mig_stats *out, vs_err *err);
/* The current or last migration (state IDLE if none). */
void vs_vmm_migrate_status(vs_vmm *m, vs_vmm_mig_stats *out);
/* The destination, instead of start, on a handle with nothing configured:
 * read a migration stream from the connected socket `fd` (the caller
 * accepted it; `what` names it), build the machine it describes, put its
 * memory and state in, resume it and answer "running" (or an error frame
 * with the reason). A bad or cut stream is refused before any of the
 * machine exists. SIGINT/SIGTERM interrupt the wait. */
int vs_vmm_incoming(vs_vmm *m, int fd, const char *what, vs_vmm_mig_stats *out, vs_err *err);

vs_vmm_state vs_vmm_state_of(vs_vmm *m);
/* The seccomp jail is on (the VM started without no_jail): the process may
 * open and unlink nothing any more. */
bool vs_vmm_jailed(vs_vmm *m);
void vs_vmm_describe(vs_vmm *m, vs_vmm_spec *out);

/* On the creating thread: wait for start (or a stop or signal before it),
 * run until the guest stops, join the vCPUs and fill *res. Returns -1 only
 * if the VMM itself could not run its loop. */
int vs_vmm_wait(vs_vmm *m, vs_vmm_result *res, vs_err *err);

/* Guest memory: at least this much, whole 4 KiB pages, no more than the
 * host's RAM. `what` names the value in the message ("memory 1T"). */
#define VS_VMM_MIN_MEMORY (16ull << 20)
int vs_vmm_check_memory(uint64_t size, const char *what, vs_err *err);

/* Build the kernel command line: machine defaults + user part. */
int vs_vmm_cmdline(const char *user, char *buf, size_t len, vs_err *err);

#endif
