/* Per-vCPU CPUID: what KVM supports, with this vCPU's APIC id and a flat
 * topology (one socket, N cores, one thread each). */
#ifndef VS_VMM_CPUID_H
#define VS_VMM_CPUID_H

#include <stdbool.h>

#include <linux/kvm.h>

#include "base/error.h"

/* Build the table for vCPU `id` of `ncpus` from `supported` and install
 * it with KVM_SET_CPUID2 on vcpu_fd. */
int vs_cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus,
		   bool hide_xsave, vs_err *err);

/* Whether guests may use XSAVE (AVX, PKRU...). False when this host's CPU is
 * emulated by a hypervisor we do not recognise (QEMU TCG: it does not trap a
 * nested guest's XSETBV, so KVM's view of XCR0 goes stale and Linux trips
 * over inconsistent XSAVE sizes). vs_vmm_options.xsave overrides it. */
bool vs_cpuid_xsave_usable(void);

/* Exposed for the unit test: rewrite one entry in place. */
void vs_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus, bool hide_xsave);

#endif
