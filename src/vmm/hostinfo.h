/* What this host offers the two engines, probed without side effects:
 * KVM (and which kind), cgroups, namespaces, seccomp, overlayfs, tun.
 * The CLI (`vessel check`) turns this into verdict lines. */
#ifndef VS_VMM_HOSTINFO_H
#define VS_VMM_HOSTINFO_H

#include <stdbool.h>

typedef enum { VS_CGROUP_NONE, VS_CGROUP_V1, VS_CGROUP_V2, VS_CGROUP_HYBRID } vs_cgroup_mode;

typedef struct vs_hostinfo {
	bool kvm_dev;         /* /dev/kvm exists */
	bool kvm_open;        /* ... and we could open it */
	int kvm_api;          /* KVM_GET_API_VERSION or -1 */
	bool kvm_pvm;         /* kvm_pvm module: software-assisted, nested */
	bool cpu_vmx, cpu_svm;/* hardware virtualisation in our CPUID */
	bool hypervisor;      /* we run under a hypervisor */
	char hv_vendor[13];   /* CPUID 0x40000000 signature */
	bool irqchip, pit2, immediate_exit;
	vs_cgroup_mode cgroup;
	char ns_missing[128]; /* space-separated namespace kinds not found */
	bool seccomp, seccomp_filter;
	bool overlayfs;
	bool tun;
} vs_hostinfo;

void vs_hostinfo_probe(vs_hostinfo *h);

#endif
