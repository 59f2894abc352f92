/* One KVM virtual machine: the /dev/kvm and VM file descriptors, guest
 * memory registered as KVM memory slots, the in-kernel interrupt
 * controllers and PIT, the two I/O buses, and the "stop" state every vCPU
 * and device uses to end the run (reset, power-off, panic, error). */
#ifndef VS_VMM_VM_H
#define VS_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "base/error.h"
#include "vmm/bus.h"
#include "vmm/memory.h"
#include "vmm/snapfile.h"

/* Why the VM stopped; the first reason recorded wins. */
typedef enum {
	VS_STOP_NONE = 0,
	VS_STOP_RESET,    /* guest reset (i8042 0xfe, triple fault is an error) */
	VS_STOP_POWEROFF, /* ACPI S5 */
	VS_STOP_EXIT,     /* ring-3 test guests: debug-exit port, status in stop_status */
	VS_STOP_SIGNAL,   /* SIGINT/SIGTERM on the VMM */
	VS_STOP_ERROR,    /* KVM reported an error or the guest did something fatal */
} vs_stop_reason;

typedef struct vs_vm {
	int kvm_fd, vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	vs_gmem mem;
	vs_bus pio, mmio;
	struct kvm_cpuid2 *supported_cpuid;
	_Atomic int stop;  /* vs_stop_reason */
	int stop_status;   /* VS_STOP_EXIT value */
	char stop_msg[256];/* VS_STOP_ERROR description */
	int stop_efd;      /* eventfd written once when stop is first set */
	bool xsave_ok;     /* expose XSAVE/AVX to guests (vs_cpuid_xsave_usable) */
	bool track_dirty;  /* KVM logs dirty pages (diff snapshots) */
	/* Pause: vCPUs park in vs_vm_pause_point while pause_req is set. */
	pthread_mutex_t park_mu;
	pthread_cond_t park_cv;
	_Atomic int pause_req;
	unsigned parked, exited; /* vCPU threads parked / finished (park_mu) */
} vs_vm;

/* Called by each vCPU thread between KVM_RUNs: while a pause is requested
 * (and the VM is not stopping) the thread waits here, counted as parked. */
void vs_vm_pause_point(vs_vm *vm);
/* A vCPU thread is done for good (counts as parked for a pause). */
void vs_vm_vcpu_exited(vs_vm *vm);
/* Ask every vCPU to park and wait until all of them are parked or gone, or
 * the VM stops; `kick` makes each vCPU leave KVM_RUN. Resume lets them go. */
void vs_vm_pause(vs_vm *vm, unsigned ncpus, void (*kick)(void *, unsigned), void *opaque);
void vs_vm_resume(vs_vm *vm);

/* Open /dev/kvm, check the API version and the capabilities the VMM needs. */
int vs_kvm_open(int *kvm_fd, vs_err *err);
int vs_kvm_check_cap(int kvm_fd, int cap);

/* Create the VM with `mem_size` bytes of RAM, irqchip and PIT. xsave_ok
 * is left false: the caller decides (vs_cpuid_xsave_usable). */
int vs_vm_create(vs_vm *vm, uint64_t mem_size, vs_err *err);
/* The same with guest memory mapped from a snapshot's memory file
 * (shared: MAP_SHARED, for a migration's memfd; else MAP_PRIVATE). */
int vs_vm_create_from(vs_vm *vm, uint64_t mem_size, int mem_fd, bool shared, vs_err *err);
/* Dirty page logging off again (a failed migration that turned it on). */
int vs_vm_untrack_dirty(vs_vm *vm, vs_err *err);

/* vm_snap.c: irqchip, PIT and clock into a snapshot and back (restore
 * before the vCPUs run); dirty page logging on every memory slot, and one
 * slot's log (read and cleared), a bit per page. */
int vs_vm_save(vs_vm *vm, vs_snapw *w, vs_err *err);
int vs_vm_restore(vs_vm *vm, const vs_snap *s, vs_err *err);
int vs_vm_track_dirty(vs_vm *vm, vs_err *err);
int vs_vm_dirty_log(vs_vm *vm, unsigned slot, uint64_t *bitmap, vs_err *err);
void vs_vm_destroy(vs_vm *vm);

/* vs_irq callback: KVM_IRQ_LINE on `gsi`. */
void vs_vm_irq_line(void *vm, unsigned gsi, int level);
static inline vs_irq vs_vm_irq(vs_vm *vm, unsigned gsi)
{
	return (vs_irq){.set = vs_vm_irq_line, .vm = vm, .gsi = gsi};
}

/* Record why the VM stops (first call wins) and wake the VMM main loop.
 * Safe from any thread; vCPUs notice it after their current exit. */
void vs_vm_request_stop(vs_vm *vm, vs_stop_reason why, int status, const char *msg);

#endif
