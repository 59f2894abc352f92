#include "vmm/e820.h"

#include "vmm/layout.h"

unsigned vs_e820_build(const vs_gmem *mem, vs_e820_entry out[VS_E820_MAX])
{
	unsigned n = 0;
	for (unsigned i = 0; i < mem->n_regions && n + 3 <= VS_E820_MAX; i++) {
		const vs_gmem_region *r = &mem->regions[i];
		if (r->gpa == 0 && r->size > VS_KERNEL_ADDR) {
			/* Conventional memory, the EBDA/BIOS area (reserved: ACPI
			 * tables), then everything from 1 MiB. */
			out[n++] = (vs_e820_entry){0, VS_EBDA_START, VS_E820_RAM};
			out[n++] = (vs_e820_entry){VS_EBDA_START, VS_KERNEL_ADDR - VS_EBDA_START, VS_E820_RESERVED};
			out[n++] = (vs_e820_entry){VS_KERNEL_ADDR, r->size - VS_KERNEL_ADDR, VS_E820_RAM};
		} else {
			out[n++] = (vs_e820_entry){r->gpa, r->size, VS_E820_RAM};
		}
	}
	return n;
}
