#include "vmm/cpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "vmm/layout.h"

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL

/* GDT slots: 2/3 are the __BOOT_CS/__BOOT_DS Linux requires (0x10/0x18);
 * 4/5 are ring-3 code/data for test guests. */
enum { GDT_CODE = 2, GDT_DATA = 3, GDT_UCODE = 4, GDT_UDATA = 5, GDT_N = 6 };

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

/* The KVM view of the same descriptor. */
static struct kvm_segment seg_from(uint64_t d, uint16_t sel)
{
	return (struct kvm_segment){
		.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u),
		.limit = (uint32_t)(((d >> 32) & 0xf0000) | (d & 0xffff)) * (((d >> 55) & 1) ? 4096u : 1u) +
			 (((d >> 55) & 1) ? 4095u : 0u),
		.selector = sel,
		.type = (d >> 40) & 0xf,
		.present = (d >> 47) & 1,
		.dpl = (d >> 45) & 3,
		.db = (d >> 54) & 1,
		.s = (d >> 44) & 1,
		.l = (d >> 53) & 1,
		.g = (d >> 55) & 1,
		.avl = (d >> 52) & 1,
	};
}

static void gdt_for(vs_cpu_mode mode, uint64_t gdt[GDT_N])
{
	memset(gdt, 0, GDT_N * sizeof(gdt[0]));
	/* 0xa09b: present, ring 0, code exec/read, L=1, G=1; 0xc09b: 32-bit (D=1). */
	gdt[GDT_CODE] = gdt_entry(mode == VS_CPU_PROT32 ? 0xc09b : 0xa09b, 0, 0xfffff);
	gdt[GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[GDT_UCODE] = gdt_entry(0xa0fb, 0, 0xfffff); /* DPL 3 */
	gdt[GDT_UDATA] = gdt_entry(0xc0f3, 0, 0xfffff);
}

int vs_cpu_write_tables(const vs_gmem *mem, vs_cpu_mode mode, vs_err *err)
{
	uint64_t gdt[GDT_N];
	gdt_for(mode, gdt);
	if (vs_gmem_write(mem, VS_GDT_ADDR, gdt, sizeof(gdt), err) < 0)
		return vs_wrap(err, "write GDT");
	if (mode == VS_CPU_PROT32)
		return 0;
	/* Identity map [0, 4 GiB) with 2 MiB pages; user-accessible for ring 3. */
	uint64_t us = mode == VS_CPU_RING3_64 ? PTE_US : 0;
	uint64_t *pml4 = vs_gmem_ptr(mem, VS_PML4_ADDR, 4096, err);
	uint64_t *pdpt = vs_gmem_ptr(mem, VS_PDPT_ADDR, 4096, err);
	uint64_t *pd = vs_gmem_ptr(mem, VS_PD_ADDR, 4 * 4096, err);
	if (!pml4 || !pdpt || !pd)
		return vs_wrap(err, "write page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = VS_PDPT_ADDR | PTE_P | PTE_RW | us;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt[g] = (VS_PD_ADDR + g * 4096) | PTE_P | PTE_RW | us;
		for (uint64_t i = 0; i < 512; i++)
			pd[g * 512 + i] = ((g << 30) + (i << 21)) | PTE_P | PTE_RW | PTE_PS | us;
	}
	return 0;
}

int vs_cpu_set_boot_regs(int vcpu_fd, vs_cpu_mode mode, const vs_cpu_entry *e, vs_err *err)
{
	struct kvm_sregs sr;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return vs_fail(err, errno, "KVM_GET_SREGS");
	uint64_t gdt[GDT_N];
	gdt_for(mode, gdt);
	bool ring3 = mode == VS_CPU_RING3_64;
	unsigned ci = ring3 ? GDT_UCODE : GDT_CODE, di = ring3 ? GDT_UDATA : GDT_DATA;
	uint16_t rpl = ring3 ? 3 : 0;
	struct kvm_segment cs = seg_from(gdt[ci], (uint16_t)(ci * 8 | rpl));
	struct kvm_segment ds = seg_from(gdt[di], (uint16_t)(di * 8 | rpl));
	sr.cs = cs;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
	sr.gdt.base = VS_GDT_ADDR;
	sr.gdt.limit = sizeof(gdt) - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	/* A busy 64-bit TSS is what VM entry insists on; nothing uses it. */
	sr.tr = (struct kvm_segment){.selector = 0, .base = 0, .limit = 0xffff, .type = 11, .present = 1};
	sr.ldt = (struct kvm_segment){.type = 2, .present = 1, .limit = 0xffff};
	if (mode == VS_CPU_PROT32) {
		sr.cr0 = CR0_PE | CR0_ET;
		sr.cr4 = 0;
		sr.efer = 0;
		sr.cr3 = 0;
	} else {
		sr.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sr.cr4 = CR4_PAE;
		sr.efer = EFER_LME | EFER_LMA;
		sr.cr3 = VS_PML4_ADDR;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return vs_fail(err, errno, "KVM_SET_SREGS");
	struct kvm_regs r = {
		.rip = e->rip,
		.rsp = e->rsp,
		.rsi = e->rsi,
		.rbx = e->rbx,
		.rdi = e->rdi,
		/* Bit 1 is always set; IOPL=3 lets ring-3 guests use in/out. */
		.rflags = 0x2 | (ring3 ? 0x3000 : 0),
	};
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return vs_fail(err, errno, "KVM_SET_REGS");
	return 0;
}

int vs_cpu_set_common(int vcpu_fd, vs_err *err)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return vs_fail(err, errno, "KVM_SET_FPU");
	struct kvm_lapic_state lapic;
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return vs_fail(err, errno, "KVM_GET_LAPIC");
	/* LVT LINT0 (0x350) = ExtINT so the PIC reaches the BSP in virtual
	 * wire mode; LVT LINT1 (0x360) = NMI. Delivery mode is bits 8-10. */
	uint32_t lint0, lint1;
	memcpy(&lint0, lapic.regs + 0x350, 4);
	memcpy(&lint1, lapic.regs + 0x360, 4);
	lint0 = (lint0 & ~0x700u) | (7u << 8);
	lint1 = (lint1 & ~0x700u) | (4u << 8);
	memcpy(lapic.regs + 0x350, &lint0, 4);
	memcpy(lapic.regs + 0x360, &lint1, 4);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return vs_fail(err, errno, "KVM_SET_LAPIC");
	return 0;
}
