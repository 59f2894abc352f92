/* Per-vCPU CPUID: what KVM supports, with this vCPU's APIC id and a flat
 * topology (one socket, N cores, one thread each). */
#ifndef VS_VMM_CPUID_H
#define VS_VMM_CPUID_H

#include <linux/kvm.h>

#include "base/error.h"

/* Build the table for vCPU `id` of `ncpus` from `supported` and install
 * it with KVM_SET_CPUID2 on vcpu_fd. */
int vs_cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus,
		   vs_err *err);

/* Exposed for the unit test: rewrite one entry in place. */
void vs_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus);

#endif
