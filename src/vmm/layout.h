/* Where the VMM places things in guest-physical memory (x86). Everything
 * below 1 MiB except the zero page, page tables and command line is left
 * to the guest; ACPI tables sit in the BIOS area the e820 map reserves. */
#ifndef VS_VMM_LAYOUT_H
#define VS_VMM_LAYOUT_H

#define VS_GDT_ADDR        0x500ULL
#define VS_PVH_INFO_ADDR   0x6000ULL   /* hvm_start_info + modules + memmap */
#define VS_ZERO_PAGE_ADDR  0x7000ULL   /* Linux boot_params */
#define VS_PML4_ADDR       0x9000ULL
#define VS_PDPT_ADDR       0xa000ULL
#define VS_PD_ADDR         0xb000ULL   /* four page directories: 0xb000..0xefff */
#define VS_BOOT_STACK      0x8ff0ULL   /* PVH entry needs none, but give it one */
#define VS_CMDLINE_ADDR    0x20000ULL
#define VS_CMDLINE_MAX     4096
#define VS_EBDA_START      0x9fc00ULL  /* e820: RAM ends here below 1 MiB */
#define VS_ACPI_ADDR       0xe0000ULL  /* RSDP then the tables; reserved in e820 */
#define VS_ACPI_END        0x100000ULL
#define VS_KERNEL_ADDR     0x100000ULL /* bzImage protected-mode code */
#define VS_RING3_ADDR      0x200000ULL /* ring-3 test guests */
#define VS_RING3_STACK     0x1ff000ULL

/* MMIO: virtio-mmio windows, then the IOAPIC and LAPIC at their fixed places. */
#define VS_VIRTIO_MMIO_BASE 0xd0000000ULL
#define VS_VIRTIO_GSI_BASE  5u
#define VS_VIRTIO_GSI_MAX   23u
#define VS_IOAPIC_ADDR      0xfec00000ULL
#define VS_LAPIC_ADDR       0xfee00000ULL

/* Legacy I/O ports. */
#define VS_COM1_PORT   0x3f8
#define VS_COM1_GSI    4u
#define VS_ACPI_PM_PORT 0x600 /* PM1a event block (4) + PM1a control (2) */
#define VS_PVPANIC_PORT 0x505
#define VS_DEBUG_EXIT_PORT 0x501

#endif
