/* Inside the engine: the handle, shared by vmm.c (lifecycle, main loop)
 * and vmm_build.c (checking the request, building the machine). */
#ifndef VS_VMM_VMM_INT_H
#define VS_VMM_VMM_INT_H

#include <pthread.h>
#include <signal.h>

#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/console.h"
#include "vmm/dev/legacy.h"
#include "vmm/dev/serial.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

/* The guest's files, mapped before /dev/kvm is touched so that a missing
 * or broken file is reported as such. */
typedef struct vs_guest_files {
	char *kernel, *initrd;
	size_t klen, ilen;
} vs_guest_files;

struct vs_vmm {
	vs_vmm_options opts;
	pthread_mutex_t mu;      /* state, spec, and every transition */
	pthread_t owner;         /* the thread that made the handle: builds the VM and runs vs_vmm_wait */
	/* vs_vmm_start from another thread (the API) is done by the owner. */
	/* A call handed to the owner (start, restore, snapshot): it runs
	 * req_fn under mu and sets req_done. */
	pthread_cond_t start_cv;
	int (*req_fn)(vs_vmm *m, void *arg, vs_err *err);
	void *req_arg;
	bool req_done;
	int req_rc;
	vs_err req_err;
	vs_vmm_state state;
	vs_vmm_spec spec;
	bool have_boot;
	bool jailed;
	int wake_efd;            /* written on start and stop: wakes vs_vmm_wait */
	int sigfd;               /* SIGINT/SIGTERM */
	sigset_t old_mask;
	_Atomic int stop_pending; /* vs_vmm_stop before start: status + 1 */
	char stop_why[128];

	/* The machine, from start on. */
	bool built;
	vs_vm vm;
	vs_vcpu vcpus[VS_VMM_MAX_CPUS];
	unsigned ncpus, made;
	vs_serial serial;
	vs_i8042 i8042;
	vs_acpi_pm pm;
	vs_pvpanic pvpanic;
	vs_debug_exit dbg;
	vs_console console;
	vs_acpi_config acpi;
	bool virtio_added;
	bool vsock_bound;        /* our uds_path socket exists: remove it unless jailed */
	struct vs_balloon *balloon; /* the device, while built */
	struct vs_vmmio *devh[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS]; /* running device of spec.devs[i] */
	pthread_mutex_t gate_mu; /* vCPU threads wait until the jail is on */
	pthread_cond_t gate_cv;
	bool gate_open;
	unsigned started;        /* vCPU threads created */
	unsigned ready;          /* vCPU threads at the gate (jailed if jail_on) */
	bool jail_on, jail_failed;
	vs_err jail_err;
	int jail_extra[128];     /* the devices' and the front end's extra syscalls */
	size_t n_jail_extra;
	char cmdline[512];
	/* Snapshots: a base exists (a snapshot was taken or restored), so a
	 * diff means something; the memory file this VM's RAM is mapped from. */
	bool snap_base;
	bool mem_from_file;
	uint64_t mem_dev, mem_ino;
	struct vs_mig *mig;      /* the migration thread (migrate_send.c), from start on */
};

/* vmm_live.c: a rate limiter's values are within what the buckets take. */
int vs_vmm_check_rl(const char *what, const char *id, const vs_rl_cfg *c, vs_err *err);

/* vmm_build.c */
int vs_vmm_map_files(const vs_vmm_spec *s, vs_guest_files *f, vs_err *err);
void vs_vmm_unmap_files(vs_guest_files *f);
int vs_vmm_check_disks(const vs_vmm_spec *s, vs_err *err);
int vs_vmm_check_kvm(const vs_vmm_spec *s, bool allow_pvm, vs_err *err);
int vs_vmm_add_devices(vs_vmm *m, vs_err *err);
int vs_vmm_load_guest(vs_vmm *m, const vs_guest_files *f, vs_boot_result *boot, vs_err *err);
void vs_vmm_measure(vs_vmm *m, vs_vmm_result *res);
/* The devices in virtio slot order (the entropy device, last, not included). */
unsigned vs_vmm_slot_order(const vs_vmm_spec *s, const vs_vmm_device **out);

/* vmm.c, for vmm_snapshot.c: the VM's threads after a restore, the
 * teardown of a failed one, console set-up. */
int vs_vmm_start_threads(vs_vmm *m, vs_err *err);
void vs_vmm_teardown(vs_vmm *m);
void vs_vmm_open_gate(vs_vmm *m);
/* vmm.c, for the migration thread: run fn on the owner under mu (as a
 * snapshot is); pause/resume with mu held. */
int vs_vmm_call(vs_vmm *m, int (*fn)(vs_vmm *, void *, vs_err *), void *arg, const char *what, vs_err *err);
void vs_vmm_pause_locked(vs_vmm *m);
void vs_vmm_resume_locked(vs_vmm *m);

/* migrate_send.c: the migration thread, started (and jailed) with the
 * vCPU threads, stopped before the machine goes. */
int vs_mig_thread_start(vs_vmm *m, vs_err *err);
void vs_mig_thread_stop(vs_vmm *m);

/* vmm_snapshot.c and vmm_restore.c, on the owner thread under mu, with a snap_req. */
typedef struct snap_req {
	const vs_vmm_snap_files *f;
	vs_vmm_snap_type type;
	bool resume, track_dirty;
	/* A migration's restore: the state already in memory (f->state_fd
	 * unused), the memory file a memfd mapped shared (no copy-on-write). */
	const uint8_t *state_buf;
	size_t state_len;
} snap_req;
int vs_vmm_snapshot_locked(vs_vmm *m, void *req, vs_err *err);
int vs_vmm_restore_locked(vs_vmm *m, void *req, vs_err *err);
/* The machine's whole state (description, KVM, devices) into w; paused. */
int vs_vmm_save_state(vs_vmm *m, vs_snapw *w, vs_err *err);

#endif
