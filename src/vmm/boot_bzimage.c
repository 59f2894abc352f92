/* Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst):
 * the protected-mode part of the bzImage goes to 1 MiB, boot_params (the
 * "zero page") gets the image's setup_header plus what the loader fills
 * in (loader type, command line, initrd, e820, RSDP), and the vCPU starts
 * in long mode at code32_start + 0x200 with rsi = &boot_params. */
#include <errno.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/e820.h"
#include "vmm/layout.h"

/* boot_params / setup_header offsets used here. */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_LOADER_TYPE 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_MAX 0x22c
#define BP_KERNEL_ALIGN 0x230
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 4096

#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define HDRS_MAGIC 0x53726448 /* "HdrS" */

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}
static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, 2);
	return v;
}
static void wr32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr64(uint8_t *p, size_t off, uint64_t v) { memcpy(p + off, &v, 8); }

int vs_boot_place_initrd(const vs_gmem *mem, size_t len, uint64_t max_addr, uint64_t above, uint64_t *addr,
			 vs_err *err)
{
	uint64_t top = 0;
	for (unsigned i = 0; i < mem->n_regions; i++)
		if (mem->regions[i].gpa == 0)
			top = mem->regions[i].size;
	if (max_addr && max_addr + 1 < top)
		top = max_addr + 1;
	if (len > top || ((top - len) & ~0xfffULL) < above)
		return vs_fail(err, ENOMEM, "initrd of %zu bytes does not fit in guest memory below 0x%llx", len,
			       (unsigned long long)top);
	*addr = (top - len) & ~0xfffULL;
	return 0;
}

/* Fill the zero page common to bzImage and ELF (vmlinux) 64-bit boots:
 * hdr_src is the image's setup_header bytes (0x1f1..hdr_end) or NULL. */
int vs_boot_zero_page(const vs_gmem *mem, const vs_boot_image *img, const uint8_t *hdr_src, size_t hdr_end,
		      uint64_t kernel_end, vs_err *err);
int vs_boot_zero_page(const vs_gmem *mem, const vs_boot_image *img, const uint8_t *hdr_src, size_t hdr_end,
		      uint64_t kernel_end, vs_err *err)
{
	uint8_t *bp = vs_gmem_ptr(mem, VS_ZERO_PAGE_ADDR, BP_SIZE, err);
	if (!bp)
		return vs_wrap(err, "boot_params");
	memset(bp, 0, BP_SIZE);
	if (hdr_src) {
		memcpy(bp + BP_SETUP_SECTS, hdr_src + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	} else {
		bp[BP_BOOT_FLAG] = 0x55;
		bp[BP_BOOT_FLAG + 1] = 0xaa;
		wr32(bp, BP_HEADER, HDRS_MAGIC);
		wr32(bp, BP_KERNEL_ALIGN, 0x1000000);
		wr32(bp, BP_INITRD_MAX, 0x7fffffff);
	}
	bp[BP_LOADER_TYPE] = 0xff; /* undefined boot loader */
	bp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	bp[BP_HEAP_END] = 0x00;
	bp[BP_HEAP_END + 1] = 0xfe;

	size_t cl = strlen(img->cmdline) + 1;
	uint32_t cl_max = hdr_src ? rd32(bp, BP_CMDLINE_SIZE) : 0;
	if (cl_max && cl - 1 > cl_max)
		return vs_fail(err, EINVAL, "kernel command line is %zu bytes, the kernel accepts %u", cl - 1, cl_max);
	if (cl > VS_CMDLINE_MAX)
		return vs_fail(err, EINVAL, "kernel command line is %zu bytes, at most %d supported", cl - 1,
			       VS_CMDLINE_MAX - 1);
	if (vs_gmem_write(mem, VS_CMDLINE_ADDR, img->cmdline, cl, err) < 0)
		return vs_wrap(err, "kernel command line");
	wr32(bp, BP_CMD_LINE_PTR, (uint32_t)VS_CMDLINE_ADDR);

	if (img->initrd) {
		uint64_t at;
		if (vs_boot_place_initrd(mem, img->initrd_len, rd32(bp, BP_INITRD_MAX), kernel_end, &at, err) < 0 ||
		    vs_gmem_write(mem, at, img->initrd, img->initrd_len, err) < 0)
			return -1;
		wr32(bp, BP_RAMDISK_IMAGE, (uint32_t)at);
		wr32(bp, BP_RAMDISK_SIZE, (uint32_t)img->initrd_len);
	}

	vs_e820_entry map[VS_E820_MAX];
	unsigned n = vs_e820_build(mem, map);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;
		wr64(e, 0, map[i].addr);
		wr64(e, 8, map[i].size);
		wr32(e, 16, map[i].type);
	}
	if (img->rsdp_addr)
		wr64(bp, BP_ACPI_RSDP, img->rsdp_addr);
	return 0;
}

int vs_boot_bzimage(const vs_gmem *mem, const vs_boot_image *img, vs_boot_result *out, vs_err *err)
{
	const uint8_t *k = img->kernel;
	size_t len = img->kernel_len;
	if (len < 0x1000 || rd16(k, BP_BOOT_FLAG) != 0xaa55 || rd32(k, BP_HEADER) != HDRS_MAGIC)
		return vs_fail(err, EINVAL, "kernel image: not a bzImage (no boot flag or HdrS header)");
	uint16_t version = rd16(k, BP_VERSION);
	if (version < 0x020c)
		return vs_fail(err, EINVAL, "kernel image: boot protocol %u.%02u, need 2.12 or later", version >> 8,
			       version & 0xff);
	if (!(rd16(k, BP_XLOADFLAGS) & XLF_KERNEL_64))
		return vs_fail(err, EINVAL, "kernel image: no 64-bit entry point (XLF_KERNEL_64 not set)");
	/* The header ends at 0x202 + the byte at 0x201 (the jump's offset). */
	size_t hdr_end = 0x202 + k[BP_JUMP + 1];
	if (hdr_end > BP_SIZE || hdr_end > len)
		return vs_fail(err, EINVAL, "kernel image: setup header length %zu out of range", hdr_end);
	unsigned setup_sects = k[BP_SETUP_SECTS] ? k[BP_SETUP_SECTS] : 4;
	size_t pm_off = (size_t)(setup_sects + 1) * 512;
	if (pm_off >= len)
		return vs_fail(err, EINVAL, "kernel image: %u setup sectors but the file is %zu bytes", setup_sects,
			       len);
	size_t pm_len = len - pm_off;
	uint64_t init_size = rd32(k, BP_INIT_SIZE);
	uint64_t need = init_size > pm_len ? init_size : pm_len;
	if (!vs_gmem_ptr(mem, VS_KERNEL_ADDR, need, NULL))
		return vs_fail(err, ENOMEM, "kernel needs %llu MiB of memory above 1 MiB to decompress",
			       (unsigned long long)(need >> 20) + 1);
	if (vs_gmem_write(mem, VS_KERNEL_ADDR, k + pm_off, pm_len, err) < 0)
		return -1;
	if (vs_boot_zero_page(mem, img, k, hdr_end, VS_KERNEL_ADDR + need, err) < 0)
		return -1;
	uint8_t *bp = vs_gmem_ptr(mem, VS_ZERO_PAGE_ADDR, BP_SIZE, err);
	wr32(bp, BP_CODE32_START, (uint32_t)VS_KERNEL_ADDR);
	out->mode = VS_CPU_LONG64;
	out->entry = (vs_cpu_entry){.rip = VS_KERNEL_ADDR + 0x200, .rsi = VS_ZERO_PAGE_ADDR, .rsp = VS_BOOT_STACK};
	return 0;
}
