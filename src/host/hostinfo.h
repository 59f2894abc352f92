/* What this host offers the two engines: KVM (none, software-assisted or
 * hardware, and why), cgroups, namespaces, seccomp, overlayfs, tun.
 *
 * Three steps, apart so each can be tested on any machine: the file probe
 * reads only paths under a root prefix (a fixture tree in tests) and takes
 * the CPUID facts as an argument; the /dev/kvm probe opens the device and
 * asks it (only on a real host); the verdicts are a pure function of the
 * facts. `vessel check` prints the verdicts, `vm run` explains a missing
 * or unsuitable /dev/kvm with them. */
#ifndef VS_HOST_HOSTINFO_H
#define VS_HOST_HOSTINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "ctr/cgroup.h"

typedef struct vs_cpu_facts {
	bool vmx, svm;       /* VT-x / AMD-V offered to this machine (CPUID) */
	bool hypervisor;     /* CPUID.1:ECX[31]: we run under a hypervisor */
	char hv_vendor[13];  /* CPUID 0x40000000 signature, printable */
} vs_cpu_facts;

typedef struct vs_hostinfo {
	vs_cpu_facts cpu;
	/* File probe. */
	bool kvm_dev;        /* /dev/kvm exists */
	bool kvm_registered; /* /sys/class/misc/kvm: a backend registered the device */
	bool mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm; /* /sys/module/<name> */
	bool pvm_guest;      /* kernel log: kvm_pvm refused to bind, this kernel is a PVM guest */
	bool cgroup_found;
	vs_cgroup_mode cgroup;
	char cgroup_why[160];      /* when !cgroup_found */
	char ns_missing[128];      /* space-separated namespace kinds not found */
	bool seccomp, seccomp_filter;
	bool overlayfs;        /* registered (in /proc/filesystems) or loaded */
	bool overlayfs_module; /* else: a module the kernel loads on first mount */
	bool tun;
	/* Capacity (resources.c): online CPUs, memory in bytes (0 when unknown). */
	unsigned cpus_online;
	unsigned long long mem_total, mem_available, swap_total, swap_free;
	/* /dev/kvm probe. */
	bool kvm_probed;     /* an open of /dev/kvm was tried */
	bool kvm_open;       /* ... and it worked */
	int kvm_errno;       /* why it did not */
	int kvm_api;         /* KVM_GET_API_VERSION or -1 */
	bool irqchip, pit2, immediate_exit;
} vs_hostinfo;

/* This CPU's CPUID facts. */
void vs_cpu_facts_read(vs_cpu_facts *c);

/* Fill *h from the files under root (NULL or "" = "/": /dev, /sys, /proc)
 * and the CPU facts given (NULL = this CPU). Clears *h first. */
void vs_host_probe_files(const char *root, const vs_cpu_facts *cpu, vs_hostinfo *h);
/* The capacity fields from <root>/sys/devices/system/cpu/online and
 * <root>/proc/meminfo (part of vs_host_probe_files). */
void vs_host_probe_capacity(const char *root, vs_hostinfo *h);
/* Open <root>/dev/kvm read-write and ask for the API version and the
 * capabilities the VMM needs; the device is closed again. */
void vs_host_probe_kvm_dev(const char *root, vs_hostinfo *h);
/* Both, for this host. */
void vs_host_probe(vs_hostinfo *h);

typedef enum {
	VS_KVM_NONE,     /* no /dev/kvm */
	VS_KVM_SOFTWARE, /* PVM: ring-3 guests run, guest ring 0 is emulated, Linux cannot boot */
	VS_KVM_HARDWARE, /* VT-x / AMD-V behind kvm_intel / kvm_amd */
	VS_KVM_UNKNOWN,  /* /dev/kvm without a backend we know */
} vs_kvm_kind;

vs_kvm_kind vs_host_kvm_kind(const vs_hostinfo *h);
/* Why there is no /dev/kvm, with the fix where there is one ("modprobe
 * kvm_intel"); "" when there is one. */
void vs_host_kvm_why(const vs_hostinfo *h, char *buf, size_t len);

typedef enum { VS_HOST_PASS, VS_HOST_WARN, VS_HOST_FAIL } vs_host_level;

typedef struct vs_host_verdict {
	const char *item;    /* "Checking for /dev/kvm" */
	vs_host_level level;
	char reason[256];    /* may be "" */
} vs_host_verdict;

#define VS_HOST_MAX_VERDICTS 16
/* One verdict per item that applies to these facts, in display order. */
size_t vs_host_verdicts(const vs_hostinfo *h, vs_host_verdict out[VS_HOST_MAX_VERDICTS]);

#endif
