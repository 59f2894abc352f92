/* The guest's physical memory map (e820 / PVH memmap): RAM from guest
 * memory regions, minus the legacy hole below 1 MiB where the ACPI tables
 * live, plus the MMIO hole left unbacked by vs_gmem. */
#ifndef VS_VMM_E820_H
#define VS_VMM_E820_H

#include <stdint.h>

#include "vmm/memory.h"

#define VS_E820_RAM 1
#define VS_E820_RESERVED 2
#define VS_E820_MAX 8

typedef struct vs_e820_entry {
	uint64_t addr, size;
	uint32_t type;
} vs_e820_entry;

/* Fill out[] (VS_E820_MAX entries); returns the count. */
unsigned vs_e820_build(const vs_gmem *mem, vs_e820_entry out[VS_E820_MAX]);

#endif
