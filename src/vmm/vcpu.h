/* vCPUs: one thread each, running KVM_RUN and dispatching port and MMIO
 * exits to the VM's buses until the VM is asked to stop. */
#ifndef VS_VMM_VCPU_H
#define VS_VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/vm.h"

typedef struct vs_vcpu {
	vs_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	void *opaque; /* the owner's, for its thread function */
	/* Exits handled, for metrics (read by other threads). */
	_Atomic uint64_t n_io_in, n_io_out, n_mmio_read, n_mmio_write;
	/* Process CPU time (ns) when this vCPU first entered KVM_RUN. */
	uint64_t first_run_cpu_ns;
} vs_vcpu;

/* KVM_CREATE_VCPU, map its kvm_run, CPUID for `ncpus`, FPU and LAPIC. */
int vs_vcpu_create(vs_vcpu *v, vs_vm *vm, unsigned id, unsigned ncpus, vs_err *err);
void vs_vcpu_destroy(vs_vcpu *v);

/* Run until the VM stops; KVM errors and fatal guest exits stop the VM
 * with VS_STOP_ERROR and a message. Called on the vCPU's own thread. */
void vs_vcpu_loop(vs_vcpu *v);

/* Make a vCPU blocked in KVM_RUN return: sets immediate_exit and sends
 * VS_VCPU_KICK_SIGNAL to its thread (whose handler does nothing). */
#define VS_VCPU_KICK_SIGNAL SIGUSR1
void vs_vcpu_kick(vs_vcpu *v);
/* Install the no-op handler for the kick signal (once per process). */
int vs_vcpu_signals_init(vs_err *err);

#endif
