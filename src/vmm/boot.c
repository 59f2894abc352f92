/* Pick the loader by the image's magic; load ring-3 test binaries. */
#include <errno.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/layout.h"

int vs_boot_linux_check(const uint8_t *k, size_t len, vs_err *err)
{
	if (len >= 4 && !memcmp(k, "\x7f" "ELF", 4))
		return 0;
	/* bzImage: boot flag 0xaa55 at 0x1fe, "HdrS" at 0x202. */
	if (len >= 0x1000 && k[0x1fe] == 0x55 && k[0x1ff] == 0xaa && !memcmp(k + 0x202, "HdrS", 4))
		return 0;
	return vs_fail(err, VS_EINVAL_CONFIG,
		       "kernel image: not a bzImage (no boot flag or HdrS header) nor an ELF file");
}

int vs_boot_linux(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err)
{
	if (img->kernel_len >= 4 && !memcmp(img->kernel, "\x7f" "ELF", 4))
		return vs_boot_elf_pvh(mem, img, out, err);
	return vs_boot_bzimage(mem, img, out, err);
}

int vs_boot_ring3(const vs_gmem *mem, const uint8_t *bin, size_t len, uint64_t n_virtio, vs_boot_result *out,
		  vs_err *err)
{
	if (len == 0)
		return vs_fail(err, EINVAL, "ring-3 guest image is empty");
	if (vs_gmem_write(mem, VS_RING3_ADDR, bin, len, err) < 0)
		return vs_wrap(err, "ring-3 guest image of %zu bytes", len);
	uint64_t ram = 0;
	for (unsigned i = 0; i < mem->n_regions; i++)
		ram += mem->regions[i].size;
	out->mode = VS_CPU_RING3_64;
	out->entry = (vs_cpu_entry){.rip = VS_RING3_ADDR, .rsp = VS_RING3_STACK, .rdi = ram, .rsi = n_virtio};
	return 0;
}
