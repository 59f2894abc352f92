/* Initial x86 CPU state for each way of starting a guest: identity page
 * tables and a GDT in guest memory, then segment/control registers. */
#ifndef VS_VMM_CPU_STATE_H
#define VS_VMM_CPU_STATE_H

#include <stdint.h>

#include "base/error.h"
#include "vmm/memory.h"

typedef enum {
	VS_CPU_LONG64,   /* Linux 64-bit boot protocol: ring 0, long mode, paging on */
	VS_CPU_PROT32,   /* PVH: ring 0, 32-bit protected mode, paging off */
	VS_CPU_RING3_64, /* test guests: ring 3, long mode, IOPL 3 */
} vs_cpu_mode;

/* Write the GDT (and, for long modes, identity page tables for [0, 4 GiB))
 * into guest memory. Done once per VM. */
int vs_cpu_write_tables(const vs_gmem *mem, vs_cpu_mode mode, vs_err *err);

/* Boot vCPU registers: entry rip, stack, and the boot-protocol argument
 * (rsi for Linux 64-bit, rbx for PVH, rdi/rsi for ring-3 guests). */
typedef struct vs_cpu_entry {
	uint64_t rip, rsp;
	uint64_t rsi, rbx, rdi;
} vs_cpu_entry;
int vs_cpu_set_boot_regs(int vcpu_fd, vs_cpu_mode mode, const vs_cpu_entry *e, vs_err *err);

/* State every vCPU needs: FPU defaults, LAPIC LINT0=ExtINT / LINT1=NMI. */
int vs_cpu_set_common(int vcpu_fd, vs_err *err);

#endif
