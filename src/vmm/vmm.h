/* The microVM engine's entry point: build a VM from a config, run it until
 * the guest powers off, resets, panics or fails, and say why. */
#ifndef VS_VMM_VMM_H
#define VS_VMM_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* Exit statuses of `vessel vm run` (also vs_vmm_result.status). */
enum {
	VS_VM_EXIT_OK = 0,     /* guest powered off or rebooted */
	VS_VM_EXIT_VMM = 1,    /* the VMM failed (bad image, no KVM, ...) */
	VS_VM_EXIT_PANIC = 3,  /* guest kernel panicked */
	VS_VM_EXIT_CRASH = 4,  /* guest crashed the CPU (triple fault) or broke the VMM contract */
	VS_VM_EXIT_KVM = 5,    /* KVM reported an error (internal error, failed entry) */
	/* 128 + signal number: stopped by SIGINT/SIGTERM. */
};

#define VS_VMM_MAX_DISKS 8
#define VS_VMM_MAX_NETS 4

typedef struct vs_vmm_disk {
	const char *path;
	bool readonly;
} vs_vmm_disk;

typedef struct vs_vmm_net {
	const char *tap;
	uint8_t mac[6];
} vs_vmm_net;

typedef struct vs_vmm_config {
	const char *kernel;  /* bzImage or ELF vmlinux */
	const char *initrd;  /* optional */
	const char *cmdline; /* user part of the kernel command line, optional */
	const char *ring3;   /* instead of kernel: flat ring-3 test binary */
	unsigned cpus;
	uint64_t mem_size;
	vs_vmm_disk disks[VS_VMM_MAX_DISKS];
	unsigned n_disks;
	vs_vmm_net nets[VS_VMM_MAX_NETS];
	unsigned n_nets;
	bool console;        /* serial <-> in_fd/out_fd; false = output discarded */
	int in_fd, out_fd;
	bool no_jail;        /* skip the seccomp filter (debugging) */
	bool allow_pvm;      /* try to boot a kernel even on a PVM host */
} vs_vmm_config;

typedef struct vs_vmm_result {
	int status;           /* VS_VM_EXIT_* or 128+signal or a test guest's value */
	char msg[256];        /* why, for statuses other than 0 */
	uint64_t startup_cpu_ns; /* process CPU time until the first KVM_RUN */
	uint64_t max_rss_kib;    /* peak RSS of the process */
	uint64_t guest_rss_kib;  /* resident guest RAM at the end */
	char cmdline[512];       /* the kernel command line used (truncated) */
} vs_vmm_result;

/* Returns 0 and fills *res once the VM ran (whatever the guest did);
 * -1 with *err when the VM could not be set up. */
int vs_vmm_run(const vs_vmm_config *cfg, vs_vmm_result *res, vs_err *err);

/* Build the kernel command line: machine defaults + user part. */
int vs_vmm_cmdline(const char *user, char *buf, size_t len, vs_err *err);

#endif
