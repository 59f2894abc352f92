/* Loading a guest into memory: Linux bzImage (64-bit boot protocol), ELF
 * vmlinux with a PVH entry, or a flat ring-3 test binary. Each loader
 * checks the image and returns where and how the boot vCPU starts. */
#ifndef VS_VMM_BOOT_H
#define VS_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/cpu_state.h"
#include "vmm/memory.h"

typedef struct vs_boot_image {
	const uint8_t *kernel; /* whole kernel file */
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;   /* complete, NUL-terminated */
	uint64_t rsdp_addr;    /* ACPI RSDP for the guest, 0 if none */
} vs_boot_image;

typedef struct vs_boot_result {
	vs_cpu_mode mode;
	vs_cpu_entry entry;
} vs_boot_result;

/* Whether the image is a bzImage or an ELF file at all (by magic), before
 * any guest memory exists; the loaders check the rest. */
int vs_boot_linux_check(const uint8_t *kernel, size_t len, vs_err *err);
/* Detects bzImage vs ELF by magic and loads accordingly. */
int vs_boot_linux(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err);

int vs_boot_bzimage(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err);
int vs_boot_elf_pvh(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err);
int vs_boot_ring3(const vs_gmem *mem, const uint8_t *bin, size_t len, uint64_t n_virtio, vs_boot_result *out,
		  vs_err *err);

/* Where an initrd of `len` bytes goes: page-aligned, as high as possible
 * below min(end of low RAM, max_addr + 1), above `above`. */
int vs_boot_place_initrd(const vs_gmem *mem, size_t len, uint64_t max_addr, uint64_t above, uint64_t *addr,
			 vs_err *err);

#endif
