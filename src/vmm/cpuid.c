#include "vmm/cpuid.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Bits needed to number ncpus cores (the x2APIC id shift of leaf 0xB). */
static unsigned core_bits(unsigned ncpus)
{
	unsigned b = 0;
	while ((1u << b) < ncpus)
		b++;
	return b;
}

void vs_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus, bool hide_xsave)
{
	if (hide_xsave && e->function == 1)
		e->ecx &= ~((1u << 26) | (1u << 27) | (1u << 28)); /* XSAVE, OSXSAVE, AVX */
	if (hide_xsave && e->function == 0xd)
		e->eax = e->ebx = e->ecx = e->edx = 0;
	switch (e->function) {
	case 1:
		/* EBX[31:24] initial APIC id, [23:16] logical processors per package. */
		e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | ((ncpus & 0xff) << 16);
		e->ecx |= 1u << 31; /* running under a hypervisor */
		if (ncpus > 1)
			e->edx |= 1u << 28; /* HTT: the count above is valid */
		break;
	case 4:
		/* EAX[31:26]: cores per package - 1; no shared threads per cache
		 * beyond one core (EAX[25:14] = 0). */
		if (e->eax & 0x1f)
			e->eax = (e->eax & 0x3fff) | ((ncpus - 1) << 26);
		break;
	case 0xb:
	case 0x1f:
		/* Level 0: SMT (1 thread per core); level 1: cores. */
		e->edx = id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | 0;
		} else if (e->index == 1) {
			e->eax = core_bits(ncpus);
			e->ebx = ncpus;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008:
		/* AMD: ECX[7:0] number of cores - 1. */
		e->ecx = (e->ecx & ~0xffu) | ((ncpus - 1) & 0xff);
		break;
	default:
		break;
	}
}

int vs_cpuid_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus,
		   bool hide_xsave, vs_err *err)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return vs_fail(err, ENOMEM, "allocate CPUID for vCPU %u", id);
	memcpy(c, supported, sz);
	for (unsigned i = 0; i < c->nent; i++)
		vs_cpuid_fix_entry(&c->entries[i], id, ncpus, hide_xsave);
	int r = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
	int e = errno;
	free(c);
	if (r < 0)
		return vs_fail(err, e, "KVM_SET_CPUID2 on vCPU %u", id);
	return 0;
}

bool vs_cpuid_xsave_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31)))
		return true; /* bare metal */
	__cpuid(0x40000000, a, b, c, d);
	char sig[13] = {0};
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	static const char *known[] = {"KVMKVMKVM", "Microsoft Hv", "VMwareVMware", "XenVMMXenVMM", "ACRNACRNACRN",
				      "bhyve bhyve ", "VBoxVBoxVBox"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(sig, known[i], 12))
			return true;
	return false;
}
